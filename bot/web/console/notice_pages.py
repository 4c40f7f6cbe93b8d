"""Staff notices at /console/notices: reminders, overdue notices and 区营商办's digests, read and unread."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.web.bounds import whole_number
from bot.web.console.common import ConsoleUser, chrome, render, run
from routing import staff_notices

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/notices")
async def notices_page(request: Request, user: ConsoleUser) -> Response:
    """The user's notices, unread first."""
    found = await run(
        request, lambda session: staff_notices.notices(session=session, role=user.role, unit_id=user.unit_id)
    )
    done = "已标记为已读" if request.query_params.get("done") == "read" else ""
    return render(request, "console/notices.html", items=found, notice=done, **await chrome(request, user))


@router.post("/notices/read")
async def mark_read(request: Request, user: ConsoleUser) -> Response:
    """Mark one notice (field `id`) or, with `all=1`, every notice of the user read."""
    form = await request.form()
    raw, everything = str(form.get("id") or ""), form.get("all") == "1"
    now = datetime.now(UTC)
    if everything or whole_number(raw) is not None:
        await run(
            request,
            lambda session: staff_notices.mark_read(
                session=session,
                role=user.role,
                unit_id=user.unit_id,
                now=now,
                notice_id=None if everything else whole_number(raw),
            ),
        )
    return RedirectResponse("/console/notices?done=read", status_code=303)
