"""Server-rendered pages of the staff and admin consoles: templates, the stylesheet, and strict headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bot.accounts import Role

TEMPLATES = Path(__file__).resolve().parent / "templates"
STYLESHEET = Path(__file__).resolve().parent / "static" / "console.css"
SCRIPT = Path(__file__).resolve().parent / "static" / "console.js"
# No script at all on these pages: markup that slips into data can never run.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.do"],
)
router = APIRouter(include_in_schema=False)


def local_time(moment: datetime | None, timezone: str = "Asia/Shanghai") -> str:
    """A stored moment in the district's time zone, to the minute."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


environment.filters["local_time"] = local_time
environment.globals["Role"] = Role  # templates compare `user.role == Role.ADMIN`


def render(
    request: Request, name: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """A template rendered as an HTML response with the strict headers (or the given ones)."""
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("notice", "")
    context.setdefault("path", request.url.path)
    context.setdefault("calendar_warning", getattr(request.state, "calendar_warning", ""))
    html = environment.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=headers or HEADERS)


@router.get("/static/console.css")
async def stylesheet() -> Response:
    """The one stylesheet of the console pages (shipped with the package; nothing is fetched from elsewhere)."""
    return Response(
        STYLESHEET.read_bytes(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/static/console.js")
async def script() -> Response:
    """The staff console's one script (live updates, countdowns, inserting quick replies); nothing from elsewhere."""
    return Response(
        SCRIPT.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
