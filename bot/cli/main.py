"""The `appealbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from bot.platform import db, logs
from bot.platform import settings as settings_module
from bot.platform.settings import Settings, SettingsError

BAD_INPUT = 2


def _settings() -> Settings:
    return settings_module.load()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.app import create_app

    server = settings.server
    settings = settings.replace("server", host=args.host or server.host, port=args.port or server.port)
    base = f"http://{'127.0.0.1' if settings.server.host in {'0.0.0.0', '::'} else settings.server.host}"
    base += f":{settings.server.port}"
    lines = ["", "appealbot 已启动，请在浏览器打开："]
    if settings.simulator.enabled:
        lines.append(f"  聊天模拟器（扮演企业用户）  {base}/")
    lines += [
        f"  微信回调地址（公众号后台填写）{base}/wechat",
        f"  诉求工作台（承办单位、区营商办）{base}/console/",
        f"  管理后台（政策清单、同义词）  {base}/admin/",
        f"  健康检查                    {base}/healthz",
    ]
    production, web = settings.app.env == "production", settings.web
    if web.metrics_bind or not production:
        lines.append(
            f"  监控指标                    {f'http://{web.metrics_bind}' if web.metrics_bind else base}/metrics"
        )
    if web.api_docs or not production:
        lines.append(f"  接口文档                    {base}/api/docs")
    lines.append("")
    app = create_app(settings, run_worker=not args.no_worker, load_demo=True, ready_message="\n".join(lines))
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        proxy_headers=True,
        server_header=False,  # no "Server: uvicorn": nothing to tell a scanner
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs import worker
    from bot.services import open_services

    async def main() -> None:
        services = await open_services(settings, load_demo=False)
        try:
            await worker.run(services, interval=args.interval)
        finally:
            await services.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    print(f"数据库已迁移到最新版本：{engine.url.render_as_string(hide_password=True)}")
    return 0


def _profile(engine: Any, given: str) -> tuple[Any, str | None]:
    """The profile of the enterprise --uscc names, or (None, why not)."""
    from enterprises import uscc
    from policies import eligible

    code = uscc.normalize(given)
    reason = uscc.problem(code)
    if reason:
        return None, f"--uscc：{reason}"
    with db.session_factory(engine)() as session:
        profile = eligible.profile_of(session=session, uscc=code)
    return (profile, None) if profile is not None else (None, f"--uscc：企业库中没有统一社会信用代码为 {code} 的企业")


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.chat.learning import fit_cache_dir, open_semantic
    from bot.services import build_matcher, prepare_database
    from policies import eligible

    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=False)
        profile, refused = _profile(engine, args.uscc) if args.uscc else (None, None)
        if refused:
            print(f"appealbot: {refused}", file=sys.stderr)
            return BAD_INPUT
        semantic, _choice = open_semantic(settings.matching.embedder)
        matcher = build_matcher(
            engine,
            timezone=settings.app.timezone,
            semantic=semantic,
            cache_dir=fit_cache_dir(settings.matching.cache_dir),
        )
    finally:
        engine.dispose()
    today = datetime.now(ZoneInfo(settings.app.timezone)).date()

    def emit(text: str) -> None:
        payload = matcher.match(text).to_dict()
        if profile is not None:
            payload = eligible.annotate(payload, policy=matcher.policy, profile=profile, today=today)
        print(json.dumps(payload, ensure_ascii=False), flush=True)

    if args.text:
        emit(" ".join(args.text))
        return 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.strip():
            emit(line)
        else:
            print(json.dumps({"text": line, "error": "empty message"}, ensure_ascii=False), flush=True)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.chat import run_chat

    return run_chat(url=args.url, openid=args.openid, settings=settings)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="appealbot", description="政企诉求与惠企政策服务机器人")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web app (WeChat callback, chat simulator, API)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-worker", action="store_true", help="do not run the timer worker in this process")
    serve.set_defaults(handler=cmd_serve)

    work = commands.add_parser("worker", help="run timers, escalations and pushes as a separate process")
    work.add_argument("--interval", type=float, default=5.0, help="seconds between sweeps")
    work.set_defaults(handler=cmd_worker)

    chat = commands.add_parser("chat", help="talk to a running server as a WeChat user would")
    chat.add_argument("--url", default=None, help="server base URL (default: app.base_url)")
    chat.add_argument("--openid", default=f"o_terminal_{int(time.time())}", help="the simulated user's openid")
    chat.set_defaults(handler=cmd_chat)

    match = commands.add_parser("match", help="print the match result JSON for TEXT, or for each stdin line")
    match.add_argument("text", nargs="*")
    match.add_argument("--uscc", help="an enterprise's 统一社会信用代码: add eligible true|false|null to each policy")
    match.set_defaults(handler=cmd_match)

    # -- policy list import/export and user accounts (handlers in bot/cli/policy_commands.py, user_commands.py) --
    from bot.cli import policy_commands, user_commands

    policy_commands.register(commands)
    user_commands.register(commands)
    # -- end --

    # -- appeals list/show and routing import/export (handlers in bot/cli/appeal_commands.py) --
    from bot.cli import appeal_commands

    appeal_commands.register(commands)
    # -- end --

    # -- reports kpi|ledger|quarterly and appeals export (handlers in bot/cli/report_commands.py) --
    from bot.cli import report_commands

    report_commands.register(commands)

    # -- enterprise profiles, pushes and redemptions (政策找人; bot/cli/enterprise_commands.py, push_commands.py) --
    from bot.cli import enterprise_commands, push_commands, redemption_commands

    enterprise_commands.register(commands)
    push_commands.register(commands)
    redemption_commands.register(commands)
    # -- end --

    database = commands.add_parser("db", help="database maintenance")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    upgrade = database_commands.add_parser("upgrade", help="run the migrations to head")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = _settings()
    except SettingsError as exc:
        print(f"appealbot: configuration error: {exc}", file=sys.stderr)
        return BAD_INPUT
    level = settings.log.level
    if args.command not in {"serve", "worker"} and logging.getLevelName(level.upper()) < logging.WARNING:
        level = "WARNING"  # one-shot commands print their own results; keep the terminal for them
    logs.configure(level=level, fmt=settings.log.format)
    handler: Any = args.handler
    return int(handler(args, settings))


if __name__ == "__main__":
    sys.exit(main())
