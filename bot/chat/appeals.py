"""Filing an appeal in the chat, asking how it is going, and rating the answer.

The bot says what it understood, asks for what is missing one question at a time, and files the appeal
when the enterprise confirms. The draft lives in the database (appeal_drafts), so it survives restarts
and is shared by every app instance. The routing domain does the rest (routing.dispatch, routing.lifecycle).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from intents.records import Intent, MatchResult
from routing import dispatch, lifecycle, views
from routing.deadlines import DeadlineStatus
from routing.lifecycle import Actor, Refused
from routing.models import Action, Appeal, AppealDraft, AppealEvent, AppealState, Category, Rating, Stage, Unit
from routing.notify import local_text
from routing.references import normalize_reference
from routing.rules import load_calendar, load_rules


class DraftStep(StrEnum):
    """What the chat waits for (AppealDraft.step, a plain string column of routing): a field of the draft, named
    as its key in the draft's data, the confirmation, or the reason of a 不满意 rating."""

    ENTERPRISE = "enterprise"
    CONTACT = "contact"
    PHONE = "phone"
    STREET = "street"
    PLACE = "place"
    CONFIRM = "confirm"
    RATE_REASON = "rate_reason"


DRAFT_TTL = timedelta(hours=24)
# What the bot decided about an appeal, kept when the enterprise re-enters its details.
ROUTE_KEYS = ("description", "category", "category_name", "lead_unit", "co_units", "asks_place", "triage", "candidates")
# Staff wrote to the enterprise within this long (WeChat's customer-service window): its words are for them.
TALK_WINDOW = timedelta(hours=48)
# The states in which staff may write to the enterprise, but not once answered: its words are then a rating.
TALKING = tuple(state for state in lifecycle.ALLOWED[Action.MESSAGE] if state != AppealState.ANSWERED)
CANCEL = {"取消", "算了", "不用了", "放弃", "退出"}
CONFIRM = {"确认", "确定", "提交", "是", "是的", "对", "没问题", "好", "好的", "确认提交"}
EDIT = {"修改", "重填", "重新填写"}
SKIP = {"不清楚", "不知道", "跳过", "无", "没有", "其他", "不在莲湖"}
PROGRESS = {"进度", "进度查询", "查进度", "查询进度"}
# Menu words that ask how to file, not an appeal themselves: the dialogue answers them.
NOT_AN_APPEAL = {"我要反映", "反映问题", "我要投诉", "投诉", "反映", "诉求", "我要反映问题"}
RATINGS = {
    **{rating.value: rating for rating in Rating},
    "非常满意": Rating.SATISFIED,
    "还行": Rating.FAIRLY_SATISFIED,
}
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?\d{7,8})(?!\d)")
# Only a registered legal form counts: "我们公司" or "那个厂" name no enterprise.
COMPANY = re.compile(
    r"([\u4e00-\u9fa5A-Za-z0-9（）()]{2,40}?(?:有限责任公司|股份有限公司|有限公司|（有限合伙）|\(有限合伙\)))"
)
NOT_A_NAME = ("我们", "你们", "他们", "政府", "拖欠", "欠")
CONTACT = re.compile(
    r"(?:我是|我叫|联系人[:：]?|姓名[:：]?)([\u4e00-\u9fa5]{1,4}?(?:先生|女士|经理|总)?)(?=[，,。；;\s电手]|$)"
)
# The next deadline as the enterprise reads it (Stage labels are the staff's words).
UPCOMING = {Stage.SIGN: "签收", Stage.CONTACT: "联系您", Stage.REPLY: "答复", Stage.MILESTONE: "整改节点"}
# Keyed by DraftStep; a str key type, since a draft row's step reads back as a plain string.
QUESTIONS: dict[str, str] = {
    DraftStep.ENTERPRISE: "请问企业全称是？",
    DraftStep.CONTACT: "请问联系人怎么称呼？",
    DraftStep.PHONE: "请留一个联系电话（手机或带区号的座机）。",
    DraftStep.PLACE: "问题发生在哪里？请说明项目或具体地址。",
}


def _phone(text: str) -> str | None:
    flat = re.sub(r"[\s（）()]", "", text)
    found = MOBILE.search(flat) or LANDLINE.search(flat)
    return found.group(1) if found else None


