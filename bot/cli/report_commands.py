"""`appealbot reports kpi|ledger|quarterly` and `appealbot appeals export`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.platform import db
from bot.platform.settings import Settings
from bot.reports import periods
from bot.reports.kpi import COUNT_LABELS, RATE_LABELS, kpi, percent

BAD_INPUT = 2


def _refuse(message: str) -> int:
    print(f"appealbot: {message}", file=sys.stderr)
    return BAD_INPUT


def _prepared(settings: Settings) -> Any:
    from bot.services import prepare_database

    engine = db.make_engine(settings.database_url)
    prepare_database(engine, load_demo=False)
    return engine


def _today(settings: Settings) -> Any:
    return datetime.now(ZoneInfo(settings.app.timezone)).date()


def _unit_id(session: Any, unit: str | None) -> int | None:
    from bot import accounts

    return None if not unit else accounts.find_unit(session=session, unit=unit).id


def cmd_kpi(args: argparse.Namespace, settings: Settings) -> int:
    """The indicators per unit and for the district."""
    from bot import accounts

    try:
        period = periods.range_or_month(args.start, args.end, today=_today(settings))
    except periods.PeriodError as exc:
        return _refuse(str(exc))
    engine = _prepared(settings)
    try:
        with db.session_factory(engine)() as session:
            unit_id = _unit_id(session, args.unit)
            found = kpi(session=session, period=period, timezone=settings.app.timezone, unit_id=unit_id)
    except accounts.AccountError as exc:
        return _refuse(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(found.to_json(), ensure_ascii=False, indent=2))
        return 0
    print(f"统计区间：{period.first} 至 {period.last}")
    header = ["单位", *COUNT_LABELS.values(), *(label for label, _ in RATE_LABELS.values())]
    print("\t".join(header))
    rows = [*found.units.items(), ("全区" if args.unit is None else "合计", found.all)]
    for name, figures in rows:
        counts = [str(getattr(figures, key)) for key in COUNT_LABELS]
        rates = [percent(getattr(figures, key)) for key in RATE_LABELS]
        print("\t".join([name, *counts, *rates]))
    if found.policies is not None:
        side = found.policies.figures
        print(
            f"政策咨询 {side.questions} 次，找到政策 {side.answered} 次（{percent(side.answer_rate)}），"
            f"未找到 {side.unanswered} 次；"
            f"政策找人推送 {side.pushed} 条，查看 {side.opened} 条（{percent(side.open_rate)}）；"
            f"展示中免申即享 {percent(side.shown_no_application_share)}、即申即享 {percent(side.shown_instant_share)}"
        )
    return 0


def _output(path_text: str, suffixes: tuple[str, ...]) -> Path | str:
    """The output file, or why it cannot be written."""
    path = Path(path_text)
    if path.suffix.lower() not in suffixes:
        return f"文件 {path}：不支持的格式「{path.suffix or '无扩展名'}」，请使用 {' / '.join(suffixes)}"
    if not path.parent.is_dir():
        return f"文件 {path}：目录 {path.parent} 不存在"
    return path


def cmd_ledger(args: argparse.Namespace, settings: Settings) -> int:
    """The monthly 台账 of a unit, or of the district, as .xlsx."""
    from bot import accounts
    from bot.reports import workbooks

    output = _output(args.output, (".xlsx",))
    if isinstance(output, str):
        return _refuse(output)
    try:
        period = periods.month(args.month)
    except periods.PeriodError as exc:
        return _refuse(str(exc))
    engine = _prepared(settings)
    try:
        with db.session_factory(engine)() as session:
            unit = accounts.find_unit(session=session, unit=args.unit) if args.unit else None
            data, rows = workbooks.ledger_xlsx(
                session=session, period=period, timezone=settings.app.timezone, now=datetime.now(UTC),
                unit_id=unit.id if unit else None, unit_name=unit.name if unit else "全区",
            )  # fmt: skip
    except accounts.AccountError as exc:
        return _refuse(str(exc))
    finally:
        engine.dispose()
    output.write_bytes(data)
    print(f"已写出 {period.name} 台账 {rows} 件到 {output}")
    return 0


def cmd_quarterly(args: argparse.Namespace, settings: Settings) -> int:
    """The quarterly analysis report, generated now (or as finalised) and kept, written as .pdf or .html."""
    from bot.reports import quarterly

    output = _output(args.output, (".pdf", ".html"))
    if isinstance(output, str):
        return _refuse(output)
    try:
        quarter = periods.quarter(args.quarter)
    except periods.PeriodError as exc:
        return _refuse(str(exc))
    engine = _prepared(settings)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            report = quarterly.generate(
                session=session, quarter=quarter, timezone=settings.app.timezone, username="命令行"
            )
            body = report.pdf if output.suffix.lower() == ".pdf" else report.html.encode("utf-8")
            final = report.finalised_at is not None
    finally:
        engine.dispose()
    output.write_bytes(body or b"")
    print(
        f"已写出 {quarter.name} 分析报告到 {output}" + ("（已定稿）" if final else "（草稿，工作建议待区营商办填写）")
    )
    return 0


def cmd_appeals_export(args: argparse.Namespace, settings: Settings) -> int:
    """Appeals with the queue's filters (state, unit, received between two dates) as .xlsx."""
    from zoneinfo import ZoneInfo

    from bot import accounts
    from bot.reports import workbooks
    from routing import views
    from routing.queue import STATE_FILTERS, Filters

    output = _output(args.file, (".xlsx",))
    if isinstance(output, str):
        return _refuse(output)
    state = ""
    if args.state:
        found = views.state_code(args.state)
        state = str(found) if found is not None else (args.state if args.state in STATE_FILTERS else "")
        if not state:
            return _refuse(f"未知的状态「{args.state}」，可用：{'、'.join(STATE_FILTERS)}、closed")
    try:
        first = periods.parse_date(args.start, "开始日期") if args.start else None
        last = periods.parse_date(args.end, "结束日期") if args.end else None
    except periods.PeriodError as exc:
        return _refuse(str(exc))
    zone = ZoneInfo(settings.app.timezone)
    since = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC) if first else None
    until = datetime.combine(last, datetime.min.time(), zone).astimezone(UTC) + timedelta(days=1) if last else None
    engine = _prepared(settings)
    try:
        with db.session_factory(engine)() as session:
            unit = accounts.find_unit(session=session, unit=args.unit).id if args.unit else None
            filters = Filters(state=state, unit=unit, since=since, until=until)
            data = workbooks.appeals_xlsx(
                session=session, unit_id=None, filters=filters, now=datetime.now(UTC), timezone=settings.app.timezone
            )
    except accounts.AccountError as exc:
        return _refuse(str(exc))
    finally:
        engine.dispose()
    output.write_bytes(data)
    print(f"已导出到 {output}")
    return 0


