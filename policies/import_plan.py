"""What an import would do to the policy list, row by row, and doing it (upsert by code, all or nothing)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import service, versions
from policies.columns import BY_KEY
from policies.importing import Parsed
from policies.models import Policy, PolicyStatus, VersionAction


class PlanAction(StrEnum):
    """What an import does to one row's policy."""

    ADD = "add"
    CHANGE = "change"
    SAME = "same"
    REFUSE = "refuse"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[PlanAction, str] = {
    PlanAction.ADD: "新增",
    PlanAction.CHANGE: "修改",
    PlanAction.SAME: "不变",
    PlanAction.REFUSE: "拒绝",
}


@dataclass(frozen=True)
class Step:
    """One row's fate: add, change (which fields), same (left alone) or refuse (why)."""

    row: int
    code: str
    name: str
    action: PlanAction
    changes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass
class Plan:
    """Every row's step, the counts, and a digest that changes if the catalog moves before the commit."""

    steps: list[Step] = field(default_factory=list)

    def count(self, action: PlanAction) -> int:
        """How many rows take this action."""
        return sum(1 for step in self.steps if step.action == action)

    @property
    def committable(self) -> bool:
        """True when no row is refused and something would change."""
        return self.count(PlanAction.REFUSE) == 0 and (self.count(PlanAction.ADD) + self.count(PlanAction.CHANGE)) > 0

    def digest(self) -> str:
        """A short fingerprint of the steps."""
        data = json.dumps([[s.row, s.code, s.action, list(s.changes)] for s in self.steps], ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()[:16]


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    # Only the columns the file has: the others are left as they are.
    data = {name: record[name] for name in versions.FIELDS if name in record}
    if "tags" in data:
        data["tags"] = dict(data["tags"] or {})
    if "keywords" in data:
        data["keywords"] = list(data["keywords"] or [])
    for name, value in data.items():
        if value is None and name not in {"valid_from", "valid_to"}:
            data[name] = ""
    if record.get("status"):
        data["status"] = record["status"]
    return data


def _changes(policy: Policy, record: dict[str, Any]) -> list[str]:
    wanted = _comparable(record)
    current = versions.snapshot(policy)
    return [name for name in wanted if wanted[name] != current.get(name)]


def _existing(session: Session, codes: Iterable[str]) -> dict[str, Policy]:
    wanted = list(codes)
    found: dict[str, Policy] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update({policy.code: policy for policy in session.scalars(select(Policy).where(Policy.code.in_(chunk)))})
    return found


def plan(*, session: Session, parsed: Parsed) -> Plan:
    """Compare every row of a parsed file with the catalog; nothing is written."""
    existing = _existing(session, [row.record["code"] for row in parsed.rows if row.record])
    result = Plan()
    for row in parsed.rows:
        code = str(row.raw.get("code") or "")
        name = str(row.raw.get("name") or "")
        if row.record is None:
            reasons = tuple(f"{problem.column}：{problem.message}" for problem in row.problems)
            result.steps.append(Step(row.number, code, name, PlanAction.REFUSE, reasons=reasons))
            continue
        policy = existing.get(row.record["code"])
        if policy is None:
            result.steps.append(Step(row.number, row.record["code"], row.record["name"], PlanAction.ADD))
            continue
        changes = _changes(policy, row.record)
        labels = tuple(BY_KEY[name].header for name in changes)
        action = PlanAction.CHANGE if changes else PlanAction.SAME
        result.steps.append(Step(row.number, policy.code, row.record["name"], action, labels))
    return result


def apply(
    *,
    session: Session,
    records: list[dict[str, Any]],
    author: str,
    source: str,
    new_status: PolicyStatus = PolicyStatus.PUBLISHED,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Upsert clean records by code in the caller's transaction; counts of added, changed and unchanged rows."""
    existing = _existing(session, [record["code"] for record in records])
    counts: dict[str, int] = {PlanAction.ADD: 0, PlanAction.CHANGE: 0, PlanAction.SAME: 0}
    note = f"文件 {source}"[:255]
    for record in records:
        policy = existing.get(record["code"])
        if policy is None:
            policy = Policy(status=record.get("status") or new_status, demo=False)
            service.assign(policy, record)
            session.add(policy)
            versions.record(session=session, policy=policy, action=VersionAction.IMPORTED, author=author, note=note)
            counts[PlanAction.ADD] += 1
        else:
            changes = _changes(policy, record)
            if changes:
                service.assign(policy, record, partial=True)
                policy.status = record.get("status") or policy.status
                policy.demo = False
                versions.record(
                    session=session,
                    policy=policy,
                    action=VersionAction.IMPORTED,
                    author=author,
                    changed=changes,
                    note=note,
                )
            counts[PlanAction.CHANGE if changes else PlanAction.SAME] += 1
        if progress:
            progress(1)
    return counts
