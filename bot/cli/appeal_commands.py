"""`appealbot appeals list|show` and `appealbot routing import|export`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.cli.common import database, refuse, refuse_problems
from bot.platform import db
from bot.platform.settings import Settings
from routing import exporting, importing, views
from routing.lifecycle import STATES
from routing.rules import load_calendar


def _line(item: dict[str, Any]) -> str:
    upcoming = [deadline for deadline in item["deadlines"] if deadline["status"] in views.ACTIVE]
    nearest = min(upcoming, key=lambda deadline: deadline["due_at"]) if upcoming else None
    due = f"{nearest['name']} {nearest['due_at']} {nearest['status_label']}" if nearest else "-"
    call = "  需电话联系" if item["needs_call"] else ""
    return (
        f"{item['reference']}  {item['state_label']}  {item['category']['code']} {item['category']['name']}  "
        f"{item['lead_unit']}  {item['enterprise']}  {due}{call}"
    )


def cmd_appeals_list(args: argparse.Namespace, settings: Settings) -> int:
    state = None
    if args.state:
        state = views.state_code(args.state)
        if state is None:
            choices = "、".join(f"{code}（{label}）" for code, label in STATES.items())
            return refuse(f"未知的状态「{args.state}」，可用：{choices}")
    with database(settings) as engine, db.session_factory(engine)() as session:
        calendar = load_calendar(session=session)
        items = [view.to_dict(calendar) for view in views.list_appeals(session=session, state=state, unit=args.unit)]
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
    else:
        for item in items:
            print(_line(item))
        print(f"共 {len(items)} 件")
    return 0


def cmd_appeals_show(args: argparse.Namespace, settings: Settings) -> int:
    with database(settings) as engine, db.session_factory(engine)() as session:
        calendar = load_calendar(session=session)
        view = views.show_appeal(session=session, reference=args.reference)
        item = view.to_dict(calendar, full=True) if view else None
    if item is None:
        return refuse(f"没有编号为 {args.reference} 的诉求")
    if args.json:
        print(json.dumps(item, ensure_ascii=False, indent=2))
        return 0
    print(_line(item))
    print(
        f"联系人：{item['contact']}  电话：{item['phone']}  街道：{item['street'] or '-'}  地点：{item['place'] or '-'}"
    )
    print(f"问题：{item['description']}")
    print("时限：")
    for deadline in item["deadlines"]:
        flag = "（暂定）" if deadline["provisional"] else ""
        print(f"  {deadline['name']}  {deadline['limit']}  截止 {deadline['due_at']}{flag}  {deadline['status_label']}")
    print("经过：")
    for event in item["history"]:
        why = f"  {event['reason_code'] or ''} {event['reason']}".rstrip()
        moved = f"{event['from'] or '-'} → {event['to']}"
        print(f"  {event['at']}  {event['action_label']}  {moved}  {event['actor']}{why}")
    return 0


def cmd_routing_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with database(settings) as engine, db.transaction(db.session_factory(engine)) as session:
            applied = importing.import_file(session=session, path=Path(args.file))
    except importing.ImportRefused as exc:
        return refuse_problems(exc.problems, "导入未执行，数据库没有任何改动")
    print(
        f"已导入 {args.file}：单位 {applied.units}，类别 {applied.categories}，时限 {applied.time_limits}，"
        f"参数 {applied.settings}，节假日 {applied.calendar_days}；重新计算期限 {applied.recomputed} 个"
    )
    return 0


def cmd_routing_export(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if path.suffix.lower() not in {".xlsx", ".csv", ".json"}:
        return refuse(f"文件 {path.name}：不支持的格式，请使用 .xlsx / .csv / .json")
    with database(settings) as engine, db.session_factory(engine)() as session:
        rows = exporting.export_file(session=session, path=path, table=args.table)
    print(f"已导出 {rows} 行到 {path}")
    return 0


def register(commands: Any) -> None:
    """Add the `appeals` and `routing` commands to the CLI's subparsers."""
    appeals = commands.add_parser("appeals", help="appeals with their state and deadlines")
    appeal_commands = appeals.add_subparsers(dest="appeals_command", required=True)
    listing = appeal_commands.add_parser("list", help="list appeals")
    listing.add_argument("--state", help="state code or label, e.g. handling / 办理中")
    listing.add_argument("--unit", help="handling unit, e.g. 区审批局")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_appeals_list)
    show = appeal_commands.add_parser("show", help="one appeal with deadlines and history")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_appeals_show)
    from bot.cli.report_commands import register_export

    register_export(appeal_commands)

    routing = commands.add_parser("routing", help="the routing table: categories, units, time limits, calendar")
    routing_commands = routing.add_subparsers(dest="routing_command", required=True)
    load = routing_commands.add_parser("import", help="import .xlsx / .csv / .json (all or nothing)")
    load.add_argument("file")
    load.set_defaults(handler=cmd_routing_import)
    dump = routing_commands.add_parser("export", help="export .xlsx / .csv / .json")
    dump.add_argument("file")
    dump.add_argument(
        "--table",
        default="categories",
        choices=list(importing.TABLES),
        help="which table a .csv holds (default categories)",
    )
    dump.set_defaults(handler=cmd_routing_export)
