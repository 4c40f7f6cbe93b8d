"""The tag vocabulary in /admin/vocabulary: 行业 and 规模 as the national standards fix them, and the terms of 资质
and 街道 that admins add and remove (policies and profiles are checked against them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.web.auth import AdminUser
from bot.web.deps import in_transaction
from bot.web.pages import render
from enterprises import terms
from enterprises.vocabulary import INDUSTRIES, TERM_KEYS

router = APIRouter(prefix="/admin", include_in_schema=False)
NOTICES = {"added": "已添加", "removed": "已删除（已使用它的政策和企业信息保持不变）"}


@router.get("/vocabulary")
async def vocabulary_page(request: Request, user: AdminUser, done: str = "") -> Response:
    """Every vocabulary: the fixed ones and the terms admins keep."""
    found = await in_transaction(request, lambda session: terms.terms(session=session))
    return render(
        request, "admin/vocabulary.html", terms=found, keys=TERM_KEYS, industries=INDUSTRIES,
        notice=NOTICES.get(done, ""), error="", error_key="",
    )  # fmt: skip


@router.post("/vocabulary")
async def add_term(request: Request, user: AdminUser) -> Response:
    """Add a 资质 or 街道 term."""
    form = await request.form()
    key, value = str(form.get("key") or ""), str(form.get("value") or "")

    def add(session: Session) -> str:
        try:
            terms.add_term(session=session, key=key, value=value, author=user.username)
        except terms.TermError as error:
            return str(error)
        return ""

    error = await in_transaction(request, add)
    if error:
        found = await in_transaction(request, lambda session: terms.terms(session=session))
        return render(
            request, "admin/vocabulary.html", status=422, terms=found, keys=TERM_KEYS, industries=INDUSTRIES,
            notice="", error=error, error_key=key,
        )  # fmt: skip
    return RedirectResponse("/admin/vocabulary?done=added", status_code=303)


@router.post("/vocabulary/remove")
async def remove_term(request: Request, user: AdminUser) -> Response:
    """Remove a term (what already uses it keeps its value)."""
    form = await request.form()
    key, value = str(form.get("key") or ""), str(form.get("value") or "")
    await in_transaction(request, lambda session: terms.remove_term(session=session, key=key, value=value))
    return RedirectResponse("/admin/vocabulary?done=removed", status_code=303)
