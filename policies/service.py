"""Policy list operations on the database; callers own the transaction (nothing here commits)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from intents.records import PolicyDoc
from policies.catalog import doc_from_row, policy_from_record, read_demo_catalog
from policies.models import Policy


def count(*, session: Session) -> int:
    """Number of policies in the table, whatever their status."""
    return int(session.scalar(select(func.count()).select_from(Policy)) or 0)


def load_demo(*, session: Session) -> int:
    """Insert the demo catalog (demo=True, published) into an empty policies table; rows inserted."""
    if count(session=session):
        return 0
    rows = [policy_from_record(record, demo=True) for record in read_demo_catalog()]
    session.add_all(rows)
    session.flush()
    return len(rows)


def published_docs(*, session: Session, today: date) -> list[PolicyDoc]:
    """Published policies valid on `today` (valid_from <= today <= valid_to where set), by code."""
    statement = (
        select(Policy)
        .where(Policy.status == "published")
        .where(or_(Policy.valid_from.is_(None), Policy.valid_from <= today))
        .where(or_(Policy.valid_to.is_(None), Policy.valid_to >= today))
        .order_by(Policy.code)
    )
    return [doc_from_row(policy) for policy in session.scalars(statement)]
