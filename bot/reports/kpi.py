"""The indicators of a period by unit and for the district, as `reports kpi` and the statistics page show them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.reports import charts
from bot.reports.periods import Period
from policies import indicators as policy_indicators
from policies.indicators import Asked, PolicyFigures, Unanswered
from routing import indicators
from routing.indicators import ALL, Dimension, Figures

# The rates with their names and how they are computed, as every page and report shows them beside the number.
RATE_LABELS: dict[str, tuple[str, str]] = {
    "response_rate": ("响应率", "按时签收 ÷ 应签收"),
    "on_time_rate": ("按时办结率", "答复未超时的办结件 ÷ 办结件"),
    "solved_rate": ("解决率", "企业确认已解决 ÷ 办结件"),
    "satisfaction_rate": ("满意率", "（满意 + 基本满意）÷ 已评价"),
    "return_rate": ("退回率", "退回次数 ÷ 派给单位的次数"),
    "reopen_rate": ("重办率", "不满意重办 ÷ 已评价"),
}
COUNT_LABELS: dict[str, str] = {
    "received": "受理量",
    "response_due": "应响应",
    "closed": "办结",
    "rated": "已评价",
    "returned": "退回",
    "reopened": "重办",
    "overdue": "超时件",
}
# The policy side (policies/indicators.py): the rates with their names and formulas, as RATE_LABELS.
POLICY_RATE_LABELS: dict[str, tuple[str, str]] = {
    "answer_rate": ("政策咨询答复率", "找到政策的咨询 ÷ 政策咨询"),
    "open_rate": ("推送查看率", "企业查看详情的推送 ÷ 推送"),
    "shown_no_application_share": ("展示中免申即享占比", "展示的免申即享政策 ÷ 展示的政策（条次）"),
    "shown_instant_share": ("展示中即申即享占比", "展示的即申即享政策 ÷ 展示的政策（条次）"),
    "pushed_no_application_share": ("推送中免申即享占比", "推送的免申即享政策 ÷ 推送"),
    "pushed_instant_share": ("推送中即申即享占比", "推送的即申即享政策 ÷ 推送"),
}
HOUR_LABELS: dict[str, str] = {
    "sign_hours": "平均签收用时（工作小时）",
    "answer_hours": "平均答复用时（工作小时）",
    "close_hours": "平均办结用时（工作小时）",
}


@dataclass
class Policies:
    """The policy side of a period: its figures, the policies shown most, the questions nothing answered."""

    figures: PolicyFigures
    top: list[Asked]
    unanswered: list[Unanswered]

    def to_json(self) -> dict[str, Any]:
        """Counts and rates (numbers in [0, 1] or null), with the top policies and the unanswered questions."""
        return {
            **self.figures.to_dict(),
            "top_policies": [
                {"code": item.code, "name": item.name, "body": item.body, "mode": str(item.mode),
                 "questions": item.questions}
                for item in self.top
            ],
            "unanswered_questions": [{"text": item.text, "count": item.count} for item in self.unanswered],
        }  # fmt: skip


@dataclass
class Kpi:
    """One period's figures: the district (or the unit's own view) and each unit, named; the policy side for the
    district only (policies are the district's list, not a unit's)."""

    period: Period
    all: Figures
    units: dict[str, Figures]
    unit_ids: dict[str, int]
    policies: Policies | None = None

    def to_json(self) -> dict[str, Any]:
        """One object per unit (by name) plus "all", each with its counts and rates; and "policies" for the district."""
        found = {**{name: figures.to_dict() for name, figures in self.units.items()}, ALL: self.all.to_dict()}
        if self.policies is not None:
            found[POLICIES] = self.policies.to_json()
        return found


POLICIES = "policies"


def policy_side(*, session: Session, period: Period, timezone: str) -> Policies:
    """The policy side of the period (questions, policies shown, pushes and opens)."""
    scope = period.scope(timezone=timezone)
    window = policy_indicators.Window(scope.start, scope.end)
    return Policies(
        figures=policy_indicators.figures(session=session, window=window),
        top=policy_indicators.top_policies(session=session, window=window),
        unanswered=policy_indicators.unanswered(session=session, window=window),
    )


def kpi(
    *, session: Session, period: Period, timezone: str, now: datetime | None = None, unit_id: int | None = None
) -> Kpi:
    """The figures of the period: with `unit_id`, that unit's own (its row and its total are the same)."""
    scope = period.scope(timezone=timezone, now=now, unit_id=unit_id)
    total = indicators.total(session=session, scope=scope)
    by_unit = indicators.figures(session=session, scope=scope, by=Dimension.UNIT)
    named = indicators.names(session=session, by=Dimension.UNIT)
    units: dict[str, Figures] = {}
    ids: dict[str, int] = {}
    for key, figures in sorted(by_unit.items(), key=lambda item: (-item[1].received, named(item[0]))):
        if key is None or (unit_id is not None and key != unit_id):
            continue
        units[named(key)] = figures
        ids[named(key)] = int(key)
    policies = None if unit_id is not None else policy_side(session=session, period=period, timezone=timezone)
    return Kpi(period=period, all=total, units=units, unit_ids=ids, policies=policies)


def policy_bars(policies: Policies, href: Callable[[Asked], str] | None = None) -> list[charts.Bar]:
    """The policies shown most, as bars (the count of questions whose answer listed each)."""
    return [
        charts.Bar(item.name, item.questions, str(item.questions), href(item) if href else "") for item in policies.top
    ]


def percent(value: float | None) -> str:
    """0.9234 → '92.3%'; None → '—'."""
    return "—" if value is None else f"{value * 100:.1f}%"


def change(current: float | None, before: float | None) -> str:
    """The change of a rate against the previous period in percentage points: '+2.1' / '-0.4' / ''."""
    if current is None or before is None:
        return ""
    points = (current - before) * 100
    return f"{points:+.1f}"
