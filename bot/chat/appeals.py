"""Filing an appeal in the chat, asking how it is going, and the answer to the unit that wrote lately.

The bot says what it understood, offers the details of the enterprise's last appeal (one confirmation instead of
four questions), asks for what is missing one question at a time, and files the appeal when the enterprise
confirms. The draft lives in the database (appeal_drafts), so it survives restarts and is shared by every app
instance; while it is open it is a wait of the chat (bot.chat.waiting), and every answer is linked to the appeal
once filed. The routing domain does the rest (routing.intake, routing.dispatch, routing.progress).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from bot.chat import draft_fields as fields
from bot.chat import messages
from bot.chat.draft_fields import DraftStep
from bot.chat.models import Attached
from bot.chat.waiting import CANCEL, Message, Taken, Waiting, plain
from intents.records import MatchResult
from routing import dispatch, enterprise_replies, intake, lifecycle, progress, views
from routing.enterprise_replies import Attachment
from routing.lifecycle import Actor, Refused
from routing.models import AppealDraft, AppealState, Rating, Stage, Unit
from routing.notify import local_text
from routing.rules import load_calendar, load_rules

__all__ = ["AppealChat", "DraftStep"]

DRAFT_TTL = timedelta(hours=24)
# Menu words that ask how to file, not an appeal themselves: the dialogue answers them.
NOT_AN_APPEAL = {"我要反映", "反映问题", "我要投诉", "投诉", "反映", "诉求", "我要反映问题"}
KINDS = {"image": "图片", "voice": "语音", "video": "视频", "shortvideo": "小视频", "location": "位置", "link": "链接"}


def question(session: Session, step: str, data: dict[str, Any]) -> str:
    """What the draft asks at this step."""
    if step == DraftStep.STREET:
        return f"企业位于哪个街道？可回复：{'、'.join(intake.street_names(session=session))}；不清楚请回复“不清楚”。"
    if step == DraftStep.CONFIRM:
        lines = ["请核对以下信息：", *fields.summary(data)]
        lines.append("回复“确认”提交；回复“修改”修改其中一项；回复“取消”放弃。")
        return "\n".join(lines)
    if step == DraftStep.REUSE:
        return fields.reuse_offer(data)
    if step == DraftStep.WHICH:
        return fields.which_question(data)
    if step == DraftStep.RATE_REASON:
        return f"请回复序号告诉我们您对诉求 {data.get('reference', '')} 不满意的原因。"
    return fields.QUESTIONS[step]


def _save(session: Session, row: AppealDraft, data: dict[str, Any], now: datetime, prefix: str = "") -> str:
    row.step, row.data, row.updated_at = fields.next_step(data), data, now
    return prefix + question(session, row.step, data)


class AppealChat:
    """The chat side of filing: the draft as a wait, starting one, progress, answers to the unit that wrote."""

    kinds = ("draft",)

    def __init__(self, *, engine: AsyncEngine, draft_ttl: timedelta = DRAFT_TTL) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._ttl = draft_ttl

    # -- the draft as a wait of the chat --

    def waiting(self, session: Session, message: Message) -> list[Waiting]:
        row = session.get(AppealDraft, message.openid)
        if row is None or message.now - row.updated_at > self._ttl:
            return []
        if row.step == DraftStep.RATE_REASON:
            label = f"您对诉求 {row.data.get('reference', '')} 的评价还差不满意的原因，请回复序号"
        else:
            label = "您有一件诉求正在登记，请继续：" + question(session, row.step, row.data).splitlines()[0]
        key = f"draft:{message.openid}:{row.data.get('started', '')}"
        return [Waiting(kind="draft", key=key, since=row.updated_at, label=label, own=True)]

    def take(self, session: Session, waiting: Waiting, message: Message) -> Taken | None:
        row = session.get(AppealDraft, message.openid, with_for_update=True)
        if row is None:
            return None
        if message.now - row.updated_at > self._ttl:
            session.delete(row)
            return None
        messages.link(session, key=message.key, attached_as=Attached.DRAFT)
        if message.kind not in {"text", "voice"} or not message.said:
            kind = KINDS.get(message.kind, "消息")
            row.updated_at = message.now
            return Taken(f"已收到您发送的{kind}，登记后会附在这件诉求上。\n" + question(session, row.step, row.data))
        if message.word in CANCEL:
            session.delete(row)
            if row.step == DraftStep.RATE_REASON:
                return Taken(f"已取消。您仍可回复 满意 / 基本满意 / 不满意 评价诉求 {row.data.get('reference', '')}。")
            return Taken("已取消本次登记。如需反映问题，随时告诉我。")
        return Taken(_answer(session, row, message))

    # -- a new appeal, progress, an answer to staff --

    async def start(self, *, openid: str, said: str, result: MatchResult, key: str, now: datetime) -> str | None:
        """Start filing what the message reports; None when it only asks how to file (a menu word)."""
        if said in NOT_AN_APPEAL:
            return None
        async with self._sessions() as session, session.begin():
            return await session.run_sync(lambda sync: _start(sync, openid, said, result, key, now))

    async def progress(self, *, openid: str, reference: str | None) -> str:
        """How the enterprise's appeals (or the one it names) are going."""
        async with self._sessions() as session:
            return await session.run_sync(
                lambda sync: progress.progress(session=sync, openid=openid, reference=reference)
            )

    async def forwarded(self, *, message: Message) -> str | None:
        """An answer to the unit that wrote to the enterprise lately: logged on the appeal and acknowledged."""
        async with self._sessions() as session, session.begin():
            return await session.run_sync(lambda sync: _forwarded(sync, message))


