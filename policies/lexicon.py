"""The admins' lexicon: synonym groups (canonical term first) that the matching engine merges with its own."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from policies.models import LexiconEntry

MAX_TERM = 64
MAX_ALIASES = 50
SEPARATORS = re.compile(r"[;；,，、\s]+")


class LexiconError(ValueError):
    """A lexicon entry that cannot be saved; the message is shown to the admin."""


def clean_term(raw: str) -> str:
    """A term as stored: NFKC (full-width letters and digits folded), trimmed, inner blanks collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw)).strip()


def parse_aliases(raw: str) -> list[str]:
    """Aliases typed in one box, separated by ; ； , ， 、 or blanks, in order, without repeats."""
    seen: list[str] = []
    for part in SEPARATORS.split(unicodedata.normalize("NFKC", raw)):
        term = clean_term(part)
        if term and term not in seen:
            seen.append(term)
    return seen


def list_entries(*, session: Session, query: str = "") -> list[LexiconEntry]:
    """All entries by term, or those whose term or aliases contain `query`."""
    entries = list(session.scalars(select(LexiconEntry).order_by(LexiconEntry.term)))
    needle = clean_term(query)
    if not needle:
        return entries
    return [entry for entry in entries if needle in entry.term or any(needle in alias for alias in entry.aliases)]


def get_entry(*, session: Session, entry_id: int) -> LexiconEntry | None:
    """One entry by id."""
    return session.get(LexiconEntry, entry_id)


def _validate(*, session: Session, term: str, aliases: list[str], entry_id: int | None) -> None:
    if not term:
        raise LexiconError("规范词不能为空")
    for word in (term, *aliases):
        if len(word) > MAX_TERM:
            raise LexiconError(f"「{word[:20]}…」太长：每个词最多 {MAX_TERM} 个字符")
    if not aliases:
        raise LexiconError("请至少填写一个别名或同义词")
    if len(aliases) > MAX_ALIASES:
        raise LexiconError(f"一组最多 {MAX_ALIASES} 个别名")
    mine = {term, *aliases}
    for other in session.scalars(select(LexiconEntry).where(LexiconEntry.id != (entry_id or -1))):
        shared = mine & {other.term, *other.aliases}
        if shared:
            word = sorted(shared)[0]
            raise LexiconError(f"「{word}」已在「{other.term}」一组中，同一个词只能属于一组")


def save_entry(
    *,
    session: Session,
    term: str,
    aliases: str | list[str],
    note: str = "",
    author: str = "",
    entry_id: int | None = None,
) -> LexiconEntry:
    """Create or update a synonym group after validation; raises LexiconError with a message for the admin."""
    term = clean_term(term)
    words = parse_aliases(aliases) if isinstance(aliases, str) else [clean_term(a) for a in aliases if clean_term(a)]
    words = [word for word in dict.fromkeys(words) if word != term]
    _validate(session=session, term=term, aliases=words, entry_id=entry_id)
    now = datetime.now(UTC)
    if entry_id is None:
        entry = LexiconEntry(term=term, created_at=now)
        session.add(entry)
    else:
        found = session.get(LexiconEntry, entry_id)
        if found is None:
            raise LexiconError("该词条不存在或已被删除")
        entry = found
    entry.term = term
    entry.aliases = words
    entry.note = clean_term(note)[:255]
    entry.updated_by = author
    entry.updated_at = now
    session.flush()
    return entry


def delete_entry(*, session: Session, entry_id: int) -> bool:
    """Delete one group; False when it did not exist."""
    result = session.execute(delete(LexiconEntry).where(LexiconEntry.id == entry_id))
    return bool(getattr(result, "rowcount", 0))


def lexicon_groups(*, session: Session) -> list[list[str]]:
    """Every admin-added synonym group as [canonical, *aliases], ordered by canonical term."""
    entries = session.scalars(select(LexiconEntry).order_by(LexiconEntry.term))
    return [[entry.term, *[alias for alias in entry.aliases if alias != entry.term]] for entry in entries]


def lexicon_state(*, session: Session) -> tuple[int, datetime | None]:
    """(number of groups, latest updated_at): changes whenever a group is added, edited or deleted."""
    row = session.execute(select(func.count(), func.max(LexiconEntry.updated_at))).one()
    return int(row[0] or 0), row[1]
