"""The policy side of the statistics, computed in SQL (definitions: docs/indicators.md, "Policy side").

As routing/indicators.py: each figure is a flag of one source, a SELECT of (row id, policy id, 0/1 flags) over
the rows of a period [start, end) in UTC, read through an index on its time. The count sums the flag; the list
behind a number selects the ids of the same source with the same flag, so a number and its list agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from enterprises.models import Enterprise
from policies.models import Delivery, DeliveryState, Policy, PolicyMode
from policies.questions import UNANSWERED, Outcome, PolicyQuestion, PolicyShown

PUSHED = (DeliveryState.SENT, DeliveryState.DELIVERED)
Rows = Select[*tuple[Any, ...]]  # a source: (id, policy_id, flags...)


@dataclass(frozen=True)
class Window:
    """A period [start, end) in UTC."""

    start: datetime
    end: datetime


@dataclass
class PolicyFigures:
    """The policy side's counts of a period; the rates are derived (None when there is nothing to divide by)."""

    questions: int = 0
    answered: int = 0
    unanswered: int = 0
    askers: int = 0
    shown: int = 0
    shown_no_application: int = 0
    shown_instant: int = 0
    pushed: int = 0
    delivered: int = 0
    opened: int = 0
    pushed_no_application: int = 0
    pushed_instant: int = 0

    @property
    def answer_rate(self) -> float | None:
        return _rate(self.answered, self.questions)

    @property
    def open_rate(self) -> float | None:
        return _rate(self.opened, self.pushed)

    @property
    def shown_no_application_share(self) -> float | None:
        return _rate(self.shown_no_application, self.shown)

    @property
    def shown_instant_share(self) -> float | None:
        return _rate(self.shown_instant, self.shown)

    @property
    def pushed_no_application_share(self) -> float | None:
        return _rate(self.pushed_no_application, self.pushed)

    @property
    def pushed_instant_share(self) -> float | None:
        return _rate(self.pushed_instant, self.pushed)

    def to_dict(self) -> dict[str, Any]:
        """Counts and rates (numbers in [0, 1] or null), as `reports kpi --json` prints them under "policies"."""
        return {**asdict(self), **{name: getattr(self, name) for name in POLICY_RATES}}


POLICY_RATES = (
    "answer_rate",
    "open_rate",
    "shown_no_application_share",
    "shown_instant_share",
    "pushed_no_application_share",
    "pushed_instant_share",
)


@dataclass(frozen=True)
class Asked:
    """A policy with the number of questions whose answer listed it."""

    policy_id: int
    code: str
    name: str
    body: str
    mode: PolicyMode
    questions: int


