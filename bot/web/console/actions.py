"""The appeal page's forms: each POST runs one routing service call as the signed-in user, then redirects.

A refused action shows the page again with the domain's message and what was typed; an appeal the
user's scope may not see is a 404, as on the page itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import Role
from bot.web.bounds import whole_number
from bot.web.console.appeal_pages import appeal_response, staffed_units
from bot.web.console.common import ConsoleUser, actor, deliver_soon, not_found, run, scope
from bot.web.deps import ServicesDep
from policies import service as policy_service
from policies.replies import format_policy_card
from routing import conversation as talk
from routing import dispatch, extensions, lifecycle, queue, rectification
from routing.lifecycle import Actor, Refused
from routing.models import Action, Appeal, Unit

router = APIRouter(prefix="/console", include_in_schema=False)
MILESTONE_ROWS = 5
Form = dict[str, str]


def _int(form: Form, key: str, what: str) -> int:
    value = whole_number(form.get(key, ""))
    if value is None:
        raise Refused(f"{what}请填写整数")
    return value


def _message(session: Session, appeal: Appeal, who: Actor, form: Form, now: datetime) -> str:
    text = form.get("text", "").strip()
    quick = form.get("quick", "")
    chosen = whole_number(quick)
    if not text and chosen is not None:
        replies = talk.quick_replies(session=session)
        if chosen < len(replies):
            unit = session.get(Unit, appeal.unit_id)
            text = talk.fill(replies[chosen].text, appeal=appeal, unit=unit.name if unit else "")
    code = form.get("policy", "").strip()
    if code:
        doc = policy_service.published_doc(session=session, code=code, today=now.astimezone(UTC).date())
        if doc is None:
            raise Refused(f"政策 {code} 已下线或不存在，请重新选择")
        text = f"{text}\n\n{format_policy_card(doc)}" if text else format_policy_card(doc)
    asks = True if form.get("asks") == "yes" else None  # unticked: a question mark decides
    talk.send_message(session=session, appeal_id=appeal.id, actor=who, text=text, asks=asks, now=now)
    return "message"


def _plan(session: Session, appeal: Appeal, who: Actor, form: Form, now: datetime) -> str:
    milestones = []
    for row in range(1, MILESTONE_ROWS + 1):
        title, due = form.get(f"title_{row}", "").strip(), form.get(f"due_{row}", "").strip()
        if not title and not due:
            continue
        if not title or not due:
            raise Refused(f"整改节点第 {row} 行需要同时填写内容和日期")
        try:
            milestones.append((title, date.fromisoformat(due)))
        except ValueError:
            raise Refused(f"整改节点第 {row} 行的日期「{due}」无效，请按 2026-12-31 的格式填写") from None
    rectification.file_plan(
        session=session, appeal_id=appeal.id, actor=who, milestones=milestones, note=form.get("note", ""), now=now
    )
    return "planned"


def _decide(session: Session, appeal: Appeal, who: Actor, form: Form, now: datetime) -> str:
    approve = form.get("decision") == "approve"
    extensions.decide_extension(
        session=session, appeal_id=appeal.id, actor=who, approve=approve, note=form.get("note", ""), now=now
    )
    return "extension_approved" if approve else "extension_rejected"


def _visit(session: Session, appeal: Appeal, who: Actor, form: Form, now: datetime) -> str:
    lifecycle.visit(
        session=session,
        appeal_id=appeal.id,
        actor=who,
        rating=form.get("rating", ""),
        reason_code=form.get("reason_code") or None,
        note=form.get("note", ""),
        now=now,
    )
    return "visited"


class Unstaffed(Refused):
    """A transfer to a unit that has no active console account: nobody there could sign for it."""


def _staffed(session: Session, form: Form) -> None:
    """Refuse (until confirmed) to send an appeal to a unit without an active console account."""
    name = form.get("unit", "").strip()
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is None or unit.id in staffed_units(session) or form.get("confirm_unstaffed") == "yes":
        return
    raise Unstaffed(
        f"「{unit.name}」还没有可用的工作台账号，转过去后没有人能签收，诉求会一直停在待签收。"
        "请先请管理员为该单位开通账号；如确需现在转派，请勾选“该单位没有账号也转派”后再提交。"
    )


def _transfer(session: Session, appeal: Appeal, who: Actor, form: Form, now: datetime) -> str:
    _staffed(session, form)
    unit, reason = form.get("unit", ""), form.get("reason", "")
    dispatch.transfer(session=session, appeal_id=appeal.id, actor=who, unit=unit, reason=reason, now=now)
    return "transferred"


def _arbitrate(session: Session, appeal: Appeal, who: Actor, form: Form, now: datetime) -> str:
    _staffed(session, form)
    unit, reason = form.get("unit", ""), form.get("reason", "")
    dispatch.arbitrate(session=session, appeal_id=appeal.id, actor=who, unit=unit, reason=reason, now=now)
    return "arbitrated"


Handler = Callable[[Session, Appeal, Actor, Form, datetime], object]
# Keyed by Action; a str key type, since the action comes from the URL.
HANDLERS: dict[str, Handler] = {
    Action.SIGN: lambda s, a, who, f, now: lifecycle.sign(session=s, appeal_id=a.id, actor=who, now=now),
    Action.MESSAGE: _message,
    Action.PHONE: lambda s, a, who, f, now: talk.phoned(
        session=s, appeal_id=a.id, actor=who, note=f.get("note", ""), now=now
    ),
    Action.SUSPEND: lambda s, a, who, f, now: lifecycle.suspend(
        session=s, appeal_id=a.id, actor=who, reason=f.get("reason", ""), now=now
    ),
    Action.RESUME: lambda s, a, who, f, now: lifecycle.resume(
        session=s, appeal_id=a.id, actor=who, note=f.get("note", ""), now=now
    ),
    Action.RETURN: lambda s, a, who, f, now: dispatch.return_appeal(
        session=s,
        appeal_id=a.id,
        actor=who,
        reason_code=f.get("reason_code") or None,
        reason=f.get("reason", ""),
        now=now,
    ),
    Action.TRANSFER: _transfer,
    Action.ARBITRATE: _arbitrate,
    Action.RECATEGORIZE: lambda s, a, who, f, now: dispatch.recategorize(
        session=s, appeal_id=a.id, actor=who, category=f.get("category", ""), reason=f.get("reason", ""), now=now
    ),
    Action.REQUEST_EXTENSION: lambda s, a, who, f, now: extensions.request_extension(
        session=s, appeal_id=a.id, actor=who, days=_int(f, "days", "延期天数"), reason=f.get("reason", ""), now=now
    ),
    Action.DECIDE_EXTENSION: _decide,
    Action.PLAN: _plan,
    Action.REPORT_MILESTONE: lambda s, a, who, f, now: rectification.report_milestone(
        session=s,
        appeal_id=a.id,
        actor=who,
        position=_int(f, "position", "节点序号"),
        progress=f.get("progress", ""),
        now=now,
    ),
    Action.ANSWER: lambda s, a, who, f, now: lifecycle.answer(
        session=s, appeal_id=a.id, actor=who, text=f.get("text", ""), solved=f.get("solved") != "no", now=now
    ),
    Action.VISIT: _visit,
    Action.CLOSE: lambda s, a, who, f, now: lifecycle.close(
        session=s, appeal_id=a.id, actor=who, reason=f.get("reason", ""), now=now
    ),
}
# The notice shown after an action whose handler does not choose one itself.
DONE: dict[str, str] = {
    Action.SIGN: "signed",
    Action.PHONE: "phoned",
    Action.SUSPEND: "suspended",
    Action.RESUME: "resumed",
    Action.RETURN: "returned",
    Action.TRANSFER: "transferred",
    Action.ARBITRATE: "arbitrated",
    Action.REQUEST_EXTENSION: "extension_requested",
    Action.REPORT_MILESTONE: "milestone",
    Action.ANSWER: "answered",
    Action.CLOSE: "closed",
    Action.RECATEGORIZE: "recategorized",
}


# Actions that add an example for the matcher (routing.examples).
LEARNED = {Action.SIGN, Action.TRANSFER, Action.ARBITRATE}


@router.post("/appeals/{reference}/{action}")
async def take_action(
    request: Request, user: ConsoleUser, services: ServicesDep, reference: str, action: str
) -> Response:
    """Run one action on the appeal as this user; the page again with the reason when it is refused."""
    handler = HANDLERS.get(action)
    if handler is None:
        raise HTTPException(404, "没有这个操作")
    form: Form = {key: str(value)[:4000] for key, value in (await request.form()).items() if key != "csrf_token"}
    unit_id, who, now = scope(user), actor(user), datetime.now(UTC)

    def work(session: Session) -> tuple[str, bool, str]:
        appeal = queue.visible(session=session, reference=reference[:32], unit_id=unit_id)
        if appeal is None:
            raise not_found()
        result = handler(session, appeal, who, form, now)
        done = result if isinstance(result, str) else DONE[action]
        return done, unit_id is None or appeal.unit_id == unit_id, appeal.reference

    try:
        done, still_visible, ref = await run(request, work)
    except Refused as refused:
        return await appeal_response(
            request,
            user,
            reference[:32],
            status=422,
            error=str(refused),
            action=action,
            values=form,
            confirm=isinstance(refused, Unstaffed),
            services=services,
        )
    deliver_soon(services)
    if action in LEARNED:  # the routing was confirmed or corrected: the matcher learns it at once
        await services.match_index.notify_changed()
    target = f"/console/appeals/{ref}?done={done}" if still_visible else f"/console/?done={done}"
    if form.get("back") == "supervise" and user.role == Role.SUPERVISOR:
        target = f"/console/supervise?done={done}"
    return RedirectResponse(target, status_code=303)
