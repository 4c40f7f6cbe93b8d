"""The admin console at /admin/ (admin role): policy list, import and export, lexicon."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.web import auth, pages
from bot.web.admin import import_pages, lexicon_pages, policy_pages
from bot.web.admin.import_pages import TooLarge, UploadLimit, too_large_page
from bot.web.console.common import calendar_warning

TITLES = {404: "页面不存在", 410: "已失效", 422: "无法处理"}
HTML_AREAS = ("/admin/", "/console/")


async def warn_of_missing_years(request: Request) -> None:
    """Admins see the missing-holiday-years warning on every page (signed-in browsers only)."""
    if request.cookies.get(auth.SESSION_COOKIE):
        request.state.calendar_warning = await calendar_warning(request)


def mount(app: FastAPI) -> None:
    """Add login, the console pages, the upload limit and HTML error pages to the app."""
    auth.install(app)
    app.include_router(pages.router)
    for module in (policy_pages, import_pages, lexicon_pages):
        app.include_router(module.router, dependencies=[Depends(warn_of_missing_years)])
    app.add_middleware(UploadLimit)

    async def html_errors(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not request.url.path.startswith(HTML_AREAS):
            return await http_exception_handler(request, exc)
        title = TITLES.get(exc.status_code, "出错了")
        return pages.render(request, "error.html", status=exc.status_code, title=title, message=str(exc.detail))

    async def too_large(request: Request, exc: Exception) -> Response:
        return too_large_page(request, exc)

    app.add_exception_handler(StarletteHTTPException, html_errors)
    app.add_exception_handler(TooLarge, too_large)