def _understood(text: str, session: Session) -> dict[str, str]:
    """What the first message already says: phone, enterprise, contact person, street."""
    found: dict[str, str] = {}
    phone = _phone(text)
    if phone:
        found["phone"] = phone
    company = COMPANY.search(text)
    if company:
        name = re.sub(r"^(?:我们公司是|我们是|我是|我们|我司|本公司|公司名称[:：]?|是)", "", company.group(1))
        if len(name) >= 6 and not any(word in name for word in NOT_A_NAME):
            found["enterprise"] = name
    contact = CONTACT.search(text)
    if contact:
        found["contact"] = contact.group(1)
    street = dispatch.street_unit(session=session, street=text)
    if street is not None:
        found["street"] = street.aliases[0] if street.aliases else street.name
    return found


def _streets(session: Session) -> list[str]:
    units = session.scalars(select(Unit).where(Unit.kind == "street").order_by(Unit.id))
    return [unit.aliases[0] if unit.aliases else unit.name for unit in units]


def _next_step(data: dict[str, Any]) -> DraftStep:
    for step in (DraftStep.ENTERPRISE, DraftStep.CONTACT, DraftStep.PHONE, DraftStep.STREET):
        if step not in data:
            return step
    if data.get("asks_place") and DraftStep.PLACE not in data:
        return DraftStep.PLACE
    return DraftStep.CONFIRM


def _question(session: Session, step: str, data: dict[str, Any]) -> str:
    if step == DraftStep.STREET:
        return f"企业位于哪个街道？可回复：{'、'.join(_streets(session))}；不清楚请回复“不清楚”。"
    if step == DraftStep.CONFIRM:
        lines = [
            "请核对以下信息：",
            f"问题：{data['description']}",
            f"类别：{data['category_name']}（{_handled_by(data)}）",
            f"企业：{data['enterprise']}",
            f"联系人：{data['contact']}　电话：{data['phone']}",
        ]
        if data.get("street"):
            lines.append(f"所在街道：{data['street']}")
        if data.get("place"):
            lines.append(f"地点：{data['place']}")
        lines.append("回复“确认”提交；回复“修改”重新填写；回复“取消”放弃。")
        return "\n".join(lines)
    return QUESTIONS[step]


class AppealChat:
    """The chat side of appeals; every method returns the reply, or None when the message is not about appeals."""

    def __init__(self, *, engine: AsyncEngine, draft_ttl: timedelta = DRAFT_TTL) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._ttl = draft_ttl

    async def handle(self, *, openid: str, text: str, result: MatchResult, now: datetime | None = None) -> str | None:
        """Answer a pending question, file or rate an appeal, or report progress; None to let the dialogue go on."""
        moment = now or datetime.now(UTC)
        said = text.strip()
        maybe_ours = (
            said in PROGRESS or result.intent in {Intent.PROGRESS, Intent.APPEAL} or said.rstrip("。！!") in RATINGS
        )
        if not maybe_ours and not await self.has_draft(openid):
            if result.intent == Intent.OTHER and not result.choices:  # perhaps an answer to staff who wrote
                async with self._sessions() as session:
                    return await session.run_sync(lambda sync: _forwarded(sync, openid, moment))
            return None  # most messages: one cheap read instead of a locking transaction
        async with self._sessions() as session, session.begin():
            return await session.run_sync(lambda sync: self._handle(sync, openid, said, result, moment))

    async def has_draft(self, openid: str) -> bool:
        """Whether a filing waits for this enterprise's answer (one cheap read)."""
        async with self._engine.connect() as connection:
            found = await connection.scalar(select(AppealDraft.openid).where(AppealDraft.openid == openid))
        return found is not None

    def _handle(self, session: Session, openid: str, said: str, result: MatchResult, now: datetime) -> str | None:
        row = session.get(AppealDraft, openid, with_for_update=True)
        if row is not None and now - row.updated_at > self._ttl:
            session.delete(row)
            row = None
        if said in PROGRESS or (result.intent == Intent.PROGRESS and row is None):
            reply = progress(session, openid, result.reference or normalize_reference(said), now)
            if row is not None:
                reply += f"\n\n（您有一件诉求正在登记，请继续：{_question(session, row.step, row.data)}）"
            return reply
        if row is not None:
            if said in CANCEL:
                session.delete(row)
                return "已取消本次登记。如需反映问题，随时告诉我。"
            if said == "更多":
                return None
            return self._answer(session, row, said, now)
        rating = RATINGS.get(said.rstrip("。！!"))
        if rating is not None:
            return _rate(session, openid, rating, now)
        if result.intent == Intent.APPEAL and said not in NOT_AN_APPEAL and not result.choices:
            return _start(session, openid, said, result, now)  # (when unsure, the dialogue asks first)
        return None

    def _answer(self, session: Session, row: AppealDraft, said: str, now: datetime) -> str:
        data = dict(row.data)
        if row.step == DraftStep.RATE_REASON:
            return _rate_reason(session, row, said, now)
        if row.step == DraftStep.CONFIRM:
            if said in EDIT:
                data = {key: data[key] for key in ROUTE_KEYS if key in data}
                return _save(session, row, data, now, prefix="好的，请重新填写。")
            if said not in CONFIRM:
                return "请回复“确认”提交，“修改”重新填写，或“取消”放弃。"
            return _file(session, row, now)
        problem = _accept(session, row.step, said, data)
        if problem:
            return problem
        return _save(session, row, data, now)


