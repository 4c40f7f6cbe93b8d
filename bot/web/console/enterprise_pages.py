"""The staff's read view of an enterprise at /console/enterprises: its profile (with the source of each field), the
appeals its WeChat users filed that the staff member may see, the questions they asked, and the pushes they got."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import SignedIn
from bot.chat.models import InboundMessage
from bot.web.admin.enterprise_pages import FIELD_LABELS, origin, shown
from bot.web.console.common import ConsoleUser, chrome, render, run, scope
from enterprises import service
from enterprises.models import Enterprise
from policies import deliveries
from routing.models import Appeal

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN = 50


@router.get("/enterprises")
async def find_enterprises(request: Request, user: ConsoleUser, q: str = "") -> Response:
    """Enterprises by name or code."""
    rows, total = await run(request, lambda session: service.search(session=session, query=q[:100], per_page=SHOWN))
    return render(
        request, "console/enterprises.html", rows=rows if q.strip() else [], total=total, q=q, shown=shown,
        **await chrome(request, user),
    )  # fmt: skip


def _view(session: Session, enterprise_id: int, user: SignedIn) -> dict[str, Any]:
    enterprise = service.get_by_id(session=session, enterprise_id=enterprise_id)
    if enterprise is None:
        raise HTTPException(404, "没有这家企业")
    openids = [binding.openid for binding in service.bindings(session=session, enterprise_id=enterprise.id)]
    appeals = select(Appeal).where(Appeal.openid.in_(openids)).order_by(Appeal.created_at.desc()).limit(SHOWN)
    unit = scope(user)
    if unit is not None:  # staff see their own unit's appeals only
        appeals = appeals.where(Appeal.unit_id == unit)
    questions = (
        select(InboundMessage)
        .where(InboundMessage.openid.in_(openids), InboundMessage.text.is_not(None))
        .order_by(InboundMessage.received_at.desc())
        .limit(SHOWN)
    )
    return {
        "enterprise": enterprise,
        "users": len(openids),
        "appeals": list(session.scalars(appeals)),
        "questions": list(session.scalars(questions)),
        "pushes": deliveries.pushes_of(session=session, openids=openids, limit=SHOWN),
    }


@router.get("/enterprises/{enterprise_id}")
async def show_enterprise(request: Request, user: ConsoleUser, enterprise_id: int) -> Response:
    """One enterprise, read only."""
    view: dict[str, Any] = await run(request, lambda session: _view(session, enterprise_id, user))
    enterprise: Enterprise = view["enterprise"]
    return render(
        request, "console/enterprise.html", labels=FIELD_LABELS, shown=shown, origin=origin,
        title=enterprise.name, **view, **await chrome(request, user),
    )  # fmt: skip
