"""The office's own admin pages: accounts (create, change role or unit, disable, reset the password) and units
(contacts, phones, in service or not). Disabling an account ends its sessions at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import accounts
from bot.accounts import ROLE_LABELS, AccountError
from bot.web.auth import AdminUser
from bot.web.deps import in_transaction
from bot.web.pages import render
from routing.importing import KINDS
from routing.models import Unit

router = APIRouter(prefix="/admin", include_in_schema=False)
NOTICES = {
    "created": "账号已创建",
    "changed": "角色和单位已修改，该账号需重新登录",
    "disabled": "账号已停用，其登录已全部失效",
    "enabled": "账号已启用",
    "password": "密码已重置，该账号需用新密码重新登录",
    "unit_saved": "单位信息已保存",
}
UNIT_FIELDS = ("contact_name", "contact_phone", "head_name", "head_phone")


def _units(session: Session) -> list[tuple[int, str]]:
    return [(row.id, row.name) for row in session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.id))]


async def _accounts_page(request: Request, *, status: int = 200, error: str = "", values: dict[str, str]) -> Response:
    data = await in_transaction(request, lambda s: {"accounts": accounts.list_accounts(session=s), "units": _units(s)})
    notice = NOTICES.get(request.query_params.get("done", ""), "")
    return render(
        request, "admin/accounts.html", status=status, error=error, values=values, roles=ROLE_LABELS, notice=notice,
        **data,
    )  # fmt: skip


@router.get("/accounts")
async def accounts_page(request: Request, user: AdminUser) -> Response:
    """Every account, and the form to create one."""
    return await _accounts_page(request, values={})


def _unit_value(form: Any) -> str | None:
    text = str(form.get("unit") or "").strip()
    return text or None


@router.post("/accounts")
async def create_account(request: Request, user: AdminUser) -> Response:
    """Create an account from the form; a refusal shows the form again with the reason."""
    form = await request.form()
    values = {key: str(form.get(key) or "")[:256] for key in ("username", "role", "unit")}
    password = str(form.get("password") or "")[: accounts.MAX_PASSWORD + 1]

    def create(session: Session) -> None:
        accounts.create_user(
            session=session, username=values["username"].strip(), password=password, role=values["role"],
            unit=_unit_value(form),
        )  # fmt: skip

    try:
        await in_transaction(request, create)
    except AccountError as exc:
        return await _accounts_page(request, status=422, error=str(exc), values=values)
    return RedirectResponse("/admin/accounts?done=created", status_code=303)


async def _account(request: Request, username: str) -> accounts.Account:
    found = await in_transaction(
        request, lambda s: next((item for item in accounts.list_accounts(session=s) if item.username == username), None)
    )
    if not isinstance(found, accounts.Account):
        raise HTTPException(404, "没有这个账号")
    return found


@router.get("/accounts/{username}")
async def account_page(request: Request, user: AdminUser, username: str, error: str = "") -> Response:
    """One account: its role and unit, its password, disabling it."""
    account = await _account(request, username)
    units = await in_transaction(request, _units)
    notice = NOTICES.get(request.query_params.get("done", ""), "")
    return render(
        request, "admin/account.html", account=account, units=units, roles=ROLE_LABELS, error=error, notice=notice
    )


@router.post("/accounts/{username}/{action}")
async def account_action(request: Request, user: AdminUser, username: str, action: str) -> Response:
    """change (role and unit), password (reset), disable or enable; refusals show the page with the reason."""
    form = await request.form()
    if action == "disable" and username == user.username:
        return await _refused(request, username, "不能停用自己正在使用的账号")

    def act(session: Session) -> str:
        if action == "change":
            accounts.change_role(session=session, username=username, role=str(form.get("role") or ""),
                                 unit=_unit_value(form))  # fmt: skip
            return "changed"
        if action == "password":
            accounts.reset_password(session=session, username=username, password=str(form.get("password") or ""))
            return "password"
        if action in {"disable", "enable"}:
            accounts.set_active(session=session, username=username, active=action == "enable")
            return f"{action}d"
        raise HTTPException(404, "没有这个操作")

    try:
        done = await in_transaction(request, act)
    except AccountError as exc:
        return await _refused(request, username, str(exc))
    return RedirectResponse(f"/admin/accounts/{username}?done={done}", status_code=303)


async def _refused(request: Request, username: str, message: str) -> Response:
    account = await _account(request, username)
    units = await in_transaction(request, _units)
    return render(
        request, "admin/account.html", status=422, account=account, units=units, roles=ROLE_LABELS, error=message
    )


@router.get("/units")
async def units_page(request: Request, user: AdminUser) -> Response:
    """Every unit of the routing table with its contacts, and whether it is in service."""
    units = await in_transaction(request, lambda s: list(s.scalars(select(Unit).order_by(Unit.active.desc(), Unit.id))))
    notice = NOTICES.get(request.query_params.get("done", ""), "")
    return render(request, "admin/units.html", units=units, kinds=KINDS, notice=notice)


@router.get("/units/{unit_id}")
async def unit_page(request: Request, user: AdminUser, unit_id: int) -> Response:
    """The form of one unit."""
    unit = await in_transaction(request, lambda s: s.get(Unit, unit_id))
    if unit is None:
        raise HTTPException(404, "没有这个单位")
    return render(request, "admin/unit.html", unit=unit, kinds=KINDS, error="")


@router.post("/units/{unit_id}")
async def save_unit(request: Request, user: AdminUser, unit_id: int) -> Response:
    """Save a unit's contacts and whether it is in service (phones: digits, spaces, + and -)."""
    form = await request.form()
    values = {key: str(form.get(key) or "").strip()[:64] for key in UNIT_FIELDS}
    bad = [key for key in ("contact_phone", "head_phone") if values[key] and not _phone(values[key])]

    def save(session: Session) -> Unit | None:
        unit = session.get(Unit, unit_id)
        if unit is None or bad:
            return unit
        for key, value in values.items():
            setattr(unit, key, value)
        unit.active = form.get("active") == "on"
        return unit

    unit = await in_transaction(request, save)
    if unit is None:
        raise HTTPException(404, "没有这个单位")
    if bad:
        labels = {"contact_phone": "经办人电话", "head_phone": "负责人电话"}
        error = "、".join(labels[key] for key in bad) + "格式不对：只能包含数字、空格、+ 和 -"
        return render(request, "admin/unit.html", status=422, unit=unit, kinds=KINDS, error=error, values=values)
    return RedirectResponse("/admin/units?done=unit_saved", status_code=303)


def _phone(text: str) -> bool:
    return all(char.isdigit() or char in " +-" for char in text) and sum(char.isdigit() for char in text) >= 5
