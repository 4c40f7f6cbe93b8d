"""Enterprise profiles on the database: read, write with the source of each field, import, bind; callers own the
transaction (nothing here commits)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from enterprises.models import PROFILE_FIELDS, Binding, Enterprise, EnterpriseQualification, FieldSource


class ImportAction(StrEnum):
    """What an import did to one row's enterprise."""

    ADD = "add"
    CHANGE = "change"
    SAME = "same"


def get(*, session: Session, uscc: str) -> Enterprise | None:
    """One enterprise by its 统一社会信用代码."""
    return session.scalars(select(Enterprise).where(Enterprise.uscc == uscc)).first()


def get_by_id(*, session: Session, enterprise_id: int) -> Enterprise | None:
    """One enterprise by id."""
    return session.get(Enterprise, enterprise_id)


def count(*, session: Session) -> int:
    """How many enterprises there are."""
    return int(session.scalar(select(func.count()).select_from(Enterprise)) or 0)


def _sync_qualifications(session: Session, enterprise: Enterprise) -> None:
    session.execute(delete(EnterpriseQualification).where(EnterpriseQualification.enterprise_id == enterprise.id))
    values = sorted(set(enterprise.qualifications or []))
    session.add_all(EnterpriseQualification(enterprise_id=enterprise.id, value=value[:64]) for value in values)


def apply(
    *,
    session: Session,
    enterprise: Enterprise,
    values: Mapping[str, Any],
    source: FieldSource,
    author: str,
    now: datetime | None = None,
) -> list[str]:
    """Set the given profile fields and note who told us each; a None value never erases. The changed fields."""
    moment = now or datetime.now(UTC)
    changed = []
    sources = dict(enterprise.sources or {})
    for key in PROFILE_FIELDS:
        if key not in values or values[key] is None:
            continue
        value = list(values[key]) if key == "qualifications" else values[key]
        if getattr(enterprise, key) != value:
            setattr(enterprise, key, value)
            changed.append(key)
        if key in changed or key not in sources:
            sources[key] = {"source": str(source), "at": moment.isoformat(), "by": author}
    if changed or sources != enterprise.sources:
        enterprise.sources = sources
        enterprise.updated_at = moment
    session.flush()
    if "qualifications" in changed:
        _sync_qualifications(session, enterprise)
    return changed


def create(
    *,
    session: Session,
    uscc: str,
    values: Mapping[str, Any],
    source: FieldSource,
    author: str,
    now: datetime | None = None,
) -> Enterprise:
    """A new enterprise with the given fields (uscc and name at least)."""
    now = now or datetime.now(UTC)
    enterprise = Enterprise(uscc=uscc, name=str(values["name"]), sources={}, created_at=now, updated_at=now)
    session.add(enterprise)
    session.flush()
    apply(session=session, enterprise=enterprise, values=values, source=source, author=author, now=now)
    return enterprise


def import_records(*, session: Session, records: Iterable[Mapping[str, Any]], author: str) -> dict[ImportAction, int]:
    """Upsert clean import records by 统一社会信用代码, as 导入核验 data; counts of added, changed and unchanged."""
    counts = dict.fromkeys(ImportAction, 0)
    rows = list(records)
    existing: dict[str, Enterprise] = {}
    codes = [str(record["uscc"]) for record in rows]
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        existing.update(
            {row.uscc: row for row in session.scalars(select(Enterprise).where(Enterprise.uscc.in_(chunk)))}
        )
    for record in rows:
        found = existing.get(str(record["uscc"]))
        if found is None:
            existing[str(record["uscc"])] = create(
                session=session, uscc=str(record["uscc"]), values=record, source=FieldSource.REGISTER, author=author
            )
            counts[ImportAction.ADD] += 1
            continue
        changed = apply(session=session, enterprise=found, values=record, source=FieldSource.REGISTER, author=author)
        counts[ImportAction.CHANGE if changed else ImportAction.SAME] += 1
    return counts


def records(*, session: Session) -> list[dict[str, Any]]:
    """Every enterprise as a record keyed by the column keys, by code (for export)."""
    found = []
    for enterprise in session.scalars(select(Enterprise).order_by(Enterprise.uscc)):
        found.append({"uscc": enterprise.uscc, **{key: getattr(enterprise, key) for key in PROFILE_FIELDS}})
    return found


