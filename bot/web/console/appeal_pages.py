"""One appeal at /console/appeals/{reference}: the conversation, the timeline, every deadline, and the actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts import Role, SignedIn, User, supervisor_unit
from bot.services import Services
from bot.web.console import reads, transcript
from bot.web.console.common import ConsoleUser, chrome, not_found, render, run, scope
from bot.web.deps import ServicesDep
from intents.records import Intent, MatchResult
from policies import service as policy_service
from routing import conversation as talk
from routing import extensions, queue, timers, views, visits
from routing.lifecycle import ALLOWED
from routing.models import Action, Appeal, Category, ExtensionRequest, Stage, Unit
from routing.rules import AUDIENCES, STAGES, load_rules

router = APIRouter(prefix="/console", include_in_schema=False)
NOTICES = {
    "signed": "已签收，已通知企业由本单位办理",
    "message": "回复已发出：通过微信发送给企业（48小时内为客服消息，否则为模板消息）",
    "phoned": "已记录联系企业",
    "suspended": "已挂起：已请企业补充材料，计时暂停",
    "resumed": "已恢复办理，计时继续",
    "transferred": "已转派，已通知企业",
    "arbitrated": "已裁定并派单，已通知企业",
    "extension_requested": "延期申请已提交，等待区营商办审批",
    "extension_approved": "已批准延期，已通知企业新的答复期限",
    "extension_rejected": "已驳回延期申请",
    "planned": "整改计划已提交并告知企业",
    "milestone": "整改进展已报告企业",
    "answered": "答复已发送企业，等待企业评价（回访）后办结",
    "visited": "回访结果已记录",
    "closed": "已办结，已通知企业",
    "recategorized": "已调整类别，办理时限已按新类别重新计算，已告知企业",
}
UNIT_ACTIONS = (Action.SIGN, Action.SUSPEND, Action.RESUME, Action.PLAN, Action.REPORT_MILESTONE, Action.ANSWER)
SUPERVISOR_ACTIONS = (Action.TRANSFER, Action.ARBITRATE, Action.VISIT, Action.CLOSE, Action.RECATEGORIZE)


def staffed_units(session: Session) -> set[int]:
    """Units with at least one active console account of their own (staff or unit head)."""
    return set(
        session.scalars(
            select(User.unit_id).where(
                User.active.is_(True), User.unit_id.is_not(None), User.role.in_((Role.STAFF, Role.UNIT_HEAD))
            )
        )
    )


def supplements(history: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The latest request for material (挂起) and what the enterprise sent since, from the appeal's history."""
    asked_at = max((index for index, item in enumerate(history) if item["action"] == Action.SUSPEND), default=None)
    if asked_at is None:
        return None, []
    sent = [
        {
            "at": item["at"],
            "kind": item["data"].get("kind", "text"),
            "text": item["reason"],
            "url": transcript.safe_url(item["data"].get("url")),
        }
        for item in history[asked_at + 1 :]
        if item["action"] == Action.SUPPLEMENT
    ]
    return history[asked_at], sent


def available(
    appeal: Appeal, user: SignedIn, *, office_id: int | None, pending: bool, reply_running: bool
) -> set[Action]:
    """The actions this user may take on the appeal now (the domain checks again when one is taken)."""
    own, supervisor, state = user.unit_id == appeal.unit_id, user.role == Role.SUPERVISOR, appeal.state
    found = set()
    if own:
        found |= {action for action in UNIT_ACTIONS if state in ALLOWED[action]}
        if state in ALLOWED[Action.RETURN] and not appeal.final_route and appeal.unit_id != office_id:
            found.add(Action.RETURN)
        if state in ALLOWED[Action.REQUEST_EXTENSION] and reply_running and not pending:
            found.add(Action.REQUEST_EXTENSION)
    if (own or supervisor) and state in ALLOWED[Action.MESSAGE]:
        found |= {Action.MESSAGE, Action.PHONE}
    if supervisor:
        found |= {action for action in SUPERVISOR_ACTIONS if state in ALLOWED[action]}
        if pending and state in ALLOWED[Action.DECIDE_EXTENSION]:
            found.add(Action.DECIDE_EXTENSION)
    return found


