"""The rules of the routing table kept as data: reference prefix, escalation ladder, reason codes, limits."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.calendar import CalendarError, WorkCalendar, from_rows
from routing.models import (
    AUDIENCE_LABELS,
    STAGE_LABELS,
    Audience,
    CalendarDay,
    CalendarYear,
    RoutingSetting,
    Stage,
    TimeLimit,
)

REQUIRED_SETTINGS = (
    "reference_prefix", "working_hours", "urgencies", "reply_max_days", "escalation", "supervisor_unit",
    "default_category", "max_returns", "digest_minutes", "return_reasons", "dissatisfaction_reasons",
)  # fmt: skip
# Settings a table made before they existed may lack: their defaults apply.
OPTIONAL_SETTINGS: dict[str, Any] = {
    "resume_on_supplement": False,  # the enterprise's first supplement resumes a 挂起 appeal without staff
    "rating_reminder_hours": 24,  # an unanswered rating request is asked again once after this long
    "handoff_reply_minutes": 30,  # 人工客服: the answer an enterprise may expect within working hours
}
SETTING_KEYS = (*REQUIRED_SETTINGS, *OPTIONAL_SETTINGS)
# The escalation audiences (Audience) and timer stages (Stage) with their labels; routing.models defines them.
AUDIENCES = AUDIENCE_LABELS
STAGES = STAGE_LABELS
PREFIX = re.compile(r"^[A-Z]{1,6}$")


class RulesError(ValueError):
    """A rule that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Level:
    """One rung of 分级督办: fires at `percent` of a limit and goes to `audience`."""

    level: int
    percent: int
    name: str
    audience: Audience


@dataclass(frozen=True)
class Reason:
    """A reason code (退回 or 不满意); a subjective dissatisfaction reopens the appeal."""

    code: str
    name: str
    subjective: bool = False


@dataclass(frozen=True)
class Urgency:
    code: str
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    reference_prefix: str
    levels: tuple[Level, ...]
    return_reasons: tuple[Reason, ...]
    dissatisfaction_reasons: tuple[Reason, ...]
    urgencies: tuple[Urgency, ...]
    supervisor_unit: str
    default_category: str
    max_returns: int
    reply_max_days: int
    digest_minutes: int
    working_hours: dict[str, Any]
    resume_on_supplement: bool = False
    rating_reminder_hours: int = 24
    handoff_reply_minutes: int = 30

    def return_reason(self, code: str | None) -> Reason | None:
        return next((reason for reason in self.return_reasons if reason.code == code), None)

    def dissatisfaction(self, code: str | None) -> Reason | None:
        return next((reason for reason in self.dissatisfaction_reasons if reason.code == code), None)

    def urgency_name(self, code: str) -> str:
        return next((urgency.name for urgency in self.urgencies if urgency.code == code), code)


