"""Working time as data: statutory holidays and make-up days, working hours, and a year with no notice yet."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import importing, service, timers, views
from routing.calendar import CalendarError, WorkCalendar, parse_periods
from routing.models import AppealTimer, CalendarYear
from routing.rules import load_calendar
from tests.routing.support import file, local


def test_the_seed_holds_the_statutory_calendar(session: Session) -> None:
    calendar = load_calendar(session=session)
    assert {2024, 2025, 2026} <= calendar.known_years and 2027 not in calendar.known_years
    assert not calendar.is_workday(date(2026, 10, 1))  # 国庆节
    assert calendar.is_workday(date(2026, 10, 10))  # Saturday, a make-up working day (调休)
    assert not calendar.is_workday(date(2026, 2, 18))  # 春节, a Wednesday


def test_working_days_skip_national_day_and_count_the_make_up_saturday(session: Session) -> None:
    calendar = load_calendar(session=session)
    start = local(2026, 9, 30, 10)
    assert calendar.end_of_working_day(start, 3) == local(2026, 10, 10, 18)


def test_working_hours_skip_lunch_nights_and_weekends(session: Session) -> None:
    calendar = load_calendar(session=session)
    assert calendar.add(local(2026, 11, 27, 17), 2 * 3600) == local(2026, 11, 30, 10)  # Friday 17:00 → Monday
    assert calendar.add(local(2026, 11, 24, 11, 30), 2 * 3600) == local(2026, 11, 24, 15, 30)  # over lunch
    assert calendar.add(local(2026, 11, 24, 11), 3600) == local(2026, 11, 24, 12)  # ends with the morning
    assert calendar.between(local(2026, 11, 24, 8), local(2026, 11, 25, 8)) == 7 * 3600


def test_working_hours_are_validated() -> None:
    assert parse_periods([["08:30", "12:00"], ["13:30", "17:30"]])[1][0].minute == 30
    for bad in ([["12:00", "09:00"]], [["09:00", "12:00"], ["11:00", "18:00"]], [["9点", "12点"]], []):
        with pytest.raises(CalendarError):
            parse_periods(bad)


def test_a_calendar_with_no_working_days_fails_loudly() -> None:
    calendar = WorkCalendar(
        overrides={date(2026, 1, 1) + timedelta(days=n): False for n in range(1200)},
        known_years=frozenset({2026, 2027, 2028, 2029}),
    )
    with pytest.raises(CalendarError, match="没有"):
        calendar.add(local(2026, 1, 1, 9), 3600)


def test_january_2027_falls_back_to_weekdays_until_the_notice_is_entered(
    session: Session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert service.missing_years(session=session, today=date(2026, 12, 1)) == [2027]
    with caplog.at_level(logging.WARNING, logger="routing.calendar"):
        import routing.calendar

        routing.calendar._warned.discard(2027)
        appeal = file(session, now=local(2026, 12, 28, 10))  # Monday; 7 working days reach into January 2027
    assert any("2027" in record.getMessage() for record in caplog.records)
    reply = session.scalars(
        select(AppealTimer).where(AppealTimer.appeal_id == appeal.id, AppealTimer.stage == "reply")
    ).one()
    # Monday to Friday: 1 January 2027 (a Friday) counts as a working day for now.
    assert reply.due_at == local(2027, 1, 6, 18) and reply.provisional
    shown = views.show_appeal(session=session, reference=appeal.reference)
    assert shown is not None and [item.provisional for item in shown.deadlines] == [False, False, True]

    # The admin enters the State Council's notice: 1 January off, no make-up day.
    notice = tmp_path / "holidays-2027.json"
    notice.write_text(
        json.dumps(
            {
                "calendar": [
                    {"date": "2027-01-01", "workday": False, "name": "元旦"},
                    {"date": "2027-02-11", "workday": False, "name": "春节"},
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    applied = importing.import_file(session=session, path=notice, now=local(2026, 12, 29, 9))
    assert applied.calendar_days == 2 and applied.recomputed == 1
    assert reply.due_at == local(2027, 1, 7, 18) and not reply.provisional
    assert session.get(CalendarYear, 2027) is not None
    assert service.missing_years(session=session, today=date(2026, 12, 1)) == []


def test_working_hours_changed_by_the_admin_move_running_hour_limits(session: Session, tmp_path: Path) -> None:
    appeal = file(session, now=local(2026, 11, 24, 10))
    sign = session.scalars(
        select(AppealTimer).where(AppealTimer.appeal_id == appeal.id, AppealTimer.stage == "sign")
    ).one()
    assert sign.due_at == local(2026, 11, 24, 12)
    hours = tmp_path / "hours.json"
    hours.write_text(
        json.dumps(
            {"working_hours": {"timezone": "Asia/Shanghai", "periods": [["08:30", "11:30"], ["13:30", "17:30"]]}}
        )
    )
    importing.import_file(session=session, path=hours, now=local(2026, 11, 24, 10, 30))
    assert sign.due_at == local(2026, 11, 24, 14)  # 10:00-11:30, then 13:30-14:00
    assert timers.clock_of(sign).total == 2 * 3600
