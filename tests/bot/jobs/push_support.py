"""What the push tests share: enterprises and their WeChat users, a policy to push, earlier pushes, the states."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.platform import db
from enterprises import service as enterprise_service
from enterprises.models import Binding, FieldSource
from policies import service as policy_service
from policies.models import Campaign, CampaignState, Delivery, DeliveryState, Policy, PolicyStatus, PushKind
from tests.enterprises.support import code

ZONE = ZoneInfo("Asia/Shanghai")
TEMPLATE = "TPL_POLICY_PUSH"


def local(hour: int, minute: int = 0, *, day: date | None = None) -> datetime:
    """Today (or `day`) at this Beijing time, as a UTC instant."""
    when = day or datetime.now(ZONE).date()
    return datetime(when.year, when.month, when.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@dataclass(frozen=True)
class Firm:
    """An enterprise of a test: its number (for its code), profile and bound users."""

    number: int
    industry: str | None
    size: str | None
    openids: tuple[str, ...] = ()

    @property
    def uscc(self) -> str:
        return code(self.number)


def add_firms(session: Session, firms: Iterable[Firm], *, now: datetime | None = None) -> dict[int, int]:
    """Store the enterprises (as register data) and bind their users; enterprise ids by firm number."""
    ids = {}
    moment = now or datetime.now(UTC)
    for firm in firms:
        values: dict[str, Any] = {
            "name": f"测试企业{firm.number}有限公司",
            "industry": firm.industry,
            "size": firm.size,
        }
        row = enterprise_service.create(
            session=session, uscc=firm.uscc, values=values, source=FieldSource.REGISTER, author="test"
        )
        session.add_all(Binding(openid=openid, enterprise_id=row.id, source=FieldSource.REGISTER, bound_at=moment)
                        for openid in firm.openids)  # fmt: skip
        ids[firm.number] = row.id
    session.flush()
    return ids


def add_policy(session: Session, code_: str, tags: str, *, name: str = "") -> Policy:
    """A published policy with these tags."""
    raw = {
        "code": code_,
        "name": name or f"测试政策{code_}",
        "body": "区工信交通局",
        "content": "一次性奖励10万元。",
        "tags": tags,
    }
    return policy_service.create(session=session, raw=raw, author="admin", status=PolicyStatus.PUBLISHED)


def add_past_pushes(session: Session, enterprise_id: int, openid: str, *, count: int, when: datetime) -> None:
    """Pushes of other policies this enterprise already received (they count towards its weekly limit)."""
    for number in range(count):
        policy = add_policy(session, f"OLD{enterprise_id}-{number}", "类型:补贴")
        campaign = Campaign(
            policy_id=policy.id, policy_version=policy.version, kind=PushKind.NEW, state=CampaignState.DONE,
            created_at=when, eligible=1, bound=1,
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        session.add(
            Delivery(
                campaign_id=campaign.id,
                policy_id=policy.id,
                policy_version=policy.version,
                kind=PushKind.NEW,
                enterprise_id=enterprise_id,
                openid=openid,
                state=DeliveryState.SENT,
                text="旧推送",
                fields={},
                attempts=1,
                claimed_at=when,
                sent_at=when,
            )
        )
    session.flush()


def states(engine: Engine, campaign_id: int | None = None) -> dict[str, str]:
    """Delivery state by openid (of one campaign, when given)."""
    with db.session_factory(engine)() as session:
        statement = select(Delivery.openid, Delivery.state)
        if campaign_id is not None:
            statement = statement.where(Delivery.campaign_id == campaign_id)
        return {openid: str(state) for openid, state in session.execute(statement)}


def received(api: Any, template: str = TEMPLATE) -> dict[str, list[dict[str, Any]]]:
    """Template messages the stand-in received, by openid."""
    snapshot = [(openid, list(items)) for openid, items in list(api.received.items())]  # the stand-in's thread adds
    return {
        openid: [item for item in items if item.get("template_id") == template]
        for openid, items in snapshot
        if any(item.get("template_id") == template for item in items)
    }


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
