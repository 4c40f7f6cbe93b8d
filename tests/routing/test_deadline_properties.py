"""Properties of the deadline arithmetic on China's real statutory calendar (2024-2026) and the 2027 fallback.

A working-day deadline never lands on a non-working day; it never moves backwards as time passes; and
挂起 pauses it exactly: the working time left stays the same while suspended and runs otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.calendar import WorkCalendar, from_rows, package_years
from routing.deadlines import Clock, limit_seconds

YEARS = package_years(2024, 2027)
CALENDAR = from_rows(
    days=[(day, workday) for days in YEARS.values() for day, (workday, _) in days.items()],
    years=list(YEARS),
    working_hours={"timezone": "Asia/Shanghai", "periods": [["09:00", "12:00"], ["14:00", "18:00"]]},
)
assert set(YEARS) == {2024, 2025, 2026}  # chinese-calendar 1.11 has no 2027: January 2027 is the fallback

instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 3, 31), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(microsecond=0)
)
# Suspensions as (gap before it, its length) in seconds: from minutes to weeks, across nights and holidays.
pauses = st.lists(st.tuples(st.integers(0, 10 * 86400), st.integers(1, 14 * 86400)), max_size=4)


def statutory_workday(day: date) -> bool:
    """The oracle, independent of our calendar: the package itself, and Monday to Friday for unknown years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def in_working_hours(calendar: WorkCalendar, moment: datetime) -> bool:
    """Inside (or at the end of) a working period of a working day."""
    return any(begin <= moment <= end for begin, end in calendar.spans(calendar.local_date(moment)))


def schedule(start: datetime, plan: list[tuple[int, int]]) -> list[tuple[datetime, datetime]]:
    """Suspension intervals after `start` from (gap, length) pairs."""
    intervals, cursor = [], start
    for gap, length in plan:
        begin = cursor + timedelta(seconds=gap)
        intervals.append((begin, begin + timedelta(seconds=length)))
        cursor = begin + timedelta(seconds=length)
    return intervals


def clock_at(clock: Clock, intervals: list[tuple[datetime, datetime]], moment: datetime) -> Clock:
    """The clock as the lifecycle leaves it at `moment`: each suspension applied, resumed if it has ended."""
    for begin, end in intervals:
        if begin > moment:
            break
        clock = clock.suspend(at=begin)
        if end <= moment:
            clock = clock.resume(CALENDAR, at=end)
    return clock


@settings(max_examples=300, deadline=None)
@given(start=instants, days=st.integers(1, 30))
def test_a_working_day_deadline_is_the_end_of_a_working_day(start: datetime, days: int) -> None:
    clock = Clock(start, limit_seconds(CALENDAR, start=start, amount=days, unit="d"))
    due = clock.deadline(CALENDAR, now=start)
    day = CALENDAR.local_date(due)
    assert statutory_workday(day)
    assert due.astimezone(CALENDAR.zone).time() == time(18)
    counted = sum(
        statutory_workday(CALENDAR.local_date(start) + timedelta(days=offset))
        for offset in range(1, (day - CALENDAR.local_date(start)).days + 1)
    )
    assert counted == days  # the day of dispatch is not counted; the deadline's day is
    assert clock.point(CALENDAR, 100) == due


@settings(max_examples=300, deadline=None)
@given(start=instants, amount=st.integers(1, 30), unit=st.sampled_from(["h", "d"]), plan=pauses)
def test_every_deadline_and_escalation_lands_in_working_hours_of_a_working_day(
    start: datetime, amount: int, unit: str, plan: list[tuple[int, int]]
) -> None:
    intervals = schedule(start, plan)
    clock = clock_at(
        Clock(start, limit_seconds(CALENDAR, start=start, amount=amount, unit=unit)),
        intervals,
        intervals[-1][1] if intervals else start,
    )
    for percent in (75, 100, 200):
        moment = clock.point(CALENDAR, percent)
        assert statutory_workday(CALENDAR.local_date(moment)), (percent, moment)
        assert in_working_hours(CALENDAR, moment), (percent, moment)


@settings(max_examples=300, deadline=None)
@given(
    start=instants,
    days=st.integers(1, 30),
    plan=pauses,
    looks=st.lists(st.integers(0, 60 * 86400), min_size=2, max_size=8),
)
def test_a_deadline_never_moves_backwards_as_time_passes(
    start: datetime, days: int, plan: list[tuple[int, int]], looks: list[int]
) -> None:
    intervals = schedule(start, plan)
    clock = Clock(start, limit_seconds(CALENDAR, start=start, amount=days, unit="d"))
    seen = []
    for offset in sorted(looks):
        moment = start + timedelta(seconds=offset)
        seen.append(clock_at(clock, intervals, moment).deadline(CALENDAR, now=moment))
    assert seen == sorted(seen)


@settings(max_examples=300, deadline=None)
@given(start=instants, days=st.integers(1, 30), plan=pauses, step=st.integers(60, 5 * 86400))
def test_suspension_pauses_the_clock_exactly(
    start: datetime, days: int, plan: list[tuple[int, int]], step: int
) -> None:
    intervals = schedule(start, plan)
    clock = Clock(start, limit_seconds(CALENDAR, start=start, amount=days, unit="d"))
    for begin, end in intervals:
        left = clock_at(clock, intervals, begin).remaining(CALENDAR, now=begin)
        # While suspended, the working time left does not change, whatever the hour.
        for moment in (begin + (end - begin) / 3, end - timedelta(seconds=1), end):
            assert clock_at(clock, intervals, moment).remaining(CALENDAR, now=moment) == left
    # Outside suspensions it runs down by exactly the working time that passes.
    edges = sorted({start, *(edge for interval in intervals for edge in interval)})
    for earlier, later in zip(edges, [*edges[1:], edges[-1] + timedelta(seconds=step)], strict=True):
        if any(begin <= earlier < end for begin, end in intervals):
            continue
        a, b = earlier, min(later, earlier + timedelta(seconds=step))
        due = clock_at(clock, intervals, a).deadline(CALENDAR, now=a)
        if b > due:
            continue
        spent = CALENDAR.between(a, b)
        assert (
            clock_at(clock, intervals, a).remaining(CALENDAR, now=a)
            - clock_at(clock, intervals, b).remaining(CALENDAR, now=b)
            == spent
        )
    # After the last resumption the deadline is the plain one pushed by the working time suspended.
    final = clock_at(clock, intervals, edges[-1])
    paused = sum(CALENDAR.between(begin, end) for begin, end in intervals)
    assert final.deadline(CALENDAR, now=edges[-1]) == CALENDAR.add(start, clock.total + paused)


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC)),
    days=st.integers(1, 30),
)
def test_deadlines_reaching_an_unknown_year_are_provisional(start: datetime, days: int) -> None:
    due = Clock(start, limit_seconds(CALENDAR, start=start, amount=days, unit="d")).deadline(CALENDAR, now=start)
    assert CALENDAR.provisional(start, due) == (CALENDAR.local_date(due).year == 2027)
