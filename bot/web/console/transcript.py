"""The conversation with an enterprise as staff read it: its messages, the bot's answers, and the unit's updates.

Messages are kept by openid (bot.chat.models); updates to the enterprise are enterprise notices of the appeal
(routing.models), shown as waiting until the worker has sent them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from bot.chat.models import (
    ATTACHED_LABELS,
    CHANNEL_LABELS,
    OUTBOUND_STATUS_LABELS,
    Attached,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
)
from routing.models import NOTICE_STATUS_LABELS, Appeal, AppealEvent, EnterpriseNotice, NoticeEvent, NoticeStatus

LIMIT = 200
CHANNELS = CHANNEL_LABELS
DELIVERY = OUTBOUND_STATUS_LABELS
# Shown in red: not delivered, or not known to be (its sender died mid-call: staff check by phone).
PROBLEMS = {OutboundStatus.UNDELIVERED, OutboundStatus.FAILED, OutboundStatus.UNCERTAIN}
NOTICE_STATES = NOTICE_STATUS_LABELS
NOTICE_EVENTS = {NoticeEvent.MESSAGE: "工作人员回复"}
EVENTS = {"subscribe": "关注了公众号", "unsubscribe": "取消了关注", "scan": "扫码进入公众号"}
MENU = {"POLICY_SEARCH": "政策查询", "APPEAL": "我要反映", "PROGRESS": "进度查询", "HELP": "帮助", "HUMAN": "人工客服"}


@dataclass(frozen=True)
class Line:
    """One entry of the conversation."""

    at: datetime
    side: str  # enterprise | bot | unit | system
    kind: str  # text | voice | image | location | link | video | event | notice
    text: str
    label: str = ""
    status: str = ""
    problem: bool = False
    url: str | None = None
    # For an enterprise's message: what it was attached to, as staff read it ("已附到本诉求 · 补充材料").
    attached: str = ""
    mine: bool = False  # attached to the appeal whose page shows it


def safe_url(value: Any) -> str | None:
    """An http(s) link that may be followed from the page; anything else (javascript:, data:) is shown as text."""
    text = str(value or "").strip()
    parts = urlsplit(text)
    return text if parts.scheme in {"http", "https"} and parts.netloc and len(text) <= 2000 else None


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def attached_text(row: InboundMessage, *, appeal_id: int | None, references: dict[int, str]) -> str:
    """What an enterprise's message was attached to, in the words of the console."""
    label = ATTACHED_LABELS.get(Attached(row.attached_as), row.attached_as) if row.attached_as else ""
    if row.appeal_id is not None and row.appeal_id == appeal_id:
        return f"已附到本诉求 · {label}" if label else "已附到本诉求"
    if row.appeal_id is not None:
        return f"已附到诉求 {references.get(row.appeal_id, '')} · {label}".rstrip(" ·")
    if row.handoff_id is not None:
        return f"人工客服对话 #{row.handoff_id}"
    if row.attached_as == Attached.DRAFT:
        return "登记诉求时的回答（未提交）"
    return "未关联诉求"


def inbound_line(row: InboundMessage) -> Line | None:
    """An inbound message or event as a line of the conversation (None for events nobody needs to see)."""
    fields, at = row.fields or {}, aware(row.received_at)
    kind = row.msg_type
    if kind == "text":
        return Line(at, "enterprise", "text", row.text or "")
    if kind == "voice":
        return Line(at, "enterprise", "voice", row.text or "（语音，未能识别文字）", label="语音转文字")
    if kind == "image":
        url = safe_url(fields.get("PicUrl"))
        return Line(
            at, "enterprise", "image", "图片" if url else f"图片（地址无效：{fields.get('PicUrl', '')}）", url=url
        )
    if kind == "location":
        where = f"{fields.get('Location_X')}, {fields.get('Location_Y')}"
        return Line(at, "enterprise", "location", f"位置：{fields.get('Label') or ''}（{where}）")
    if kind == "link":
        return Line(at, "enterprise", "link", str(fields.get("Title") or "链接"), url=safe_url(fields.get("Url")))
    if kind in {"video", "shortvideo"}:
        return Line(at, "enterprise", "video", "视频（请在微信公众平台素材中查看）")
    if kind == "event":
        event = (row.event or "").lower()
        if event == "click":
            return Line(at, "system", "event", f"企业点击了菜单：{MENU.get(row.event_key or '', row.event_key or '')}")
        if event in EVENTS:
            return Line(at, "system", "event", f"企业{EVENTS[event]}")
        return None
    return Line(at, "enterprise", "text", row.text or f"（{kind} 消息）")