def _int(values: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = values.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RulesError(f"{key} 应为 {low} 到 {high} 之间的整数，现为 {value!r}")
    return value


def _reasons(values: Mapping[str, Any], key: str) -> tuple[Reason, ...]:
    reasons = []
    for item in values.get(key) or []:
        if not isinstance(item, Mapping) or not item.get("code") or not item.get("name"):
            raise RulesError(f"{key} 的每一项都需要 code 和 name：{item!r}")
        reasons.append(Reason(str(item["code"]), str(item["name"]), bool(item.get("subjective", False))))
    if not reasons or len({reason.code for reason in reasons}) != len(reasons):
        raise RulesError(f"{key} 不能为空，代码不能重复")
    return tuple(reasons)


def rules_from(values: Mapping[str, Any]) -> Rules:
    """Rules from setting values (as stored or imported), checked; RulesError names what is wrong."""
    missing = [key for key in REQUIRED_SETTINGS if key not in values]
    if missing:
        raise RulesError(f"缺少参数：{', '.join(missing)}")
    prefix = str(values["reference_prefix"]).strip().upper()
    if not PREFIX.match(prefix):
        raise RulesError(f"reference_prefix 应为 1 到 6 个英文字母，现为 {values['reference_prefix']!r}")
    levels = []
    for item in values["escalation"] or []:
        try:
            number, percent, name, audience = (
                int(item["level"]),
                int(item["percent"]),
                str(item["name"]),
                str(item["audience"]),
            )
        except (KeyError, TypeError, ValueError):
            raise RulesError(f"escalation 的每一级需要 level、percent、name、audience：{item!r}") from None
        if audience not in AUDIENCES:
            raise RulesError(f"escalation 的 audience 只能是 {', '.join(AUDIENCES)}：{audience!r}")
        levels.append(Level(number, percent, name, Audience(audience)))
    if not levels or [lv.level for lv in levels] != list(range(1, len(levels) + 1)):
        raise RulesError("escalation 各级的 level 应从 1 起连续编号")
    if any(b.percent <= a.percent for a, b in itertools.pairwise(levels)) or levels[0].percent <= 0:
        raise RulesError("escalation 各级的 percent 应为正数且逐级增大")
    urgencies = tuple(
        Urgency(str(item["code"]), str(item["name"]), tuple(str(word) for word in item.get("keywords") or []))
        for item in values["urgencies"] or []
    )
    if not any(urgency.code == "normal" for urgency in urgencies):
        raise RulesError("urgencies 中必须有 code 为 normal 的一般等级")
    hours = values["working_hours"]
    try:
        from_rows(days=(), years=(), working_hours=hours)
    except (CalendarError, KeyError, TypeError) as exc:
        raise RulesError(f"working_hours：{exc}") from None
    return Rules(
        reference_prefix=prefix,
        levels=tuple(levels),
        return_reasons=_reasons(values, "return_reasons"),
        dissatisfaction_reasons=_reasons(values, "dissatisfaction_reasons"),
        urgencies=urgencies,
        supervisor_unit=str(values["supervisor_unit"]),
        default_category=str(values["default_category"]),
        max_returns=_int(values, "max_returns", 0, 10),
        reply_max_days=_int(values, "reply_max_days", 1, 365),
        digest_minutes=_int(values, "digest_minutes", 1, 24 * 60),
        working_hours=dict(hours),
        resume_on_supplement=_flag(values, "resume_on_supplement"),
        rating_reminder_hours=_int({**OPTIONAL_SETTINGS, **values}, "rating_reminder_hours", 1, 24 * 14),
        handoff_reply_minutes=_int({**OPTIONAL_SETTINGS, **values}, "handoff_reply_minutes", 1, 24 * 60),
    )


def _flag(values: Mapping[str, Any], key: str) -> bool:
    value = values.get(key, OPTIONAL_SETTINGS[key])
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "是", "否"}:
        return value.strip().lower() in {"true", "是"}
    if not isinstance(value, bool):
        raise RulesError(f"{key} 应为 true 或 false，现为 {value!r}")
    return value


def setting_values(*, session: Session) -> dict[str, Any]:
    """Every stored setting by key."""
    return {row.key: row.value for row in session.scalars(select(RoutingSetting))}


def load_rules(*, session: Session) -> Rules:
    """The rules in force."""
    return rules_from(setting_values(session=session))


def load_calendar(*, session: Session) -> WorkCalendar:
    """The working calendar in force: entered holiday notices and the working-hours setting."""
    days = session.execute(select(CalendarDay.day, CalendarDay.workday)).all()
    years = session.scalars(select(CalendarYear.year)).all()
    hours = session.get(RoutingSetting, "working_hours")
    return from_rows(days=days, years=years, working_hours=hours.value if hours else None)


def limit_for(*, session: Session, category_code: str, urgency: str, stage: Stage) -> tuple[int, str]:
    """(amount, unit) of a stage's limit: the category's own, else the default ("*"), for the urgency or normal."""
    rows = session.execute(
        select(TimeLimit.category_code, TimeLimit.urgency, TimeLimit.amount, TimeLimit.unit).where(
            TimeLimit.stage == stage,
            TimeLimit.category_code.in_([category_code, "*"]),
            TimeLimit.urgency.in_([urgency, "normal"]),
        )
    ).all()
    for key in ((category_code, urgency), ("*", urgency), (category_code, "normal"), ("*", "normal")):
        for code, level, amount, unit in rows:
            if (code, level) == key:
                return int(amount), str(unit)
    raise RulesError(f"没有设置「{STAGES.get(stage, stage)}」的时限（类别 {category_code}，等级 {urgency}）")
