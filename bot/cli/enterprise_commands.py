"""`appealbot enterprises import|export FILE`: enterprise profiles (一企一档); handlers registered by bot.cli."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli.common import database, refuse, refuse_problems
from bot.platform import db
from bot.platform.settings import Settings


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Check the whole register file, then upsert every row by 统一社会信用代码 in one transaction, or nothing."""
    from enterprises import importing, service, terms

    path = Path(args.file)
    if not path.is_file():
        return refuse(f"文件 {path} 不存在或不是文件")
    with database(settings) as engine:
        with db.session_factory(engine)() as session:
            vocabulary = terms.load_vocabulary(session=session)
        checked = importing.read_file(path, vocabulary=vocabulary)
        if not checked.ok:
            return refuse_problems(checked.all_problems(), "未导入任何企业")
        with db.transaction(db.session_factory(engine)) as session:
            counts = service.import_records(session=session, records=checked.clean(), author="命令行")
    action = service.ImportAction
    encoding = f"（按 {checked.encoding} 编码读取）" if checked.encoding not in {"", "UTF-8"} else ""
    print(
        f"已导入 {path.name}{encoding}：新增 {counts[action.ADD]} 家，修改 {counts[action.CHANGE]} 家，"
        f"不变 {counts[action.SAME]} 家"
    )
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every enterprise to FILE (.xlsx or .csv)."""
    from enterprises import exporting

    path = Path(args.file)
    if path.suffix.lower() not in exporting.FORMATS:
        return refuse(f"文件 {path}：不支持的导出格式「{path.suffix or '无扩展名'}」，请用 .xlsx 或 .csv")
    if not path.parent.is_dir():
        return refuse(f"文件 {path}：目录 {path.parent} 不存在")
    with database(settings) as engine, db.session_factory(engine)() as session:
        written = exporting.write(session=session, path=path)
    print(f"已导出 {written} 家企业到 {path}")
    return 0


def register(commands: Any) -> None:
    """Add the `enterprises` command group to the root parser's subcommands."""
    group = commands.add_parser("enterprises", help="enterprise profiles (一企一档): import and export")
    sub = group.add_subparsers(dest="enterprises_command", required=True)
    do_import = sub.add_parser(
        "import", help="upsert the register in FILE by 统一社会信用代码, all or nothing (.xlsx, .csv, .json)"
    )
    do_import.add_argument("file")
    do_import.set_defaults(handler=cmd_import)
    do_export = sub.add_parser("export", help="write every enterprise to FILE (.xlsx or .csv)")
    do_export.add_argument("file")
    do_export.set_defaults(handler=cmd_export)
