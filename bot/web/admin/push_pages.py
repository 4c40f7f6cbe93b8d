"""Admin pages of 政策找人: a policy's push preview (who, how many, the exact message) and its confirmation, the
campaigns and their reports, 兑现 records and the 应享未享 list of a policy."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bot.web.admin.enterprise_pages import save_upload
from bot.web.auth import AdminUser
from bot.web.bounds import whole_number
from bot.web.deps import ServicesDep, Today, in_transaction
from bot.web.pages import render
from enterprises import service as enterprise_service
from policies import campaigns, redemptions, service
from policies.models import Campaign, CampaignState, Delivery, DeliveryState, Policy, PushKind
from tabular import MB

router = APIRouter(prefix="/admin", include_in_schema=False)
SHOWN_TARGETS = 20
SHOWN_DELIVERIES = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The campaign report's figures: (label, the states they count).
FIGURES = (
    ("已发出", (DeliveryState.SENT, DeliveryState.DELIVERED)),
    ("已送达", (DeliveryState.DELIVERED,)),
    ("失败", (DeliveryState.FAILED,)),
    ("已退订", (DeliveryState.UNSUBSCRIBED,)),
    ("超出每周上限", (DeliveryState.OVER_QUOTA,)),
    ("已不符合条件", (DeliveryState.INELIGIBLE,)),
    ("无法触达", (DeliveryState.UNREACHABLE,)),
    ("待发送", (DeliveryState.QUEUED, DeliveryState.SENDING)),
    ("结果待确认", (DeliveryState.UNCERTAIN,)),
    ("已停止", (DeliveryState.STOPPED,)),
)


def _policy(session: Session, policy_id: int) -> Policy:
    policy = service.get(session=session, policy_id=policy_id)
    if policy is None:
        raise HTTPException(404, "没有这条政策")
    return policy


@router.get("/policies/{policy_id}/push")
async def preview_push(
    request: Request, user: AdminUser, services: ServicesDep, today: Today, policy_id: int, published: int = 0
) -> Response:
    """Who the policy would be pushed to and the exact messages; nothing is sent until the admin confirms."""

    def load(session: Session) -> tuple[Policy, campaigns.Preview, Campaign | None]:
        policy = _policy(session, policy_id)
        found = campaigns.preview(session=session, policy=policy, today=today)
        return policy, found, campaigns.existing(session=session, policy=policy, kind=PushKind.NEW)

    policy, found, existing = await in_transaction(request, load)
    notice = "政策已发布。可将它推送给符合条件的企业：" if published else ""
    sample = [target for target in found.targets if target.openids][:SHOWN_TARGETS]
    return render(
        request, "admin/push_preview.html", policy=policy, preview=found, sample=sample, existing=existing,
        notice=notice, unbound=found.eligible - found.bound, blocked=campaigns.refusal(policy, today) is not None,
        push=services.settings.push,
    )  # fmt: skip


@router.post("/policies/{policy_id}/push")
async def confirm_push(request: Request, user: AdminUser, today: Today, policy_id: int) -> Response:
    """Create the campaign of the policy's current version; the workers send it within the push rules."""
    version = whole_number(str((await request.form()).get("version") or "0"))
    if version is None:
        raise HTTPException(422, "表单中的版本号无效，请重新打开推送页面")

    def create(session: Session) -> int:
        policy = _policy(session, policy_id)
        if policy.version != version:
            raise campaigns.CampaignRefused("预览之后政策已被修改，请重新预览后再确认")
        return campaigns.create(
            session=session, policy=policy, author=user.username, today=today, now=datetime.now(UTC)
        ).id

    try:
        campaign_id = await in_transaction(request, create)
    except campaigns.CampaignExists as exists:
        return RedirectResponse(f"/admin/campaigns/{exists.campaign_id}", status_code=303)
    except campaigns.CampaignRefused as refused:
        return render(request, "error.html", status=409, title="无法推送", message=str(refused))
    return RedirectResponse(f"/admin/campaigns/{campaign_id}?done=created", status_code=303)


def _summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    counts = campaigns.counts(session=session, campaign_id=campaign.id)
    figures = [(label, sum(counts[str(state)] for state in states)) for label, states in FIGURES]
    total = sum(number for state, number in counts.items() if state != "opened")
    return {"counts": counts, "figures": figures, "messages": total, "opened": counts["opened"]}


@router.get("/campaigns")
async def list_campaigns(request: Request, user: AdminUser) -> Response:
    """Every campaign, newest first, with its figures."""

    def load(session: Session) -> list[tuple[Campaign, Policy, dict[str, Any]]]:
        found = []
        for campaign in campaigns.campaigns(session=session):
            policy = session.get(Policy, campaign.policy_id)
            if policy is not None:
                found.append((campaign, policy, _summary(session, campaign)))
        return found

    rows = await in_transaction(request, load)
    return render(request, "admin/campaigns.html", rows=rows)


