"""应享未享: 兑现 records (who received which policy, when, how much), imported all or nothing, and for a policy
the enterprises that qualify but have no record, as a workbook for the responsible unit; the share of
免申即享 / 即申即享 policies in the list."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from enterprises import service as enterprise_service
from enterprises import uscc
from enterprises.eligibility import Profile, conditions, evaluate
from enterprises.fields import parse_day
from enterprises.models import Enterprise
from enterprises.vocabulary import SIZE_NAMES
from policies.eligible import eligible_ids
from policies.models import Policy, PolicyMode, PolicyStatus, Redemption
from tabular import MB, Limits, Problem, Table, cell_text, xlsx_bytes
from tabular.records import CellError, Field, Records, read_records

FIELDS = (
    Field("uscc", "统一社会信用代码", True, ("信用代码", "社会信用代码")),
    Field("policy", "政策编号", True, ("编号", "code")),
    Field("received_on", "兑现日期", True, ("日期", "date")),
    Field("amount", "兑现金额", aliases=("金额", "金额（元）", "兑现金额（元）")),
    Field("note", "备注"),
)
LIMITS = Limits(max_bytes=30 * MB, max_rows=200_000)
AMOUNT = re.compile(r"\d+(?:\.\d{1,2})?")


def _amount(value: Any) -> Decimal | None:
    text = unicodedata.normalize("NFKC", cell_text(value)).replace(",", "").removesuffix("元").strip()
    if not text:
        return None
    if not AMOUNT.fullmatch(text) or len(text) > 15:
        raise CellError("amount", f"兑现金额「{text[:20]}」应为以元计的数字，最多两位小数，例如 20000 或 1500.50")
    return Decimal(text)


def _clean(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[CellError]]:
    clean: dict[str, Any] = {}
    errors: list[CellError] = []
    readers: dict[str, Callable[[Any], Any]] = {
        "uscc": lambda value: _code(value),
        "policy": lambda value: cell_text(value) or _missing("policy"),
        "received_on": lambda value: parse_day("received_on", value) or _missing("received_on"),
        "amount": _amount,
        "note": lambda value: cell_text(value)[:255],
    }
    for key, reader in readers.items():
        if key not in raw:
            continue
        try:
            clean[key] = reader(raw[key])
        except CellError as error:
            errors.append(error)
    return clean, errors


def _missing(key: str) -> Any:
    raise CellError(key, "不能为空")


def _code(value: Any) -> str:
    code = uscc.normalize(cell_text(value))
    reason = uscc.problem(code) if code else "不能为空"
    if reason:
        raise CellError("uscc", reason)
    return code


def read_file(path: Path, *, name: str | None = None) -> Records:
    """Read and check a file of 兑现 records without the database; never raises for bad content."""
    return read_records(path, fields=FIELDS, clean=_clean, limits=LIMITS, noun="兑现记录", name=name)


def check(*, session: Session, records: Records) -> list[Problem]:
    """The rows whose enterprise or policy is not known, naming file, row and column."""
    rows = [row for row in records.rows if row.clean is not None]
    codes = {str(row.clean["uscc"]) for row in rows if row.clean}
    policies = {str(row.clean["policy"]) for row in rows if row.clean}
    known_firms = set(session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(codes))))
    known_policies = set(session.scalars(select(Policy.code).where(Policy.code.in_(policies))))
    problems = []
    for row in rows:
        assert row.clean is not None
        if row.clean["uscc"] not in known_firms:
            column = records.headers.get("uscc", "统一社会信用代码")
            message = f"企业库中没有统一社会信用代码为 {row.clean['uscc']} 的企业：请先导入企业名录"
            problems.append(Problem(records.file, message, row=row.number, column=column, unit=records.unit))
        if row.clean["policy"] not in known_policies:
            column = records.headers.get("policy", "政策编号")
            message = f"政策清单中没有编号为「{row.clean['policy']}」的政策"
            problems.append(Problem(records.file, message, row=row.number, column=column, unit=records.unit))
    return problems


def import_records(*, session: Session, records: Sequence[Mapping[str, Any]], source: str) -> dict[str, int]:
    """Store checked records; one already stored (same enterprise, policy, date and amount) is not stored twice."""
    codes = {str(record["uscc"]) for record in records}
    firms: dict[str, int] = {
        code: ident
        for code, ident in session.execute(select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(codes)))
    }
    wanted = {str(record["policy"]) for record in records}
    policies: dict[str, int] = {
        code: ident for code, ident in session.execute(select(Policy.code, Policy.id).where(Policy.code.in_(wanted)))
    }
    seen = {
        (row.enterprise_id, row.policy_id, row.received_on, row.amount)
        for row in session.scalars(select(Redemption).where(Redemption.enterprise_id.in_(firms.values())))
    }
    now = datetime.now(UTC)
    added = same = 0
    for record in records:
        key = (firms[record["uscc"]], policies[record["policy"]], record["received_on"], record.get("amount"))
        if key in seen:
            same += 1
            continue
        seen.add(key)
        session.add(
            Redemption(
                enterprise_id=key[0],
                policy_id=key[1],
                received_on=key[2],
                amount=key[3],
                note=str(record.get("note") or ""),
                source=source[:255],
                created_at=now,
            )
        )
        added += 1
    session.flush()
    return {"added": added, "same": same}


@dataclass(frozen=True)
class Unclaimed:
    """An enterprise that qualifies for a policy and has no 兑现 record of it."""

    enterprise: Enterprise
    reason: str
    bound: int  # its WeChat users


def unclaimed(*, session: Session, policy: Policy, today: date) -> list[Unclaimed]:
    """The eligible enterprises of a policy without a 兑现 record, by code."""
    ids = set(eligible_ids(session=session, policy=policy, today=today))
    ids -= set(session.scalars(select(Redemption.enterprise_id).where(Redemption.policy_id == policy.id)))
    firms = enterprise_service.many(session=session, enterprise_ids=ids)
    users = enterprise_service.openids(session=session, enterprise_ids=ids)
    rules = conditions(policy.tags or {})
    return [
        Unclaimed(firm, evaluate(rules, Profile.of(firm), today=today).reason, len(users.get(firm.id, [])))
        for firm in sorted(firms.values(), key=lambda row: row.uscc)
    ]


UNCLAIMED_HEADER = [
    "统一社会信用代码",
    "企业名称",
    "行业",
    "规模",
    "资质",
    "街道",
    "联系人",
    "联系电话",
    "已绑定微信",
    "适用判断",
]


def unclaimed_xlsx(rows: Sequence[Unclaimed], policy: Policy) -> bytes:
    """The 应享未享 list of one policy as a workbook for the responsible unit."""
    lines = (
        (
            number,
            [
                row.enterprise.uscc,
                row.enterprise.name,
                row.enterprise.industry or "",
                SIZE_NAMES.get(row.enterprise.size or "", ""),
                "、".join(row.enterprise.qualifications or []),
                row.enterprise.street or "",
                row.enterprise.contact,
                row.enterprise.phone,
                f"{row.bound} 人" if row.bound else "否",
                row.reason,
            ],
        )
        for number, row in enumerate(rows, start=2)
    )
    table = Table(f"应享未享 {policy.code}"[:31], UNCLAIMED_HEADER, lines)
    return xlsx_bytes([table], widths=[22, 34, 24, 8, 24, 14, 10, 16, 10, 40], bold_header=True)


def mode_share(*, session: Session, today: date) -> dict[str, Any]:
    """The published, current policies by 兑现方式, and the share that is 免申即享 or 即申即享 (None when none)."""
    statement = (
        select(Policy.mode, func.count())
        .where(Policy.status == PolicyStatus.PUBLISHED)
        .where(or_(Policy.valid_from.is_(None), Policy.valid_from <= today))
        .where(or_(Policy.valid_to.is_(None), Policy.valid_to >= today))
        .group_by(Policy.mode)
    )
    by_mode = {str(mode): 0 for mode in PolicyMode} | {str(mode): int(n) for mode, n in session.execute(statement)}
    total = sum(by_mode.values())
    quick = by_mode[PolicyMode.NO_APPLICATION] + by_mode[PolicyMode.INSTANT]
    return {"by_mode": by_mode, "total": total, "quick": quick, "share": quick / total if total else None}
