"""Signing in and out, the session cookie, CSRF tokens, and the role checks that guard /admin/ and /console/."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot import accounts
from bot.accounts import Role, SignedIn
from bot.web.deps import in_transaction, services
from bot.web.gate import Busy, Gate
from bot.web.lockout import Lockout
from bot.web.pages import render

SESSION_COOKIE = "appealbot_session"
LOGIN_COOKIE = "appealbot_login_csrf"  # double-submit token of the login form (no session exists yet)
LOGIN_PATH = "/login"
ROLE_HOME: dict[str, str] = {
    Role.ADMIN: "/admin/",
    Role.STAFF: "/console/",
    Role.UNIT_HEAD: "/console/",
    Role.SUPERVISOR: "/console/",
}

router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """The page needs a signed-in user; carries where to come back to."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


class Forbidden(Exception):
    """Signed in, but this page is not for this role, or the form token is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _secure(request: Request) -> bool:
    # Production is always behind TLS, often terminated by a proxy that talks plain HTTP to us: Secure regardless.
    settings = services(request).settings
    return settings.app.env == "production" or str(settings.app.base_url).startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, *, path: str = "/") -> None:
    """A cookie scripts cannot read, not sent on cross-site requests, and only over HTTPS when we serve HTTPS."""
    response.set_cookie(name, value, path=path, httponly=True, samesite="lax", secure=_secure(request))


async def current_user(request: Request) -> SignedIn | None:
    """The signed-in user of this request, if any (looked up once per request)."""
    if hasattr(request.state, "user"):
        known: SignedIn | None = request.state.user
        return known
    token = request.cookies.get(SESSION_COOKIE, "")
    user = await in_transaction(request, lambda s: accounts.signed_in(session=s, token=token)) if token else None
    request.state.user = user
    return user


def _same_origin(request: Request) -> bool:
    # Defence in depth beside the token; hosts only, since a TLS-terminating proxy changes the scheme.
    origin = request.headers.get("origin")
    if origin is None or request.headers.get("sec-fetch-site") == "same-origin":
        return True
    base = str(services(request).settings.app.base_url)
    return urlsplit(origin).netloc in {request.url.netloc, urlsplit(base).netloc}


async def check_csrf(request: Request, user: SignedIn) -> None:
    """Refuse a POST whose form token is not this session's, or that comes from another site."""
    form = await request.form()
    token = str(form.get("csrf_token") or "")
    if not _same_origin(request) or not hmac.compare_digest(token.encode(), user.csrf.encode()):
        raise Forbidden("页面已过期或来源不明，请刷新页面后重试")


def require_role(*roles: Role) -> Callable[[Request], Awaitable[SignedIn]]:
    """A dependency: the signed-in user with one of these roles; every POST must also carry the form token."""

    async def dependency(request: Request) -> SignedIn:
        user = await current_user(request)
        if user is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(back if request.method == "GET" else request.url.path)
        if roles and user.role not in roles:
            raise Forbidden("您的账号没有访问此页面的权限")
        if request.method == "POST" and not getattr(request.state, "skip_form_csrf", False):
            await check_csrf(request, user)
        return user

    return dependency


AdminUser = Annotated[SignedIn, Depends(require_role(Role.ADMIN))]


def _safe_next(value: str) -> str:
    # Only a path on this site: "//evil.example" or "https://..." would send the user elsewhere.
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else ""


@router.get(LOGIN_PATH)
async def login_page(request: Request, next: str = "") -> Response:
    """The sign-in form."""
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login.html", next=_safe_next(next), csrf=token, error="", username="")
    set_cookie(request, response, LOGIN_COOKIE, token, path=LOGIN_PATH)
    return response


@router.post(LOGIN_PATH)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    """Check the password (counting failures, locking after too many) and open a session."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    fresh = secrets.token_urlsafe(32)
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()) or not _same_origin(request):
        response = render(
            request, "login.html", status=403, next=_safe_next(next), csrf=fresh, username=username,
            error="登录页面已过期，请重新输入后登录",
        )  # fmt: skip
        set_cookie(request, response, LOGIN_COOKIE, fresh, path=LOGIN_PATH)
        return response

    name = username.strip()
    token, role, refusal = await _check_login(request, name, password)
    if token is None:
        error, status = refusal
        return render(
            request, "login.html", status=status, next=_safe_next(next), csrf=expected, username=username, error=error
        )
    redirect = RedirectResponse(_safe_next(next) or ROLE_HOME.get(role, "/"), status_code=303)
    set_cookie(request, redirect, SESSION_COOKIE, token)
    redirect.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return redirect


async def _check_login(request: Request, username: str, password: str) -> tuple[str | None, str, tuple[str, int]]:
    """(session token, role, ("", 0)) for a right password; (None, "", (message, status)) otherwise.

    The lockout slot is taken before the password is checked, and the check (argon2) runs in the login gate's
    threads, never on the event loop. Unknown names go through the same steps with a dummy hash.
    """
    gate, lockout = login_gate(request), login_lockout(request)
    address = request.client.host if request.client else ""
    candidate = await in_transaction(request, lambda s: accounts.login_candidate(session=s, username=username))
    generation = candidate.generation
    verdict = await lockout.attempt(username=username, address=address, generation=generation)
    if not verdict.allowed:
        return None, "", (f"登录失败次数过多，请 {verdict.minutes} 分钟后再试", 429)
    try:
        right, new_hash = await gate.run(lambda: accounts.verify_password(candidate.password_hash, password))
    except Busy:
        return None, "", ("登录请求过多，系统繁忙，请稍后再试", 503)
    if not right or candidate.user_id is None:
        await lockout.failed(username=username, address=address, generation=generation)
        return None, "", ("用户名或密码错误", 401)
    user_id = candidate.user_id

    def open_for(session: Session) -> tuple[str | None, str]:
        user = accounts.signed_in_as(session=session, user_id=user_id, new_hash=new_hash)
        return (accounts.open_session(session=session, user=user), user.role) if user else (None, "")

    token, role = await in_transaction(request, open_for)
    if token is None:  # disabled between the look-up and now
        return None, "", ("用户名或密码错误", 401)
    await lockout.succeeded(username=username, address=address, generation=generation)
    return token, role, ("", 0)


def login_gate(request: Request) -> Gate:
    """The app's gate for password checks (made on first use from web.login_workers and web.login_queue)."""
    state = request.app.state
    if getattr(state, "login_gate", None) is None:
        web = services(request).settings.web
        state.login_gate = Gate(workers=web.login_workers, queue=web.login_queue)
    gate: Gate = state.login_gate
    return gate


def login_lockout(request: Request) -> Lockout:
    """The app's failed-login counters, on its cache."""
    state = request.app.state
    if getattr(state, "login_lockout", None) is None:
        state.login_lockout = Lockout(services(request).cache)
    lockout: Lockout = state.login_lockout
    return lockout


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (the form token must match, so another site cannot sign anyone out)."""
    user = await current_user(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if user is not None:
        await check_csrf(request, user)
        await in_transaction(request, lambda s: accounts.close_session(session=s, token=token))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def install(app: FastAPI) -> None:
    """Add the login routes and turn LoginRequired / Forbidden into a redirect and a 403 page."""
    app.include_router(router)

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(exc.back, safe='/')}", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        return render(request, "error.html", status=403, title="无法继续", message=exc.message)

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(Forbidden, forbidden)
