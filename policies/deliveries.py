"""Deliveries of campaigns: claiming them for a worker (退订, the weekly limit and eligibility checked at that
moment), recording outcomes and WeChat's delivery reports, recovering the sends of a worker that died, 退订 itself,
and what a user was last pushed.

Exactly once per (policy version, kind, openid): a delivery row is unique for it, a worker claims a batch (SKIP
LOCKED) and commits the claim, then stamps each row `called_at` (committed) just before its API call. A worker
killed before that stamp never called WeChat: after `stale_after` the row is queued again. A worker killed after
it leaves the row in doubt: it becomes UNCERTAIN and is not sent again until WeChat's delivery report
(TEMPLATESENDJOBFINISH, which names the user) settles it, or `confirm_wait` passes without one (a report later
than that means a second message). A customer-service message has no report: an uncertain one is never sent
again (at most once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from enterprises import service as enterprise_service
from enterprises.eligibility import Profile, conditions, evaluate
from policies.campaigns import TOLD
from policies.models import (
    Campaign,
    CampaignState,
    Delivery,
    DeliveryState,
    Policy,
    PolicyStatus,
    PushChannel,
    PushKind,
    PushOptOut,
    TemplateReport,
)

ALL = "all"  # the opt-out of every kind
WEEK = timedelta(days=7)
REPORT_SKEW = timedelta(seconds=5)  # clocks of WeChat and ours: a report may carry a time just before the claim
# How a worker routes each user: a channel to send on, or the state of a delivery that cannot be sent.
Route = PushChannel | DeliveryState
Router = Callable[[Session, Sequence[str]], dict[str, Route]]


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker now owns: what to send, to whom, how."""

    id: int
    openid: str
    channel: PushChannel
    text: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Limits:
    weekly: int  # pushes per enterprise per 7 days (a campaign counts once, however many of its users it reaches)
    daily: int  # messages a day, all campaigns together (WeChat's daily quota)


def sent_since(*, session: Session, since: datetime) -> int:
    """Messages sent since a moment (WeChat's daily quota counts them)."""
    statement = select(func.count()).where(Delivery.sent_at >= since)
    return int(session.scalar(statement) or 0)


def _recent_pushes(session: Session, enterprise_ids: list[int], now: datetime) -> dict[int, set[tuple[int, int, str]]]:
    statement = (
        select(Delivery.enterprise_id, Delivery.policy_id, Delivery.policy_version, Delivery.kind)
        .where(Delivery.enterprise_id.in_(enterprise_ids), Delivery.state.in_(TOLD), Delivery.claimed_at >= now - WEEK)
        .distinct()
    )
    found: dict[int, set[tuple[int, int, str]]] = {key: set() for key in enterprise_ids}
    for enterprise_id, policy_id, version, kind in session.execute(statement):
        found[enterprise_id].add((policy_id, version, str(kind)))
    return found


def opted_out(*, session: Session, openids: Iterable[str]) -> dict[str, set[str]]:
    """The kinds each user opted out of ("all" for every kind)."""
    found: dict[str, set[str]] = {}
    wanted = list(set(openids))
    for start in range(0, len(wanted), 1000):
        statement = select(PushOptOut.openid, PushOptOut.kind).where(
            PushOptOut.openid.in_(wanted[start : start + 1000])
        )
        for openid, kind in session.execute(statement):
            found.setdefault(openid, set()).add(kind)
    return found


class _Judge:
    """Decides, for the rows of one claim, which may be sent now."""

    def __init__(self, session: Session, rows: list[Delivery], now: datetime, today: date, limits: Limits) -> None:
        ids = sorted({row.enterprise_id for row in rows})
        enterprise_service.lock(session=session, enterprise_ids=ids)  # workers count one enterprise's week in turn
        self.pushes = _recent_pushes(session, ids, now)
        self.profiles = {
            key: Profile.of(row) for key, row in enterprise_service.many(session=session, enterprise_ids=ids).items()
        }
        policy_ids = {row.policy_id for row in rows}
        self.policies = {
            policy.id: policy for policy in session.scalars(select(Policy).where(Policy.id.in_(policy_ids)))
        }
        self.opted = opted_out(session=session, openids=[row.openid for row in rows])
        self.today, self.limits = today, limits

    def state(self, row: Delivery) -> DeliveryState | None:
        """The state a row must take instead of being sent, or None to send it."""
        policy = self.policies.get(row.policy_id)
        if policy is None or policy.status != PolicyStatus.PUBLISHED:
            return DeliveryState.STOPPED
        if {ALL, str(row.kind)} & self.opted.get(row.openid, set()):
            return DeliveryState.UNSUBSCRIBED
        profile = self.profiles.get(row.enterprise_id)
        if profile is None or not evaluate(conditions(policy.tags or {}), profile, today=self.today).eligible:
            return DeliveryState.INELIGIBLE
        key = (row.policy_id, row.policy_version, str(row.kind))
        pushes = self.pushes.setdefault(row.enterprise_id, set())
        if key not in pushes and len(pushes) >= self.limits.weekly:
            return DeliveryState.OVER_QUOTA
        pushes.add(key)
        return None


