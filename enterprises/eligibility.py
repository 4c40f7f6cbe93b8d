"""Eligibility: the conditions a policy's tags set, and whether an enterprise meets them.

`evaluate` judges one enterprise in Python, with the reason in one line; `eligible_query` finds every
enterprise that meets the conditions in SQL (the push preview, 应享未享). Both must agree: where a field the
conditions need is not known, the Python verdict is None ("cannot tell") and SQL leaves the enterprise out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, select

from enterprises.models import Enterprise, EnterpriseQualification
from enterprises.vocabulary import (
    ABOVE_SCALE,
    ANY,
    SIZE_NAMES,
    Range,
    Scale,
    TagError,
    industries,
    number_range,
    scale,
    units,
)


@dataclass(frozen=True)
class Profile:
    """What eligibility reads of an enterprise; None is "not known"."""

    industry: str | None = None
    size: str | None = None
    qualifications: tuple[str, ...] | None = None
    street: str | None = None
    founded_on: date | None = None
    employees: int | None = None

    @classmethod
    def of(cls, enterprise: Enterprise) -> Profile:
        """The profile of a stored enterprise."""
        quals = enterprise.qualifications
        return cls(
            industry=enterprise.industry,
            size=enterprise.size,
            qualifications=None if quals is None else tuple(quals),
            street=enterprise.street,
            founded_on=enterprise.founded_on,
            employees=enterprise.employees,
        )

    @property
    def above_scale(self) -> bool | None:
        """规模以上 (it holds 规上工业, 限上商贸 or 规上服务业); None when its 资质 are not known."""
        return None if self.qualifications is None else bool(ABOVE_SCALE & set(self.qualifications))


@dataclass(frozen=True)
class Conditions:
    """Who a policy is for, from its tags; an empty part is no condition."""

    industries: tuple[str, ...] = ()
    scale: Scale = field(default_factory=Scale)
    qualifications: tuple[str, ...] = ()  # any one of them
    streets: tuple[str, ...] = ()
    age: Range | None = None  # 成立年限, full years
    staff: Range | None = None  # 从业人数
    unreadable: tuple[str, ...] = ()  # tag keys whose value could not be read (stored before the vocabulary)

    @property
    def none(self) -> bool:
        """True when the policy is for every enterprise."""
        return self == Conditions()


def conditions(tags: Mapping[str, Any]) -> Conditions:
    """The conditions of a policy's (stored, canonical) tags; other keys are labels."""
    found: dict[str, Any] = {}
    unreadable = []
    readers: dict[str, Callable[[str], tuple[str, Any]]] = {
        "行业": lambda text: ("industries", tuple(name for name in industries(text) if name != ANY)),
        "规模": lambda text: ("scale", scale(text)),
        "资质": lambda text: ("qualifications", tuple(units(text))),
        "街道": lambda text: ("streets", tuple(part for part in units(text) if part != ANY)),
        "成立年限": lambda text: ("age", number_range("成立年限", text)),
        "从业人数": lambda text: ("staff", number_range("从业人数", text)),
    }
    for key, reader in readers.items():
        if key not in tags:
            continue
        try:
            name, value = reader(str(tags[key]))
        except TagError:
            unreadable.append(key)
            continue
        found[name] = value
    return Conditions(**found, unreadable=tuple(unreadable))


def full_years(founded_on: date, today: date) -> int:
    """Whole years from founding to today."""
    return today.year - founded_on.year - ((today.month, today.day) < (founded_on.month, founded_on.day))