def register(commands: Any) -> None:
    """Add the `reports` command group."""
    reports = commands.add_parser("reports", help="indicators, the monthly 台账 and the quarterly report")
    report_commands = reports.add_subparsers(dest="reports_command", required=True)
    figures = report_commands.add_parser("kpi", help="the indicators per unit and for the district")
    figures.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: the 1st of this month)")
    figures.add_argument("--to", dest="end", help="last day, YYYY-MM-DD, included (default: today)")
    figures.add_argument("--unit", help="one unit's own figures (name or alias)")
    figures.add_argument("--json", action="store_true")
    figures.set_defaults(handler=cmd_kpi)
    ledger = report_commands.add_parser("ledger", help="the monthly 台账 as .xlsx (a row per appeal, a summary sheet)")
    ledger.add_argument("--month", required=True, help="YYYY-MM")
    ledger.add_argument("--unit", help="one unit (name or alias); default: the district")
    ledger.add_argument("-o", "--output", required=True, help="FILE.xlsx")
    ledger.set_defaults(handler=cmd_ledger)
    report = report_commands.add_parser("quarterly", help="the quarterly analysis report as .pdf or .html (kept)")
    report.add_argument("--quarter", required=True, help="YYYYQn, e.g. 2026Q4")
    report.add_argument("-o", "--output", required=True, help="FILE.pdf or FILE.html")
    report.set_defaults(handler=cmd_quarterly)


def register_export(appeal_commands: Any) -> None:
    """Add `appeals export` to the `appeals` command group."""
    export = appeal_commands.add_parser("export", help="appeals with the queue's filters as .xlsx")
    export.add_argument("file", help="FILE.xlsx")
    export.add_argument("--from", dest="start", help="received on or after, YYYY-MM-DD")
    export.add_argument("--to", dest="end", help="received on or before, YYYY-MM-DD")
    export.add_argument("--unit", help="handling unit (name or alias)")
    export.add_argument("--state", help="state code or label, working, or closed (default: every open appeal)")
    export.set_defaults(handler=cmd_appeals_export)
