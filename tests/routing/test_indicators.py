"""The indicators against figures computed by hand from a month of appeals, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.platform import db
from routing import indicators, service
from routing.indicators import ALL, Dimension, Scope
from routing.models import Appeal, Category, Unit
from tests.routing.support import SEEDED_AT
from tests.support.month import EXPECTED_ALL, EXPECTED_UNITS, NOVEMBER, at, build_month


@pytest.fixture(params=["sqlite", "postgresql"])
def month(request: pytest.FixtureRequest) -> Iterator[tuple[Session, dict[str, Appeal]]]:
    """The month of appeals in a migrated database of either kind."""
    if request.param == "sqlite":
        engine: Engine = request.getfixturevalue("engine")
    else:
        engine = db.make_engine(request.getfixturevalue("pg_url"))
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            service.ensure_default_table(session=session, now=SEEDED_AT)
    with db.session_factory(engine)() as session:
        made = build_month(session)
        session.commit()
        yield session, made
    if request.param == "postgresql":
        engine.dispose()


def unit_id(session: Session, name: str) -> int:
    found = session.scalar(select(Unit.id).where(Unit.name == name))
    assert found is not None
    return found


def check(figures: indicators.Figures, expected: dict[str, Any]) -> None:
    got = {name: getattr(figures, name) for name in expected}
    assert got == expected


def test_the_district_figures_of_the_month(month: tuple[Session, dict[str, Appeal]]) -> None:
    session, _ = month
    figures = indicators.total(session=session, scope=NOVEMBER)
    check(figures, EXPECTED_ALL)
    assert figures.response_rate == pytest.approx(4 / 7)
    assert figures.on_time_rate == pytest.approx(5 / 6)
    assert figures.solved_rate == pytest.approx(4 / 6)
    assert figures.satisfaction_rate == pytest.approx(4 / 6)
    assert figures.return_rate == pytest.approx(1 / 9)
    assert figures.reopen_rate == pytest.approx(1 / 6)
    as_json = figures.to_dict()
    assert as_json["response_rate"] == pytest.approx(4 / 7) and as_json["received"] == 8


def test_each_unit_on_its_own_clock(month: tuple[Session, dict[str, Appeal]]) -> None:
    session, _ = month
    by_unit = indicators.figures(session=session, scope=NOVEMBER, by=Dimension.UNIT)
    for name, expected in EXPECTED_UNITS.items():
        check(by_unit.get(unit_id(session, name), indicators.Figures()), expected)
    # One unit's own view gives the same figures as its row.
    approval = unit_id(session, "区审批局")
    own = Scope(NOVEMBER.start, NOVEMBER.end, NOVEMBER.now, unit_id=approval)
    check(indicators.total(session=session, scope=own), EXPECTED_UNITS["区审批局"])


def test_categories_streets_and_seed_tasks(month: tuple[Session, dict[str, Appeal]]) -> None:
    session, _ = month
    by_category = indicators.figures(session=session, scope=NOVEMBER, by=Dimension.CATEGORY)
    c08 = session.scalar(select(Category.id).where(Category.code == "C08"))
    assert by_category[c08].received == 1 and by_category[c08].reopened == 1
    c06 = session.scalar(select(Category.id).where(Category.code == "C06"))
    assert by_category[c06].received == 7
    by_street = indicators.figures(session=session, scope=NOVEMBER, by=Dimension.STREET)
    assert by_street[unit_id(session, "北院门街道办事处")].received == 1
    assert by_street[None].received == 7
    by_task = indicators.figures(session=session, scope=NOVEMBER, by=Dimension.TASK)
    assert by_task["8"].received == 7 and by_task["10"].received == 1
    assert sum(item.received for item in by_task.values()) == EXPECTED_ALL["received"]


def test_every_number_lists_the_appeals_behind_it(month: tuple[Session, dict[str, Appeal]]) -> None:
    session, made = month
    ids = {appeal.id: letter for letter, appeal in made.items()}

    def letters(measure: str, **narrow: Any) -> set[str]:
        return {ids[item] for item in indicators.appeal_ids(session=session, scope=NOVEMBER, measure=measure, **narrow)}

    assert letters("response_late") == {"B", "D", "I"}
    assert letters("closed_late") == {"F"}
    assert letters("solved") == {"A", "B", "C", "H"}
    assert letters("reopened") == {"C"}
    assert letters("overdue") == {"B", "D", "F", "I"}
    assert letters("returned") == {"D"}
    approval = unit_id(session, "区审批局")
    assert letters("response_late", by=Dimension.UNIT, key=approval) == {"B", "I"}
    assert letters("overdue", by=Dimension.UNIT, key=unit_id(session, "区司法局")) == {"D"}
    for measure in indicators.MEASURES:  # each list is as long as its number
        count = getattr(indicators.total(session=session, scope=NOVEMBER), measure, None)
        if isinstance(count, int) and measure not in {"rated", "satisfied", "dissatisfied", "assigned"}:
            assert len(letters(measure)) == count, measure


def test_a_period_with_nothing_has_no_rates(month: tuple[Session, dict[str, Appeal]]) -> None:
    session, _ = month
    empty = Scope(at(3, 1, 0), at(4, 1, 0), NOVEMBER.now)
    figures = indicators.total(session=session, scope=empty)
    assert figures.received == 0 and figures.response_rate is None and figures.satisfaction_rate is None
    assert indicators.figures(session=session, scope=empty, by=Dimension.UNIT) == {}
    assert ALL not in indicators.figures(session=session, scope=empty, by=Dimension.UNIT)
