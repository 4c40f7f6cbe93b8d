"""`appealbot push preview|send|status CODE`: pushes of a policy to the enterprises it fits (政策找人)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.cli.common import database, refuse
from bot.platform import db
from bot.platform.settings import Settings
from policies import campaigns, service
from policies.models import CampaignState, DeliveryState, Policy, PushKind

AUTHOR = "命令行"


def today_in(settings: Settings) -> date:
    """The district's date."""
    return datetime.now(ZoneInfo(settings.app.timezone)).date()


def find_policy(session: Session, code: str) -> Policy | None:
    """A policy by its code."""
    return service.get_by_code(session=session, code=code)


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    """Who the policy would be pushed to and the message; nothing is sent or stored."""
    with database(settings) as engine, db.session_factory(engine)() as session:
        policy = find_policy(session, args.code)
        if policy is None:
            return refuse(f"没有编号为「{args.code}」的政策")
        found = campaigns.preview(session=session, policy=policy, today=today_in(settings))
    if args.json:
        print(json.dumps(found.as_json(), ensure_ascii=False))
        return 0
    print(f"政策 {policy.code}「{policy.name}」（第 {policy.version} 版）")
    print(f"符合条件的企业 {found.eligible} 家，其中已绑定微信的 {found.bound} 家，共 {found.messages} 条消息")
    for warning in found.warnings:
        print(f"注意：{warning}")
    sample = next((target for target in found.targets if target.openids), None)
    if sample is not None:
        print(f"\n发给「{sample.name}」的消息：\n{sample.text}")
    return 0


def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    """Create the campaign of the policy's current version; the workers send it."""
    now = datetime.now(UTC)
    try:
        with database(settings) as engine, db.transaction(db.session_factory(engine)) as session:
            policy = find_policy(session, args.code)
            if policy is None:
                return refuse(f"没有编号为「{args.code}」的政策")
            campaign = campaigns.create(
                session=session, policy=policy, author=AUTHOR, today=today_in(settings), now=now
            )
            session.flush()
            number, messages = campaign.id, sum(campaigns.counts(session=session, campaign_id=campaign.id).values())
            summary = f"符合条件 {campaign.eligible} 家，已绑定 {campaign.bound} 家"
    except campaigns.CampaignRefused as refused:
        return refuse(str(refused))
    except campaigns.CampaignExists as exists:
        print(f"{exists}；查看进度：appealbot push status {args.code}")
        return 0
    print(f"已创建推送（编号 {number}）：{summary}，共 {messages} 条消息，由 worker 按发送规则发送")
    return 0


def _status(session: Session, policy: Policy) -> dict[str, Any]:
    found = []
    for campaign in campaigns.campaigns(session=session, policy_id=policy.id):
        counts = campaigns.counts(session=session, campaign_id=campaign.id)
        opened = counts.pop("opened")
        found.append(
            {
                "id": campaign.id, "version": campaign.policy_version, "kind": campaign.kind,
                "state": campaign.state, "eligible": campaign.eligible, "bound": campaign.bound,
                "created_at": campaign.created_at.isoformat(), "counts": counts, "opened": opened,
            }
        )  # fmt: skip
    return {"policy": policy.code, "campaigns": found}


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Counts by state of every campaign of the policy, newest first."""
    with database(settings) as engine, db.session_factory(engine)() as session:
        policy = find_policy(session, args.code)
        if policy is None:
            return refuse(f"没有编号为「{args.code}」的政策")
        report = _status(session, policy)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    if not report["campaigns"]:
        print(f"政策 {policy.code} 还没有推送")
    for item in report["campaigns"]:
        kind = PushKind(item["kind"]).label
        counts = "，".join(f"{DeliveryState(state).label} {n}" for state, n in item["counts"].items() if n)
        state = CampaignState(item["state"]).label
        print(f"[{item['id']}] 第 {item['version']} 版{kind}（{state}）：{counts or '无消息'}；已查看 {item['opened']}")
    return 0


def register(commands: Any) -> None:
    """Add the `push` command group to the root parser's subcommands."""
    group = commands.add_parser("push", help="push a policy to the enterprises it fits (政策找人)")
    sub = group.add_subparsers(dest="push_command", required=True)
    preview = sub.add_parser("preview", help="who the policy would be pushed to, and the message; nothing is sent")
    preview.add_argument("code")
    preview.add_argument("--json", action="store_true")
    preview.set_defaults(handler=cmd_preview)
    send = sub.add_parser("send", help="create the campaign of the policy's current version (the workers send it)")
    send.add_argument("code")
    send.set_defaults(handler=cmd_send)
    status = sub.add_parser("status", help="counts by state of the policy's campaigns")
    status.add_argument("code")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
