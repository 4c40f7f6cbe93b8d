"""`appealbot redemptions import FILE` (兑现 records) and `appealbot policies unclaimed CODE FILE` (应享未享)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli.common import database, refuse, refuse_problems
from bot.cli.push_commands import find_policy, today_in
from bot.platform import db
from bot.platform.settings import Settings


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Check the whole file (its enterprises and policies must be known), then store every record, or none."""
    from policies import redemptions

    path = Path(args.file)
    if not path.is_file():
        return refuse(f"文件 {path} 不存在或不是文件")
    checked = redemptions.read_file(path)
    if not checked.ok:
        return refuse_problems(checked.all_problems(), "未导入任何兑现记录")
    with database(settings) as engine, db.transaction(db.session_factory(engine)) as session:
        problems = redemptions.check(session=session, records=checked)
        if problems:
            return refuse_problems(problems, "未导入任何兑现记录")
        counts = redemptions.import_records(session=session, records=checked.clean(), source=path.name)
    print(f"已导入 {path.name}：新增 {counts['added']} 条兑现记录，已有 {counts['same']} 条")
    return 0


def cmd_unclaimed(args: argparse.Namespace, settings: Settings) -> int:
    """Write the eligible enterprises of a policy that have no 兑现 record to FILE (.xlsx)."""
    from policies import redemptions

    path = Path(args.file)
    if path.suffix.lower() != ".xlsx":
        return refuse(f"文件 {path}：应享未享清单导出为 .xlsx")
    if not path.parent.is_dir():
        return refuse(f"文件 {path}：目录 {path.parent} 不存在")
    with database(settings) as engine, db.session_factory(engine)() as session:
        policy = find_policy(session, args.code)
        if policy is None:
            return refuse(f"没有编号为「{args.code}」的政策")
        rows = redemptions.unclaimed(session=session, policy=policy, today=today_in(settings))
        path.write_bytes(redemptions.unclaimed_xlsx(rows, policy))
    print(f"政策 {policy.code} 应享未享的企业 {len(rows)} 家，已导出到 {path}")
    return 0


def register(commands: Any) -> None:
    """Add the `redemptions` command group."""
    group = commands.add_parser("redemptions", help="兑现 records: who received which policy, when, how much")
    sub = group.add_subparsers(dest="redemptions_command", required=True)
    do_import = sub.add_parser("import", help="add the 兑现 records in FILE, all or nothing (.xlsx, .csv, .json)")
    do_import.add_argument("file")
    do_import.set_defaults(handler=cmd_import)


def register_unclaimed(policy_commands: Any) -> None:
    """Add `policies unclaimed CODE FILE` to the policies command group."""
    unclaimed = policy_commands.add_parser(
        "unclaimed", help="应享未享: eligible enterprises with no 兑现 record, as .xlsx"
    )
    unclaimed.add_argument("code")
    unclaimed.add_argument("file")
    unclaimed.set_defaults(handler=cmd_unclaimed)
