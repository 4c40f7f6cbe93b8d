"""The quarterly analysis reports at /console/reports (区营商办): generate on demand, read, write the
recommendations and finalise; every version is kept as HTML and PDF."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.reports import periods, quarterly
from bot.web.console.common import SupervisorUser, chrome, render
from bot.web.deps import ServicesDep, Today
from bot.web.deps import services as services_of
from routing.lifecycle import Refused
from routing.report_models import QuarterlyReport

router = APIRouter(prefix="/console", include_in_schema=False)
# The kept report is a document of its own: its styles inline, no script, nothing fetched.
REPORT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
NOTICES = {"generated": "分析报告已生成", "saved": "工作建议已保存", "final": "分析报告已定稿"}


def _quarter(text: str) -> periods.Period:
    try:
        return periods.quarter(text)
    except periods.PeriodError as exc:
        raise HTTPException(404, str(exc)) from None


async def _sync(request: Request, work: object) -> object:
    """A synchronous unit of work (PDF printing, clustering) in a thread, in its own committed transaction."""
    from bot.platform import db

    url = services_of(request).settings.database_url

    def run() -> object:
        engine = db.make_engine(url)
        try:
            with db.transaction(db.session_factory(engine)) as session:
                return work(session)  # type: ignore[operator]
        finally:
            engine.dispose()

    return await asyncio.to_thread(run)


@router.get("/reports")
async def reports_page(request: Request, user: SupervisorUser, today: Today) -> Response:
    """The kept reports and the quarters that can be generated."""
    kept = await _sync(request, lambda session: quarterly.kept(session=session))
    current = periods.quarter_of(today)
    choices = [current, current.previous(), current.previous().previous(), current.previous().previous().previous()]
    return render(
        request, "console/reports.html", kept=kept, choices=choices,
        notice=NOTICES.get(request.query_params.get("done", ""), ""), error=request.query_params.get("error", "")[:200],
        **await chrome(request, user),
    )  # fmt: skip


@router.post("/reports")
async def generate(
    request: Request, user: SupervisorUser, services: ServicesDep, quarter: Annotated[str, Form(max_length=8)]
) -> Response:
    """Generate (or regenerate, while not finalised) a quarter's report."""
    period = _quarter(quarter)
    timezone = services.settings.app.timezone
    await _sync(
        request,
        lambda session: quarterly.generate(session=session, quarter=period, timezone=timezone, username=user.username),
    )
    return RedirectResponse(f"/console/reports/{period.name}?done=generated", status_code=303)


@router.get("/reports/{quarter}")
async def report_page(request: Request, user: SupervisorUser, quarter: str) -> Response:
    """One kept report: read it, download it, write the recommendations, finalise it."""
    period = _quarter(quarter)

    def read(session: Session) -> dict[str, object] | None:
        report = session.scalar(select(QuarterlyReport).where(QuarterlyReport.quarter == period.name))
        if report is None:
            return None
        return {
            "recommendations": report.recommendations, "generated_at": report.generated_at,
            "generated_by": report.generated_by, "finalised_at": report.finalised_at,
            "finalised_by": report.finalised_by,
        }  # fmt: skip

    report = await _sync(request, read)
    if report is None:
        raise HTTPException(404, "这个季度的分析报告尚未生成")
    return render(
        request, "console/report.html", quarter=period, report=report,
        error=request.query_params.get("error", "")[:200],
        notice=NOTICES.get(request.query_params.get("done", ""), ""), **await chrome(request, user),
    )  # fmt: skip


@router.get("/reports/{quarter}/report.{kind}")
async def report_file(request: Request, user: SupervisorUser, quarter: str, kind: str) -> Response:
    """The kept report as HTML (shown in the browser) or PDF (downloaded)."""
    period = _quarter(quarter)
    if kind not in {"html", "pdf"}:
        raise HTTPException(404, "不支持的格式")

    def read(session: Session) -> bytes | None:
        report = session.scalar(select(QuarterlyReport).where(QuarterlyReport.quarter == period.name))
        if report is None:
            return None
        return (report.pdf or b"") if kind == "pdf" else report.html.encode("utf-8")

    body = await _sync(request, read)
    if not isinstance(body, bytes):
        raise HTTPException(404, "这个季度的分析报告尚未生成")
    if kind == "html":
        return Response(body, media_type="text/html; charset=utf-8", headers=REPORT_HEADERS)
    name = f"analysis-{period.name}.pdf"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(body, media_type="application/pdf", headers=headers)


@router.post("/reports/{quarter}/recommendations")
async def recommend(
    request: Request,
    user: SupervisorUser,
    services: ServicesDep,
    quarter: str,
    text: Annotated[str, Form(max_length=20000)] = "",
    action: Annotated[str, Form(max_length=16)] = "save",
) -> Response:
    """Save the recommendations (the report is rebuilt with them); `final` also finalises it."""
    period = _quarter(quarter)
    timezone = services.settings.app.timezone
    final = action == "final"

    def work(session: Session) -> str:
        try:
            quarterly.write_recommendations(
                session=session, quarter=period, timezone=timezone, username=user.username, text=text, final=final,
                now=datetime.now(UTC),
            )  # fmt: skip
        except Refused as exc:
            return str(exc)
        return ""

    error = await _sync(request, work)
    if error:
        from urllib.parse import quote

        return RedirectResponse(f"/console/reports/{period.name}?error={quote(str(error))}", status_code=303)
    return RedirectResponse(f"/console/reports/{period.name}?done={'final' if final else 'saved'}", status_code=303)
