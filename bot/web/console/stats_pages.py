"""The statistics page at /console/stats: 区营商办 sees every unit, a unit head their own; every number drills down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import Role, SignedIn
from bot.reports import charts, periods
from bot.reports.kpi import (
    COUNT_LABELS,
    HOUR_LABELS,
    POLICY_RATE_LABELS,
    RATE_LABELS,
    Policies,
    change,
    kpi,
    percent,
    policy_bars,
)
from bot.reports.periods import Period
from bot.web.auth import require_role
from bot.web.bounds import whole_number
from bot.web.console.common import chrome, render, run
from bot.web.deps import ServicesDep, Today
from policies import indicators as policy_indicators
from policies.models import Policy
from policies.questions import OUTCOME_LABELS
from routing import indicators, queue
from routing.indicators import Dimension, Figures
from routing.models import Appeal

router = APIRouter(prefix="/console", include_in_schema=False)
StatsUser = Annotated[SignedIn, Depends(require_role(Role.UNIT_HEAD, Role.SUPERVISOR))]
LISTED = 500
DRILL = "/console/stats/appeals"
POLICY_DRILL = "/console/stats/policies"


@dataclass(frozen=True)
class StatsQuery:
    """The period asked for (the current month by default) and what was wrong with the link, if anything."""

    period: Period
    error: str = ""

    def link(self, path: str = "/console/stats", **more: str) -> str:
        values = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(), **more}
        return f"{path}?{urlencode({key: value for key, value in values.items() if value})}"


async def period_of(request: Request, today: Today) -> StatsQuery:
    """From `?from=YYYY-MM-DD&to=YYYY-MM-DD` (the current month by default); a bad date keeps it and says why."""
    start, end = request.query_params.get("from", "")[:10], request.query_params.get("to", "")[:10]
    try:
        return StatsQuery(periods.range_or_month(start or None, end or None, today=today))
    except periods.PeriodError as exc:
        return StatsQuery(periods.range_or_month(None, None, today=today), error=str(exc))


Query = Annotated[StatsQuery, Depends(period_of)]


def own_unit(user: SignedIn) -> int | None:
    """None for 区营商办 (every unit); a unit head's own unit."""
    return None if user.role == Role.SUPERVISOR else (user.unit_id or -1)


def _bars(
    figures: dict[Any, Figures], named: indicators.Named, query: StatsQuery, by: Dimension, limit: int = 12
) -> list[charts.Bar]:
    rows = sorted(figures.items(), key=lambda item: (-item[1].received, named(item[0])))
    return [
        charts.Bar(
            named(key), item.received, str(item.received), query.link(DRILL, measure="received", by=by, key=_key(key))
        )
        for key, item in rows[:limit]
        if item.received
    ]


def _key(key: Any) -> str:
    return "" if key is None else str(key)


def _rate_bars(units: dict[str, Figures], ids: dict[str, int], query: StatsQuery, rate: str) -> list[charts.Bar]:
    measure = {"response_rate": "response_late", "satisfaction_rate": "dissatisfied", "solved_rate": "unsolved"}[rate]
    return [
        charts.Bar(
            name, value, percent(value), query.link(DRILL, measure=measure, by=Dimension.UNIT, key=str(ids[name]))
        )
        for name, item in units.items()
        if (value := getattr(item, rate)) is not None
    ]


