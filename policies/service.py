"""Policy list operations on the database; callers own the transaction (nothing here commits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from enterprises import terms
from intents.records import PolicyDoc
from policies import lexicon, versions
from policies.catalog import doc_from_row, policy_from_record, read_demo_catalog
from policies.columns import FieldError, clean_record
from policies.models import STATUSES, Policy, PolicyMode, PolicyStatus, PolicyTag, VersionAction

DEMO_AUTHOR = "演示数据"


class PolicyInvalid(ValueError):
    """A policy that cannot be saved: every field error, for the form to show beside its field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("；".join(f"{error.key}: {error.message}" for error in errors))
        self.errors = errors


class PolicyConflict(ValueError):
    """The policy changed since the editor loaded it."""


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
    for row in rows:
        versions.record(session=session, policy=row, action=VersionAction.CREATED, author=DEMO_AUTHOR)
    return len(rows)


def _published_on(statement: Any, today: date) -> Any:
    """The statement narrowed to published policies valid on `today` (valid_from <= today <= valid_to where set)."""
    return (
        statement.where(Policy.status == PolicyStatus.PUBLISHED)
        .where(or_(Policy.valid_from.is_(None), Policy.valid_from <= today))
        .where(or_(Policy.valid_to.is_(None), Policy.valid_to >= today))
    )


def published_docs(*, session: Session, today: date) -> list[PolicyDoc]:
    """Published policies valid on `today` (valid_from <= today <= valid_to where set), by code."""
    statement = _published_on(select(Policy), today).order_by(Policy.code)
    return [doc_from_row(policy) for policy in session.scalars(statement)]


def published_names(*, session: Session, today: date) -> list[tuple[str, str]]:
    """(code, name) of the published policies valid on `today`, by code: what staff can send as a card."""
    statement = _published_on(select(Policy.code, Policy.name), today).order_by(Policy.code)
    return [(code, name) for code, name in session.execute(statement)]


def published_doc(*, session: Session, code: str, today: date) -> PolicyDoc | None:
    """One published policy valid on `today`, by code; None if it is a draft, withdrawn, expired or unknown."""
    policy = session.scalars(_published_on(select(Policy).where(Policy.code == code), today)).first()
    return doc_from_row(policy) if policy is not None else None


def lexicon_groups(*, session: Session) -> list[list[str]]:
    """The admins' synonym groups, each [canonical, *aliases] (see policies.lexicon)."""
    return lexicon.lexicon_groups(session=session)


def catalog_version(*, session: Session) -> str:
    """A string that changes whenever a policy or a lexicon group is added, changed or deleted; cheap to poll."""
    policies = session.execute(select(func.count(), func.max(Policy.updated_at))).one()
    groups, lexicon_at = lexicon.lexicon_state(session=session)
    stamps = [stamp.isoformat() if stamp else "-" for stamp in (policies[1], lexicon_at)]
    return f"p{int(policies[0] or 0)}@{stamps[0]}|l{groups}@{stamps[1]}"


def get(*, session: Session, policy_id: int) -> Policy | None:
    """One policy by id."""
    return session.get(Policy, policy_id)


def get_by_code(*, session: Session, code: str) -> Policy | None:
    """One policy by its code."""
    return session.scalars(select(Policy).where(Policy.code == code)).first()


@dataclass(frozen=True)
class Filters:
    """What the admin list is narrowed to; empty strings mean "any"."""

    query: str = ""
    status: str = ""
    mode: str = ""
    tag_key: str = ""
    tag_value: str = ""
    validity: str = ""  # "" | current | future | expired


def _filtered(filters: Filters, today: date) -> Select[Policy]:
    statement = select(Policy)
    if filters.query.strip():
        like = f"%{filters.query.strip()}%"
        statement = statement.where(
            or_(Policy.code.ilike(like), Policy.name.ilike(like), Policy.body.ilike(like), Policy.content.ilike(like))
        )
    if filters.status in STATUSES:
        statement = statement.where(Policy.status == filters.status)
    if filters.mode:
        statement = statement.where(Policy.mode == filters.mode)
    if filters.tag_key or filters.tag_value:
        tagged = select(PolicyTag.policy_id)
        if filters.tag_key:
            tagged = tagged.where(PolicyTag.key == filters.tag_key)
        if filters.tag_value:
            tagged = tagged.where(PolicyTag.value == filters.tag_value)
        statement = statement.where(Policy.id.in_(tagged))
    if filters.validity == "current":
        statement = statement.where(or_(Policy.valid_from.is_(None), Policy.valid_from <= today))
        statement = statement.where(or_(Policy.valid_to.is_(None), Policy.valid_to >= today))
    elif filters.validity == "future":
        statement = statement.where(Policy.valid_from > today)
    elif filters.validity == "expired":
        statement = statement.where(Policy.valid_to < today)
    return statement


