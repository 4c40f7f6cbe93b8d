"""`appealbot enterprises import|export FILE`: enterprise profiles (一企一档); handlers registered by bot.cli."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot.platform import db
from bot.platform.settings import Settings
from tabular import Problem

BAD_INPUT = 2
SHOWN_PROBLEMS = 50


def refuse(message: str) -> int:
    """Print a refusal for a bad input and return exit status 2."""
    print(f"appealbot: {message}", file=sys.stderr)
    return BAD_INPUT


def refuse_problems(problems: list[Problem], nothing: str) -> int:
    """Print the first problems of a refused file (file, row, column, reason) and what was not done."""
    for problem in problems[:SHOWN_PROBLEMS]:
        print(f"appealbot: {problem}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"appealbot: ……另有 {len(problems) - SHOWN_PROBLEMS} 处问题未列出", file=sys.stderr)
    return refuse(f"{nothing}（共 {len(problems)} 处问题）")


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """The configured database, migrated, with the default routing table; disposed afterwards."""
    from bot.services import prepare_database

    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        yield engine
    finally:
        engine.dispose()


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