def search(*, session: Session, query: str = "", page: int = 1, per_page: int = 50) -> tuple[list[Enterprise], int]:
    """One page of enterprises whose name or code contains the query, by name, and how many match in all."""
    statement = select(Enterprise)
    if query.strip():
        like = f"%{query.strip()}%"
        statement = statement.where(or_(Enterprise.name.ilike(like), Enterprise.uscc.ilike(like.upper())))
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    page = max(1, page)
    rows = session.scalars(statement.order_by(Enterprise.name).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


# -- bindings: the WeChat users who speak for an enterprise --


class BindOutcome(StrEnum):
    """How a binding attempt ended."""

    MATCHED = "matched"  # an imported record with this code and name
    SELF_REPORTED = "self_reported"  # no record: a new 企业自报 profile
    NAME_MISMATCH = "name_mismatch"  # a record with this code, another name: refused
    ALREADY = "already"  # this openid is bound to another enterprise: refused


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    enterprise: Enterprise | None


def same_name(first: str, second: str) -> bool:
    """Whether two enterprise names are the same as people write them (full-width, brackets, spaces aside)."""

    def plain(name: str) -> str:
        return re.sub(r"\s", "", unicodedata.normalize("NFKC", name))

    return plain(first) == plain(second)


def bound(*, session: Session, openid: str) -> Enterprise | None:
    """The enterprise this openid is bound to."""
    statement = select(Enterprise).join(Binding, Binding.enterprise_id == Enterprise.id).where(Binding.openid == openid)
    return session.scalars(statement).first()


def bind(*, session: Session, openid: str, uscc: str, name: str) -> BindResult:
    """Bind an openid to the enterprise with this code and name; an unknown code becomes a 企业自报 profile."""
    current = bound(session=session, openid=openid)
    if current is not None:
        return BindResult(BindOutcome.ALREADY if current.uscc != uscc else BindOutcome.MATCHED, current)
    enterprise = get(session=session, uscc=uscc)
    outcome = BindOutcome.MATCHED
    if enterprise is not None and not same_name(enterprise.name, name):
        return BindResult(BindOutcome.NAME_MISMATCH, None)
    if enterprise is None:
        enterprise = create(session=session, uscc=uscc, values={"name": name}, source=FieldSource.SELF, author=openid)
        outcome = BindOutcome.SELF_REPORTED
    registered = (enterprise.sources or {}).get("name", {}).get("source") == FieldSource.REGISTER
    source = FieldSource.REGISTER if registered else FieldSource.SELF
    session.add(Binding(openid=openid, enterprise_id=enterprise.id, source=source, bound_at=datetime.now(UTC)))
    session.flush()
    return BindResult(outcome, enterprise)


def unbind(*, session: Session, openid: str) -> Enterprise | None:
    """Remove this openid's binding; the enterprise it was bound to, if any (its profile stays)."""
    enterprise = bound(session=session, openid=openid)
    session.execute(delete(Binding).where(Binding.openid == openid))
    return enterprise


def openids(*, session: Session, enterprise_ids: Iterable[int]) -> dict[int, list[str]]:
    """The bound openids of each enterprise, in the order they bound."""
    wanted = list(enterprise_ids)
    found: dict[int, list[str]] = {enterprise_id: [] for enterprise_id in wanted}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        statement = (
            select(Binding.enterprise_id, Binding.openid)
            .where(Binding.enterprise_id.in_(chunk))
            .order_by(Binding.bound_at, Binding.openid)
        )
        for enterprise_id, openid in session.execute(statement):
            found[enterprise_id].append(openid)
    return found


def bindings(*, session: Session, enterprise_id: int) -> list[Binding]:
    """The bindings of one enterprise, oldest first."""
    statement = select(Binding).where(Binding.enterprise_id == enterprise_id).order_by(Binding.bound_at)
    return list(session.scalars(statement))


def lock(*, session: Session, enterprise_ids: Iterable[int]) -> None:
    """Lock the enterprises' rows until the transaction ends, in id order (a no-op on SQLite)."""
    wanted = sorted(set(enterprise_ids))
    if wanted:
        session.execute(
            select(Enterprise.id).where(Enterprise.id.in_(wanted)).order_by(Enterprise.id).with_for_update()
        )


def many(*, session: Session, enterprise_ids: Iterable[int]) -> dict[int, Enterprise]:
    """Enterprises by id."""
    wanted = list(set(enterprise_ids))
    found: dict[int, Enterprise] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        found.update({row.id: row for row in session.scalars(select(Enterprise).where(Enterprise.id.in_(chunk)))})
    return found