def years_ago(today: date, years: int) -> date:
    """The same day `years` years before today (28 February for 29 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year without one
        return date(today.year - years, 2, 28)


@dataclass(frozen=True)
class Verdict:
    """Whether an enterprise qualifies (None: cannot tell yet), and why, in one line for the enterprise."""

    eligible: bool | None
    reason: str


# One condition's outcome: (met?, how the enterprise is described when met, or why not / what is missing).
Check = tuple[bool | None, str]


def _industry(wanted: tuple[str, ...], profile: Profile) -> Check:
    if profile.industry is None:
        return None, "行业"
    if profile.industry in wanted:
        return True, profile.industry
    return False, f"本政策面向{'、'.join(wanted)}，贵企业为{profile.industry}"


def _sizes(wanted: Scale, profile: Profile) -> Check:
    if profile.size is None:
        return None, "规模"
    if profile.size in wanted.sizes:
        return True, f"{wanted.sizes}企业"
    return False, f"本政策面向{wanted.sizes}企业，贵企业为{SIZE_NAMES[profile.size]}企业"


def _above(wanted: Scale, profile: Profile) -> Check:
    above = profile.above_scale
    if above is None:
        return None, "资质（是否规上）"
    word = "规上" if wanted.above else "规下"
    if above == wanted.above:
        return True, f"{word}企业"
    return False, f"本政策面向{word}企业，贵企业{'已' if above else '尚未'}纳入规模以上统计"


def _qualifications(wanted: tuple[str, ...], profile: Profile) -> Check:
    if profile.qualifications is None:
        return None, "资质"
    held = [name for name in wanted if name in profile.qualifications]
    if held:
        return True, "、".join(held)
    return False, f"本政策面向{'、'.join(wanted)}，贵企业暂无此资质"


def _street(wanted: tuple[str, ...], profile: Profile) -> Check:
    if profile.street is None:
        return None, "所在街道"
    if profile.street in wanted:
        return True, f"位于{profile.street}"
    return False, f"本政策面向{'、'.join(wanted)}的企业，贵企业位于{profile.street}"


def _age(wanted: Range, profile: Profile, today: date) -> Check:
    if profile.founded_on is None:
        return None, "成立日期"
    years = full_years(profile.founded_on, today)
    if years < 0:
        return False, "贵企业登记的成立日期晚于今天"
    if wanted.contains(years):
        return True, f"成立{years}年"
    return False, f"本政策要求成立年限{wanted.text('年')}，贵企业成立{years}年"


def _staff(wanted: Range, profile: Profile) -> Check:
    if profile.employees is None:
        return None, "从业人数"
    if wanted.contains(profile.employees):
        return True, f"从业人数{profile.employees}人"
    return False, f"本政策要求从业人数{wanted.text('人')}，贵企业{profile.employees}人"


def _checks(rules: Conditions, profile: Profile, today: date) -> dict[str, Check]:
    checks: dict[str, Check] = {}
    if rules.industries:
        checks["industry"] = _industry(rules.industries, profile)
    if rules.scale.sizes:
        checks["size"] = _sizes(rules.scale, profile)
    if rules.scale.above is not None:
        checks["above"] = _above(rules.scale, profile)
    if rules.qualifications:
        checks["qualifications"] = _qualifications(rules.qualifications, profile)
    if rules.streets:
        checks["street"] = _street(rules.streets, profile)
    if rules.age is not None:
        checks["age"] = _age(rules.age, profile, today)
    if rules.staff is not None:
        checks["staff"] = _staff(rules.staff, profile)
    return checks


def evaluate(rules: Conditions, profile: Profile, *, today: date) -> Verdict:
    """Whether the enterprise meets every condition: False at the first unmet one, None when one is unknown."""
    checks = _checks(rules, profile, today)
    for met, text in checks.values():
        if met is False:
            return Verdict(False, text)
    missing = [text for met, text in checks.values() if met is None]
    if rules.unreadable:
        return Verdict(None, f"本政策的{'、'.join(rules.unreadable)}标签无法读取，请咨询实施主体")
    if missing:
        return Verdict(None, f"贵企业的{'、'.join(missing)}尚未登记，暂不能判断是否符合")
    if not checks:
        return Verdict(True, "本政策面向各类企业，符合适用对象")
    described = {name: text for name, (_, text) in checks.items()}
    kind = described.get("size") or described.get("above") or "企业"
    subject = described.get("industry", "") + kind
    extras = [described[name] for name in ("qualifications", "street", "age", "staff") if name in described]
    if subject == "企业" and "qualifications" in described:
        subject = extras.pop(0)
    return Verdict(True, "，".join([f"贵企业为{subject}", *extras, "符合适用对象"]))


def _age_clauses(age: Range, today: date) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Enterprise.founded_on <= today]
    if age.low is not None:
        clauses.append(Enterprise.founded_on <= years_ago(today, age.low))
    if age.high is not None:
        clauses.append(Enterprise.founded_on > years_ago(today, age.high + 1))
    return clauses


def _staff_clauses(staff: Range) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if staff.low is not None:
        clauses.append(Enterprise.employees >= staff.low)
    if staff.high is not None:
        clauses.append(Enterprise.employees <= staff.high)
    return clauses


def _holds(values: Iterable[str]) -> ColumnElement[bool]:
    return exists().where(
        EnterpriseQualification.enterprise_id == Enterprise.id, EnterpriseQualification.value.in_(sorted(values))
    )


def _scale_clauses(wanted: Scale) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Enterprise.size.in_(list(wanted.sizes))] if wanted.sizes else []
    if wanted.above is True:
        clauses.append(_holds(ABOVE_SCALE))
    elif wanted.above is False:
        clauses.append(and_(Enterprise.qualifications.is_not(None), not_(_holds(ABOVE_SCALE))))
    return clauses


def eligible_query(rules: Conditions, *, today: date) -> Select[int]:
    """The ids of every enterprise that meets the conditions (known to meet each; unknown is left out)."""
    statement = select(Enterprise.id)
    if rules.unreadable:
        return statement.where(false())
    clauses = _scale_clauses(rules.scale)
    if rules.industries:
        clauses.append(Enterprise.industry.in_(rules.industries))
    if rules.qualifications:
        clauses.append(_holds(rules.qualifications))
    if rules.streets:
        clauses.append(Enterprise.street.in_(rules.streets))
    if rules.age is not None:
        clauses += _age_clauses(rules.age, today)
    if rules.staff is not None:
        clauses += _staff_clauses(rules.staff)
    return statement.where(*clauses)
