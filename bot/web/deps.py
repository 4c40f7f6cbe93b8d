"""What the web handlers get from the app: its services, and a transaction of its database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session


async def in_transaction(request: Request, work: Callable[[Session], Any]) -> Any:
    """Run a synchronous service call in one committed transaction of the app's database."""
    async with request.app.state.services.sessions() as session, session.begin():
        return await session.run_sync(work)
