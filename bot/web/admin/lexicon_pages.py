"""The lexicon editor: admins add synonym groups (a local nickname for a policy, a new term) for the matcher."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.services import Services
from bot.web.admin.common import catalog_changed, notice
from bot.web.auth import AdminUser
from bot.web.deps import ServicesDep, in_transaction
from bot.web.pages import render
from policies import lexicon
from policies.lexicon import LexiconError
from policies.models import LexiconEntry

router = APIRouter(prefix="/admin", include_in_schema=False)


def _form_values(term: str = "", aliases: str = "", note: str = "") -> dict[str, str]:
    return {"term": term, "aliases": aliases, "note": note}


@router.get("/lexicon")
async def lexicon_page(request: Request, user: AdminUser, q: str = "", done: str = "") -> Response:
    """Every group, a search, and the form to add one."""
    entries = await in_transaction(request, lambda s: lexicon.list_entries(session=s, query=q[:64]))
    return render(
        request, "admin/lexicon.html", entries=entries, q=q, values=_form_values(), error="", notice=notice(done)
    )


async def _save(request: Request, services: Services, username: str, entry_id: int | None) -> Response:
    form = await request.form()
    values = _form_values(*(str(form.get(key) or "")[:2000] for key in ("term", "aliases", "note")))

    def save(session: Session) -> None:
        lexicon.save_entry(
            session=session, term=values["term"], aliases=values["aliases"], note=values["note"], author=username,
            entry_id=entry_id,
        )  # fmt: skip

    try:
        await in_transaction(request, save)
    except LexiconError as error:
        if entry_id is None:
            entries = await in_transaction(request, lambda s: lexicon.list_entries(session=s))
            return render(
                request, "admin/lexicon.html", status=422, entries=entries, q="", values=values, error=str(error)
            )
        return render(
            request, "admin/lexicon_edit.html", status=422, entry_id=entry_id, values=values, error=str(error)
        )
    await catalog_changed(services)
    return RedirectResponse("/admin/lexicon?done=lexicon_saved", status_code=303)


@router.post("/lexicon")
async def add_entry(request: Request, user: AdminUser, services: ServicesDep) -> Response:
    """Add a synonym group."""
    return await _save(request, services, user.username, None)


@router.get("/lexicon/{entry_id}/edit")
async def edit_entry(request: Request, user: AdminUser, entry_id: int) -> Response:
    """The form filled with one group."""
    entry: LexiconEntry | None = await in_transaction(
        request, lambda s: lexicon.get_entry(session=s, entry_id=entry_id)
    )
    if entry is None:
        raise HTTPException(404, "没有这个词条")
    values = _form_values(entry.term, "、".join(entry.aliases), entry.note)
    return render(request, "admin/lexicon_edit.html", entry_id=entry_id, values=values, error="")


@router.post("/lexicon/{entry_id}/edit")
async def save_entry(request: Request, user: AdminUser, services: ServicesDep, entry_id: int) -> Response:
    """Save one group."""
    return await _save(request, services, user.username, entry_id)


@router.post("/lexicon/{entry_id}/delete")
async def delete_entry(request: Request, user: AdminUser, services: ServicesDep, entry_id: int) -> Response:
    """Delete one group."""
    if await in_transaction(request, lambda s: lexicon.delete_entry(session=s, entry_id=entry_id)):
        await catalog_changed(services)
    return RedirectResponse("/admin/lexicon?done=lexicon_deleted", status_code=303)