def _answer(session: Session, row: AppealDraft, message: Message) -> str:
    said, now, data = message.said, message.now, dict(row.data)
    if row.step == DraftStep.RATE_REASON:
        return _rate_reason(session, row, said, now)
    if row.step == DraftStep.REUSE:
        return _reuse(session, row, message)
    if row.step == DraftStep.WHICH:
        chosen = fields.chosen_field(said, data)
        if chosen is None:
            return "请回复序号。" + fields.which_question(data)
        row.step, row.updated_at = chosen, now
        return question(session, chosen, data)
    if row.step == DraftStep.CONFIRM:
        if message.word in fields.CONFIRM:
            return _file(session, row, now)
        chosen = fields.chosen_field(said, data)
        if chosen is not None and message.word not in {"1", "2", "3", "4", "5"}:
            row.step, row.updated_at = chosen, now
            return question(session, chosen, data)
        if message.word in fields.EDIT:
            row.step, row.updated_at = DraftStep.WHICH, now
            return fields.which_question(data)
        return "请回复“确认”提交，“修改”修改其中一项，或“取消”放弃。"
    problem = _accept(session, row.step, said, data)
    if problem:
        return problem
    return _save(session, row, data, now, prefix="已修改。" if row.data.get(row.step) else "")


def _reuse(session: Session, row: AppealDraft, message: Message) -> str:
    data = dict(row.data)
    remembered = {key: value for key, value in data.pop("remembered", {}).items() if key not in data}
    if message.word in fields.REUSE:
        data.update(remembered)
        if fields.next_step(data) == DraftStep.CONFIRM:
            row.data = data
            return _file(session, row, message.now)
        return _save(session, row, data, message.now)
    if message.word in fields.EDIT:
        data.update(remembered)
        row.step, row.data, row.updated_at = DraftStep.WHICH, data, message.now
        return fields.which_question(data)
    return "请回复 1 沿用上次的信息，或 2 修改；回复“取消”放弃。"


def _accept(session: Session, step: str, said: str, data: dict[str, Any]) -> str | None:
    """Store the answer to `step` in data; the reason it is refused, if it is."""
    ask = question(session, step, data)
    if plain(said) in fields.CONFIRM | fields.EDIT and step in fields.QUESTIONS:
        # "确认" typed one step early is a reply to the wrong question, not a company called 确认.
        return "还差一项信息。" + ask
    if step == DraftStep.STREET:
        return _street(session, said, data)
    problem = ACCEPT[step](said, data)
    return problem + ask if problem else None


def _enterprise(said: str, data: dict[str, Any]) -> str | None:
    problem = fields.check_enterprise(said)
    if problem is None:
        data["enterprise"] = said
    return problem


def _contact(said: str, data: dict[str, Any]) -> str | None:
    name, problem = fields.check_contact(said)
    if name is None:
        return problem or "称呼好像不对。"
    data["contact"] = name
    phone = fields.find_phone(said)
    if phone and "phone" not in data:
        data["phone"] = phone
    return None


def _phone(said: str, data: dict[str, Any]) -> str | None:
    phone = fields.find_phone(said)
    if phone is None:
        return "电话号码好像不对，请发送 11 位手机号或带区号的座机号（如 029-87296123）。"
    data["phone"] = phone
    return None


def _place(said: str, data: dict[str, Any]) -> str | None:
    if not 2 <= len(said) <= 200:
        return "地点请写 2 到 200 个字。"
    data["place"] = said
    return None


# Keyed by DraftStep; a str key type, since a draft row's step reads back as a plain string.
ACCEPT: dict[str, Callable[[str, dict[str, Any]], str | None]] = {
    DraftStep.ENTERPRISE: _enterprise,
    DraftStep.CONTACT: _contact,
    DraftStep.PHONE: _phone,
    DraftStep.PLACE: _place,
}


def _street(session: Session, said: str, data: dict[str, Any]) -> str | None:
    if plain(said) in fields.SKIP:
        data["street"] = ""
        return None
    name = intake.street_name(session=session, said=said)
    if name is None:
        streets = "、".join(intake.street_names(session=session))
        return f"没有找到这个街道。请回复：{streets}；不清楚请回复“不清楚”。"
    data["street"] = name
    return None


