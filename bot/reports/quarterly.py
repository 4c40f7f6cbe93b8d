"""The quarterly analysis report (task 18: 按季度形成分析报告): built from the database as one HTML document
(charts as SVG), printed to PDF by WeasyPrint with a CJK font of the system (fonts-noto-cjk), and kept.

区营商办 writes the recommendations before the report is finalised; a finalised report is kept as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.reports import charts, clusters
from bot.reports.kpi import (
    COUNT_LABELS,
    HOUR_LABELS,
    POLICY_RATE_LABELS,
    RATE_LABELS,
    Kpi,
    Policies,
    change,
    kpi,
    percent,
    policy_bars,
    policy_side,
)
from bot.reports.periods import Period
from routing import indicators
from routing.lifecycle import Refused
from routing.models import Action, Appeal, AppealEvent, Category
from routing.report_models import QuarterlyReport
from routing.rules import load_rules

TEMPLATES = Path(__file__).resolve().parent / "templates"
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
)


@dataclass(frozen=True)
class Facts:
    """Everything the report says, read from the database."""

    quarter: Period
    current: Kpi
    previous: indicators.Figures
    clusters: list[clusters.Cluster]
    slowest: list[tuple[str, float, int]]
    reasons: list[tuple[str, int]]
    repeat: list[tuple[str, int]]
    policies: Policies


def _texts(session: Session, scope: indicators.Scope) -> list[clusters.Text]:
    rows = session.execute(
        select(Appeal.reference, Category.name, Appeal.description)
        .join(Category, Category.id == Appeal.category_id)
        .where(Appeal.created_at >= scope.start, Appeal.created_at < scope.end)
        .order_by(Appeal.id)
    )
    return [clusters.Text(reference, category, text) for reference, category, text in rows]


def _reasons(session: Session, scope: indicators.Scope) -> list[tuple[str, int]]:
    names = {reason.code: reason.name for reason in load_rules(session=session).dissatisfaction_reasons}
    rows = session.execute(
        select(AppealEvent.reason_code, func.count())
        .where(
            AppealEvent.action == Action.VISIT, AppealEvent.at >= scope.start, AppealEvent.at < scope.end,
            AppealEvent.reason_code.is_not(None),
        )
        .group_by(AppealEvent.reason_code)
    )  # fmt: skip
    counted = [(names.get(code, code), int(count)) for code, count in rows if code in names]
    return sorted(counted, key=lambda item: -item[1])


def _repeat(session: Session, scope: indicators.Scope) -> list[tuple[str, int]]:
    rows = session.execute(
        select(Appeal.enterprise, func.count())
        .where(Appeal.created_at >= scope.start, Appeal.created_at < scope.end)
        .group_by(Appeal.enterprise)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), Appeal.enterprise)
        .limit(20)
    )
    return [(name, int(count)) for name, count in rows]


def facts(*, session: Session, quarter: Period, timezone: str, now: datetime) -> Facts:
    """Read what the quarter's report needs (the clustering runs here too: call it off the event loop)."""
    current = kpi(session=session, period=quarter, timezone=timezone, now=now)
    previous = indicators.total(session=session, scope=quarter.previous().scope(timezone=timezone, now=now))
    scope = quarter.scope(timezone=timezone, now=now)
    slowest = sorted(
        ((name, item.close_hours, item.closed) for name, item in current.units.items() if item.close_hours is not None),
        key=lambda row: -row[1],
    )[:5]
    policies = current.policies or policy_side(session=session, period=quarter, timezone=timezone)
    return Facts(
        quarter=quarter, current=current, previous=previous, clusters=clusters.clusters(_texts(session, scope))[:10],
        slowest=slowest, reasons=_reasons(session, scope), repeat=_repeat(session, scope), policies=policies,
    )  # fmt: skip


