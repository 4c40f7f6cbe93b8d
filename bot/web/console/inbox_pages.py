"""The console inbox at /console/inbox: hand-offs to a person (人工客服) and their conversations.

Staff of a unit see the hand-offs given to their unit, 区营商办 all of them. A reply is stored as an outbound
message of the hand-off and sent as a customer-service message through the 48-hour window rules
(bot.chat.inbox.deliver): outside the window it is kept as 未送达 for staff to phone the enterprise.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.accounts import SignedIn
from bot.chat import handoff, messages
from bot.chat.dialogue import NEXT_PIECE, paginate
from bot.chat.inbox import deliver
from bot.chat.models import Channel, Handoff, HandoffState, InboundMessage, OutboundMessage, OutboundStatus
from bot.web.console import transcript
from bot.web.console.common import ConsoleUser, chrome, render, run, scope
from bot.web.console.transcript import Line
from bot.web.deps import ServicesDep
from routing.models import Appeal, AppealState, Unit

router = APIRouter(prefix="/console", include_in_schema=False)
CONTEXT = timedelta(minutes=30)  # what the enterprise wrote just before it asked for a person
MAX_REPLY = 2000
CLOSING = "本次人工服务已结束。如还有问题，可以随时留言，或回复“人工客服”。"
# A long reply goes out as several customer-service messages, cut as the bot's replies are (2,048 bytes).
NOTICES = {
    "sent": "回复已发出（客服消息）",
    "undelivered": "企业超过48小时未发消息，微信不允许再发客服消息：回复已保存为“未送达”，请电话联系企业",
    "pending": "回复暂未发出，系统会自动重试",
    "closed": "会话已结束，已告知企业",
}


def not_found() -> HTTPException:
    return HTTPException(404, "没有这个会话，或它不由您的单位处理")


def _lines(session: Session, found: Handoff) -> list[Line]:
    """The conversation of a hand-off: the enterprise's messages from just before it asked, and every reply."""
    since = found.opened_at - CONTEXT
    until = found.closed_at or datetime.now(UTC) + timedelta(days=1)
    lines: list[Line] = []
    for row in session.scalars(
        select(InboundMessage)
        .where(
            InboundMessage.openid == found.openid,
            InboundMessage.received_at >= since,
            InboundMessage.received_at <= until,
        )
        .order_by(InboundMessage.id)
    ):
        line = transcript.inbound_line(row)
        if line is not None and line.side == "enterprise":
            mine = row.handoff_id == found.id
            text = "转给人工" if mine else transcript.attached_text(row, appeal_id=None, references={})
            lines.append(replace(line, attached=text, mine=mine))
        elif line is not None:
            lines.append(line)
    for out in session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.openid == found.openid, OutboundMessage.created_at >= since)
        .order_by(OutboundMessage.id)
    ):
        at = transcript.aware(out.created_at)
        status = transcript.DELIVERY.get(out.status, out.status)
        if out.status == OutboundStatus.UNDELIVERED and out.error:
            status += f"（{out.error}）"
        side, label = ("unit", out.author) if out.author else ("bot", transcript.CHANNELS.get(out.channel, ""))
        problem = out.status in transcript.PROBLEMS
        lines.append(Line(at, side, "text", out.text, label=label, status=status, problem=problem))
    lines.sort(key=lambda line: line.at)
    return lines


def _open_appeals(session: Session, openid: str) -> list[tuple[str, str]]:
    return [
        (reference, state.label)
        for reference, state in session.execute(
            select(Appeal.reference, Appeal.state)
            .where(Appeal.openid == openid, Appeal.state != AppealState.CLOSED)
            .order_by(Appeal.id.desc())
        )
    ]


def stamp(session: Session, found: Handoff) -> str:
    """Changes when the conversation does: a message, a reply or its delivery, the hand-off's state."""
    inbound = session.scalar(select(func.max(InboundMessage.id)).where(InboundMessage.openid == found.openid)) or 0
    outbound = session.execute(
        select(OutboundMessage.id, OutboundMessage.status)
        .where(OutboundMessage.openid == found.openid)
        .order_by(OutboundMessage.id.desc())
        .limit(20)
    ).all()
    raw = f"{inbound}.{outbound}.{found.state}.{found.last_staff_at}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def list_stamp(session: Session, unit_id: int | None) -> str:
    statement = select(func.max(Handoff.id), func.max(Handoff.last_enterprise_at), func.count())
    if unit_id is not None:
        statement = statement.where(Handoff.unit_id == unit_id)
    raw = str(session.execute(statement.where(Handoff.state == HandoffState.OPEN)).one())
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@router.get("/inbox")
async def inbox_page(request: Request, user: ConsoleUser) -> Response:
    """The hand-offs of the user's scope, those waiting for a person first."""
    unit_id = scope(user)

    def read(session: Session) -> dict[str, Any]:
        return {"rows": handoff.rows(session, unit_id=unit_id), "stamp": list_stamp(session, unit_id)}

    data = await run(request, read)
    return render(request, "console/inbox.html", now=datetime.now(UTC), **data, **await chrome(request, user))


@router.get("/inbox/live")
async def inbox_live(request: Request, user: ConsoleUser) -> Response:
    unit_id = scope(user)
    found = await run(request, lambda session: list_stamp(session, unit_id))
    return JSONResponse({"stamp": found}, headers={"Cache-Control": "no-store"})