def search(
    *, session: Session, filters: Filters, today: date, page: int = 1, per_page: int = 50
) -> tuple[list[Policy], int]:
    """One page of policies matching the filters, by code, and how many match in all."""
    statement = _filtered(filters, today)
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    page = max(1, page)
    rows = session.scalars(statement.order_by(Policy.code).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def tag_choices(*, session: Session) -> dict[str, list[str]]:
    """Every tag key in use with its single values, for the list's filters."""
    choices: dict[str, list[str]] = {}
    for key, value in session.execute(select(PolicyTag.key, PolicyTag.value).distinct().order_by("key", "value")):
        choices.setdefault(key, []).append(value)
    return choices


def validate(*, session: Session, raw: Mapping[str, Any], policy_id: int | None = None) -> dict[str, Any]:
    """A clean record from raw field values, or PolicyInvalid; the code must be free (or this policy's own)."""
    record, errors = clean_record(raw, terms.load_vocabulary(session=session))
    if not any(error.key == "code" for error in errors):
        other = get_by_code(session=session, code=record["code"])
        if other is not None and other.id != policy_id:
            errors.insert(0, FieldError("code", f"编号「{record['code']}」已被「{other.name}」使用"))
    if errors:
        raise PolicyInvalid(errors)
    return record


def assign(policy: Policy, record: Mapping[str, Any], *, partial: bool = False) -> None:
    """Copy a clean record's fields (not its status) onto a row; `partial` skips the fields it lacks."""
    for name in versions.FIELDS:
        if partial and name not in record:
            continue
        value = record.get(name)
        if name in {"valid_from", "valid_to"}:
            value = date.fromisoformat(value) if value else None
        elif name == "tags":
            value = dict(value or {})
        elif name == "keywords":
            value = list(value or [])
        elif name == "mode":
            value = PolicyMode(value or PolicyMode.ON_APPLICATION)
        elif value is None:
            value = ""
        setattr(policy, name, value)


def create(
    *, session: Session, raw: Mapping[str, Any], author: str, status: PolicyStatus = PolicyStatus.DRAFT
) -> Policy:
    """A new policy from raw field values (a draft unless told otherwise), with its first version."""
    record = validate(session=session, raw=raw)
    policy = Policy(status=record.get("status") or status, demo=False)
    assign(policy, record)
    session.add(policy)
    versions.record(session=session, policy=policy, action=VersionAction.CREATED, author=author)
    return policy


def update(
    *, session: Session, policy: Policy, raw: Mapping[str, Any], author: str, expected_version: int | None = None
) -> list[str]:
    """Apply raw field values to a policy; the changed field names (none: nothing recorded)."""
    if expected_version is not None and expected_version != policy.version:
        raise PolicyConflict(f"「{policy.name}」在您打开后已被 {policy.updated_by or '他人'} 修改，请重新打开后再改")
    record = validate(session=session, raw=raw, policy_id=policy.id)
    before = versions.snapshot(policy)
    assign(policy, record)
    if record.get("status"):
        policy.status = record["status"]
    changed = versions.differences(before, versions.snapshot(policy))
    if changed:
        policy.demo = False
        versions.record(session=session, policy=policy, action=VersionAction.UPDATED, author=author, changed=changed)
    return changed


def set_status(*, session: Session, policy: Policy, status: str, author: str) -> bool:
    """Publish (published) or withdraw (withdrawn) a policy, or make it a draft again; False if already so."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if policy.status == status:
        return False
    policy.status = PolicyStatus(status)
    action = {
        PolicyStatus.PUBLISHED: VersionAction.PUBLISHED,
        PolicyStatus.WITHDRAWN: VersionAction.WITHDRAWN,
    }.get(policy.status, VersionAction.UPDATED)
    versions.record(session=session, policy=policy, action=action, author=author, changed=["status"])
    return True


def restore(*, session: Session, policy: Policy, number: int, author: str) -> list[str]:
    """Bring back the fields of an earlier version (the status stays as it is); the changed field names."""
    version = versions.get_version(session=session, policy_id=policy.id, number=number)
    if version is None:
        raise LookupError(f"版本 {number} 不存在")
    snapshot = version.snapshot
    other = get_by_code(session=session, code=str(snapshot.get("code")))
    if other is not None and other.id != policy.id:
        raise PolicyInvalid([FieldError("code", f"编号「{snapshot.get('code')}」现已被「{other.name}」使用")])
    before = versions.snapshot(policy)
    assign(policy, snapshot)
    changed = versions.differences(before, versions.snapshot(policy))
    if changed:
        note = f"恢复到第 {number} 版"
        versions.record(
            session=session, policy=policy, action=VersionAction.RESTORED, author=author, changed=changed, note=note
        )
    return changed
