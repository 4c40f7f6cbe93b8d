"""`appealbot policies import|export FILE` and `appealbot users create`: handlers registered by bot.cli."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from bot.platform import db
from bot.platform.settings import Settings

BAD_INPUT = 2
# Smaller files finish before a progress bar would be readable.
PROGRESS_BYTES = 256 * 1024
PROGRESS_ROWS = 200
SHOWN_PROBLEMS = 50


def _refuse(message: str) -> int:
    print(f"appealbot: {message}", file=sys.stderr)
    return BAD_INPUT


def _progress(total: int | None, description: str, *, large: bool) -> Any:
    from tqdm import tqdm

    # disable=None: only on a terminal, so scripts and logs get no carriage-return noise.
    return tqdm(total=total, desc=description, unit="行", disable=None if large else True)


def cmd_policies_import(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the whole file, then upsert every row by code in one transaction, or nothing at all."""
    from bot.services import prepare_database
    from enterprises import terms
    from policies import import_plan, importing

    path = Path(args.file)
    if not path.is_file():
        return _refuse(f"文件 {path} 不存在或不是文件")
    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        with db.session_factory(engine)() as session:
            vocabulary = terms.load_vocabulary(session=session)
    finally:
        engine.dispose()
    with _progress(None, "检查", large=path.stat().st_size >= PROGRESS_BYTES) as bar:
        parsed = importing.read_file(path, progress=bar.update, vocabulary=vocabulary)
    if not parsed.ok:
        problems = parsed.all_problems()
        for problem in problems[:SHOWN_PROBLEMS]:
            print(f"appealbot: {problem}", file=sys.stderr)
        if len(problems) > SHOWN_PROBLEMS:
            print(f"appealbot: ……另有 {len(problems) - SHOWN_PROBLEMS} 处问题未列出", file=sys.stderr)
        print(f"appealbot: 未导入任何政策（共 {len(problems)} 处问题）", file=sys.stderr)
        return BAD_INPUT
    engine = db.make_engine(settings.database_url)
    try:
        records = parsed.records()
        bar = _progress(len(records), "导入", large=len(records) >= PROGRESS_ROWS)
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
    from bot.services import prepare_database
    from policies import exporting

    path = Path(args.file)
    if path.suffix.lower() not in {".xlsx", ".csv", ".json"}:
        return _refuse(f"文件 {path}：不支持的导出格式「{path.suffix or '无扩展名'}」，请用 .xlsx、.csv 或 .json")
    if not path.parent.is_dir():
        return _refuse(f"文件 {path}：目录 {path.parent} 不存在")
    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        with db.session_factory(engine)() as session:
            written = exporting.write(session=session, path=path)
    finally:
        engine.dispose()
    print(f"已导出 {written} 条政策到 {path}")
    return 0


def _new_password() -> str:
    # The one environment variable docs/interfaces.md names for this command; argv would leak it to `ps`.
    from_env = os.environ.get("APPEALBOT_NEW_PASSWORD")
    if from_env is not None:
        return from_env
    if sys.stdin.isatty():
        first = getpass.getpass("新密码：")
        if getpass.getpass("再输入一次：") != first:
            raise ValueError("两次输入的密码不一致")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create an account; the password comes from APPEALBOT_NEW_PASSWORD or stdin, never argv."""
    from bot import accounts
    from bot.services import prepare_database

    try:
        password = _new_password()
    except ValueError as exc:
        return _refuse(str(exc))
    if not password:
        return _refuse("没有读到密码：请从标准输入提供，或设置 APPEALBOT_NEW_PASSWORD")
    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        with db.transaction(db.session_factory(engine)) as session:
            user = accounts.create_user(
                session=session, username=args.username, password=password, role=args.role, unit=args.unit
            )
            created = f"已创建用户 {user.username}（{user.role.label}）"
    except accounts.AccountError as exc:
        return _refuse(str(exc))
    finally:
        engine.dispose()
    print(created)
    return 0


def cmd_users_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Disable an account; its login sessions end at once."""
    from bot import accounts
    from bot.services import prepare_database

    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        with db.transaction(db.session_factory(engine)) as session:
            accounts.set_active(session=session, username=args.username, active=False)
    except accounts.AccountError as exc:
        return _refuse(str(exc))
    finally:
        engine.dispose()
    print(f"已停用用户 {args.username}，其登录已全部失效")
    return 0


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    """Every account with its role, unit, whether it is active and its last login."""
    import json

    from bot import accounts
    from bot.services import prepare_database

    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        with db.session_factory(engine)() as session:
            found = accounts.list_accounts(session=session)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([item.to_dict() for item in found], ensure_ascii=False, indent=2))
        return 0
    for item in found:
        state = "启用" if item.active else "已停用"
        print(f"{item.username}\t{item.role.label}\t{item.unit or '-'}\t{state}")
    print(f"共 {len(found)} 个账号")
    return 0


def register(commands: Any) -> None:
    """Add the `policies` and `users` command groups to the root parser's subcommands."""
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

    users = commands.add_parser("users", help="staff and admin accounts")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    create = user_commands.add_parser(
        "create", help="create an account; the password is read from stdin or APPEALBOT_NEW_PASSWORD"
    )
    create.add_argument("username")
    create.add_argument("--role", required=True, help="staff, unit_head, supervisor or admin")
    create.add_argument("--unit", help="unit name or id (required for staff and unit_head)")
    create.set_defaults(handler=cmd_users_create)
    disable = user_commands.add_parser("disable", help="disable an account; its sessions end at once")
    disable.add_argument("username")
    disable.set_defaults(handler=cmd_users_disable)
    listing = user_commands.add_parser("list", help="every account with its role, unit and state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_users_list)
