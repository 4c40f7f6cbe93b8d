"""The queue at /console/: the unit's appeals by the nearest deadline, counts, filters, search, live updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.accounts import Role
from bot.chat.models import InboundMessage
from bot.web.bounds import whole_number
from bot.web.console import reads
from bot.web.console.common import ConsoleUser, chrome, render, run, scope
from bot.web.deps import ServicesDep
from routing import queue
from routing.models import AppealState, Category, Unit
from routing.queue import DEADLINE_FILTERS, STATE_FILTERS, Filters

router = APIRouter(prefix="/console", include_in_schema=False)
NOTICES = {"returned": "已退回区营商办，由其重新派单", "transferred": "已转派", "arbitrated": "已裁定并派单"}


def live_stamp(session: Session, unit_id: int | None) -> str:
    """Changes when an appeal enters or leaves the scope, moves, or its enterprise writes."""
    opened, last_event = queue.scope_stamp(session=session, unit_id=unit_id)
    last_message = (
        session.scalar(
            select(func.max(InboundMessage.id)).where(InboundMessage.openid.in_(queue.open_openids(unit_id=unit_id)))
        )
        or 0
    )
    return f"{opened}.{last_event}.{last_message}"


@dataclass(frozen=True)
class QueueQuery:
    """The queue's query string, parsed: its filters, the page, and the notice of the action that led here."""

    filters: Filters
    page: int
    done: str


async def queue_query(
    user: ConsoleUser,
    state: str = "",
    category: str = "",
    deadline: str = "",
    q: str = "",
    unit: str = "",
    page: str = "1",
    done: str = "",
) -> QueueQuery:
    """The queue's filters from a link; unknown values are ignored, and a unit outside the all-units scope."""
    filters = Filters(
        state=state[:16] if state in {*STATE_FILTERS, AppealState.CLOSED} else "",
        category=category[:64],
        deadline=deadline if deadline in DEADLINE_FILTERS else "",
        query=q[:64],
        unit=_number(unit) if scope(user) is None else None,
    )
    return QueueQuery(filters, _number(page) or 1, done)


def _number(text: str) -> int | None:
    """A whole number written in digits; None for anything else."""
    return whole_number(text)


def page_link(filters: Filters, page: int) -> str:
    """The queue URL with these filters on the given page."""
    values = {
        "state": filters.state,
        "category": filters.category,
        "deadline": filters.deadline,
        "q": filters.query,
        "unit": "" if filters.unit is None else str(filters.unit),
    }
    query = {key: value for key, value in values.items() if value}
    if page > 1:
        query["page"] = str(page)
    return "/console/" + (f"?{urlencode(query)}" if query else "")


@router.get("/")
async def queue_page(
    request: Request, user: ConsoleUser, query: Annotated[QueueQuery, Depends(queue_query)]
) -> Response:
    """The queue: counts on top, filters, the appeals nearest their deadline first."""
    supervisor = user.role == Role.SUPERVISOR
    filters = query.filters
    unit_id = scope(user)
    now = datetime.now(UTC)

    def read(session: Session) -> dict[str, Any]:
        clocks = queue.deadlines(session=session, unit_id=unit_id, now=now)
        found = queue.queue(session=session, unit_id=unit_id, filters=filters, now=now, page=query.page, clocks=clocks)
        unread = reads.unread_messages(
            session=session,
            user_id=user.user_id,
            appeals=[(item.id, item.openid, item.created_at) for item in found.items],
        )
        return {
            "counts": queue.counts(session=session, unit_id=unit_id, now=now, clocks=clocks),
            "page": found,
            "unread": unread,
            "supplied": queue.supplemented(session=session, appeal_ids=[item.id for item in found.items]),
            "categories": session.execute(select(Category.code, Category.name).order_by(Category.code)).all(),
            "units": session.execute(select(Unit.id, Unit.name).order_by(Unit.id)).all() if supervisor else [],
            "stamp": live_stamp(session, unit_id),
        }

    data = await run(request, read)
    return render(
        request,
        "console/queue.html",
        filters=filters,
        now=now,
        states=STATE_FILTERS,
        deadlines=DEADLINE_FILTERS,
        page_link=page_link,
        supervisor=supervisor,
        notice=NOTICES.get(query.done, ""),
        **data,
        **await chrome(request, user),
    )


@router.get("/export.xlsx")
async def export(
    request: Request, user: ConsoleUser, services: ServicesDep, query: Annotated[QueueQuery, Depends(queue_query)]
) -> Response:
    """The appeals the queue's filters find, every page of them, as .xlsx (the user's own scope only)."""
    from bot.reports import workbooks

    unit_id = scope(user)
    now = datetime.now(UTC)
    timezone = services.settings.app.timezone
    data = await run(
        request,
        lambda session: workbooks.appeals_xlsx(
            session=session, unit_id=unit_id, filters=query.filters, now=now, timezone=timezone
        ),
    )
    name = quote(f"诉求导出-{now:%Y%m%d}.xlsx")
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=\"appeals.xlsx\"; filename*=UTF-8''{name}"},
    )


@router.get("/live")
async def live(request: Request, user: ConsoleUser) -> Response:
    """The queue's stamp, polled by the page: when it changes, the page fetches itself again."""
    unit_id = scope(user)
    stamp = await run(request, lambda session: live_stamp(session, unit_id))
    return JSONResponse({"stamp": stamp}, headers={"Cache-Control": "no-store"})