def _belongs(appeal: Appeal) -> ColumnElement[bool]:
    """Messages of this appeal's page: linked to it, or unlinked and sent while it was open.

    Never one linked to another appeal, a hand-off or an unfiled draft: those may be about another unit's
    matter, and staff of this unit must not read them.
    """
    opened = InboundMessage.received_at >= appeal.created_at
    if appeal.closed_at is not None:
        opened = and_(opened, InboundMessage.received_at <= appeal.closed_at)
    unlinked = and_(
        InboundMessage.appeal_id.is_(None),
        InboundMessage.handoff_id.is_(None),
        or_(InboundMessage.attached_as.is_(None), InboundMessage.attached_as != Attached.DRAFT),
    )
    return and_(
        InboundMessage.openid == appeal.openid, or_(InboundMessage.appeal_id == appeal.id, and_(unlinked, opened))
    )


def conversation(*, session: Session, appeal: Appeal, limit: int = LIMIT) -> tuple[list[Line], bool]:
    """The latest `limit` entries of this appeal with the enterprise, oldest first, and whether some were left out.

    Only this appeal's messages (`_belongs`), the bot's answers to them and the unit's notices of this appeal.
    """
    inbound = list(
        session.scalars(
            select(InboundMessage).where(_belongs(appeal)).order_by(InboundMessage.id.desc()).limit(limit + 1)
        )
    )
    notices = list(
        session.scalars(
            select(EnterpriseNotice).where(EnterpriseNotice.appeal_id == appeal.id).order_by(EnterpriseNotice.id)
        )
    )
    noticed = [notice.outbound_id for notice in notices if notice.outbound_id is not None]
    outbound = list(
        session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.openid == appeal.openid,
                or_(OutboundMessage.id.in_(noticed), OutboundMessage.inbound_id.in_([row.id for row in inbound])),
            )
            .order_by(OutboundMessage.id.desc())
            .limit(limit + 1)
        )
    )
    from_unit = {notice.outbound_id: notice for notice in notices if notice.outbound_id is not None}
    others = {row.appeal_id for row in inbound if row.appeal_id is not None and row.appeal_id != appeal.id}
    references = dict(session.execute(select(Appeal.id, Appeal.reference).where(Appeal.id.in_(others))).all())
    lines: list[tuple[datetime, int, Line]] = []
    for row in inbound:
        line = inbound_line(row)
        if line is not None:
            if line.side == "enterprise":
                line = replace(
                    line,
                    attached=attached_text(row, appeal_id=appeal.id, references=references),
                    mine=row.appeal_id == appeal.id,
                )
            lines.append((line.at, 0, line))
    for out in outbound:
        notice = from_unit.get(out.id)
        side = "unit" if notice is not None or out.author else "bot"
        label = NOTICE_EVENTS.get(notice.event, "办理进度通知") if notice is not None else CHANNELS.get(out.channel, "")
        if out.author:
            label = f"人工客服回复（{out.author}）"
        status = DELIVERY.get(out.status, out.status)
        if out.status == OutboundStatus.UNDELIVERED and out.error:
            status += f"（{out.error}）"
        if notice is not None:
            status = f"{CHANNELS.get(out.channel, out.channel)} · {status}"
        lines.append(
            (
                aware(out.created_at),
                1,
                Line(
                    aware(out.created_at),
                    side,
                    "text",
                    out.text,
                    label=label,
                    status=status,
                    problem=out.status in PROBLEMS,
                ),
            )
        )
    for notice in notices:
        if notice.outbound_id is None or notice.status == NoticeStatus.NEEDS_CALL:
            at = aware(notice.created_at)
            lines.append(
                (
                    at,
                    2,
                    Line(
                        at,
                        "unit",
                        "notice",
                        notice.text,
                        label=NOTICE_EVENTS.get(notice.event, "办理进度通知"),
                        status=NOTICE_STATES.get(notice.status, notice.status),
                        problem=notice.status == NoticeStatus.NEEDS_CALL,
                    ),
                )
            )
    lines.sort(key=lambda entry: (entry[0], entry[1]))
    truncated = len(inbound) > limit or len(outbound) > limit
    return [line for _, _, line in lines[-limit:]], truncated or len(lines) > limit


def stamp(*, session: Session, appeal: Appeal) -> str:
    """A short string that changes whenever the appeal page would: transitions, messages, deliveries."""
    event = session.scalar(select(func.max(AppealEvent.id)).where(AppealEvent.appeal_id == appeal.id)) or 0
    inbound = session.scalar(select(func.max(InboundMessage.id)).where(InboundMessage.openid == appeal.openid)) or 0
    outbound = session.execute(
        select(func.max(OutboundMessage.id), func.count()).where(OutboundMessage.openid == appeal.openid)
    ).one()
    statuses = session.execute(
        select(OutboundMessage.id, OutboundMessage.status)
        .where(OutboundMessage.openid == appeal.openid)
        .order_by(OutboundMessage.id.desc())
        .limit(20)
    ).all()
    notices = session.execute(
        select(EnterpriseNotice.id, EnterpriseNotice.status).where(EnterpriseNotice.appeal_id == appeal.id)
    ).all()
    raw = f"{event}.{inbound}.{outbound[0]}.{outbound[1]}.{statuses}.{notices}.{appeal.needs_call}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