def claim(
    *,
    session: Session,
    now: datetime,
    today: date,
    day_start: datetime,
    worker: str,
    limit: int,
    limits: Limits,
    route: Router,
) -> list[Claimed]:
    """Take up to `limit` queued deliveries for this worker; those that may not go now get their state instead."""
    room = limits.daily - sent_since(session=session, since=day_start)
    if room <= 0:
        return []
    rows = list(
        session.scalars(
            select(Delivery)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.state == DeliveryState.QUEUED, Campaign.state == CampaignState.SENDING)
            .order_by(Delivery.id)
            .limit(min(limit, room))
            .with_for_update(skip_locked=True, of=Delivery)
        )
    )
    if not rows:
        return []
    judge = _Judge(session, rows, now, today, limits)
    routes = route(session, [row.openid for row in rows])
    claimed = []
    for row in rows:
        skip = judge.state(row)
        way = routes.get(row.openid, DeliveryState.UNREACHABLE)
        if skip is None and isinstance(way, DeliveryState):
            skip = way
        if skip is not None:
            row.state, row.error = skip, skip.label
            continue
        assert isinstance(way, PushChannel)
        row.state, row.channel, row.claimed_at, row.claimed_by = DeliveryState.SENDING, way, now, worker
        row.attempts += 1
        claimed.append(Claimed(row.id, row.openid, way, row.text, dict(row.fields or {})))
    session.flush()
    return claimed


def mark_called(*, session: Session, delivery_id: int, now: datetime) -> bool:
    """Stamp a claimed delivery just before its API call; False when it is no longer this worker's to send."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.SENDING, Delivery.called_at.is_(None))
        .values(called_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def release(*, session: Session, delivery_ids: Sequence[int]) -> None:
    """Put claimed deliveries back in the queue, unsent (quiet hours began, or the rate limit is reached)."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), Delivery.state == DeliveryState.SENDING)
        .values(state=DeliveryState.QUEUED, attempts=Delivery.attempts - 1, called_at=None)
    )


def _apply_report(row: Delivery, report: TemplateReport) -> None:
    delivered = report.status == "success"
    row.state = DeliveryState.DELIVERED if delivered else DeliveryState.FAILED
    row.delivered_at = report.received_at if delivered else None
    row.msgid = report.msgid
    row.error = "" if delivered else f"微信回执：{report.status}"[:255]
    report.matched = True


def finish(
    *,
    session: Session,
    delivery_id: int,
    state: DeliveryState,
    now: datetime,
    msgid: int | None = None,
    error: str = "",
) -> bool:
    """Record how a send ended (a delivery still SENDING, or found UNCERTAIN while its slow call went on); a report
    that came first is applied."""
    row = session.get(Delivery, delivery_id, with_for_update=True)
    if row is None or row.state not in {DeliveryState.SENDING, DeliveryState.UNCERTAIN}:
        return False
    row.state, row.msgid, row.error = state, msgid, error[:255]
    if state == DeliveryState.SENT:
        row.sent_at = now
    if msgid is not None:
        report = session.get(TemplateReport, msgid)
        if report is not None and not report.matched:
            _apply_report(row, report)
    return True


def report(*, session: Session, openid: str, msgid: int, status: str, now: datetime) -> bool:
    """Keep WeChat's delivery report of a template message and apply it to its push, if it is one of ours."""
    stored = session.get(TemplateReport, msgid)
    if stored is None:
        stored = TemplateReport(msgid=msgid, openid=openid, status=status[:64], received_at=now, matched=False)
        session.add(stored)
        session.flush()
    row = session.scalars(select(Delivery).where(Delivery.msgid == msgid).with_for_update()).first()
    if row is None or stored.matched:
        return False
    if row.state in {DeliveryState.SENT, DeliveryState.UNCERTAIN}:
        _apply_report(row, stored)
    return True


