"""The staff console at /console/: the queue, the appeal page with its actions, the supervisor's view, notices,
and the inbox of hand-offs to a person (人工客服)."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from bot.web.bounds import ints_in_range


def mount(app: FastAPI) -> None:
    """Add the console pages and their script to the app (login and error pages come from bot.web.admin)."""
    from bot.web.console import (
        actions,
        appeal_pages,
        enterprise_pages,
        inbox_pages,
        ledger_pages,
        notice_pages,
        queue_pages,
        report_pages,
        stats_pages,
        supervise_pages,
    )

    pages = (
        queue_pages,
        appeal_pages,
        enterprise_pages,
        actions,
        supervise_pages,
        notice_pages,
        inbox_pages,
        stats_pages,
        ledger_pages,
        report_pages,
    )
    for module in pages:
        # Out-of-range integers in a link are a 404/422 page, never a database error (bot/web/bounds.py).
        app.include_router(module.router, dependencies=[Depends(ints_in_range)])