def _read(session: Session, query: StatsQuery, unit_id: int | None, timezone: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    current = kpi(session=session, period=query.period, timezone=timezone, now=now, unit_id=unit_id)
    before_scope = query.period.previous().scope(timezone=timezone, now=now, unit_id=unit_id)
    before = indicators.total(session=session, scope=before_scope)
    scope = query.period.scope(timezone=timezone, now=now, unit_id=unit_id)
    weekly = []
    for week in periods.weeks(query.period):
        figures = indicators.total(session=session, scope=week.scope(timezone=timezone, now=now, unit_id=unit_id))
        link = StatsQuery(week).link(DRILL, measure="received")
        weekly.append(charts.Point(week.name, figures.received, figures.satisfaction_rate, link))
    drawn = {
        "trend": charts.trend("每周受理量与满意率", weekly, rate_name="满意率"),
        "categories": charts.bars(
            "各类别受理量",
            _bars(indicators.figures(session=session, scope=scope, by=Dimension.CATEGORY),
                  indicators.names(session=session, by=Dimension.CATEGORY), query, Dimension.CATEGORY),
            colour=charts.COLOURS[1],
        ),
        "streets": charts.bars(
            "各街道受理量",
            _bars(indicators.figures(session=session, scope=scope, by=Dimension.STREET),
                  indicators.names(session=session, by=Dimension.STREET), query, Dimension.STREET),
            colour=charts.COLOURS[2],
        ),
    }  # fmt: skip
    if unit_id is None:
        for rate in ("response_rate", "solved_rate", "satisfaction_rate"):
            label = RATE_LABELS[rate][0]
            drawn[rate] = charts.bars(
                f"各单位{label}", _rate_bars(current.units, current.unit_ids, query, rate), share=True
            )
    policies = None
    if current.policies is not None:
        earlier = policy_indicators.Window(before_scope.start, before_scope.end)
        policies = policy_indicators.figures(session=session, window=earlier)
        drawn.update(_policy_charts(current.policies, query))
    return {"kpi": current, "before": before, "policies_before": policies, "charts": drawn}


def _policy_charts(policies: Policies, query: StatsQuery) -> dict[str, Any]:
    """The policies shown most (each bar opens the questions that listed it) and the shares of the two modes."""
    side = policies.figures
    shares = [
        ("展示·免申即享", side.shown_no_application_share, "shown_no_application"),
        ("展示·即申即享", side.shown_instant_share, "shown_instant"),
        ("推送·免申即享", side.pushed_no_application_share, "pushed_no_application"),
        ("推送·即申即享", side.pushed_instant_share, "pushed_instant"),
    ]
    return {
        "top_policies": charts.bars(
            "被问到最多的政策（咨询次数）",
            policy_bars(policies, lambda item: query.link(POLICY_DRILL, measure="shown", policy=str(item.policy_id))),
            colour=charts.COLOURS[3],
        ),
        "policy_modes": charts.bars(
            "免申即享、即申即享占比",
            [
                charts.Bar(label, value, percent(value), query.link(POLICY_DRILL, measure=measure))
                for label, value, measure in shares
                if value is not None
            ],
            share=True,
            colour=charts.COLOURS[1],
        ),
    }


@router.get("/stats")
async def stats_page(request: Request, user: StatsUser, services: ServicesDep, query: Query) -> Response:
    """The indicators of a period with the change against the one before, charts, and the table by unit."""
    unit_id = own_unit(user)
    data = await run(request, lambda session: _read(session, query, unit_id, services.settings.app.timezone))
    previous = query.period.previous()
    return render(
        request,
        "console/stats.html",
        query=query,
        previous=previous,
        rate_labels=RATE_LABELS,
        policy_rate_labels=POLICY_RATE_LABELS,
        count_labels=COUNT_LABELS,
        hour_labels=HOUR_LABELS,
        percent=percent,
        change=change,
        supervisor=unit_id is None,
        shortcuts=_shortcuts(query.period.last if query.period.last < date.today() else date.today()),
        **data,
        **await chrome(request, user),
    )


def _shortcuts(today: date) -> list[tuple[str, str]]:
    this_month = periods.month(f"{today:%Y-%m}")
    last_month = this_month.previous()
    this_quarter = periods.quarter_of(today)
    return [
        ("本月", StatsQuery(periods.dates(this_month.first, today)).link()),
        ("上月", StatsQuery(last_month).link()),
        ("本季度", StatsQuery(periods.dates(this_quarter.first, today)).link()),
        ("上季度", StatsQuery(this_quarter.previous()).link()),
    ]


@router.get("/stats/appeals")
async def drill_down(request: Request, user: StatsUser, services: ServicesDep, query: Query) -> Response:
    """The appeals behind one number of the statistics page."""
    params = request.query_params
    measure = params.get("measure", "")
    if measure not in indicators.MEASURES:
        raise HTTPException(404, "没有这项指标")
    by_text = params.get("by", "")
    by = Dimension(by_text) if by_text in set(Dimension) else None
    key_text = params.get("key", "")
    number = whole_number(key_text) if by != Dimension.TASK else None
    key: Any = number if number is not None else key_text[:64] or None
    unit_id = own_unit(user)
    scope = query.period.scope(timezone=services.settings.app.timezone, unit_id=unit_id)

    def read(session: Session) -> tuple[list[queue.Item], int, str]:
        ids = indicators.appeal_ids(
            session=session, scope=scope, measure=measure, **({"by": by, "key": key} if by else {})
        )
        items = queue.items_of(session=session, statement=select(Appeal).where(Appeal.id.in_(ids[:LISTED])))
        group = indicators.names(session=session, by=by)(key) if by else ("全区" if unit_id is None else "本单位")
        return items, len(ids), group

    items, count, group = await run(request, read)
    return render(
        request,
        "console/stats_appeals.html",
        query=query,
        items=items,
        count=count,
        listed=LISTED,
        group=group,
        measure=indicators.MEASURE_LABELS[measure],
        now=datetime.now(UTC),
        own_unit=unit_id,
        **await chrome(request, user),
    )


@router.get("/stats/policies")
async def policy_drill_down(request: Request, user: StatsUser, services: ServicesDep, query: Query) -> Response:
    """The questions or pushes behind one number of the policy side (区营商办 only: the district's list)."""
    if own_unit(user) is not None:
        raise HTTPException(403, "政策咨询与推送统计仅区营商办可查看")
    measure = request.query_params.get("measure", "")
    if measure not in policy_indicators.MEASURES:
        raise HTTPException(404, "没有这项指标")
    policy_text = request.query_params.get("policy", "")
    policy_id = int(policy_text) if policy_text.isdecimal() else None
    scope = query.period.scope(timezone=services.settings.app.timezone)
    window = policy_indicators.Window(scope.start, scope.end)
    pushes = policy_indicators.MEASURES[measure][0] == "pushes"

    def read(session: Session) -> tuple[list[Any], int, str]:
        ids = policy_indicators.row_ids(session=session, window=window, measure=measure, policy_id=policy_id)
        listed = ids[:LISTED]
        rows: list[Any] = (
            policy_indicators.push_rows(session=session, ids=listed)
            if pushes
            else policy_indicators.question_rows(session=session, ids=listed)
        )
        named = session.get(Policy, policy_id) if policy_id is not None else None
        return rows, len(ids), named.name if named is not None else "全区"

    rows, count, group = await run(request, read)
    return render(
        request,
        "console/stats_policies.html",
        query=query,
        rows=rows,
        pushes=pushes,
        count=count,
        listed=LISTED,
        group=group,
        measure=policy_indicators.MEASURE_LABELS[measure],
        outcomes=OUTCOME_LABELS,
        **await chrome(request, user),
    )
