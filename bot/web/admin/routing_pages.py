"""The holiday calendar per year (enter the State Council notice; deadlines recompute) and a read view of the
routing table with its import (all or nothing) and export, for admins."""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bot.web.admin.import_pages import EXPORT_TYPES
from bot.web.auth import AdminUser
from bot.web.bounds import whole_number
from bot.web.console.common import forget_calendar_warning
from bot.web.deps import Today, in_transaction
from bot.web.pages import render
from routing import exporting, importing, service
from routing.deadlines import describe_limit
from routing.models import CalendarDay, CalendarYear, TimeLimit

router = APIRouter(prefix="/admin", include_in_schema=False)
LINE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2})\s+(\S+)\s*(.*)$")
OFF = {"休", "休息", "放假", "假"}
ON = {"班", "上班", "调休上班", "补班"}
MAX_LINES = 200


def parse_notice(text: str, year: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Lines 'YYYY-MM-DD 休|班 名称' as calendar records of `year`; and the problems, line by line."""
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        return [], [f"一次最多录入 {MAX_LINES} 行"]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        found = LINE.match(line)
        if not found:
            problems.append(f"第 {number} 行「{line.strip()[:40]}」：应写成“日期 休/班 名称”，如 {year}-01-01 休 元旦")
            continue
        try:
            day = date.fromisoformat("-".join(part.zfill(2) for part in found.group(1).split("-")))
        except ValueError:
            problems.append(f"第 {number} 行：日期「{found.group(1)}」不存在")
            continue
        kind = found.group(2)
        if day.year != year:
            problems.append(f"第 {number} 行：日期 {day} 不在 {year} 年")
        elif kind not in OFF | ON:
            problems.append(f"第 {number} 行：第二项应为“休”或“班”，现为「{kind}」")
        else:
            records.append({"date": day, "workday": kind in ON, "name": found.group(3).strip()[:64]})
    if not records and not problems:
        problems.append("没有填写任何日期")
    return records, problems


def _calendar(session: Session, year: int) -> dict[str, Any]:
    days = session.scalars(
        select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    )
    return {
        "days": list(days.all()),
        "entered": session.get(CalendarYear, year),
        "years": list(session.scalars(select(CalendarYear).order_by(CalendarYear.year))),
    }


@router.get("/calendar")
async def calendar_page(request: Request, user: AdminUser, today: Today, year: int | None = None) -> Response:
    """A year's statutory holidays and make-up working days, and the form to enter its notice."""
    shown = year or today.year + 1
    if not 1900 <= shown <= 2200:
        raise HTTPException(404, f"没有 {shown} 年的节假日安排")
    if not 2000 <= shown <= 2100:
        raise HTTPException(404, "年份超出范围")
    data = await in_transaction(request, lambda s: _calendar(s, shown))
    done = request.query_params.get("done", "")
    notice = ""
    if done:
        entered, _, recomputed = done.partition("-")
        notice = f"已录入 {entered[:6]} 天，{recomputed[:6] or 0} 个办理期限已按新日历重新计算"
    return render(request, "admin/calendar.html", year=shown, text="", problems=[], notice=notice, **data)


@router.post("/calendar")
async def enter_notice(request: Request, user: AdminUser) -> Response:
    """Enter (or correct) days of a year; all or nothing; the running deadlines are recomputed at once."""
    form = await request.form()
    year = whole_number(str(form.get("year") or ""))
    if year is None or not 1900 <= year <= 2200:
        raise HTTPException(422, "年份无效")
    text = str(form.get("days") or "")[:20000]
    records, problems = parse_notice(text, year)
    if problems:
        data = await in_transaction(request, lambda s: _calendar(s, year))
        return render(request, "admin/calendar.html", status=422, year=year, text=text, problems=problems, **data)
    applied = await in_transaction(request, lambda s: service.apply_table(session=s, table={"calendar": records}))
    forget_calendar_warning()
    return RedirectResponse(
        f"/admin/calendar?year={year}&done={applied.calendar_days}-{applied.recomputed}", status_code=303
    )


def _table(session: Session) -> dict[str, Any]:
    data = exporting.table_data(session=session)
    limits = [
        (row.category_code, row.urgency, row.stage.label, describe_limit(row.amount, row.unit))
        for row in session.scalars(select(TimeLimit).order_by(TimeLimit.category_code, TimeLimit.urgency))
    ]
    return {"categories": data["categories"], "limits": limits, "unit_count": len(data["units"])}


@router.get("/routing")
async def routing_page(request: Request, user: AdminUser) -> Response:
    """The routing table as it is (categories, lead and co-responsible units, time limits), import and export."""
    data = await in_transaction(request, _table)
    done = request.query_params.get("done", "")
    return render(request, "admin/routing.html", problems=[], notice="路由表已导入" if done else "", **data)


@router.get("/routing/export.{kind}")
async def routing_export(request: Request, user: AdminUser, kind: str) -> Response:
    """The routing table as a file (.xlsx with every table, or .json)."""
    if kind not in {"xlsx", "json"}:
        raise HTTPException(404, "不支持的导出格式")
    with tempfile.TemporaryDirectory(prefix="appealbot-routing-") as folder:
        path = Path(folder) / f"routing.{kind}"
        await in_transaction(request, lambda s: exporting.export_file(session=s, path=path))
        data = path.read_bytes()
    disposition = f"attachment; filename=\"routing.{kind}\"; filename*=UTF-8''{quote(f'路由表.{kind}')}"
    return Response(data, media_type=EXPORT_TYPES[kind], headers={"Content-Disposition": disposition})


@router.post("/routing/import")
async def routing_import(request: Request, user: AdminUser) -> Response:
    """Import a routing table file: every problem listed with its sheet, row and column, or all of it applied."""
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        data = await in_transaction(request, _table)
        return render(request, "admin/routing.html", status=422, problems=["请选择要导入的文件"], notice="", **data)
    with tempfile.TemporaryDirectory(prefix="appealbot-routing-") as folder:
        path = Path(folder) / Path(upload.filename).name[:200]
        path.write_bytes(await upload.read(importing.LIMITS.max_bytes + 1))
        try:
            await in_transaction(request, lambda s: importing.import_file(session=s, path=path))
        except importing.ImportRefused as exc:
            problems = [str(problem) for problem in exc.problems[:50]]
            data = await in_transaction(request, _table)
            return render(request, "admin/routing.html", status=422, problems=problems, notice="", **data)
    forget_calendar_warning()
    return RedirectResponse("/admin/routing?done=imported", status_code=303)
