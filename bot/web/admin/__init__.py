"""The admin console at /admin/ (admin role): policy list, import and export, lexicon, examples, open questions."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.web import auth, pages
from bot.web.admin import (
    enterprise_pages,
    example_pages,
    import_pages,
    lexicon_pages,
    office_pages,
    policy_pages,
    push_pages,
    routing_pages,
    vocabulary_pages,
)
from bot.web.admin.import_pages import TooLarge, UploadLimit, too_large_page
from bot.web.bounds import ints_in_range
from bot.web.console.common import calendar_warning

TITLES = {404: "页面不存在", 410: "已失效", 422: "无法处理"}
HTML_AREAS = ("/admin/", "/console/")


async def warn_of_missing_years(request: Request) -> None:
    """Admins see the missing-holiday-years warning on every page (signed-in browsers only)."""
    if request.cookies.get(auth.SESSION_COOKIE):
        request.state.calendar_warning = await calendar_warning(request)


def invalid_message(exc: RequestValidationError) -> str:
    """What is wrong with a request's parameters, in words (e.g. 链接中的参数有误：page「abc」应为整数)."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][-1]) if error.get("loc") else ""
        given = str(error.get("input") or "")[:40]
        problems.append(f"{name}「{given}」" + ("应为整数" if error.get("type") == "int_parsing" else "无效"))
    return "链接中的参数有误：" + "；".join(problems)


def mount(app: FastAPI) -> None:
    """Add login, the console pages, the upload limit and HTML error pages to the app."""
    auth.install(app)
    app.include_router(pages.router)
    routers = (
        policy_pages,
        import_pages,
        lexicon_pages,
        example_pages,
        office_pages,
        routing_pages,
        enterprise_pages,
        push_pages,
        vocabulary_pages,
    )
    for module in routers:
        app.include_router(module.router, dependencies=[Depends(ints_in_range), Depends(warn_of_missing_years)])
    app.add_middleware(UploadLimit)

    async def html_errors(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not request.url.path.startswith(HTML_AREAS):
            return await http_exception_handler(request, exc)
        title = TITLES.get(exc.status_code, "出错了")
        return pages.render(request, "error.html", status=exc.status_code, title=title, message=str(exc.detail))

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not request.url.path.startswith(HTML_AREAS):
            return await request_validation_exception_handler(request, exc)
        return pages.render(request, "error.html", status=422, title=TITLES[422], message=invalid_message(exc))

    async def too_large(request: Request, exc: Exception) -> Response:
        return too_large_page(request, exc)

    app.add_exception_handler(StarletteHTTPException, html_errors)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(TooLarge, too_large)
