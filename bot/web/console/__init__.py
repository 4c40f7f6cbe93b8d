"""The staff console at /console/: the queue, the appeal page with its actions, the supervisor's view, notices."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the console pages and their script to the app (login and error pages come from bot.web.admin)."""
    from bot.web.console import actions, appeal_pages, enterprise_pages, notice_pages, queue_pages, supervise_pages

    for module in (queue_pages, appeal_pages, actions, supervise_pages, notice_pages, enterprise_pages):
        app.include_router(module.router)
