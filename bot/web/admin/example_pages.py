"""What the matcher learns from, for admins: the labelled examples (review, remove) and the unanswered questions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.web.admin.common import notice
from bot.web.auth import AdminUser
from bot.web.deps import ServicesDep, in_transaction
from bot.web.pages import render
from policies import unanswered
from routing import examples
from routing.examples import SOURCE_LABELS, ExampleSource

router = APIRouter(prefix="/admin", include_in_schema=False)
PAGE = 100


@router.get("/examples")
async def examples_page(
    request: Request, user: AdminUser, services: ServicesDep, source: str = "", page: int = 1, done: str = ""
) -> Response:
    """The examples, newest first, by source; the staff's corrections are the ones to review."""
    chosen = source if source in set(ExampleSource) else ""
    page = max(1, page)

    def read(session: Session) -> tuple[list[examples.LabelledExample], dict[str, int]]:
        rows = examples.listing(session=session, source=chosen or None, limit=PAGE, offset=(page - 1) * PAGE)
        return rows, examples.counts(session=session)

    rows, counts = await in_transaction(request, read)
    return render(
        request,
        "admin/examples.html",
        rows=rows,
        counts=counts,
        source=chosen,
        page=page,
        more=len(rows) == PAGE,
        labels=SOURCE_LABELS,
        matching=services.match_index.status(),
        notice=notice(done),
    )


@router.post("/examples/{example_id}/delete")
async def remove_example(request: Request, user: AdminUser, services: ServicesDep, example_id: int) -> Response:
    """Remove one example; the live index follows at once here and within seconds elsewhere."""
    if await in_transaction(request, lambda s: examples.remove(session=s, example_id=example_id)):
        await services.match_index.notify_changed()
    return RedirectResponse("/admin/examples?done=example_removed", status_code=303)


@router.get("/unanswered")
async def unanswered_page(request: Request, user: AdminUser, done: str = "") -> Response:
    """Policy questions nothing in the list answered, most asked first: the input for the next list."""

    def read(session: Session) -> tuple[list[unanswered.UnansweredQuestion], int]:
        return unanswered.listing(session=session), unanswered.total(session=session)

    rows, total = await in_transaction(request, read)
    return render(request, "admin/unanswered.html", rows=rows, total=total, notice=notice(done))


@router.post("/unanswered/{question_id}/delete")
async def clear_question(request: Request, user: AdminUser, question_id: int) -> Response:
    """Take a question off the list (the list now answers it)."""
    await in_transaction(request, lambda s: unanswered.clear(session=s, question_id=question_id))
    return RedirectResponse("/admin/unanswered?done=question_cleared", status_code=303)
