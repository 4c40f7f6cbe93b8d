"""What the enterprise's appeals wait for, as waits of the chat (bot.chat.waiting): 补充材料 while 挂起, 评价
after 答复, the confirmation of a reported 整改 milestone, the answer to a question staff asked.

Material and answers go to the appeal whatever they say (text, images, voice, files) and the unit is told; a
rating is taken only when the message gives one. Every message taken is linked to its appeal.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.chat import messages
from bot.chat.models import Attached
from bot.chat.ratings import read_rating
from bot.chat.waiting import Message, Taken, Waiting
from routing import enterprise_replies, lifecycle
from routing.awaiting import Awaited, Awaits, awaiting
from routing.lifecycle import Actor, Refused
from routing.models import AppealDraft, Rating
from routing.rules import load_rules

CONFIRMS = {"确认", "确定", "是", "是的", "对", "好", "好的", "已完成", "完成了", "确认完成", "没问题", "可以", "收到"}
RATE_REASON = "rate_reason"  # the draft step that waits for the reason of a 不满意 (bot.chat.appeals.DraftStep)


def label(item: Awaited) -> str:
    """What the enterprise reads about this wait."""
    if item.kind == Awaits.SUPPLEMENT:
        return f"您的诉求 {item.reference} 正在等待您补充：{item.what}"
    if item.kind == Awaits.RATING:
        return f"您的诉求 {item.reference} 已答复，正在等待您的评价（回复 满意 / 基本满意 / 不满意）"
    if item.kind == Awaits.MILESTONE:
        return f"您的诉求 {item.reference} 正在等待您确认整改进展：{item.what}"
    return f"{item.unit}就诉求 {item.reference} 问您：{item.what}"


class AppealWaits:
    """The source of the waits of appeals (routing.awaiting)."""

    kinds = tuple(Awaits)

    def waiting(self, session: Session, message: Message) -> list[Waiting]:
        return [
            Waiting(
                kind=item.kind,
                key=item.key,
                since=item.since,
                label=label(item),
                appeal_id=item.appeal_id,
                reference=item.reference,
                greedy=item.kind != Awaits.RATING,
                data={"unit": item.unit, "what": item.what, "position": item.position, "count": item.count},
            )
            for item in awaiting(session=session, openid=message.openid, now=message.now)
        ]

    def take(self, session: Session, waiting: Waiting, message: Message) -> Taken | None:
        if waiting.appeal_id is None:
            return None
        if waiting.kind == Awaits.SUPPLEMENT:
            return _supplement(session, waiting, message)
        if waiting.kind == Awaits.RATING:
            return _rating(session, waiting, message)
        if waiting.kind == Awaits.MILESTONE:
            return _milestone(session, waiting, message)
        return _answer(session, waiting, message)


def _supplement(session: Session, waiting: Waiting, message: Message) -> Taken:
    assert waiting.appeal_id is not None
    done = enterprise_replies.supplement(
        session=session,
        appeal_id=waiting.appeal_id,
        openid=message.openid,
        attachment=message.attachment(),
        now=message.now,
    )
    messages.link(session, key=message.key, attached_as=Attached.SUPPLEMENT, appeal_id=waiting.appeal_id)
    kind = {"image": "图片", "voice": "语音", "file": "文件", "link": "链接"}.get(message.kind, "补充内容")
    head = f"已收到您的{kind}，已作为诉求 {waiting.reference} 的补充材料转给{done.unit}（本次已补充 {done.count} 条）。"
    if done.resumed:
        return Taken(f"{head}\n诉求已恢复办理，办理时限继续计算。")
    return Taken(
        f"{head}\n工作人员确认材料齐全后即恢复办理、继续计时，届时会通知您。"
        "还有材料可以继续发送；要咨询其他问题，请回复“新问题”。"
    )


def _rating(session: Session, waiting: Waiting, message: Message) -> Taken | None:
    assert waiting.appeal_id is not None
    if message.kind not in {"text", "voice"} or not message.said:
        return None
    rated = read_rating(message.said, numbers=not message.choice_pending)
    if rated is None:
        return None
    messages.link(session, key=message.key, attached_as=Attached.RATING, appeal_id=waiting.appeal_id)
    if rated.rating == Rating.DISSATISFIED:
        reasons = load_rules(session=session).dissatisfaction_reasons
        row = session.get(AppealDraft, message.openid, with_for_update=True)
        if row is not None:
            session.delete(row)
            session.flush()
        data = {"appeal_id": waiting.appeal_id, "reference": waiting.reference, "comment": rated.comment}
        session.add(AppealDraft(openid=message.openid, step=RATE_REASON, data=data, updated_at=message.now))
        options = "\n".join(f"{number}. {reason.name}" for number, reason in enumerate(reasons, 1))
        noted = "您的意见已记下。" if rated.comment else ""
        return Taken(f"很抱歉让您不满意。{noted}请回复序号告诉我们原因：\n{options}")
    try:
        lifecycle.visit(
            session=session,
            appeal_id=waiting.appeal_id,
            actor=Actor.enterprise(message.openid),
            rating=rated.rating,
            comment=rated.comment,
            now=message.now,
        )
    except Refused as refused:
        return Taken(str(refused))
    noted = f"\n您的意见已转给{waiting.data.get('unit', '承办单位')}：“{rated.comment}”" if rated.comment else ""
    return Taken(f"感谢您的评价（{rated.rating}）！诉求 {waiting.reference} 已办结。{noted}")


def _milestone(session: Session, waiting: Waiting, message: Message) -> Taken:
    assert waiting.appeal_id is not None
    confirmed = message.kind == "text" and message.word in CONFIRMS
    attachment = message.attachment()
    milestone = enterprise_replies.milestone_reply(
        session=session,
        appeal_id=waiting.appeal_id,
        openid=message.openid,
        position=int(waiting.data.get("position") or 0),
        confirmed=confirmed,
        text=attachment.text if message.kind in {"text", "voice"} else f"{attachment.text} {attachment.url}".strip(),
        now=message.now,
    )
    messages.link(session, key=message.key, attached_as=Attached.MILESTONE, appeal_id=waiting.appeal_id)
    which = f"诉求 {waiting.reference} 整改第 {milestone.position} 项「{milestone.title}」"
    if confirmed:
        return Taken(f"已确认{which}完成，谢谢您的反馈。")
    return Taken(f"已将您的意见转给{waiting.data.get('unit', '承办单位')}（{which}），工作人员会尽快回复您。")


def _answer(session: Session, waiting: Waiting, message: Message) -> Taken:
    assert waiting.appeal_id is not None
    unit = enterprise_replies.answer_staff(
        session=session,
        appeal_id=waiting.appeal_id,
        openid=message.openid,
        attachment=message.attachment(),
        now=message.now,
    )
    messages.link(session, key=message.key, attached_as=Attached.ANSWER, appeal_id=waiting.appeal_id)
    return Taken(f"已收到，您的回复已转给{unit}（诉求 {waiting.reference}），工作人员会尽快处理。")
