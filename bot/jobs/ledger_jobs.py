"""The worker's 台账 reminders: on the 15th and the 18th, units that have not confirmed last month's ledger are
reminded once each (a console notice to the unit, and the WeCom group robot webhook when one is configured)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.reports import periods
from bot.services import Services
from routing import ledger
from routing.models import Audience, Notification
from routing.report_models import LedgerReminder

log = logging.getLogger(__name__)


def reminder_text(month: str, unit: str, due: date, day: int) -> str:
    """What a unit that has not reported is told."""
    return (
        f"{unit}尚未确认上报 {month} 的工作台账（第{'一' if day == ledger.REMINDER_DAYS[0] else '二'}次提醒）："
        f"请单位负责人于 {due:%m月%d日} 前在诉求工作台“月度台账”页核对并确认上报区营商办。"
    )


def _remind(session: Session, now: datetime, timezone: str) -> list[tuple[int, str, int]]:
    """Claim and write today's reminders; (unit id, text, day) of each one written now."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    month = periods.month(f"{today.replace(day=1) - timedelta(days=1):%Y-%m}")
    due = ledger.deadline(month.first)
    days = [day for day in ledger.REMINDER_DAYS if day <= today.day] if today <= due else []
    if not days:
        return []
    scope = month.scope(timezone=timezone, now=now)
    written = []
    for row in ledger.reporting(session=session, scope=scope, month=month.name, due=due, timezone=zone):
        if row.confirmed_at is not None:
            continue
        for day in days:
            if not ledger.claim_reminder(session=session, month=month.name, unit_id=row.unit_id, day=day, now=now):
                continue
            text = reminder_text(month.name, row.unit, due, day)
            session.add(
                Notification(
                    audience=Audience.UNIT_HEAD, unit_id=row.unit_id, urgent=False, text=text,
                    created_at=now, release_at=now, released_at=now,
                )
            )  # fmt: skip
            written.append((row.unit_id, text, day))
    return written


async def remind_ledgers(services: Services, *, now: datetime | None = None) -> int:
    """Send the day's 台账 reminders (each unit and day once); how many were sent."""
    moment = now or datetime.now(UTC)
    async with services.sessions() as session, session.begin():
        written = await session.run_sync(_remind, moment, services.settings.app.timezone)
    url = services.settings.reports.webhook_url
    if written and url:
        content = "\n".join(text for _, text, _ in written)
        status = "sent"
        try:
            response = await services.http.post(url, json={"msgtype": "text", "text": {"content": content}})
            if response.status_code != 200 or response.json().get("errcode", 0) != 0:
                status = "failed"
                log.warning("台账 reminder webhook refused", extra={"status": response.status_code})
        except (httpx.HTTPError, ValueError) as exc:
            status = "failed"
            log.warning("台账 reminder webhook failed", extra={"error": str(exc)})
        async with services.sessions() as session, session.begin():
            for unit_id, _, day in written:
                await session.execute(
                    update(LedgerReminder)
                    .where(
                        LedgerReminder.unit_id == unit_id, LedgerReminder.day == day, LedgerReminder.sent_at == moment
                    )
                    .values(webhook=status)
                )
    return len(written)