def _accept(session: Session, step: str, said: str, data: dict[str, Any]) -> str | None:  # noqa: C901 -- one branch per question of the draft; the filing rewrite replaces it
    """Store the answer to `step` in data; the reason it is refused, if it is."""
    if said in CONFIRM | EDIT and step in QUESTIONS:
        # "确认" typed one step early is a reply to the wrong question, not a company called 确认.
        return "还差一项信息。" + QUESTIONS[step]
    if step == DraftStep.ENTERPRISE:
        if not 2 <= len(said) <= 60:
            return "企业名称请填写 2 到 60 个字。" + QUESTIONS[DraftStep.ENTERPRISE]
        data["enterprise"] = said
    elif step == DraftStep.CONTACT:
        if not 1 <= len(said) <= 20:
            return "称呼请填写 1 到 20 个字。" + QUESTIONS[DraftStep.CONTACT]
        data["contact"] = said
    elif step == DraftStep.PHONE:
        phone = _phone(said)
        if phone is None:
            return "电话号码好像不对，请发送 11 位手机号或带区号的座机号（如 029-87296123）。"
        data["phone"] = phone
    elif step == DraftStep.STREET:
        if said in SKIP:
            data["street"] = ""
        else:
            unit = dispatch.street_unit(session=session, street=said)
            if unit is None:
                return f"没有找到这个街道。请回复：{'、'.join(_streets(session))}；不清楚请回复“不清楚”。"
            data["street"] = unit.aliases[0] if unit.aliases else unit.name
    elif step == DraftStep.PLACE:
        if not 2 <= len(said) <= 200:
            return "地点请写 2 到 200 个字。" + QUESTIONS[DraftStep.PLACE]
        data["place"] = said
    return None


def _save(session: Session, row: AppealDraft, data: dict[str, Any], now: datetime, prefix: str = "") -> str:
    row.step, row.data, row.updated_at = _next_step(data), data, now
    return prefix + _question(session, row.step, data)


def _start(session: Session, openid: str, said: str, result: MatchResult, now: datetime) -> str:
    rules = load_rules(session=session)
    code = result.category.code if result.category else rules.default_category
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None:
        return "抱歉，诉求类别设置有误，请稍后再试或拨打 12345。"
    lead = result.lead_unit if result.category is not None and result.category.code == category.code else None
    data: dict[str, Any] = {
        "description": said[:2000],
        "category": category.code,
        "category_name": category.name,
        "lead_unit": lead or category.lead_unit.name,
        "co_units": [unit.name for unit in category.co_units],
        "asks_place": category.asks_place,
        # Too close to call (or no category fits): 区营商办 triages it, with the candidates the bot weighed.
        "triage": result.triage,
        "candidates": [candidate.unit for candidate in result.candidates],
    }
    understood = _understood(said, session)
    data.update(understood)
    row = AppealDraft(openid=openid, step="", data={}, updated_at=now)
    session.add(row)
    intro = f"您反映的问题属于“{category.name}”，{_handled_by(data, intro=True)}。"
    if understood:
        labels = {"enterprise": "企业", "contact": "联系人", "phone": "电话", "street": "街道"}
        intro += "已记下：" + "；".join(f"{labels[key]} {value}" for key, value in understood.items()) + "。"
    intro += "\n为便于承办单位联系您，还需要几项信息（回复“取消”可放弃）。\n"
    return _save(session, row, data, now, prefix=intro)


