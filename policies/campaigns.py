"""Campaigns (政策找人): who a policy would be pushed to and the exact message (the preview), the campaign an admin
confirms (one delivery per WeChat user), its counts, and the 申报截止 reminders that fall due.

Callers own the transaction. Sending is the worker's (bot/jobs/push_jobs.py, with policies.deliveries).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enterprises import service as enterprise_service
from enterprises.eligibility import Profile, conditions, evaluate
from policies.columns import DEADLINE
from policies.eligible import eligible_ids
from policies.models import (
    Campaign,
    CampaignState,
    Delivery,
    DeliveryState,
    Policy,
    PolicyStatus,
    PolicyTag,
    PushKind,
)
from policies.replies import mode_label, short_body, summary

# A delivery in one of these states told (or may have told) its user of the policy.
TOLD = (DeliveryState.SENDING, DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.UNCERTAIN)
WAITING = (DeliveryState.QUEUED, DeliveryState.SENDING)


class CampaignRefused(ValueError):
    """The policy cannot be pushed now; the message says why."""


class CampaignExists(ValueError):
    """This version of the policy has been pushed (or is being pushed) already."""

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(f"该政策的第 {campaign.policy_version} 版已创建过推送（编号 {campaign.id}）")
        self.campaign_id = campaign.id  # kept: the campaign's row expires when the transaction rolls back


def deadline_of(policy: Policy) -> date | None:
    """The policy's 申报截止 (a tag), if it has one."""
    value = (policy.tags or {}).get(DEADLINE)
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def message(policy: Policy, *, reason: str, kind: PushKind) -> tuple[str, dict[str, str]]:
    """The push as a customer-service text and as template-message fields (first, keyword1-3, remark)."""
    deadline = deadline_of(policy)
    until = f"{deadline.year}年{deadline.month}月{deadline.day}日" if deadline else ""
    reply = "回复“详情”查看申报条件和材料；回复“退订”不再接收推送。"
    if kind == PushKind.REMINDER:
        heading, first = f"【申报截止提醒】{policy.name}将于{until}截止申报", "惠企政策申报即将截止"
    else:
        heading, first = f"【政策推送】{policy.name}", "您的企业可能符合一项惠企政策"
    lines = [heading, f"{reason}。", f"优惠内容：{summary(policy.content)}", f"兑现方式：{mode_label(policy.mode)}"]
    if until and kind == PushKind.NEW:
        lines.append(f"申报截止：{until}")
    lines.append(reply)
    fields = {
        "first": first,
        "keyword1": policy.name,
        "keyword2": short_body(policy.body, limit=20),
        "keyword3": str(policy.mode) + (f"，{until}截止" if until else ""),
        "remark": f"{reason}。{reply}",
    }
    return "\n".join(lines), fields


@dataclass(frozen=True)
class Target:
    """An eligible enterprise, its bound WeChat users and the exact message they would get."""

    enterprise_id: int
    uscc: str
    name: str
    openids: tuple[str, ...]
    text: str
    fields: dict[str, str]


@dataclass
class Preview:
    """What a campaign would do; nothing is sent or stored."""

    policy: Policy
    kind: PushKind
    targets: list[Target] = field(default_factory=list)  # every eligible enterprise, by code
    warnings: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> int:
        """Enterprises that qualify."""
        return len(self.targets)

    @property
    def bound(self) -> int:
        """Eligible enterprises with at least one bound WeChat user."""
        return sum(1 for target in self.targets if target.openids)

    @property
    def messages(self) -> int:
        """Messages the campaign would send."""
        return sum(len(target.openids) for target in self.targets)

    def as_json(self) -> dict[str, Any]:
        """The shape `appealbot push preview --json` prints (docs/interfaces.md)."""
        return {
            "policy": self.policy.code,
            "eligible": self.eligible,
            "bound": self.bound,
            "enterprises": [
                {"uscc": target.uscc, "name": target.name, "openids": list(target.openids)} for target in self.targets
            ],
        }


def refusal(policy: Policy, today: date) -> str | None:
    """Why the policy cannot be pushed today (not published, or outside its validity); None when it can."""
    if policy.status != PolicyStatus.PUBLISHED:
        return f"政策「{policy.name}」不是已发布状态，不能推送"
    if (policy.valid_from and policy.valid_from > today) or (policy.valid_to and policy.valid_to < today):
        return f"政策「{policy.name}」不在有效期内，不能推送"
    return None


def told_openids(*, session: Session, policy_id: int) -> set[str]:
    """The users who were told (or may have been told) of the policy, in any version."""
    statement = select(Delivery.openid).where(Delivery.policy_id == policy_id, Delivery.state.in_(TOLD)).distinct()
    return set(session.scalars(statement))


