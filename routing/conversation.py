"""Staff talking to the enterprise from the console: replies sent over WeChat, phone calls, quick replies.

A reply is queued as an enterprise notice (routing.notify), so it goes by the same path as every other
update: a customer-service message inside WeChat's 48-hour window, else a template message, else the
appeal is flagged for a phone call. The first reply or call after 签收 is the first contact (办理).
Callers own the transaction; nothing here commits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from routing import timers
from routing.lifecycle import Actor, Refused, Step, begin, require_text, require_unit
from routing.models import Action, ActorRole, Appeal, AppealState, NoticeEvent, RoutingSetting, Stage

DEFAULTS = Path(__file__).with_name("quick_replies.json")
MAX_MESSAGE = 2000
PLACEHOLDER = re.compile(r"\{(reference|unit|enterprise|contact)\}")


@dataclass(frozen=True)
class QuickReply:
    """A canned reply staff can start from; placeholders are filled in for the appeal."""

    name: str
    text: str


def quick_replies(*, session: Session) -> list[QuickReply]:
    """The quick replies in force: the routing setting `quick_replies` if admins set one, else the shipped ones."""
    setting = session.get(RoutingSetting, "quick_replies")
    items = setting.value if setting is not None else json.loads(DEFAULTS.read_text(encoding="utf-8"))["quick_replies"]
    return [QuickReply(str(item["name"]), str(item["text"])) for item in items if item.get("name") and item.get("text")]


def fill(template: str, *, appeal: Appeal, unit: str) -> str:
    """A quick reply with {reference}, {unit}, {enterprise} and {contact} filled in (other braces stay)."""
    values = {"reference": appeal.reference, "unit": unit, "enterprise": appeal.enterprise, "contact": appeal.contact}
    return PLACEHOLDER.sub(lambda found: values[found.group(1)], template)


def message_text(appeal: Appeal, *, unit: str, text: str) -> str:
    """What the enterprise reads: which appeal and which unit, then the staff's words."""
    return f"关于您反映的诉求（编号 {appeal.reference}），{unit}回复：\n{text}"


def _may_talk(step: Step) -> str:
    """The handling unit or 区营商办 may talk to the enterprise; the name the enterprise sees."""
    if step.actor.role == ActorRole.SUPERVISOR and step.actor.unit_id != step.appeal.unit_id:
        return step.rules.supervisor_unit
    require_unit(step)
    return step.unit_name(step.appeal.unit_id)


def _contacted(step: Step) -> AppealState:
    """The state after talking to the enterprise: the first contact after 签收 starts 办理."""
    if step.appeal.state != AppealState.SIGNED or step.actor.unit_id != step.appeal.unit_id:
        return step.appeal.state
    timers.stop(session=step.session, appeal_id=step.appeal.id, stage=Stage.CONTACT, now=step.now)
    step.appeal.contacted_at = step.now
    return AppealState.HANDLING


def asks_question(text: str) -> bool:
    """Does a staff message ask the enterprise something (a question mark)? Its answer then goes to the unit."""
    return "？" in text or "?" in text


def send_message(
    *,
    session: Session,
    appeal_id: int,
    actor: Actor,
    text: str,
    asks: bool | None = None,
    now: datetime | None = None,
) -> Appeal:
    """回复企业: queue the staff's message to the enterprise and log it (who, when, what).

    A message that `asks` (by default: one with a question mark) waits for the enterprise's answer: its next
    message in the chat goes to this appeal (bot.chat.appeal_waits).
    """
    step = begin(session=session, appeal_id=appeal_id, action=Action.MESSAGE, actor=actor, now=now)
    unit = _may_talk(step)
    text = require_text(text, "回复内容")
    if len(text) > MAX_MESSAGE:
        raise Refused(f"回复内容最多 {MAX_MESSAGE} 字（现在 {len(text)} 字），请分两条发送")
    question = asks_question(text) if asks is None else asks
    step.move(_contacted(step), reason=text, asks=question)
    step.tell(NoticeEvent.MESSAGE, message_text(step.appeal, unit=unit, text=text))
    return step.appeal


def phoned(*, session: Session, appeal_id: int, actor: Actor, note: str, now: datetime | None = None) -> Appeal:
    """电话联系企业: log the call; the "needs a phone call" flag is cleared."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.PHONE, actor=actor, now=now)
    _may_talk(step)
    note = require_text(note, "通话情况")
    step.appeal.needs_call = False
    step.move(_contacted(step), reason=note)
    return step.appeal
