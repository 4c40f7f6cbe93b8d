"""The policy side of the statistics against figures computed by hand from a month of questions and pushes, on
SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.platform import db
from policies import indicators
from policies.indicators import Window
from policies.questions import Outcome, PolicyQuestion, PolicyShown
from routing import service
from tests.routing.support import SEEDED_AT
from tests.support.databases import Templates
from tests.support.month import at
from tests.support.policy_month import (
    EXPECTED_POLICIES,
    EXPECTED_POLICY_RATES,
    EXPECTED_TOP,
    EXPECTED_UNANSWERED,
    NOVEMBER_WINDOW,
    build_policy_month,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def month(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> Iterator[tuple[Session, dict[str, int]]]:
    """The month of policy questions and pushes in a migrated database of either kind."""
    if request.param == "sqlite":
        engine: Engine = db.make_engine(templates.sqlite(tmp_path / "policies.db", "schema", seeded_at=SEEDED_AT))
    else:
        engine = db.make_engine(request.getfixturevalue("pg_url"))
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            service.ensure_default_table(session=session, now=SEEDED_AT)
    with db.session_factory(engine)() as session:
        made = build_policy_month(session)
        session.commit()
        yield session, made
    engine.dispose()


def test_the_policy_figures_of_the_month(month: tuple[Session, dict[str, int]]) -> None:
    session, _ = month
    figures = indicators.figures(session=session, window=NOVEMBER_WINDOW)
    assert {name: getattr(figures, name) for name in EXPECTED_POLICIES} == EXPECTED_POLICIES
    for name, expected in EXPECTED_POLICY_RATES.items():
        assert getattr(figures, name) == pytest.approx(expected), name
    as_json = figures.to_dict()
    assert as_json["questions"] == 7 and as_json["open_rate"] == pytest.approx(0.5)


def test_an_empty_period_has_no_rates(month: tuple[Session, dict[str, int]]) -> None:
    session, _ = month
    figures = indicators.figures(session=session, window=Window(at(1, 1, 0), at(2, 1, 0)))
    assert figures == indicators.PolicyFigures()
    assert all(figures.to_dict()[name] is None for name in indicators.POLICY_RATES)


def test_top_policies_and_unanswered_questions(month: tuple[Session, dict[str, int]]) -> None:
    session, made = month
    top = indicators.top_policies(session=session, window=NOVEMBER_WINDOW)
    assert [(item.code, item.questions) for item in top] == EXPECTED_TOP
    assert top[0].body == "区科技局" and top[0].policy_id == made["T3"]
    assert [(item.text, item.count) for item in indicators.unanswered(session=session, window=NOVEMBER_WINDOW)] == (
        EXPECTED_UNANSWERED
    )
    # October holds only q7 (T4) and the pushes of d7.
    october = Window(at(10, 1, 0), at(11, 1, 0))
    assert [(item.code, item.questions) for item in indicators.top_policies(session=session, window=october)] == [
        ("T4", 1)
    ]
    assert indicators.figures(session=session, window=october).opened == 1


def test_every_number_lists_the_rows_behind_it(month: tuple[Session, dict[str, int]]) -> None:
    session, made = month
    figures = indicators.figures(session=session, window=NOVEMBER_WINDOW)

    def ids(measure: str, policy_id: int | None = None) -> list[int]:
        return indicators.row_ids(session=session, window=NOVEMBER_WINDOW, measure=measure, policy_id=policy_id)

    assert ids("unanswered") == sorted(made[name] for name in ("q4", "q5", "q6"))
    assert ids("opened") == sorted(made[name] for name in ("d1", "d3"))
    assert ids("shown_no_application") == sorted(made[name] for name in ("q1", "q3"))
    assert ids("shown", made["T3"]) == sorted(made[name] for name in ("q1", "q2", "q3"))
    # A count of rows (questions, pushes) equals its list; 展示 counts listings, its list the questions.
    for measure in ("questions", "answered", "unanswered", "pushed", "delivered", "opened", "pushed_instant"):
        assert len(ids(measure)) == getattr(figures, measure), measure


def test_a_question_keeps_the_order_of_the_policies_listed(month: tuple[Session, dict[str, int]]) -> None:
    session, made = month
    shown = session.execute(
        select(PolicyShown.policy_id, PolicyShown.rank)
        .where(PolicyShown.question_id == made["q3"])
        .order_by(PolicyShown.rank)
    ).all()
    assert [tuple(row) for row in shown] == [(made["T2"], 1), (made["T3"], 2), (made["T1"], 3)]
    q5 = session.get(PolicyQuestion, made["q5"])
    assert q5 is not None and q5.outcome == Outcome.NEAR_MISS and q5.key == "数据中心电费补贴"
