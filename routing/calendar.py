"""Working time: China's statutory calendar (holidays and 调休 make-up days) and working hours, as data.

A year whose holiday notice is not entered falls back to Monday to Friday; whatever is computed across
such a year is provisional and the fallback is logged once per process and year.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_PERIODS = ((time(9), time(12)), (time(14), time(18)))
# Beyond this a computation is a bug (a calendar with no working day), not a long limit.
MAX_DAYS = 3 * 366
_warned: set[int] = set()

HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


class CalendarError(ValueError):
    """Working hours or calendar data that cannot be used; the message says what is wrong."""


def parse_periods(raw: Iterable[Iterable[str]]) -> tuple[tuple[time, time], ...]:
    """Working periods from [["09:00", "12:00"], ...], checked to be ordered and not overlapping."""
    periods: list[tuple[time, time]] = []
    for pair in raw:
        try:
            start, end = (time.fromisoformat(str(part).strip()) for part in pair)
        except ValueError:
            raise CalendarError(f"工作时间格式应为 HH:MM-HH:MM：{list(pair)}") from None
        if end <= start or (periods and start < periods[-1][1]):
            raise CalendarError(f"工作时间段必须按时间先后排列且不重叠：{start:%H:%M}-{end:%H:%M}")
        periods.append((start, end))
    if not periods:
        raise CalendarError("至少需要一个工作时间段")
    return tuple(periods)


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and hours of one district; every datetime in and out is timezone-aware (UTC out)."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    known_years: frozenset[int] = frozenset()
    timezone: str = DEFAULT_TIMEZONE
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS

    def __hash__(self) -> int:
        return id(self)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_workday(self, day: date) -> bool:
        """A working day: by the notice if entered (holidays off, 调休 days on), else Monday to Friday."""
        if day in self.overrides:
            return self.overrides[day]
        if day.year not in self.known_years and day.year not in _warned:
            _warned.add(day.year)
            log.warning(
                "no holiday notice entered for %s: working days fall back to Monday-Friday, deadlines provisional",
                day.year,
                extra={"year": day.year},
            )
        return day.weekday() < 5

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working periods of a day as UTC instants (none on a day off)."""
        return _spans(self, day)

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant after `seconds` of working time from `start` (the end of a period when it ends there)."""
        if seconds <= 0:
            return start
        remaining = timedelta(seconds=seconds)
        day = self.local_date(start)
        for _ in range(MAX_DAYS):
            for begin, end in self.spans(day):
                if end <= start:
                    continue
                begin = max(begin, start)
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
            day += timedelta(days=1)
        raise CalendarError(f"{MAX_DAYS} 天内没有足够的工作时间：请检查节假日和工作时间设置")

    def between(self, start: datetime, end: datetime) -> int:
        """Working seconds from `start` to `end` (0 when end is not after start)."""
        if end <= start:
            return 0
        total = timedelta()
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            for begin, finish in self.spans(day):
                overlap = min(finish, end) - max(begin, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return int(total.total_seconds())

    def end_of_working_day(self, start: datetime, days: int) -> datetime:
        """The end of the `days`-th working day after the day of `start` (that day itself not counted)."""
        day = self.local_date(start)
        counted = 0
        for _ in range(MAX_DAYS):
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
                if counted >= days:
                    return self.spans(day)[-1][1]
        raise CalendarError(f"{MAX_DAYS} 天内没有 {days} 个工作日：请检查节假日设置")

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` if it falls in working hours, else the start of the next working period."""
        day = self.local_date(moment)
        for _ in range(MAX_DAYS):
            for begin, end in self.spans(day):
                if end > moment:
                    return max(begin, moment)
            day += timedelta(days=1)
        raise CalendarError("找不到下一个工作时间")

    def in_working_hours(self, moment: datetime) -> bool:
        return self.next_working_moment(moment) == moment

    def provisional(self, start: datetime, end: datetime) -> bool:
        """Does the stretch from start to end touch a year whose holiday notice is not entered?"""
        first, last = self.local_date(start), self.local_date(max(start, end))
        return any(year not in self.known_years for year in range(first.year, last.year + 1))


@lru_cache(maxsize=4096)
def _spans(calendar: WorkCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    if not calendar.is_workday(day):
        return ()
    zone = calendar.zone
    return tuple(
        (
            datetime.combine(day, begin, zone).astimezone(UTC),
            datetime.combine(day, end, zone).astimezone(UTC),
        )
        for begin, end in calendar.periods
    )


def package_years(first_year: int, last_year: int) -> dict[int, dict[date, tuple[bool, str]]]:
    """The days off on weekdays and make-up working days that `chinese-calendar` knows, by year."""
    import chinese_calendar

    years: dict[int, dict[date, tuple[bool, str]]] = {}
    for year in range(first_year, last_year + 1):
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            continue  # this release of the package has no notice for the year
        days: dict[date, tuple[bool, str]] = {}
        for day, name in chinese_calendar.holidays.items():
            if day.year == year and day.weekday() < 5:
                days[day] = (False, HOLIDAY_NAMES.get(name, name))
        for day, name in chinese_calendar.workdays.items():
            if day.year == year and day.weekday() >= 5:
                days[day] = (True, "调休上班：" + HOLIDAY_NAMES.get(name, name))
        years[year] = days
    return years


def from_rows(
    *, days: Iterable[tuple[date, bool]], years: Iterable[int], working_hours: Mapping[str, Any] | None
) -> WorkCalendar:
    """A calendar from stored rows and the working-hours setting ({"timezone", "periods"})."""
    hours = dict(working_hours or {})
    timezone = str(hours.get("timezone") or DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except Exception:  # ZoneInfoNotFoundError, ValueError
        raise CalendarError(f"未知时区：{timezone}") from None
    periods = parse_periods(hours["periods"]) if hours.get("periods") else DEFAULT_PERIODS
    return WorkCalendar(overrides=dict(days), known_years=frozenset(years), timezone=timezone, periods=periods)
