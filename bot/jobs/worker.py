"""The worker loop: periodic jobs that must survive restarts (state lives in the database).

Runs inside the server on the embedded default, or as `appealbot worker` processes in production.
Every job claims its rows so that several workers can run at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.chat import messages, recovery
from bot.chat.inbox import deliver
from bot.chat.models import OutboundStatus
from bot.jobs import appeal_jobs, ledger_jobs, push_jobs
from bot.services import Services

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
MAX_ATTEMPTS = 5
# A send still SENDING after this long lost its sender between calling WeChat and recording the answer.
SETTLE_AFTER = timedelta(seconds=30)


def recover_after(services: Services) -> timedelta:
    """After this long, a message or a customer-service message still unfinished lost its process (or hit an error)."""
    return timedelta(seconds=services.settings.wechat.recover_after)


async def recover_messages(services: Services) -> int:
    """Take over the messages whose processing never finished and answer each once; how many."""
    recovered = 0
    for inbound_id, attempts in await recovery.stuck(services.engine, older_than=recover_after(services)):
        claim = await recovery.claim_stuck(services.engine, inbound_id=inbound_id, attempts=attempts)
        if claim is None:
            continue  # another worker, or WeChat's retry, took it
        log.info("answering a message whose processing never finished", extra={"inbound_id": inbound_id})
        try:
            await services.inbox.recover(claim)
        except messages.Superseded:
            continue  # taken over again meanwhile: its new owner answers
        except Exception:
            # The next pass takes it over again after recover_after (the database is away, most likely).
            log.exception("answering a recovered message failed", extra={"inbound_id": inbound_id})
            continue
        recovered += 1
    return recovered


async def retry_pending(services: Services) -> int:
    """Send again the customer-service messages whose first attempt did not finish."""
    sent = 0
    settled = await recovery.settle_sending(services.engine, older_than=SETTLE_AFTER)
    if settled:
        log.warning("customer-service sends cut off mid-way are left unconfirmed", extra={"count": settled})
    for row in await messages.pending_outbound(services.engine, older_than=recover_after(services)):
        if not await messages.claim_outbound(services.engine, outbound_id=row["id"], attempts=row["attempts"]):
            continue  # another worker took it
        if row["attempts"] >= MAX_ATTEMPTS:
            await messages.record_delivery(
                services.engine, outbound_id=row["id"], status=OutboundStatus.FAILED, error="重试次数已用完"
            )
            continue
        if await deliver(services.engine, services.api, outbound_id=row["id"], openid=row["openid"], text=row["text"]):
            sent += 1
    return sent


async def sweep(services: Services) -> None:
    """One pass over every periodic job."""
    await recover_messages(services)
    await retry_pending(services)
    await appeal_jobs.sweep(services)  # appeals: escalations, staff notices, updates to enterprises
    await ledger_jobs.remind_ledgers(services)  # 台账 reminders on the 15th and the 18th
    await push_jobs.sweep(services)  # pushes of policies to the enterprises they fit, and 申报截止 reminders


async def run(services: Services, *, interval: float = SWEEP_SECONDS) -> None:
    """Sweep forever; an error in one pass is logged and the next pass goes on."""
    log.info("worker started", extra={"interval": interval})
    while True:
        try:
            await sweep(services)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker sweep failed")
        await asyncio.sleep(interval)