def _handled_by(data: dict[str, Any], *, intro: bool = False) -> str:
    """Who will handle the appeal, as the enterprise reads it."""
    if data.get("triage"):
        return "将由区营商办分拨到责任单位办理"
    return f"牵头办理单位：{data['lead_unit']}" if intro else f"{data['lead_unit']}牵头办理"


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


def _rate(session: Session, openid: str, rating: Rating, now: datetime) -> str | None:
    appeal = session.scalar(
        select(Appeal)
        .where(Appeal.openid == openid, Appeal.state == AppealState.ANSWERED)
        .order_by(Appeal.answered_at.desc())
    )
    if appeal is None:
        return None
    if rating == Rating.DISSATISFIED:
        reasons = load_rules(session=session).dissatisfaction_reasons
        session.add(
            AppealDraft(
                openid=openid,
                step=DraftStep.RATE_REASON,
                updated_at=now,
                data={"appeal_id": appeal.id, "reference": appeal.reference},
            )
        )
        options = "\n".join(f"{number}. {reason.name}" for number, reason in enumerate(reasons, 1))
        return f"很抱歉让您不满意。请回复序号告诉我们原因：\n{options}"
    lifecycle.visit(session=session, appeal_id=appeal.id, actor=Actor.enterprise(openid), rating=rating, now=now)
    return f"感谢您的评价（{rating}）！诉求 {appeal.reference} 已办结。"


def _rate_reason(session: Session, row: AppealDraft, said: str, now: datetime) -> str:
    reasons = load_rules(session=session).dissatisfaction_reasons
    if not said.isdigit() or not 1 <= int(said) <= len(reasons):
        return f"请回复 1 到 {len(reasons)} 之间的序号，或回复“取消”。"
    reason = reasons[int(said) - 1]
    try:
        appeal = lifecycle.visit(
            session=session,
            appeal_id=int(row.data["appeal_id"]),
            actor=Actor.enterprise(row.openid),
            rating=Rating.DISSATISFIED,
            reason_code=reason.code,
            now=now,
        )
    except Refused as exc:
        session.delete(row)
        return str(exc)
    session.delete(row)
    if appeal.state == AppealState.HANDLING:
        unit = session.get(Unit, appeal.unit_id)
        name = unit.name if unit else "承办单位"
        return f"已收到。诉求 {appeal.reference} 已重新交由{name}办理，办理后会再次答复您。"
    return f"已记录您的评价和原因（{reason.name}）。诉求 {appeal.reference} 已办结，我们会继续改进工作。"


def _forwarded(session: Session, openid: str, now: datetime) -> str | None:
    """An answer to the unit that wrote to the enterprise lately: acknowledged; staff read it in the console."""
    row = session.execute(
        select(Appeal.reference, Unit.name)
        .join(AppealEvent, AppealEvent.appeal_id == Appeal.id)
        .join(Unit, Unit.id == Appeal.unit_id)
        .where(
            Appeal.openid == openid,
            Appeal.state.in_(TALKING),
            AppealEvent.action.in_((Action.MESSAGE, Action.SUSPEND)),
            AppealEvent.at >= now - TALK_WINDOW,
        )
        .order_by(AppealEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return f"已收到，您的留言已转给{row.name}（诉求 {row.reference}），工作人员会尽快回复您。"


def progress(session: Session, openid: str, reference: str | None, now: datetime) -> str:
    """The progress reply (sync, for callers that hold a session)."""
    calendar = load_calendar(session=session)
    if reference:
        view = views.show_appeal(session=session, reference=reference, now=now)
        if view is None or session.scalar(select(Appeal.openid).where(Appeal.id == view.id)) != openid:
            return f"没有找到您提交的编号为 {reference} 的诉求，请核对编号。"
        found = [view]
    else:
        found = views.appeals_of(session=session, openid=openid, now=now)
        if not found:
            return "您目前没有在办的诉求。如需反映问题，请直接描述您遇到的情况。"
    blocks = []
    for view in found:
        lines = [
            f"{view.reference}（{view.category[1]}）",
            f"状态：{view.state.label}",
            f"承办单位：{view.unit}",
        ]
        upcoming = view.next_deadline()
        if upcoming is not None:
            name = UPCOMING[upcoming.stage]
            flag = "（暂定）" if upcoming.provisional else ""
            suffix = "，等待您补充材料，期限暂停计算" if upcoming.status == DeadlineStatus.PAUSED else ""
            lines.append(f"下一期限：{name} {local_text(upcoming.due_at, calendar)}{flag}{suffix}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
