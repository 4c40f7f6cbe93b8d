"""Telling enterprises of each visible step of their appeal (the notices the routing domain queues).

A customer-service message inside WeChat's 48-hour window, else a template message
(wechat.template_appeal_update), else the appeal is flagged for staff to phone. The worker sends them on
each pass; the console sends them at once after a staff action (the claim keeps each notice once).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.chat import messages
from bot.chat.dialogue import NEXT_PIECE, paginate
from bot.chat.inbox import deliver
from bot.chat.models import Channel, OutboundMessage, OutboundStatus
from bot.services import Services
from bot.wechat.api import WeChatApiError
from routing import notify
from routing.models import NoticeStatus

log = logging.getLogger(__name__)


def template_data(notice: notify.Outgoing, *, when: str) -> dict[str, str]:
    """The fields of the appeal-update template (first, keyword1-3, remark)."""
    remark = notice.text if len(notice.text) <= 180 else notice.text[:179] + "…"
    return {
        "first": "您反映的诉求有新进展",
        "keyword1": notice.reference,
        "keyword2": notice.state.label,
        "keyword3": when,
        "remark": remark,
    }


async def _outbound_status(services: Services, outbound_id: int) -> OutboundStatus | None:
    async with services.engine.connect() as connection:
        return await connection.scalar(select(OutboundMessage.status).where(OutboundMessage.id == outbound_id))


async def _send_pieces(
    services: Services, notice: notify.Outgoing
) -> tuple[NoticeStatus, int | None, str | None] | None:
    """Send a notice as customer-service messages of at most 2,048 bytes each (an answer quotes the staff's
    text, which may be long), in order; None when its first piece did not go out, so that a template is tried."""
    engine, api = services.engine, services.api
    pieces = paginate(notice.text, continued=NEXT_PIECE)
    first: int | None = None
    for number, piece in enumerate(pieces):
        outbound_id = await messages.add_outbound(
            engine, openid=notice.openid, text=piece, channel=Channel.CUSTOMER_SERVICE
        )
        first = outbound_id if first is None else first
        if await deliver(engine, api, outbound_id=outbound_id, openid=notice.openid, text=piece):
            continue
        if await _outbound_status(services, outbound_id) == OutboundStatus.PENDING:
            # The worker's retry sends pending messages in the order they were stored: queue the rest behind it.
            for rest in pieces[number + 1 :]:
                await messages.add_outbound(engine, openid=notice.openid, text=rest, channel=Channel.CUSTOMER_SERVICE)
            return NoticeStatus.SENT, first, "客服消息暂未发出，由重试任务继续发送"
        if number == 0:
            return None
        return NoticeStatus.NEEDS_CALL, first, f"第{number + 1}段起未送达，请电话联系企业"
    return NoticeStatus.SENT, first, None


async def _deliver(services: Services, notice: notify.Outgoing) -> tuple[NoticeStatus, int | None, str | None]:
    """Send one notice; (status, outbound id, error)."""
    engine, api = services.engine, services.api
    unsubscribed = await messages.is_unsubscribed(engine, notice.openid)
    if not unsubscribed and await messages.within_window(engine, notice.openid):
        sent = await _send_pieces(services, notice)
        if sent is not None:
            return sent
    template = services.settings.wechat.template_appeal_update
    if template and not unsubscribed:
        when = datetime.now(ZoneInfo(services.settings.app.timezone)).strftime("%Y-%m-%d %H:%M")
        outbound_id = await messages.add_outbound(
            engine, openid=notice.openid, text=notice.text, channel=Channel.TEMPLATE
        )
        try:
            result = await api.send_template(
                openid=notice.openid, template_id=template, data=template_data(notice, when=when)
            )
        except WeChatApiError as exc:
            await messages.record_delivery(
                engine, outbound_id=outbound_id, status=OutboundStatus.FAILED, error=str(exc)
            )
            return NoticeStatus.PENDING, outbound_id, str(exc)
        if result.ok:
            await messages.record_delivery(
                engine, outbound_id=outbound_id, status=OutboundStatus.SENT, template_msg_id=result.msgid
            )
            return NoticeStatus.TEMPLATE, outbound_id, None
        await messages.record_delivery(
            engine,
            outbound_id=outbound_id,
            status=OutboundStatus.FAILED,
            error_code=result.errcode,
            error=result.errmsg,
        )
        return NoticeStatus.NEEDS_CALL, outbound_id, f"模板消息发送失败：{result.errcode} {result.errmsg}"
    return NoticeStatus.NEEDS_CALL, None, "用户已取消关注" if unsubscribed else "超过48小时且未配置模板消息"


async def tell_enterprises(services: Services, *, now: datetime | None = None) -> int:
    """Send the queued notices to enterprises; how many reached WeChat."""
    moment = now or datetime.now(UTC)
    async with services.sessions() as session, session.begin():
        claimed = await session.run_sync(lambda sync: notify.claim_enterprise_notices(session=sync, now=moment))
    reached = 0
    for notice in claimed:
        status, outbound_id, error = await _deliver(services, notice)
        if status == NoticeStatus.PENDING and notice.attempts >= notify.MAX_ATTEMPTS:
            status = NoticeStatus.NEEDS_CALL
        reached += status in {NoticeStatus.SENT, NoticeStatus.TEMPLATE}
        if status == NoticeStatus.NEEDS_CALL:
            log.warning(
                "appeal update not delivered: needs a phone call",
                extra={"reference": notice.reference, "event": notice.event},
            )
        async with services.sessions() as session, session.begin():
            await session.run_sync(_finish, notice.id, status, outbound_id, error)
    return reached


def _finish(session: Session, notice_id: int, status: NoticeStatus, outbound_id: int | None, error: str | None) -> None:
    notify.finish_enterprise_notice(
        session=session,
        notice_id=notice_id,
        status=status,
        now=datetime.now(UTC),
        outbound_id=outbound_id,
        error=error,
    )
