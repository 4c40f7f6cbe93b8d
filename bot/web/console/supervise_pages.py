"""区营商办's view at /console/supervise: every unit's numbers, overdue and escalated appeals, disputes, extensions."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import User
from bot.web.console.appeal_pages import NOTICES
from bot.web.console.common import ROLE_NAMES, SupervisorUser, chrome, render, run
from routing import supervision
from routing.supervision import Overview

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/supervise")
async def supervise_page(request: Request, user: SupervisorUser) -> Response:
    """The supervisor's overview of all units."""
    now = datetime.now(UTC)
    overview, accounts = await run(request, lambda session: _overview(session, now))
    return render(
        request,
        "console/supervise.html",
        overview=overview,
        accounts=accounts,
        now=now,
        notice=NOTICES.get(request.query_params.get("done", ""), ""),
        **await chrome(request, user),
    )


def _overview(session: Session, now: datetime) -> tuple[Overview, dict[int, list[str]]]:
    """The overview, and the console accounts of each unit (name and role)."""
    accounts: dict[int, list[str]] = {}
    rows = session.execute(
        select(User.unit_id, User.username, User.role)
        .where(User.active.is_(True), User.unit_id.is_not(None))
        .order_by(User.username)
    )
    for unit_id, username, role in rows:
        if unit_id is not None:
            accounts.setdefault(unit_id, []).append(f"{username}（{ROLE_NAMES.get(role, role)}）")
    return supervision.overview(session=session, now=now), accounts
