"""`appealbot policies import|export FILE`: the policy list; handlers registered by bot.cli."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli.common import database, progress, refuse, refuse_problems
from bot.platform import db
from bot.platform.settings import Settings

# Smaller files finish before a progress bar would be readable.
PROGRESS_BYTES = 256 * 1024
PROGRESS_ROWS = 200


def cmd_policies_import(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the whole file, then upsert every row by code in one transaction, or nothing at all."""
    from enterprises import terms
    from policies import import_plan, importing

    path = Path(args.file)
    if not path.is_file():
        return refuse(f"文件 {path} 不存在或不是文件")
    with database(settings) as engine, db.session_factory(engine)() as session:
        vocabulary = terms.load_vocabulary(session=session)
    with progress(None, "检查", large=path.stat().st_size >= PROGRESS_BYTES) as bar:
        parsed = importing.read_file(path, progress=bar.update, vocabulary=vocabulary)
    if not parsed.ok:
        return refuse_problems(parsed.all_problems(), "未导入任何政策")
    engine = db.make_engine(settings.database_url)
    try:
        records = parsed.records()
        bar = progress(len(records), "导入", large=len(records) >= PROGRESS_ROWS)
        with bar, db.transaction(db.session_factory(engine)) as session:
            counts = import_plan.apply(
                session=session, records=records, author="命令行", source=path.name, progress=bar.update
            )
    finally:
        engine.dispose()
    encoding = f"（按 {parsed.encoding} 编码读取）" if parsed.encoding not in {"", "UTF-8"} else ""
    plan_action = import_plan.PlanAction
    add, change, same = counts[plan_action.ADD], counts[plan_action.CHANGE], counts[plan_action.SAME]
    print(f"已导入 {path.name}{encoding}：新增 {add} 条，修改 {change} 条，不变 {same} 条")
    return 0


def cmd_policies_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every policy to FILE (.xlsx, .csv or .json)."""
    from policies import exporting

    path = Path(args.file)
    if path.suffix.lower() not in {".xlsx", ".csv", ".json"}:
        return refuse(f"文件 {path}：不支持的导出格式「{path.suffix or '无扩展名'}」，请用 .xlsx、.csv 或 .json")
    if not path.parent.is_dir():
        return refuse(f"文件 {path}：目录 {path.parent} 不存在")
    with database(settings) as engine, db.session_factory(engine)() as session:
        written = exporting.write(session=session, path=path)
    print(f"已导出 {written} 条政策到 {path}")
    return 0


def register(commands: Any) -> None:
    """Add the `policies` command group to the root parser's subcommands."""
    policies = commands.add_parser("policies", help="policy list import and export (.xlsx, .csv, .json)")
    policy_commands = policies.add_subparsers(dest="policies_command", required=True)
    do_import = policy_commands.add_parser(
        "import", help="upsert the list in FILE by code, all or nothing (at most 20 MB, 20000 rows)"
    )
    do_import.add_argument("file")
    do_import.set_defaults(handler=cmd_policies_import)
    do_export = policy_commands.add_parser("export", help="write every policy to FILE")
    do_export.add_argument("file")
    do_export.set_defaults(handler=cmd_policies_export)
    # -- 应享未享 (bot/cli/redemption_commands.py) --
    from bot.cli import redemption_commands

    redemption_commands.register_unclaimed(policy_commands)
    # -- end --
