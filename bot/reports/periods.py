"""Periods people name (a month 2026-11, a quarter 2026Q4, a date range) as UTC scopes of the indicators."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.indicators import Scope

MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


class PeriodError(ValueError):
    """A period that cannot be read; the message shows the accepted form."""


@dataclass(frozen=True)
class Period:
    """Local dates [first, last] (both included) of one period, and its name."""

    first: date
    last: date
    name: str = field(compare=False)

    def scope(self, *, timezone: str, now: datetime | None = None, unit_id: int | None = None) -> Scope:
        """The period as the indicators read it: [local midnight of first, local midnight after last)."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, time(), zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone).astimezone(UTC)
        return Scope(start=start, end=end, now=now or datetime.now(UTC), unit_id=unit_id)

    def previous(self) -> Period:
        """The period just before: the month or quarter before for a whole one, else as many days."""
        before = self.first - timedelta(days=1)
        if quarter_of(self.first) == self:
            return quarter_of(before)
        if month(f"{self.first:%Y-%m}").last == self.last and self.first.day == 1:
            return month(f"{before:%Y-%m}")
        days = (self.last - self.first).days + 1
        last = self.first - timedelta(days=1)
        return dates(last - timedelta(days=days - 1), last)


def month(text: str) -> Period:
    """'2026-11' → November 2026."""
    found = MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise PeriodError(f"月份「{text}」应写成 YYYY-MM，如 2026-11")
    first = date(int(found.group(1)), int(found.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1), f"{first:%Y-%m}")


def quarter(text: str) -> Period:
    """'2026Q4' → October to December 2026."""
    found = QUARTER.match(text.strip())
    if not found:
        raise PeriodError(f"季度「{text}」应写成 YYYYQn，如 2026Q4")
    year, number = int(found.group(1)), int(found.group(2))
    first = date(year, 3 * number - 2, 1)
    last = (date(year, 3 * number, 1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(first, last, f"{year}Q{number}")


def quarter_of(day: date) -> Period:
    """The quarter a date falls in."""
    return quarter(f"{day.year}Q{(day.month - 1) // 3 + 1}")


def parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{what}「{text}」应写成 YYYY-MM-DD") from None


def dates(first: date, last: date) -> Period:
    """Dates from first to last, both included."""
    if last < first:
        raise PeriodError(f"结束日期 {last} 早于开始日期 {first}")
    if (last - first).days > 3 * 366:
        raise PeriodError("统计区间不能超过三年")
    return Period(first, last, f"{first}～{last}")


def range_or_month(start: str | None, end: str | None, *, today: date) -> Period:
    """--from / --to (dates, both included); without them the current month up to today."""
    first = parse_date(start, "开始日期") if start else today.replace(day=1)
    last = parse_date(end, "结束日期") if end else today
    return dates(first, last)


def weeks(period: Period, *, limit: int = 26) -> list[Period]:
    """The weeks (Monday to Sunday) that touch the period, clipped to it; at most `limit`, the latest kept."""
    found = []
    monday = period.first - timedelta(days=period.first.weekday())
    while monday <= period.last:
        first, last = max(monday, period.first), min(monday + timedelta(days=6), period.last)
        found.append(Period(first, last, f"{first:%m-%d}"))
        monday += timedelta(days=7)
    return found[-limit:]
