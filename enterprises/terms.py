"""The admin-extendable vocabularies (资质, 街道) in the database; callers own the transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from enterprises.models import TagTerm
from enterprises.vocabulary import TERM_KEYS, Vocabulary, clean


class TermError(ValueError):
    """A term that cannot be added or removed; the message says why."""


def load_vocabulary(*, session: Session) -> Vocabulary:
    """The vocabulary as admins keep it (the shipped terms for a key that has none stored)."""
    stored: dict[str, list[str]] = {key: [] for key in TERM_KEYS}
    for key, value in session.execute(select(TagTerm.key, TagTerm.value).order_by(TagTerm.id)):
        stored.setdefault(key, []).append(value)
    shipped = Vocabulary.default()
    return Vocabulary(
        qualifications=tuple(stored["资质"]) or shipped.qualifications,
        streets=tuple(stored["街道"]) or shipped.streets,
    )


def add_term(*, session: Session, key: str, value: str, author: str) -> TagTerm:
    """Add a 资质 or 街道 term; TermError when the key is not extendable, the value is bad, or already there."""
    if key not in TERM_KEYS:
        raise TermError(f"「{key}」不能添加词条：只有 {'、'.join(TERM_KEYS)} 可以扩展")
    term = clean(value)
    if not term or len(term) > 64 or any(mark in term for mark in ":：;；、,，/|"):
        raise TermError(f"词条「{term[:64]}」无效：1 到 64 个字，不能含 : ; 、 , / |")
    exists = session.scalar(select(TagTerm.id).where(TagTerm.key == key, TagTerm.value == term))
    if exists is not None:
        raise TermError(f"{key}词表中已有「{term}」")
    row = TagTerm(key=key, value=term, created_by=author, created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row


def remove_term(*, session: Session, key: str, value: str) -> bool:
    """Remove a term (policies and profiles that use it keep their value); False when it was not there."""
    result = session.execute(delete(TagTerm).where(TagTerm.key == key, TagTerm.value == value))
    return bool(getattr(result, "rowcount", 0))


def terms(*, session: Session) -> dict[str, list[TagTerm]]:
    """Every stored term by key, in the order added."""
    found: dict[str, list[TagTerm]] = {key: [] for key in TERM_KEYS}
    for term in session.scalars(select(TagTerm).order_by(TagTerm.id)):
        found.setdefault(term.key, []).append(term)
    return found