def render_html(found: Facts, *, recommendations: str, generated_at: datetime, final: bool, timezone: str) -> str:
    """The report as one self-contained HTML document."""
    current = found.current
    unit_bars = [
        charts.Bar(name, item.response_rate or 0.0, percent(item.response_rate))
        for name, item in current.units.items() if item.response_rate is not None
    ]  # fmt: skip
    satisfaction = [
        charts.Bar(name, item.satisfaction_rate or 0.0, f"{percent(item.satisfaction_rate)}（{item.rated}）")
        for name, item in current.units.items() if item.satisfaction_rate is not None
    ]  # fmt: skip
    received = [
        charts.Bar(name, item.received, str(item.received)) for name, item in current.units.items() if item.received
    ]
    return environment.get_template("quarterly.html").render(
        facts=found, rates=RATE_LABELS, counts=COUNT_LABELS, policy_rates=POLICY_RATE_LABELS, hours=HOUR_LABELS,
        percent=percent, change=change,
        recommendations=recommendations, final=final,
        generated=generated_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M"),
        charts={
            "response": charts.bars("各单位响应率", unit_bars, share=True),
            "satisfaction": charts.bars("各单位满意率", satisfaction, share=True, colour=charts.COLOURS[2]),
            "received": charts.bars("各单位受理量", received, colour=charts.COLOURS[1]),
            "policies": charts.bars("被问到最多的政策", policy_bars(found.policies), colour=charts.COLOURS[3]),
        },
    )  # fmt: skip


def pdf(html: str) -> bytes:
    """The HTML printed to PDF (CPU-heavy: off the event loop)."""
    from weasyprint import HTML

    data: bytes = HTML(string=html).write_pdf()
    return data


def generate(
    *, session: Session, quarter: Period, timezone: str, username: str, now: datetime | None = None
) -> QuarterlyReport:
    """Build the quarter's report and keep it (HTML and PDF); a finalised report is returned as it was kept."""
    now = now or datetime.now(UTC)
    report = session.scalar(select(QuarterlyReport).where(QuarterlyReport.quarter == quarter.name))
    if report is not None and report.finalised_at is not None:
        return report
    if report is None:
        report = QuarterlyReport(
            quarter=quarter.name, recommendations="", html="", generated_by=username, generated_at=now
        )
        session.add(report)
    html = render_html(
        facts(session=session, quarter=quarter, timezone=timezone, now=now),
        recommendations=report.recommendations, generated_at=now, final=False, timezone=timezone,
    )  # fmt: skip
    report.html, report.pdf, report.generated_by, report.generated_at = html, pdf(html), username, now
    session.flush()
    return report


def write_recommendations(
    *,
    session: Session,
    quarter: Period,
    timezone: str,
    username: str,
    text: str,
    final: bool,
    now: datetime | None = None,
) -> QuarterlyReport:
    """区营商办's recommendations; with `final`, the report is rebuilt with them and kept as it is from then on."""
    now = now or datetime.now(UTC)
    report = session.scalar(select(QuarterlyReport).where(QuarterlyReport.quarter == quarter.name))
    if report is None:
        raise Refused(f"{quarter.name} 的分析报告尚未生成")
    if report.finalised_at is not None:
        raise Refused(f"{quarter.name} 的分析报告已定稿，不能再修改")
    if final and not text.strip():
        raise Refused("定稿前请填写工作建议")
    report.recommendations = text.strip()[:20000]
    html = render_html(
        facts(session=session, quarter=quarter, timezone=timezone, now=now),
        recommendations=report.recommendations, generated_at=now, final=final, timezone=timezone,
    )  # fmt: skip
    report.html, report.pdf, report.generated_at = html, pdf(html), now
    if final:
        report.finalised_by, report.finalised_at = username, now
    session.flush()
    return report


def kept(*, session: Session) -> list[dict[str, Any]]:
    """The kept reports, latest quarter first (without their bodies)."""
    rows = session.execute(
        select(QuarterlyReport.quarter, QuarterlyReport.generated_at, QuarterlyReport.generated_by,
               QuarterlyReport.finalised_at, QuarterlyReport.finalised_by).order_by(QuarterlyReport.quarter.desc())
    )  # fmt: skip
    return [dict(row._mapping) for row in rows]