def preview(*, session: Session, policy: Policy, today: date, kind: PushKind = PushKind.NEW) -> Preview:
    """Every enterprise the policy fits, its users and the exact message; for a reminder, only untold users."""
    found = Preview(policy=policy, kind=kind)
    refused = refusal(policy, today)
    if refused:
        found.warnings.append(refused)
    rules = conditions(policy.tags or {})
    if rules.none:
        found.warnings.append("这条政策没有行业、规模、资质等适用条件标签：将推送给全部已绑定企业，请确认")
    if rules.unreadable:
        found.warnings.append(f"标签{'、'.join(rules.unreadable)}无法读取：请先在政策中改正")
    ids = eligible_ids(session=session, policy=policy, today=today)
    enterprises = enterprise_service.many(session=session, enterprise_ids=ids)
    users = enterprise_service.openids(session=session, enterprise_ids=ids)
    told = told_openids(session=session, policy_id=policy.id) if kind == PushKind.REMINDER else set()
    for enterprise in sorted(enterprises.values(), key=lambda row: row.uscc):
        verdict = evaluate(rules, Profile.of(enterprise), today=today)
        text, fields = message(policy, reason=verdict.reason, kind=kind)
        openids = tuple(openid for openid in users.get(enterprise.id, []) if openid not in told)
        found.targets.append(Target(enterprise.id, enterprise.uscc, enterprise.name, openids, text, fields))
    return found


def existing(*, session: Session, policy: Policy, kind: PushKind) -> Campaign | None:
    """The campaign of the policy's current version, if there is one."""
    statement = select(Campaign).where(
        Campaign.policy_id == policy.id, Campaign.policy_version == policy.version, Campaign.kind == kind
    )
    return session.scalars(statement).first()


def create(
    *, session: Session, policy: Policy, author: str, today: date, now: datetime, kind: PushKind = PushKind.NEW
) -> Campaign:
    """Confirm a campaign: one queued delivery per user of every eligible enterprise, with the previewed text."""
    already = existing(session=session, policy=policy, kind=kind)
    if already is not None:
        raise CampaignExists(already)
    refused = refusal(policy, today)
    if refused:
        raise CampaignRefused(refused)
    found = preview(session=session, policy=policy, today=today, kind=kind)
    campaign = Campaign(
        policy_id=policy.id, policy_version=policy.version, kind=kind, state=CampaignState.SENDING,
        eligible=found.eligible, bound=found.bound, created_by=author, created_at=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(campaign)
            session.flush()
    except IntegrityError:  # another admin confirmed the same campaign a moment ago
        raced = existing(session=session, policy=policy, kind=kind)
        raise CampaignExists(raced) if raced else CampaignRefused("推送创建失败，请重试") from None
    rows = [
        {
            "campaign_id": campaign.id,
            "policy_id": policy.id,
            "policy_version": policy.version,
            "kind": kind,
            "enterprise_id": target.enterprise_id,
            "openid": openid,
            "state": DeliveryState.QUEUED,
            "text": target.text,
            "fields": target.fields,
            "attempts": 0,
            "claimed_by": "",
            "error": "",
        }
        for target in found.targets
        for openid in target.openids
    ]
    for start in range(0, len(rows), 1000):
        session.execute(insert(Delivery), rows[start : start + 1000])
    if not rows:
        campaign.state, campaign.finished_at = CampaignState.DONE, now
    return campaign


def counts(*, session: Session, campaign_id: int) -> dict[str, int]:
    """Deliveries by state, and how many were opened."""
    statement = select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id).group_by(Delivery.state)
    found: Counter[str] = Counter({str(state): 0 for state in DeliveryState})
    found.update({str(state): int(number) for state, number in session.execute(statement)})
    opened = select(func.count()).where(Delivery.campaign_id == campaign_id, Delivery.opened_at.is_not(None))
    found["opened"] = int(session.scalar(opened) or 0)
    return dict(found)


def campaigns(*, session: Session, policy_id: int | None = None, limit: int = 100) -> list[Campaign]:
    """Campaigns, newest first (of one policy, when given)."""
    statement = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    if policy_id is not None:
        statement = statement.where(Campaign.policy_id == policy_id)
    return list(session.scalars(statement))


def stop(*, session: Session, campaign: Campaign, now: datetime) -> int:
    """Stop a campaign: its deliveries not sent yet will not be; how many were stopped."""
    rows = session.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign.id, Delivery.state == DeliveryState.QUEUED)
    ).all()
    for row in rows:
        row.state = DeliveryState.STOPPED
    campaign.state, campaign.finished_at = CampaignState.STOPPED, now
    return len(rows)


def close_finished(*, session: Session, now: datetime) -> int:
    """Mark campaigns done when none of their deliveries waits or is uncertain of a template; how many."""
    open_rows = select(Delivery.campaign_id).where(
        Delivery.state.in_([*WAITING, DeliveryState.UNCERTAIN]), Delivery.campaign_id == Campaign.id
    )
    finished = session.scalars(
        select(Campaign).where(Campaign.state == CampaignState.SENDING, ~open_rows.exists())
    ).all()
    for campaign in finished:
        campaign.state, campaign.finished_at = CampaignState.DONE, now
    return len(finished)


def due_reminders(*, session: Session, today: date, days: int) -> list[Policy]:
    """Published policies whose 申报截止 is within `days` days and whose current version has no reminder yet."""
    until = (today + timedelta(days=days)).isoformat()
    statement = (
        select(Policy)
        .join(PolicyTag, PolicyTag.policy_id == Policy.id)
        .where(PolicyTag.key == DEADLINE, PolicyTag.value >= today.isoformat(), PolicyTag.value <= until)
        .where(Policy.status == PolicyStatus.PUBLISHED)
        .order_by(Policy.id)
    )
    found = []
    for policy in session.scalars(statement).unique():
        if refusal(policy, today) is None and existing(session=session, policy=policy, kind=PushKind.REMINDER) is None:
            found.append(policy)
    return found