def _start(session: Session, openid: str, said: str, result: MatchResult, key: str, now: datetime) -> str:
    category = intake.category(session=session, code=result.category.code if result.category else None)
    if category is None:
        return "抱歉，诉求类别设置有误，请稍后再试或拨打 12345。"
    lead = result.lead_unit if result.category is not None and result.category.code == category.code else None
    data: dict[str, Any] = {
        "description": said[:2000],
        "category": category.code,
        "category_name": category.name,
        "lead_unit": lead or category.lead_unit,
        "co_units": list(category.co_units),
        "asks_place": category.asks_place,
        "started": now.isoformat(),
        # Too close to call (or no category fits): 区营商办 triages it, with the candidates the bot weighed.
        "triage": result.triage,
        "candidates": [candidate.unit for candidate in result.candidates],
    }
    understood = fields.understood(said)
    street = intake.street_name(session=session, said=said)
    if street is not None:
        understood["street"] = street
    data.update(understood)
    old = session.get(AppealDraft, openid)
    if old is not None:
        session.delete(old)
        session.flush()
    row = AppealDraft(openid=openid, step="", data={}, updated_at=now)
    session.add(row)
    messages.link(session, key=key, attached_as=Attached.DRAFT)
    intro = f"您反映的问题属于“{category.name}”，{fields.handled_by(data, intro=True)}。"
    labels = {"enterprise": "企业", "contact": "联系人", "phone": "电话", "street": "街道"}
    if understood:
        intro += "已记下：" + "；".join(f"{labels[key]} {value}" for key, value in understood.items()) + "。"
    last = intake.last_details(session=session, openid=openid)
    if last is not None and any(name not in data for name in fields.REMEMBERED):
        data["remembered"] = {name: getattr(last, name) for name in fields.REMEMBERED}
        row.step, row.data, row.updated_at = DraftStep.REUSE, data, now
        return f"{intro}\n{fields.reuse_offer(data)}"
    intro += "\n为便于承办单位联系您，还需要几项信息（回复“取消”可放弃）。\n"
    return _save(session, row, data, now, prefix=intro)


def _file(session: Session, row: AppealDraft, now: datetime) -> str:
    data = row.data
    submission = dispatch.Submission(
        unit=data.get("lead_unit"),
        triage=bool(data.get("triage")),
        candidates=tuple(data.get("candidates") or ()),
        openid=row.openid,
        enterprise=data["enterprise"],
        contact=data["contact"],
        phone=data["phone"],
        description=data["description"],
        category_code=data.get("category"),
        street=data.get("street", ""),
        place=data.get("place", ""),
    )
    appeal = dispatch.file_appeal(session=session, submission=submission, now=now)
    session.delete(row)
    messages.link_draft(session, openid=row.openid, appeal_id=appeal.id)
    calendar = load_calendar(session=session)
    view = views.show_appeal(session=session, reference=appeal.reference, now=now)
    reply = next((item for item in view.deadlines if item.stage == Stage.REPLY), None) if view else None
    unit = session.get(Unit, appeal.unit_id)
    lines = [f"已受理！诉求编号：{appeal.reference}", f"承办单位：{unit.name if unit else ''}"]
    if reply is not None:
        lines.append(f"答复期限：{local_text(reply.due_at, calendar)}前（{reply.limit}）")
        if reply.provisional:
            lines.append("（次年法定节假日安排尚未公布，期限按周一至周五暂计，公布后自动调整）")
    lines.append("承办单位会尽快与您联系。回复“进度”或诉求编号可随时查询。")
    return "\n".join(lines)


def _rate_reason(session: Session, row: AppealDraft, said: str, now: datetime) -> str:
    reasons = load_rules(session=session).dissatisfaction_reasons
    if not said.isdigit() or not 1 <= int(said) <= len(reasons):
        return f"请回复 1 到 {len(reasons)} 之间的序号，或回复“取消”。"
    reason = reasons[int(said) - 1]
    session.delete(row)
    try:
        appeal = lifecycle.visit(
            session=session,
            appeal_id=int(row.data["appeal_id"]),
            actor=Actor.enterprise(row.openid),
            rating=Rating.DISSATISFIED,
            reason_code=reason.code,
            comment=str(row.data.get("comment") or ""),
            now=now,
        )
    except Refused as exc:
        return str(exc)
    if appeal.state == AppealState.HANDLING:
        unit = session.get(Unit, appeal.unit_id)
        name = unit.name if unit else "承办单位"
        return f"已收到。诉求 {appeal.reference} 已重新交由{name}办理，办理后会再次答复您。"
    return f"已记录您的评价和原因（{reason.name}）。诉求 {appeal.reference} 已办结，我们会继续改进工作。"


def _forwarded(session: Session, message: Message) -> str | None:
    writer = intake.recent_writer(session=session, openid=message.openid, now=message.now)
    if writer is None:
        return None
    try:
        enterprise_replies.answer_staff(
            session=session,
            appeal_id=writer.appeal_id,
            openid=message.openid,
            attachment=Attachment("text", message.said),
            now=message.now,
        )
    except Refused:
        return None
    messages.link(session, key=message.key, attached_as=Attached.ANSWER, appeal_id=writer.appeal_id)
    return f"已收到，您的留言已转给{writer.unit}（诉求 {writer.reference}），工作人员会尽快回复您。"
