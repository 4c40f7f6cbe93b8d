"""What the console pages share: who may enter, the user's scope and actor, headers, times, and delivery."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import Role, SignedIn, supervisor_unit
from bot.chat import handoff, notices
from bot.services import Services
from bot.web import pages
from bot.web.auth import require_role
from bot.web.deps import in_transaction
from routing import service as routing_service
from routing import staff_notices
from routing.deadlines import DeadlineStatus
from routing.lifecycle import STATES, Actor
from routing.models import ACTOR_ROLE_LABELS, Action, ActorRole, AppealState, Outcome, Rating, Stage, Unit
from routing.rules import STAGES

log = logging.getLogger(__name__)

CONSOLE_ROLES = (Role.STAFF, Role.UNIT_HEAD, Role.SUPERVISOR)
ConsoleUser = Annotated[SignedIn, Depends(require_role(*CONSOLE_ROLES))]
SupervisorUser = Annotated[SignedIn, Depends(require_role(Role.SUPERVISOR))]
# The admin pages' policy, plus this server's one script and the JSON it polls; still no inline script.
HEADERS = {
    **pages.HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
# Who acted, as the appeal's timeline names them (an account's role or the enterprise or the system).
ROLE_NAMES: dict[str, str] = {role: label for role, label in ACTOR_ROLE_LABELS.items()}
WARNING_TTL = 600.0
# (when it was read, the text); None until first read. Not 0.0: the monotonic clock starts near 0 at boot.
_warning: tuple[float, str] | None = None
_sending: set[asyncio.Task[None]] = set()


def scope(user: SignedIn) -> int | None:
    """The unit whose appeals the user sees; None for 区营商办 (every unit)."""
    if user.role == Role.SUPERVISOR:
        return None
    return user.unit_id if user.unit_id is not None else -1


def actor(user: SignedIn) -> Actor:
    """The user as the routing domain's actor (its log records the username, role and unit)."""
    return Actor(ActorRole(user.role), user.username, user.unit_id)


def not_found() -> HTTPException:
    """The same answer for an appeal that does not exist and one of another unit: nothing leaks."""
    return HTTPException(404, "没有这件诉求，或它不由您的单位办理")


async def run(request: Request, work: Any) -> Any:
    """A service call in one committed transaction."""
    return await in_transaction(request, work)


def countdown(due: datetime | None, now: datetime) -> str:
    """剩 2天3小时 / 剩 45分钟 / 已超 1天2小时: the wall-clock time to a deadline, in words."""
    if due is None:
        return "计时暂停"
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, rest = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        span = f"{days}天{hours}小时" if hours else f"{days}天"
    elif hours:
        span = f"{hours}小时{rest}分钟" if rest else f"{hours}小时"
    else:
        span = f"{max(rest, 1)}分钟"
    return f"剩 {span}" if seconds > 0 else f"已超 {span}"


def iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat() if moment is not None else ""


pages.environment.filters["iso"] = iso
pages.environment.globals["countdown"] = countdown
pages.environment.globals["role_name"] = lambda role: ROLE_NAMES.get(role, role)
pages.environment.globals["stages"] = STAGES
pages.environment.globals["states"] = STATES
# The enums the console templates compare against (`appeal.state == AppealState.ANSWERED`).
pages.environment.globals.update(
    Action=Action,
    ActorRole=ActorRole,
    AppealState=AppealState,
    DeadlineStatus=DeadlineStatus,
    Outcome=Outcome,
    Rating=Rating,
    Stage=Stage,
)


def missing_years_text(years: list[int]) -> str:
    """The warning shown to admins and 区营商办 while a year's holiday notice is missing."""
    if not years:
        return ""
    listed = "、".join(f"{year} 年" for year in years)
    return (
        f"尚未录入 {listed}的法定节假日安排：涉及的办理期限暂按周一至周五计算并标为“暂定”。"
        "请管理员在管理后台的“节假日”页面按国务院办公厅通知录入，录入后期限自动重算。"
    )


async def calendar_warning(request: Request) -> str:
    """The missing-holiday-years warning, read at most every ten minutes per process."""
    global _warning
    if _warning is not None and time.monotonic() - _warning[0] < WARNING_TTL:
        return _warning[1]
    today = datetime.now(UTC).date()
    years = await in_transaction(request, lambda s: routing_service.missing_years(session=s, today=today))
    text = missing_years_text(years)
    _warning = (time.monotonic(), text)
    return text


def forget_calendar_warning() -> None:
    """Read the warning again on the next page (after the calendar changed, and in tests)."""
    global _warning
    _warning = None


async def chrome(request: Request, user: SignedIn) -> dict[str, Any]:
    """What every console page shows around its content: unit name, unread notices, the calendar warning."""

    def read(session: Session) -> tuple[str, int, int]:
        unit = session.scalar(select(Unit.name).where(Unit.id == user.unit_id)) if user.unit_id else None
        if unit is None and user.role == Role.SUPERVISOR:  # an account made before supervisors had a unit
            office = supervisor_unit(session=session)
            unit = office.name if office else "区营商办"
        count = staff_notices.unread(session=session, role=user.role, unit_id=user.unit_id)
        return unit or "", count, handoff.waiting_count(session, unit_id=scope(user))

    unit, unread, waiting = await run(request, read)
    warning = await calendar_warning(request) if user.role == Role.SUPERVISOR else ""
    return {
        "unit_name": unit,
        "unread_notices": unread,
        "waiting_handoffs": waiting,
        "calendar_warning": warning,
        "scope_name": "全部单位" if user.role == Role.SUPERVISOR else unit,
    }


def render(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page with the console's headers."""
    return pages.render(request, name, status=status, headers=HEADERS, **context)


def deliver_soon(services: Services) -> None:
    """Send queued enterprise notices now instead of at the next worker pass (the claim keeps it once)."""

    async def send() -> None:
        try:
            await notices.tell_enterprises(services)
        except Exception:  # the worker's next pass sends what is left
            log.exception("sending enterprise notices after a console action failed")

    task = asyncio.ensure_future(send())
    _sending.add(task)
    task.add_done_callback(_sending.discard)
