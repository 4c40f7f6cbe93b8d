"""What the web handlers get from the app: its services, the district's date, and a transaction of its database.

Handlers declare `services: ServicesDep`; helpers that need the request for other reasons call `services(request)`.
Nothing else reads `app.state.services` (bot.app sets it when the lifespan opens the services).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from bot.services import Services


def services(request: Request) -> Services:
    """The services of the app serving this request."""
    found: Services = request.app.state.services
    return found


async def _services(request: Request) -> Services:
    # The dependency is a coroutine so that FastAPI calls it on the event loop, not in its thread pool.
    return services(request)


ServicesDep = Annotated[Services, Depends(_services)]


async def today(services: ServicesDep) -> date:
    """Today's date in the district's time zone (app.timezone)."""
    return datetime.now(ZoneInfo(services.settings.app.timezone)).date()


Today = Annotated[date, Depends(today)]


async def in_transaction(request: Request, work: Callable[[Session], Any]) -> Any:
    """Run a synchronous service call in one committed transaction of the app's database."""
    async with services(request).sessions() as session, session.begin():
        return await session.run_sync(work)
