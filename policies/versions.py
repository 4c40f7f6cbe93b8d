"""Version history of policies: a snapshot after every change, viewable and restorable."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from enterprises.vocabulary import tag_units
from policies.models import VERSION_ACTION_LABELS, Policy, PolicyTag, PolicyVersion, VersionAction

# The fields an admin edits, in the order of docs/interfaces.md; a version snapshot holds these and the status.
FIELDS = (
    "code", "name", "body", "eligibility", "content", "process", "materials",
    "mode", "tags", "keywords", "valid_from", "valid_to", "url",
)  # fmt: skip
ACTION_LABELS = VERSION_ACTION_LABELS


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): str(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return value


def snapshot(policy: Policy) -> dict[str, Any]:
    """Every editable field and the status, as JSON-ready values."""
    data = {name: _plain(getattr(policy, name)) for name in FIELDS}
    data["status"] = policy.status
    return data


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The names of the fields whose values differ, in FIELDS order (then status)."""
    names = [*FIELDS, "status"]
    return [name for name in names if before.get(name) != after.get(name)]


def sync_tags(*, session: Session, policy: Policy) -> None:
    """Rewrite the policy's rows in policy_tags from its tags (the policy must have an id)."""
    session.execute(delete(PolicyTag).where(PolicyTag.policy_id == policy.id))
    rows = {
        (key[:32], unit[:128]) for key, value in (policy.tags or {}).items() for unit in tag_units(str(key), str(value))
    }
    session.add_all(PolicyTag(policy_id=policy.id, key=key, value=unit) for key, unit in sorted(rows))


def record(
    *,
    session: Session,
    policy: Policy,
    action: VersionAction,
    author: str,
    changed: list[str] | None = None,
    note: str = "",
) -> PolicyVersion:
    """Stamp the policy (version, updated_at, updated_by), sync its tags and append its snapshot."""
    session.flush()  # the policy needs its id
    now = datetime.now(UTC)
    policy.version = (policy.version or 0) + 1
    policy.updated_at = now
    policy.updated_by = author
    sync_tags(session=session, policy=policy)
    entry = PolicyVersion(
        policy_id=policy.id,
        number=policy.version,
        action=action,
        changed=list(changed if changed is not None else [*FIELDS, "status"]),
        snapshot=snapshot(policy),
        author=author,
        note=note[:255],
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def history(*, session: Session, policy_id: int) -> list[PolicyVersion]:
    """Every version of a policy, newest first."""
    statement = select(PolicyVersion).where(PolicyVersion.policy_id == policy_id).order_by(PolicyVersion.number.desc())
    return list(session.scalars(statement))


def get_version(*, session: Session, policy_id: int, number: int) -> PolicyVersion | None:
    """One version of a policy by its number."""
    statement = select(PolicyVersion).where(PolicyVersion.policy_id == policy_id, PolicyVersion.number == number)
    return session.scalars(statement).first()
