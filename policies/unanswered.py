"""Questions no policy answered: what enterprises asked for that the list does not have (input for the next list).

The bot records a policy question when nothing fits; the same question (normalised) counts up. Admins see
them by count in /admin/ and clear the ones the list now covers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from intents.normalize import compact
from storage import UTC_TIME, Base

MAX_TEXT = 500
KEY_CHARS = 200


class UnansweredQuestion(Base):
    """One policy question nothing in the list fitted, and how often it was asked."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_CHARS), unique=True)
    text: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    passed_to_staff: Mapped[int] = mapped_column(Integer, default=0)
    # The enterprise (WeChat openid) that last asked for staff to answer it.
    last_openid: Mapped[str] = mapped_column(String(64), default="")
    first_at: Mapped[datetime] = mapped_column(UTC_TIME)
    last_at: Mapped[datetime] = mapped_column(UTC_TIME, index=True)


def record(*, session: Session, text: str, now: datetime) -> UnansweredQuestion | None:
    """Count one unanswered question (by its normalised text); None for text with no words."""
    key = compact(text)[:KEY_CHARS]
    if not key:
        return None
    row = session.scalar(select(UnansweredQuestion).where(UnansweredQuestion.key == key).with_for_update())
    if row is None:
        row = UnansweredQuestion(
            key=key, text=text.strip()[:MAX_TEXT], count=1, passed_to_staff=0, last_openid="", first_at=now
        )
        session.add(row)
    else:
        row.count += 1
    row.last_at = now
    session.flush()
    return row


def passed_to_staff(*, session: Session, text: str, openid: str) -> None:
    """The enterprise asked for the question to go to staff."""
    row = session.scalar(select(UnansweredQuestion).where(UnansweredQuestion.key == compact(text)[:KEY_CHARS]))
    if row is not None:
        row.passed_to_staff += 1
        row.last_openid = openid


def listing(*, session: Session, limit: int = 200) -> list[UnansweredQuestion]:
    """The questions, most asked first, then the latest."""
    statement = select(UnansweredQuestion).order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.last_at.desc())
    return list(session.scalars(statement.limit(limit)))


def total(*, session: Session) -> int:
    """How many times an unanswered question was asked in all."""
    return int(session.scalar(select(func.coalesce(func.sum(UnansweredQuestion.count), 0))) or 0)


def clear(*, session: Session, question_id: int) -> bool:
    """Remove one question (the list now covers it); False when there is none with this id."""
    row = session.get(UnansweredQuestion, question_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