def appeal_context(session: Session, appeal: Appeal, user: SignedIn, now: datetime) -> dict[str, Any]:
    """Everything the appeal page shows."""
    view = views.show_appeal(session=session, reference=appeal.reference, now=now)
    rules = load_rules(session=session)
    office = supervisor_unit(session=session)
    pending = extensions.pending(session=session, appeal_id=appeal.id)
    reply = timers.running(session=session, appeal_id=appeal.id, stage=Stage.REPLY)
    lines, truncated = transcript.conversation(session=session, appeal=appeal)
    unit_name = session.scalar(select(Unit.name).where(Unit.id == appeal.unit_id)) or ""
    today = now.astimezone(UTC).date()
    asked, sent = supplements(view.history if view else ())
    staffed = staffed_units(session)
    return {
        "asked": asked,
        "supplements": sent,
        "staffed": staffed,
        "categories": session.execute(select(Category.code, Category.name).order_by(Category.code)).all(),
        "phone_visit": appeal.id in visits.awaiting_phone_visit(session=session, now=now),
        "appeal": appeal,
        "view": view,
        "state_label": appeal.state.label,
        "handling_unit": unit_name,
        "urgency_name": rules.urgency_name(appeal.urgency),
        "lines": lines,
        "truncated": truncated,
        "stages": STAGES,
        "audiences": AUDIENCES,
        "can": available(
            appeal,
            user,
            office_id=office.id if office else None,
            pending=pending is not None,
            reply_running=bool(reply),
        ),
        "pending": pending,
        "extensions": list(
            session.scalars(
                select(ExtensionRequest).where(ExtensionRequest.appeal_id == appeal.id).order_by(ExtensionRequest.id)
            )
        ),
        "reply_limit": reply[-1] if reply else None,
        "reply_max_days": rules.reply_max_days,
        "return_reasons": rules.return_reasons,
        "dissatisfaction_reasons": rules.dissatisfaction_reasons,
        "reasons": {reason.code: reason.name for reason in (*rules.return_reasons, *rules.dissatisfaction_reasons)},
        "units": [
            (unit_id, name)
            for unit_id, name in session.execute(select(Unit.id, Unit.name).order_by(Unit.id))
            if unit_id != appeal.unit_id
        ],
        "quick": [
            (quick.name, talk.fill(quick.text, appeal=appeal, unit=unit_name))
            for quick in talk.quick_replies(session=session)
        ],
        "policies": policy_service.published_names(session=session, today=today),
        "stamp": transcript.stamp(session=session, appeal=appeal),
    }


async def appeal_response(
    request: Request,
    user: SignedIn,
    reference: str,
    *,
    status: int = 200,
    error: str = "",
    action: str = "",
    values: dict[str, str] | None = None,
    confirm: bool = False,
    services: Services | None = None,
) -> Response:
    """The appeal page (404 when the user's scope may not see it); marks its conversation read."""
    now = datetime.now(UTC)
    unit_id = scope(user)

    def read(session: Session) -> dict[str, Any]:
        appeal = queue.visible(session=session, reference=reference, unit_id=unit_id)
        if appeal is None:
            raise not_found()
        reads.mark_seen(session=session, appeal_id=appeal.id, user_id=user.user_id, now=now)
        return appeal_context(session, appeal, user, now)

    data = await run(request, read)
    data["why"] = await why_routed(services, data["appeal"]) if services is not None else None
    notice = NOTICES.get(request.query_params.get("done", ""), "") if not error else ""
    return render(
        request,
        "console/appeal.html",
        status=status,
        now=now,
        error=error,
        failed=action,
        values=values or {},
        confirm=confirm,
        notice=notice,
        **data,
        **await chrome(request, user),
    )


@router.get("/appeals/{reference}")
async def appeal_page(request: Request, user: ConsoleUser, services: ServicesDep, reference: str) -> Response:
    """One appeal: what the enterprise said, what happened, what is due, and what can be done."""
    return await appeal_response(request, user, reference[:32], services=services)


async def why_routed(services: Services, appeal: Appeal) -> MatchResult | None:
    """How the bot reads the appeal now: the units it weighs and the nearest labelled examples (None: lexical)."""
    if services.match_index.matcher.learned is None:
        return None
    return await services.match_index.match(appeal.description, intent=Intent.APPEAL)


@router.get("/appeals/{reference}/live")
async def appeal_live(request: Request, user: ConsoleUser, reference: str) -> Response:
    """The appeal page's stamp, polled by the page: when it changes, the page fetches itself again."""
    unit_id = scope(user)

    def read(session: Session) -> str:
        appeal = queue.visible(session=session, reference=reference[:32], unit_id=unit_id)
        if appeal is None:
            raise not_found()
        return transcript.stamp(session=session, appeal=appeal)

    return JSONResponse({"stamp": await run(request, read)}, headers={"Cache-Control": "no-store"})