@dataclass(frozen=True)
class Unanswered:
    """A question nothing answered (grouped by its normalised text), how often it was asked in the period."""

    key: str
    text: str
    count: int


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _within(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


# -- the sources: (id, policy_id, flags...) of one period --


def questions(window: Window) -> Rows:
    """Policy questions asked in the period, answered or not."""
    return select(
        PolicyQuestion.id.label("id"),
        literal(None).label("policy_id"),
        PolicyQuestion.openid.label("openid"),
        _flag(PolicyQuestion.outcome == Outcome.ANSWERED).label("answered"),
        _flag(PolicyQuestion.outcome.in_(UNANSWERED)).label("unanswered"),
    ).where(_within(PolicyQuestion.asked_at, window))


def shown(window: Window) -> Rows:
    """Each policy listed in the answer to a question of the period (a question listing three counts three);
    the two closest offered when nothing fitted well are not counted."""
    return (
        select(
            PolicyShown.question_id.label("id"),
            PolicyShown.policy_id.label("policy_id"),
            _flag(Policy.mode == PolicyMode.NO_APPLICATION).label("no_application"),
            _flag(Policy.mode == PolicyMode.INSTANT).label("instant"),
        )
        .select_from(PolicyQuestion)
        .join(PolicyShown, PolicyShown.question_id == PolicyQuestion.id)
        .join(Policy, Policy.id == PolicyShown.policy_id)
        .where(_within(PolicyQuestion.asked_at, window), PolicyQuestion.outcome == Outcome.ANSWERED)
    )


def pushes(window: Window) -> Rows:
    """政策找人 pushes sent in the period that WeChat accepted; opened when the enterprise asked for the detail."""
    return (
        select(
            Delivery.id.label("id"),
            Delivery.policy_id.label("policy_id"),
            _flag(Delivery.state == DeliveryState.DELIVERED).label("delivered"),
            _flag(Delivery.opened_at.is_not(None)).label("opened"),
            _flag(Policy.mode == PolicyMode.NO_APPLICATION).label("no_application"),
            _flag(Policy.mode == PolicyMode.INSTANT).label("instant"),
        )
        .join(Policy, Policy.id == Delivery.policy_id)
        .where(_within(Delivery.sent_at, window), Delivery.state.in_(PUSHED))
    )


SOURCES = {"questions": questions, "shown": shown, "pushes": pushes}
# Each figure: its source and the flag that selects its rows (None: every row of the source).
MEASURES: dict[str, tuple[str, str | None]] = {
    "questions": ("questions", None),
    "answered": ("questions", "answered"),
    "unanswered": ("questions", "unanswered"),
    "shown": ("shown", None),
    "shown_no_application": ("shown", "no_application"),
    "shown_instant": ("shown", "instant"),
    "pushed": ("pushes", None),
    "delivered": ("pushes", "delivered"),
    "opened": ("pushes", "opened"),
    "pushed_no_application": ("pushes", "no_application"),
    "pushed_instant": ("pushes", "instant"),
}
MEASURE_LABELS = {
    "questions": "政策咨询",
    "answered": "已答复的政策咨询",
    "unanswered": "未找到政策的咨询",
    "shown": "向企业展示的政策（条次）",
    "shown_no_application": "展示的免申即享政策（条次）",
    "shown_instant": "展示的即申即享政策（条次）",
    "pushed": "政策推送",
    "delivered": "已送达的推送",
    "opened": "已查看的推送",
    "pushed_no_application": "推送的免申即享政策",
    "pushed_instant": "推送的即申即享政策",
}


def figures(*, session: Session, window: Window) -> PolicyFigures:
    """The policy side's figures of a period (three grouped reads)."""
    found = PolicyFigures()
    rows = questions(window).subquery()
    asked = session.execute(
        select(
            func.count(), func.sum(rows.c.answered), func.sum(rows.c.unanswered), func.count(rows.c.openid.distinct())
        )
    ).one()
    found.questions, found.answered, found.unanswered, found.askers = (int(value or 0) for value in asked)
    rows = shown(window).subquery()
    listed = session.execute(select(func.count(), func.sum(rows.c.no_application), func.sum(rows.c.instant))).one()
    found.shown, found.shown_no_application, found.shown_instant = (int(value or 0) for value in listed)
    rows = pushes(window).subquery()
    sent = session.execute(
        select(
            func.count(),
            func.sum(rows.c.delivered),
            func.sum(rows.c.opened),
            func.sum(rows.c.no_application),
            func.sum(rows.c.instant),
        )
    ).one()
    found.pushed, found.delivered, found.opened, found.pushed_no_application, found.pushed_instant = (
        int(value or 0) for value in sent
    )
    return found


def row_ids(*, session: Session, window: Window, measure: str, policy_id: int | None = None) -> list[int]:
    """The rows behind one number (question ids, or delivery ids for the pushes), optionally of one policy."""
    source, flag = MEASURES[measure]
    rows = SOURCES[source](window).subquery()
    statement = select(rows.c.id).distinct()
    if flag is not None:
        statement = statement.where(rows.c[flag] == 1)
    if policy_id is not None:
        statement = statement.where(rows.c.policy_id == policy_id)
    return sorted(int(value) for value in session.scalars(statement))


def top_policies(*, session: Session, window: Window, limit: int = 10) -> list[Asked]:
    """The policies listed in answers most often in the period (by questions), the most asked first."""
    rows = shown(window).subquery()
    count = func.count(rows.c.id.distinct())
    statement = (
        select(Policy.id, Policy.code, Policy.name, Policy.body, Policy.mode, count)
        .join(rows, rows.c.policy_id == Policy.id)
        .group_by(Policy.id, Policy.code, Policy.name, Policy.body, Policy.mode)
        .order_by(count.desc(), Policy.code)
        .limit(limit)
    )
    return [
        Asked(int(i), code, name, body, PolicyMode(mode), int(n))
        for i, code, name, body, mode, n in session.execute(statement)
    ]


def unanswered(*, session: Session, window: Window, limit: int = 20) -> list[Unanswered]:
    """The questions of the period no policy answered, grouped by normalised text, the most asked first."""
    count = func.count()
    statement = (
        select(PolicyQuestion.key, func.max(PolicyQuestion.text), count)
        .where(_within(PolicyQuestion.asked_at, window), PolicyQuestion.outcome.in_(UNANSWERED))
        .group_by(PolicyQuestion.key)
        .order_by(count.desc(), PolicyQuestion.key)
        .limit(limit)
    )
    return [Unanswered(key, text, int(n)) for key, text, n in session.execute(statement)]


@dataclass(frozen=True)
class QuestionRow:
    """A logged question as the list behind a number shows it."""

    id: int
    asked_at: datetime
    openid: str
    text: str
    outcome: Outcome
    listed: list[str]


@dataclass(frozen=True)
class PushRow:
    """A push as the list behind a number shows it."""

    id: int
    sent_at: datetime | None
    policy: str
    mode: PolicyMode
    enterprise: str
    state: DeliveryState
    opened_at: datetime | None


def question_rows(*, session: Session, ids: list[int]) -> list[QuestionRow]:
    """The questions with these ids, the latest first, each with the names of the policies its answer listed."""
    listed: dict[int, list[str]] = {}
    shown_names = (
        select(PolicyShown.question_id, Policy.name)
        .join(Policy, Policy.id == PolicyShown.policy_id)
        .where(PolicyShown.question_id.in_(ids))
        .order_by(PolicyShown.question_id, PolicyShown.rank)
    )
    for question_id, name in session.execute(shown_names):
        listed.setdefault(int(question_id), []).append(str(name))
    rows = session.scalars(
        select(PolicyQuestion).where(PolicyQuestion.id.in_(ids)).order_by(PolicyQuestion.asked_at.desc())
    )
    return [
        QuestionRow(row.id, row.asked_at, row.openid, row.text, Outcome(row.outcome), listed.get(row.id, []))
        for row in rows
    ]


def push_rows(*, session: Session, ids: list[int]) -> list[PushRow]:
    """The pushes with these ids, the latest first, with their policy and enterprise."""
    statement = (
        select(Delivery, Policy.name, Policy.mode, Enterprise.name)
        .join(Policy, Policy.id == Delivery.policy_id)
        .join(Enterprise, Enterprise.id == Delivery.enterprise_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
    )
    return [
        PushRow(delivery.id, delivery.sent_at, name, PolicyMode(mode), enterprise, delivery.state, delivery.opened_at)
        for delivery, name, mode, enterprise in session.execute(statement)
    ]