async def handoff_response(
    request: Request, user: SignedIn, handoff_id: int, *, status: int = 200, error: str = "", typed: str = ""
) -> Response:
    unit_id = scope(user)

    def read(session: Session) -> dict[str, Any]:
        found = handoff.visible(session, handoff_id=handoff_id, unit_id=unit_id)
        if found is None:
            raise not_found()
        return {
            "handoff": found,
            "unit": session.scalar(select(Unit.name).where(Unit.id == found.unit_id)) or "",
            "enterprise": handoff.enterprise_name(session, found.openid),
            "appeals": _open_appeals(session, found.openid),
            "lines": _lines(session, found),
            "stamp": stamp(session, found),
            "within_window": datetime.now(UTC) - found.last_enterprise_at < messages.WINDOW,
        }

    data = await run(request, read)
    notice = NOTICES.get(request.query_params.get("done", ""), "") if not error else ""
    return render(
        request,
        "console/handoff.html",
        status=status,
        error=error,
        typed=typed,
        notice=notice,
        now=datetime.now(UTC),
        **data,
        **await chrome(request, user),
    )


@router.get("/inbox/{handoff_id}")
async def handoff_page(request: Request, user: ConsoleUser, handoff_id: int) -> Response:
    """One hand-off: the conversation with the enterprise and the reply box."""
    return await handoff_response(request, user, handoff_id)


@router.get("/inbox/{handoff_id}/live")
async def handoff_live(request: Request, user: ConsoleUser, handoff_id: int) -> Response:
    unit_id = scope(user)

    def read(session: Session) -> str:
        found = handoff.visible(session, handoff_id=handoff_id, unit_id=unit_id)
        if found is None:
            raise not_found()
        return stamp(session, found)

    return JSONResponse({"stamp": await run(request, read)}, headers={"Cache-Control": "no-store"})


@router.post("/inbox/{handoff_id}/reply")
async def reply(request: Request, user: ConsoleUser, services: ServicesDep, handoff_id: int) -> Response:
    """Send the staff's reply to the enterprise (a customer-service message within the 48-hour window)."""
    text = str((await request.form()).get("text") or "").strip()
    if not text or len(text) > MAX_REPLY:
        too_long = f"回复内容最多 {MAX_REPLY} 字（现在 {len(text)} 字），请分两条发送"
        problem = "回复内容不能为空" if not text else too_long
        return await handoff_response(request, user, handoff_id, status=422, error=problem, typed=text[:4000])
    unit_id = scope(user)

    def check(session: Session) -> tuple[str, str]:
        found = handoff.visible(session, handoff_id=handoff_id, unit_id=unit_id)
        if found is None:
            raise not_found()
        if found.state != HandoffState.OPEN:
            raise ValueError("会话已结束，不能再回复；企业再次请求人工时会开启新的会话")
        unit = session.scalar(select(Unit.name).where(Unit.id == found.unit_id)) or "工作人员"
        return found.openid, unit

    try:
        openid, unit = await run(request, check)
    except ValueError as exc:
        return await handoff_response(request, user, handoff_id, status=422, error=str(exc), typed=text)
    done = await _send(services, openid=openid, text=f"【{unit}人工客服】{text}", handoff_id=handoff_id, author=user)
    now = datetime.now(UTC)
    await run(request, lambda session: _replied(session, handoff_id, now))
    return RedirectResponse(f"/console/inbox/{handoff_id}?done={done}", status_code=303)


async def _send(services: Any, *, openid: str, text: str, handoff_id: int, author: SignedIn) -> str:
    """Store and send the reply, in pieces WeChat accepts; "sent", "pending" or "undelivered" (the worst piece)."""
    outcomes = []
    for piece in paginate(text, continued=NEXT_PIECE):
        outbound_id = await messages.add_outbound(
            services.engine,
            openid=openid,
            text=piece,
            channel=Channel.CUSTOMER_SERVICE,
            handoff_id=handoff_id,
            author=author.username,
        )
        if await deliver(services.engine, services.api, outbound_id=outbound_id, openid=openid, text=piece):
            outcomes.append("sent")
            continue
        async with services.engine.connect() as connection:
            status = await connection.scalar(select(OutboundMessage.status).where(OutboundMessage.id == outbound_id))
        outcomes.append("pending" if status == OutboundStatus.PENDING else "undelivered")
    return next((outcome for outcome in ("undelivered", "pending") if outcome in outcomes), "sent")


def _replied(session: Session, handoff_id: int, now: datetime) -> None:
    found = session.get(Handoff, handoff_id)
    if found is not None:
        found.last_staff_at = now


@router.post("/inbox/{handoff_id}/close")
async def close(request: Request, user: ConsoleUser, services: ServicesDep, handoff_id: int) -> Response:
    """End the hand-off; the enterprise is told (within the window)."""
    unit_id, now = scope(user), datetime.now(UTC)

    def work(session: Session) -> str | None:
        found = handoff.visible(session, handoff_id=handoff_id, unit_id=unit_id)
        if found is None:
            raise not_found()
        if found.state != HandoffState.OPEN:
            return None
        handoff.close(session, found, by=user.username, now=now)
        return found.openid

    openid = await run(request, work)
    if openid is not None:
        await _send(services, openid=openid, text=CLOSING, handoff_id=handoff_id, author=user)
    return RedirectResponse(f"/console/inbox/{handoff_id}?done=closed", status_code=303)
