"""The worker's push jobs (政策找人): settle the sends of workers that died, queue the 申报截止 reminders that fall
due, and send queued deliveries: paced for all workers together, never in the quiet hours, within the daily quota.

Every step claims its rows in the database (policies.deliveries), so any number of workers may run; the claim is
committed before WeChat is called, so a worker killed at any moment sends nothing twice (see policies.deliveries).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.chat.messages import WINDOW
from bot.chat.models import InboundMessage, OutboundMessage, Subscriber
from bot.platform import metrics
from bot.platform.settings import PushSettings, quiet_hours
from bot.services import Services
from bot.wechat.api import UNSUBSCRIBED, SendResult, WeChatApiError
from policies import campaigns, deliveries
from policies.deliveries import Claimed, Limits, Route
from policies.models import DeliveryState, PushChannel, PushKind

log = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"
BATCH = 50
SWEEP_SECONDS = 20.0  # sending stops after this long in one sweep, so that the other jobs run too
RATE_LIMITED = 45009  # WeChat: the API's call quota is used up
REMINDER_AUTHOR = "系统（申报截止提醒）"


def is_quiet(moment: datetime, *, window: str, timezone: str) -> bool:
    """Whether a moment falls in the quiet hours (local time, e.g. 21:00-08:00, which spans midnight)."""
    hours = quiet_hours(window)
    if hours is None:
        return False
    start, end = hours
    local = moment.astimezone(ZoneInfo(timezone)).time()
    return start <= local < end if start <= end else local >= start or local < end


def router(push: PushSettings) -> Any:
    """How each user is reached: the policy-push template, else a customer-service message within 48 hours."""

    def route(session: Session, openids: Sequence[str]) -> dict[str, Route]:
        wanted = list(set(openids))
        gone = set(
            session.scalars(
                select(Subscriber.openid).where(Subscriber.openid.in_(wanted), Subscriber.subscribed.is_(False))
            )
        )
        recent: set[str] = set()
        if not push.template_id:
            since = datetime.now(UTC) - WINDOW
            statement = (
                select(InboundMessage.openid)
                .where(InboundMessage.openid.in_(wanted))
                .group_by(InboundMessage.openid)
                .having(func.max(InboundMessage.received_at) >= since)
            )
            recent = set(session.scalars(statement))
        found: dict[str, Route] = {}
        for openid in wanted:
            if openid in gone:
                found[openid] = DeliveryState.UNSUBSCRIBED
            elif push.template_id:
                found[openid] = PushChannel.TEMPLATE
            else:
                found[openid] = PushChannel.CUSTOMER_SERVICE if openid in recent else DeliveryState.UNREACHABLE
        return found

    return route


def known_msgids(session: Session, msgids: list[int]) -> set[int]:
    """Template msgids that belong to other messages (appeal updates), not to pushes."""
    if not msgids:
        return set()
    statement = select(OutboundMessage.template_msg_id).where(OutboundMessage.template_msg_id.in_(msgids))
    return {int(value) for value in session.scalars(statement) if value is not None}


async def _in_session(services: Services, work: Any) -> Any:
    async with services.sessions() as session, session.begin():
        return await session.run_sync(work)


async def recover(services: Services, *, now: datetime | None = None) -> dict[str, int]:
    """Settle the sends of dead workers (see policies.deliveries.recover)."""
    push = services.settings.push
    moment = now or datetime.now(UTC)
    found: dict[str, int] = await _in_session(
        services,
        lambda session: deliveries.recover(
            session=session,
            now=moment,
            stale_after=timedelta(seconds=push.stale_after),
            confirm_wait=timedelta(seconds=push.confirm_wait),
            known=known_msgids,
        ),
    )
    if any(found.values()):
        log.info("pushes recovered", extra=found)
    return found


async def queue_reminders(services: Services, *, now: datetime | None = None) -> int:
    """Create the reminder campaigns of policies whose 申报截止 is near; how many."""
    moment = now or datetime.now(UTC)
    today = moment.astimezone(ZoneInfo(services.settings.app.timezone)).date()
    days = services.settings.push.reminder_days

    def work(session: Session) -> int:
        created = 0
        for policy in campaigns.due_reminders(session=session, today=today, days=days):
            try:
                with session.begin_nested():
                    campaigns.create(
                        session=session, policy=policy, author=REMINDER_AUTHOR, today=today, now=moment,
                        kind=PushKind.REMINDER,
                    )  # fmt: skip
                created += 1
            except (campaigns.CampaignExists, campaigns.CampaignRefused):
                continue
        return created

    created: int = await _in_session(services, work)
    return created


async def pace(services: Services) -> None:
    """Wait for a slot of the shared rate (push.rate messages a second, all workers together)."""
    allowed = max(1, int(services.settings.push.rate))
    while True:
        second = int(time.time())
        if await services.cache.incr(f"push:rate:{second}", ttl=5) <= allowed:
            return
        await asyncio.sleep(max(0.0, second + 1 - time.time()))


def _outcome(result: SendResult) -> tuple[DeliveryState, str]:
    if result.ok:
        return DeliveryState.SENT, ""
    state = DeliveryState.UNSUBSCRIBED if result.errcode == UNSUBSCRIBED else DeliveryState.FAILED
    return state, f"微信返回 {result.errcode} {result.errmsg}"


async def _send_one(services: Services, item: Claimed) -> bool:
    """Call WeChat for one claimed delivery and record the outcome; False when it was no longer ours to send."""
    api, push = services.api, services.settings.push
    called_at = datetime.now(UTC)
    if not await _in_session(
        services, lambda session: deliveries.mark_called(session=session, delivery_id=item.id, now=called_at)
    ):
        return False
    try:
        if item.channel == PushChannel.TEMPLATE:
            result = await api.send_template(openid=item.openid, template_id=push.template_id, data=item.fields)
        else:
            result = await api.send_text(openid=item.openid, text=item.text)
    except WeChatApiError as exc:  # the request may have reached WeChat: uncertain, never blindly again
        state, msgid, error = DeliveryState.UNCERTAIN, None, f"调用微信接口出错：{exc}"
    else:
        state, error = _outcome(result)
        msgid = result.msgid
        if result.errcode == RATE_LIMITED:
            await _in_session(services, lambda session: deliveries.release(session=session, delivery_ids=[item.id]))
            raise RateLimited
    moment = datetime.now(UTC)
    await _in_session(
        services,
        lambda session: deliveries.finish(
            session=session, delivery_id=item.id, state=state, now=moment, msgid=msgid, error=error
        ),
    )
    metrics.PUSHES.labels(str(state)).inc()
    return True


class RateLimited(Exception):
    """WeChat says the call quota is used up: stop sending until the next sweep."""


async def _send_batch(services: Services, batch: list[Claimed], *, quiet: Any) -> int:
    """Send a claimed batch, a few calls at a time; what is left when quiet hours begin goes back to the queue."""
    gate = asyncio.Semaphore(services.settings.push.concurrency)
    unsent: list[int] = []
    sent = 0

    async def one(item: Claimed) -> None:
        nonlocal sent
        async with gate:
            await pace(services)
            if quiet():
                unsent.append(item.id)
                return
            done = await _send_one(services, item)  # (not `sent += await`: that reads `sent` before awaiting)
            sent += done

    results = await asyncio.gather(*(one(item) for item in batch), return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    if unsent:
        await _in_session(services, lambda session: deliveries.release(session=session, delivery_ids=unsent))
    for failure in failures:
        if not isinstance(failure, RateLimited):
            raise failure
    if failures:
        raise RateLimited
    return sent


def _claim(session: Session, current: datetime, zone: ZoneInfo, limits: Limits, route: Any) -> list[Claimed]:
    local = current.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    return deliveries.claim(
        session=session, now=current, today=local.date(), day_start=day_start, worker=WORKER, limit=BATCH,
        limits=limits, route=route,
    )  # fmt: skip


async def send_due(services: Services, *, now: datetime | None = None, budget: float = SWEEP_SECONDS) -> int:
    """Send queued deliveries until none may go now or the budget is spent; how many were sent."""
    settings = services.settings
    zone = ZoneInfo(settings.app.timezone)
    push = settings.push

    def moment() -> datetime:
        return now or datetime.now(UTC)

    def quiet() -> bool:
        return is_quiet(moment(), window=push.quiet_hours, timezone=settings.app.timezone)

    limits = Limits(weekly=push.weekly_limit, daily=push.daily_limit)
    route = router(push)
    deadline = time.monotonic() + budget
    sent = 0
    while not quiet() and time.monotonic() < deadline:
        batch: list[Claimed] = await _in_session(
            services, lambda session: _claim(session, moment(), zone, limits, route)
        )
        if not batch:
            break
        try:
            sent += await _send_batch(services, batch, quiet=quiet)
        except RateLimited:
            log.warning("wechat rate limit reached: pushes pause until the next sweep")
            break
    return sent


async def sweep(services: Services, *, now: datetime | None = None) -> int:
    """The push jobs of one worker pass; how many messages were sent."""
    await recover(services, now=now)
    await queue_reminders(services, now=now)
    sent = await send_due(services, now=now)
    moment = now or datetime.now(UTC)
    await _in_session(services, lambda session: campaigns.close_finished(session=session, now=moment))
    if sent:
        log.info("pushes sent", extra={"count": sent, "worker": WORKER})
    return sent
