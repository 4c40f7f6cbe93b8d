"""Deadline arithmetic in working time: limits, the clock that 挂起 pauses, escalation points and statuses.

A limit is a number of working seconds from the start (派单). Suspension adds the working time spent
suspended, so the remaining working time stays exactly as it was while the clock is stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from routing.calendar import WorkCalendar
from routing.models import StopReason

UNITS = {"h": "个工作小时", "d": "个工作日", "D": ""}
LIMIT = re.compile(r"^\s*(\d{1,3})\s*(h|d|小时|工作小时|个工作小时|天|日|工作日|个工作日)\s*$", re.IGNORECASE)


class DeadlineStatus(StrEnum):
    """Where a time limit stands (computed from its timer, not stored)."""

    RUNNING = "running"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MET_LATE = "met_late"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[DeadlineStatus, str] = {
    DeadlineStatus.RUNNING: "进行中",
    DeadlineStatus.DUE_SOON: "即将到期",
    DeadlineStatus.OVERDUE: "已超时",
    DeadlineStatus.PAUSED: "已暂停（挂起）",
    DeadlineStatus.MET: "按时完成",
    DeadlineStatus.MET_LATE: "超时完成",
    DeadlineStatus.CANCELLED: "已取消",
}


class LimitError(ValueError):
    """A time limit that cannot be read; the message shows the accepted forms."""


def parse_limit(text: str) -> tuple[int, str]:
    """'2h' / '2小时' → (2, 'h'); '7d' / '7个工作日' → (7, 'd')."""
    found = LIMIT.match(str(text))
    if not found or int(found.group(1)) <= 0:
        raise LimitError(f"时限「{text}」无法识别：请写成如 2h（工作小时）或 7d（工作日）")
    amount, unit = int(found.group(1)), found.group(2).lower()
    return amount, "h" if unit in {"h", "小时", "工作小时", "个工作小时"} else "d"


def format_limit(amount: int, unit: str) -> str:
    """(7, 'd') → '7d', as the routing table writes it."""
    return f"{amount}{unit}"


def describe_limit(amount: int, unit: str) -> str:
    """(7, 'd') → '7 个工作日'."""
    return f"{amount} {UNITS.get(unit, '')}".strip()


def end_of_date(calendar: WorkCalendar, day: date) -> datetime:
    """Local midnight after `day`, in UTC: a milestone due on a date is due by the end of it."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), calendar.zone).astimezone(UTC)


def limit_seconds(calendar: WorkCalendar, *, start: datetime, amount: int, unit: str) -> int:
    """The working seconds a limit allows from `start`."""
    if unit == "h":
        return amount * 3600
    if unit == "d":
        return calendar.between(start, calendar.end_of_working_day(start, amount))
    if unit == "D":  # a milestone: `amount` is the due date's ordinal
        return calendar.between(start, end_of_date(calendar, date.fromordinal(amount)))
    raise LimitError(f"未知的时限单位：{unit}")


def whole(moment: datetime) -> datetime:
    """The instant to the second: clocks count whole seconds, so that their sums are exact."""
    return moment.replace(microsecond=0)


@dataclass(frozen=True)
class Clock:
    """A running limit: start, length in working seconds, working seconds paused, and a pause under way."""

    started_at: datetime
    total: int
    paused: int = 0
    suspended_at: datetime | None = None

    def point(self, calendar: WorkCalendar, percent: int) -> datetime:
        """When `percent` of the limit is used up, counting the pauses so far (an open pause up to its start)."""
        used = -(-self.total * percent // 100)  # ceiling: a reminder never comes before its share
        return calendar.add(self.started_at, used + self.paused)

    def deadline(self, calendar: WorkCalendar, *, now: datetime) -> datetime:
        """The deadline as it stands at `now`: an open pause keeps pushing it while it lasts."""
        paused = self.paused
        if self.suspended_at is not None:
            suspended = whole(self.suspended_at)
            paused += calendar.between(suspended, max(whole(now), suspended))
        return calendar.add(self.started_at, self.total + paused)

    def remaining(self, calendar: WorkCalendar, *, now: datetime) -> int:
        """Working seconds left at `now` (0 once overdue)."""
        return calendar.between(whole(now), self.deadline(calendar, now=now))

    def suspend(self, *, at: datetime) -> Clock:
        """Stop the clock (挂起); suspending twice keeps the first pause."""
        return self if self.suspended_at is not None else replace(self, suspended_at=whole(at))

    def resume(self, calendar: WorkCalendar, *, at: datetime) -> Clock:
        """Restart the clock, adding the working time spent suspended."""
        if self.suspended_at is None:
            return self
        suspended = whole(self.suspended_at)
        pause = calendar.between(suspended, max(whole(at), suspended))
        return replace(self, paused=self.paused + pause, suspended_at=None)


def status(
    *,
    due_at: datetime,
    warn_at: datetime | None,
    now: datetime,
    stopped_at: datetime | None,
    stop_reason: StopReason | None,
    suspended: bool,
) -> DeadlineStatus:
    """Where a limit stands at `now`; a stop reason other than cancelled counts as met."""
    if stopped_at is not None:
        if stop_reason == StopReason.CANCELLED:
            return DeadlineStatus.CANCELLED
        return DeadlineStatus.MET if stopped_at <= due_at else DeadlineStatus.MET_LATE
    if suspended:
        return DeadlineStatus.PAUSED
    if now >= due_at:
        return DeadlineStatus.OVERDUE
    if warn_at is not None and now >= warn_at:
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.RUNNING
