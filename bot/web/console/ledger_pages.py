"""The monthly 台账 at /console/ledger: a unit head reviews the unit's ledger and confirms it (确认上报) before
the 20th; 区营商办 sees who has reported and downloads every unit's ledger and the district's."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import Role, SignedIn
from bot.reports import periods, workbooks
from bot.reports.periods import Period
from bot.web.auth import require_role
from bot.web.bounds import whole_number
from bot.web.console.common import chrome, render, run
from bot.web.deps import ServicesDep, Today
from routing import indicators, ledger
from routing.lifecycle import Refused
from routing.models import Unit

router = APIRouter(prefix="/console", include_in_schema=False)
LedgerUser = Annotated[SignedIn, Depends(require_role(Role.UNIT_HEAD, Role.SUPERVISOR))]
HeadUser = Annotated[SignedIn, Depends(require_role(Role.UNIT_HEAD))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(text: str, today: date) -> Period:
    """The month asked for; by default last month (the one due for reporting)."""
    if not text:
        return periods.month(f"{today.replace(day=1) - timedelta(days=1):%Y-%m}")
    try:
        return periods.month(text[:7])
    except periods.PeriodError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/ledger")
async def ledger_page(request: Request, user: LedgerUser, services: ServicesDep, today: Today) -> Response:
    """A unit head's ledger of the month with its confirmation; 区营商办's table of who has reported."""
    month = _month(request.query_params.get("month", ""), today)
    timezone = services.settings.app.timezone
    now = datetime.now(UTC)
    unit_id = None if user.role == Role.SUPERVISOR else (user.unit_id or -1)
    due = ledger.deadline(month.first)

    def read(session: Session) -> dict[str, Any]:
        scope = month.scope(timezone=timezone, now=now, unit_id=unit_id)
        zone = ZoneInfo(timezone)
        status = ledger.reporting(
            session=session, scope=month.scope(timezone=timezone, now=now), month=month.name, due=due, timezone=zone
        )
        return {
            "entries": ledger.entries(session=session, scope=scope) if unit_id is not None else [],
            "figures": indicators.total(session=session, scope=scope),
            "reporting": status if unit_id is None else [row for row in status if row.unit_id == unit_id],
        }

    data = await run(request, read)
    notice = {"confirmed": "已确认上报区营商办"}.get(request.query_params.get("done", ""), "")
    error = {"early": "本月尚未结束，月末之后才能确认上报", "again": "该月台账已确认上报"}.get(
        request.query_params.get("error", ""), ""
    )
    months = [periods.month(f"{today.replace(day=1) - timedelta(days=31 * back - 15):%Y-%m}") for back in range(1, 7)]
    return render(
        request, "console/ledger.html", month=month, due=due, ended=now >= month.scope(timezone=timezone).end,
        months=months, supervisor=unit_id is None, notice=notice, error=error, today=today,
        **data, **await chrome(request, user),
    )  # fmt: skip


@router.get("/ledger/{month}.xlsx")
async def ledger_file(request: Request, month: str, user: LedgerUser, services: ServicesDep, today: Today) -> Response:
    """The month's 台账 as .xlsx: a unit's (its head: only their own), or the district's (区营商办, no unit)."""
    period = _month(month, today)
    asked = request.query_params.get("unit", "")
    own = user.unit_id or -1
    unit_id = whole_number(asked) if user.role == Role.SUPERVISOR else own
    timezone = services.settings.app.timezone

    def build(session: Session) -> tuple[bytes, str]:
        name = session.scalar(select(Unit.name).where(Unit.id == unit_id)) if unit_id is not None else "全区"
        if name is None:
            raise HTTPException(404, "没有这个单位")
        data, _ = workbooks.ledger_xlsx(
            session=session, period=period, timezone=timezone, now=datetime.now(UTC), unit_id=unit_id, unit_name=name
        )
        return data, name

    data, name = await run(request, build)
    filename = f"工作台账-{name}-{period.name}.xlsx"
    disposition = f"attachment; filename=\"ledger-{period.name}.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@router.post("/ledger/{month}/confirm")
async def confirm(
    request: Request,
    month: str,
    user: HeadUser,
    services: ServicesDep,
    today: Today,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """确认上报: the unit head confirms the unit's ledger of a month that has ended."""
    period = _month(month, today)
    scope = period.scope(timezone=services.settings.app.timezone, unit_id=user.unit_id)
    now = datetime.now(UTC)

    def work(session: Session) -> str:
        try:
            ledger.confirm(
                session=session, scope=scope, month=period.name, unit_id=user.unit_id or -1, username=user.username,
                note=note, now=now,
            )  # fmt: skip
        except Refused as exc:
            return "early" if "尚未结束" in str(exc) else "again"
        return ""

    error = await asyncio.shield(run(request, work))
    query = f"error={error}" if error else "done=confirmed"
    return RedirectResponse(f"/console/ledger?month={period.name}&{query}", status_code=303)
