"""Policy questions as the bot answered them: one row per question, and the policies the answer listed.

The statistics of the policy side (policies/indicators.py) count these rows: questions asked, the policies shown
most, the questions nothing answered. `unanswered_questions` keeps a running count per text for the admins'
list; this log keeps each question with its time, so that any period can be counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from intents.normalize import compact
from policies.models import Policy
from storage import UTC_TIME, Base, EnumString

MAX_TEXT = 500
KEY_CHARS = 200


class Outcome(StrEnum):
    """How the bot answered a policy question."""

    ANSWERED = "answered"  # a list of policies that fit (or the one the enterprise picked)
    NEAR_MISS = "near_miss"  # nothing fitted well: the closest two offered by name, staff offered
    NO_FIT = "no_fit"  # nothing in the list: said so, staff offered

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ANSWERED: "已答复",
    Outcome.NEAR_MISS: "无确切匹配",
    Outcome.NO_FIT: "无相关政策",
}
UNANSWERED = (Outcome.NEAR_MISS, Outcome.NO_FIT)


class PolicyQuestion(Base):
    """One policy question an enterprise asked the bot, and how it was answered."""

    __tablename__ = "policy_questions"
    __table_args__ = (Index("ix_policy_questions_asked_at_outcome", "asked_at", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # The normalised text (as unanswered_questions.key): the same question asked twice groups together.
    key: Mapped[str] = mapped_column(String(KEY_CHARS))
    outcome: Mapped[Outcome] = mapped_column(EnumString(Outcome, 16))
    asked_at: Mapped[datetime] = mapped_column(UTC_TIME)


class PolicyShown(Base):
    """A policy listed in the answer to a question (its place in the list, from 1)."""

    __tablename__ = "policy_questions_shown"
    __table_args__ = (Index("ix_policy_questions_shown_policy_id", "policy_id"),)

    question_id: Mapped[int] = mapped_column(ForeignKey("policy_questions.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)


def record(
    *, session: Session, openid: str, text: str, outcome: Outcome, codes: Sequence[str], now: datetime
) -> PolicyQuestion:
    """Log one answered (or unanswered) policy question with the policies its answer listed, in that order."""
    question = PolicyQuestion(
        openid=openid, text=text.strip()[:MAX_TEXT], key=compact(text)[:KEY_CHARS], outcome=outcome, asked_at=now
    )
    session.add(question)
    session.flush()
    rows = session.execute(select(Policy.code, Policy.id).where(Policy.code.in_(list(codes))))
    ids = {str(code): int(policy_id) for code, policy_id in rows}
    seen: set[int] = set()
    for rank, code in enumerate(codes, 1):
        policy_id = ids.get(code)
        if policy_id is not None and policy_id not in seen:
            seen.add(policy_id)
            session.add(PolicyShown(question_id=question.id, policy_id=policy_id, rank=rank))
    session.flush()
    return question