@router.get("/campaigns/{campaign_id}")
async def show_campaign(request: Request, user: AdminUser, campaign_id: int, done: str = "") -> Response:
    """One campaign's report: eligible, sent, delivered, failed, opened, unsubscribed …, and its messages."""

    def load(session: Session) -> tuple[Campaign, Policy, dict[str, Any], list[Any]]:
        campaign = session.get(Campaign, campaign_id)
        policy = session.get(Policy, campaign.policy_id) if campaign else None
        if campaign is None or policy is None:
            raise HTTPException(404, "没有这次推送")
        rows = session.execute(
            select(Delivery).where(Delivery.campaign_id == campaign.id).order_by(Delivery.id).limit(SHOWN_DELIVERIES)
        ).scalars().all()  # fmt: skip
        firms = enterprise_service.many(session=session, enterprise_ids=[row.enterprise_id for row in rows])
        listed = [(row, firms.get(row.enterprise_id)) for row in rows]
        return campaign, policy, _summary(session, campaign), listed

    campaign, policy, summary, listed = await in_transaction(request, load)
    notice = "已确认推送：worker 会按发送规则（免打扰时段、每周上限、退订）发送" if done == "created" else ""
    notice = "已停止推送，未发出的消息不再发送" if done == "stopped" else notice
    return render(
        request, "admin/campaign.html", campaign=campaign, policy=policy, listed=listed, notice=notice,
        shown=SHOWN_DELIVERIES, CampaignState=CampaignState, **summary,
    )  # fmt: skip


@router.post("/campaigns/{campaign_id}/stop")
async def stop_campaign(request: Request, user: AdminUser, campaign_id: int) -> Response:
    """Stop a campaign: the messages not sent yet will not be."""

    def stop(session: Session) -> None:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise HTTPException(404, "没有这次推送")
        if campaign.state == CampaignState.SENDING:
            campaigns.stop(session=session, campaign=campaign, now=datetime.now(UTC))

    await in_transaction(request, stop)
    return RedirectResponse(f"/admin/campaigns/{campaign_id}?done=stopped", status_code=303)


@router.get("/policies/{policy_id}/unclaimed.xlsx")
async def unclaimed_list(request: Request, user: AdminUser, today: Today, policy_id: int) -> Response:
    """应享未享: the eligible enterprises of the policy with no 兑现 record, for the responsible unit."""

    def load(session: Session) -> tuple[Policy, bytes]:
        policy = _policy(session, policy_id)
        return policy, redemptions.unclaimed_xlsx(
            redemptions.unclaimed(session=session, policy=policy, today=today), policy
        )

    policy, data = await in_transaction(request, load)
    name = f"应享未享-{policy.code}-{datetime.now(UTC):%Y%m%d}.xlsx"
    disposition = f"attachment; filename=\"unclaimed.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/redemptions")
async def redemptions_page(request: Request, user: AdminUser, added: int = -1, same: int = 0) -> Response:
    """The 兑现 import form."""
    notice = f"导入完成：新增 {added} 条兑现记录，已有 {same} 条" if added >= 0 else ""
    return render(request, "admin/redemptions.html", problems=[], notice=notice)


@router.post("/redemptions/import")
async def import_redemptions(request: Request, user: AdminUser) -> Response:
    """Check the whole file against the register and the policy list, then store every record, or none."""
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, "admin/redemptions.html", status=422, problems=["请选择要导入的文件"], notice="")
    with tempfile.TemporaryDirectory(prefix="appealbot-redemptions-") as folder:
        path = await save_upload(upload, Path(folder), limit=redemptions.LIMITS.max_bytes)
        if path is None:
            problems = [f"文件超过 {redemptions.LIMITS.max_bytes // MB} MB，未导入任何兑现记录"]
            return render(request, "admin/redemptions.html", status=422, problems=problems, notice="")
        checked = await asyncio.to_thread(redemptions.read_file, path, name=Path(upload.filename).name[:200])

    def store(session: Session) -> list[str] | dict[str, int]:
        problems = checked.all_problems() or redemptions.check(session=session, records=checked)
        if problems:
            return [str(problem) for problem in problems]
        return redemptions.import_records(session=session, records=checked.clean(), source=checked.file)

    result = await in_transaction(request, store)
    if isinstance(result, list):
        problems = [*result[:100], f"未导入任何兑现记录（共 {len(result)} 处问题）"]
        return render(request, "admin/redemptions.html", status=422, problems=problems, notice="")
    return RedirectResponse(f"/admin/redemptions?added={result['added']}&same={result['same']}", status_code=303)
