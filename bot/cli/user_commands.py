"""`appealbot users create|disable|list`: staff and admin accounts; handlers registered by bot.cli."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from bot.cli.common import database, refuse
from bot.platform import db
from bot.platform.settings import Settings


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

    try:
        password = _new_password()
    except ValueError as exc:
        return refuse(str(exc))
    if not password:
        return refuse("没有读到密码：请从标准输入提供，或设置 APPEALBOT_NEW_PASSWORD")
    try:
        with database(settings) as engine, db.transaction(db.session_factory(engine)) as session:
            user = accounts.create_user(
                session=session, username=args.username, password=password, role=args.role, unit=args.unit
            )
            created = f"已创建用户 {user.username}（{user.role.label}）"
    except accounts.AccountError as exc:
        return refuse(str(exc))
    print(created)
    return 0


def cmd_users_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Disable an account; its login sessions end at once."""
    from bot import accounts

    try:
        with database(settings) as engine, db.transaction(db.session_factory(engine)) as session:
            accounts.set_active(session=session, username=args.username, active=False)
    except accounts.AccountError as exc:
        return refuse(str(exc))
    print(f"已停用用户 {args.username}，其登录已全部失效")
    return 0


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    """Every account with its role, unit, whether it is active and its last login."""
    from bot import accounts

    with database(settings) as engine, db.session_factory(engine)() as session:
        found = accounts.list_accounts(session=session)
    if args.json:
        print(json.dumps([item.to_dict() for item in found], ensure_ascii=False, indent=2))
        return 0
    for item in found:
        state = "启用" if item.active else "已停用"
        print(f"{item.username}\t{item.role.label}\t{item.unit or '-'}\t{state}")
    print(f"共 {len(found)} 个账号")
    return 0


def register(commands: Any) -> None:
    """Add the `users` command group to the root parser's subcommands."""
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