def recover(
    *,
    session: Session,
    now: datetime,
    stale_after: timedelta,
    confirm_wait: timedelta,
    known: Callable[[Session, list[int]], set[int]],
) -> dict[str, int]:
    """Sends whose worker died: never called, queued again; called, uncertain. An uncertain template is settled by a
    report naming its user, or queued again after `confirm_wait` without one. `known` says which report msgids
    belong to other messages."""
    stale = session.scalars(
        select(Delivery)
        .where(Delivery.state == DeliveryState.SENDING)
        .where(
            or_(
                and_(Delivery.called_at.is_(None), Delivery.claimed_at < now - stale_after),
                Delivery.called_at < now - stale_after,
            )
        )
        .with_for_update(skip_locked=True)
    ).all()
    released = 0
    for row in stale:
        if row.called_at is None:  # its worker died before calling WeChat
            row.state, row.error = DeliveryState.QUEUED, "发送前 worker 中断：重新排队"
            released += 1
        else:
            row.state, row.error = DeliveryState.UNCERTAIN, "发送时 worker 中断，等待微信回执确认"
    uncertain = session.scalars(
        select(Delivery)
        .where(Delivery.state == DeliveryState.UNCERTAIN, Delivery.channel == PushChannel.TEMPLATE)
        .order_by(Delivery.called_at)
        .with_for_update(skip_locked=True)
    ).all()
    settled = requeued = 0
    for row in uncertain:
        found = _unmatched_report(session, row, known)
        if found is not None:
            _apply_report(row, found)
            settled += 1
        elif (row.called_at or now) < now - confirm_wait:
            row.state, row.called_at, row.error = DeliveryState.QUEUED, None, "未收到微信回执：重新发送"
            requeued += 1
    session.flush()
    return {"released": released, "uncertain": len(stale) - released, "settled": settled, "requeued": requeued}


def _unmatched_report(
    session: Session, row: Delivery, known: Callable[[Session, list[int]], set[int]]
) -> TemplateReport | None:
    assert row.called_at is not None  # an uncertain delivery was called
    since = row.called_at - REPORT_SKEW
    candidates = list(
        session.scalars(
            select(TemplateReport)
            .where(TemplateReport.openid == row.openid, ~TemplateReport.matched, TemplateReport.received_at >= since)
            .order_by(TemplateReport.received_at)
        )
    )
    ours = {value for value in session.scalars(select(Delivery.msgid).where(Delivery.openid == row.openid)) if value}
    elsewhere = known(session, [report.msgid for report in candidates])
    return next((item for item in candidates if item.msgid not in ours and item.msgid not in elsewhere), None)


# -- 退订, and what a user was pushed --


def opt_out(*, session: Session, openid: str, kinds: Iterable[str], now: datetime) -> None:
    """Stop pushes to a user: every kind ("all"), or the kinds given; honoured from the next claim on."""
    current = opted_out(session=session, openids=[openid]).get(openid, set())
    session.add_all(PushOptOut(openid=openid, kind=kind, created_at=now) for kind in set(kinds) - current)
    session.flush()


def opt_in(*, session: Session, openid: str) -> bool:
    """Receive pushes again; False when the user had not opted out."""
    result = session.execute(delete(PushOptOut).where(PushOptOut.openid == openid))
    return bool(getattr(result, "rowcount", 0))


def last_push(*, session: Session, openid: str, since: datetime) -> tuple[Delivery, str] | None:
    """The latest push the user received since a moment, and its policy's code."""
    statement = (
        select(Delivery, Policy.code)
        .join(Policy, Policy.id == Delivery.policy_id)
        .where(Delivery.openid == openid, Delivery.state.in_([DeliveryState.SENT, DeliveryState.DELIVERED]))
        .where(Delivery.sent_at >= since)
        .order_by(Delivery.sent_at.desc())
        .limit(1)
    )
    found = session.execute(statement).first()
    return (found[0], str(found[1])) if found else None


def mark_opened(*, session: Session, delivery_id: int, now: datetime) -> None:
    """The user asked for the pushed policy's detail."""
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.opened_at.is_(None)).values(opened_at=now)
    )


def pushes_of(*, session: Session, openids: Sequence[str], limit: int = 50) -> list[tuple[Delivery, Policy]]:
    """The pushes to these users, newest first, with their policies (for the staff's view of an enterprise)."""
    statement = (
        select(Delivery, Policy)
        .join(Policy, Policy.id == Delivery.policy_id)
        .where(Delivery.openid.in_(list(openids)))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in session.execute(statement)]


__all__ = ["ALL", "Claimed", "Limits", "PushKind", "Route", "claim", "finish", "recover", "release", "report"]
