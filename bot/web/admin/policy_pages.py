"""Admin pages of the policy list: list with search and filters, create, edit, publish, withdraw, versions."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.web.admin.common import STATUSES, catalog_changed, form_values, notice, raw_from_form
from bot.web.auth import AdminUser
from bot.web.deps import ServicesDep, Today, in_transaction
from bot.web.pages import render
from policies import redemptions, service, versions
from policies.models import MODES, Policy, PolicyMode, PolicyStatus
from policies.service import Filters, PolicyConflict, PolicyInvalid

router = APIRouter(prefix="/admin", include_in_schema=False)
PER_PAGE = 50
VALIDITIES = {"": "全部", "current": "当前有效", "future": "尚未生效", "expired": "已过期"}
TRANSITIONS = {
    PolicyStatus.DRAFT: [(PolicyStatus.PUBLISHED, "发布")],
    PolicyStatus.PUBLISHED: [(PolicyStatus.WITHDRAWN, "撤回")],
    PolicyStatus.WITHDRAWN: [(PolicyStatus.PUBLISHED, "重新发布"), (PolicyStatus.DRAFT, "转为草稿")],
}
VIEW_LABELS = [
    ("code", "编号"), ("status", "状态"), ("name", "政策名称"), ("body", "实施主体"), ("mode", "兑现方式"),
    ("eligibility", "适用对象"), ("content", "优惠内容"), ("process", "办理流程"), ("materials", "申报材料"),
    ("tags", "标签"), ("keywords", "关键词"), ("valid_from", "生效日期"), ("valid_to", "有效期至"), ("url", "原文链接"),
]  # fmt: skip


def _found(session: Session, policy_id: int) -> Policy:
    policy = service.get(session=session, policy_id=policy_id)
    if policy is None:
        raise HTTPException(404, "没有这条政策")
    return policy


def _locked(session: Session, policy_id: int) -> Policy:
    # A concurrent save waits for this one to commit, then sees the new version and is refused as a conflict
    # (PostgreSQL; SQLite serializes writers itself, and a lost race there ends in the unique version number).
    if session.scalar(select(Policy.id).where(Policy.id == policy_id).with_for_update()) is None:
        raise HTTPException(404, "没有这条政策")
    return _found(session, policy_id)


def _version(form: Any) -> int:
    text = str(form.get("version") or "0").strip() or "0"
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise HTTPException(422, "表单中的版本号无效，请重新打开编辑页面后再改")
    return int(text)


@router.get("/")
async def home(user: AdminUser) -> Response:
    """The console opens on the policy list."""
    return RedirectResponse("/admin/policies", status_code=303)


class PolicyListQuery(BaseModel):
    """The policy list's query string: a search, filters, the page, and the notice of the action that led here."""

    search: str = Field("", alias="q")
    status: str = ""
    mode: str = ""
    tag: str = ""  # key:value
    validity: str = ""
    page: int = 1
    done: str = ""  # a notice code (bot.web.admin.common.NOTICES)
    add: int = 0  # an import's counts, shown with done=imported
    change: int = 0
    same: int = 0

    def filters(self) -> Filters:
        """The search and filters as the policy service takes them."""
        key, _, value = self.tag.partition(":")
        return Filters(
            query=self.search[:100], status=self.status, mode=self.mode, tag_key=key, tag_value=value,
            validity=self.validity,
        )  # fmt: skip

    def link(self, page: int) -> str:
        """The query string of the same search and filters on another page."""
        base = {"q": self.search, "status": self.status, "mode": self.mode, "tag": self.tag, "validity": self.validity}
        return urlencode({**{key: value for key, value in base.items() if value}, "page": page})

    def done_notice(self) -> str:
        """The message of the action that led here, if any."""
        return notice(self.done, add=self.add, change=self.change, same=self.same)


@router.get("/policies")
async def list_policies(
    request: Request, user: AdminUser, query: Annotated[PolicyListQuery, Query()], today: Today
) -> Response:
    """The list, narrowed by a search and filters, one page at a time."""
    filters = query.filters()

    def load(session: Session) -> tuple[list[Policy], int, dict[str, list[str]], dict[str, Any]]:
        rows, total = service.search(session=session, filters=filters, today=today, page=query.page, per_page=PER_PAGE)
        # -- the share of 免申即享 / 即申即享 policies on the admin home (policies/redemptions.py) --
        share = redemptions.mode_share(session=session, today=today)
        return rows, total, service.tag_choices(session=session), share

    rows, total, choices, share = await in_transaction(request, load)
    return render(
        request, "admin/policies.html", rows=rows, total=total, filters=filters, tag=query.tag, statuses=STATUSES,
        modes=MODES, tag_choices=choices, validities=VALIDITIES, page=max(1, query.page),
        pages=max(1, math.ceil(total / PER_PAGE)), query_for=query.link, notice=query.done_notice(), share=share,
    )  # fmt: skip


@router.get("/policies/new")
async def new_policy(request: Request, user: AdminUser) -> Response:
    """An empty form."""
    return render(
        request,
        "admin/policy_form.html",
        policy=None,
        values={"mode": PolicyMode.ON_APPLICATION},
        errors={},
        modes=MODES,
    )


def _errors(invalid: PolicyInvalid, raw: dict[str, Any]) -> dict[str, str]:
    errors = {error.key: error.message for error in invalid.errors}
    if raw.get("_other_tags_error"):
        errors["other_tags"] = str(raw["_other_tags_error"])
    return errors


@router.post("/policies/new")
async def create_policy(request: Request, user: AdminUser, services: ServicesDep) -> Response:
    """Save a new policy as a draft, or publish it at once."""
    form = await request.form()
    raw, values = raw_from_form(form)
    publish = form.get("then") == "publish"

    def create(session: Session) -> int:
        if raw.get("_other_tags_error"):
            service.validate(session=session, raw=raw)  # report the other fields' errors too
            raise PolicyInvalid([])
        policy = service.create(session=session, raw=raw, author=user.username)
        if publish:
            service.set_status(session=session, policy=policy, status=PolicyStatus.PUBLISHED, author=user.username)
        return policy.id

    try:
        policy_id = await in_transaction(request, create)
    except PolicyInvalid as invalid:
        errors = _errors(invalid, raw)
        return render(
            request, "admin/policy_form.html", status=422, policy=None, values=values, errors=errors, modes=MODES
        )
    if publish:
        await catalog_changed(services)
    return RedirectResponse(f"/admin/policies/{policy_id}?done={'published' if publish else 'created'}", 303)


@router.get("/policies/{policy_id}")
async def show_policy(request: Request, user: AdminUser, today: Today, policy_id: int, done: str = "") -> Response:
    """Every field of one policy, with its status actions."""
    policy = await in_transaction(request, lambda s: _found(s, policy_id))
    current = (policy.valid_from is None or policy.valid_from <= today) and (
        policy.valid_to is None or policy.valid_to >= today
    )
    return render(
        request, "admin/policy.html", policy=policy, data=versions.snapshot(policy), labels=VIEW_LABELS,
        statuses=STATUSES, transitions=TRANSITIONS.get(policy.status, []), current=current, notice=notice(done),
    )  # fmt: skip


@router.get("/policies/{policy_id}/edit")
async def edit_policy(request: Request, user: AdminUser, policy_id: int) -> Response:
    """The form filled with the policy as it is."""
    policy = await in_transaction(request, lambda s: _found(s, policy_id))
    values = form_values(versions.snapshot(policy))
    return render(
        request, "admin/policy_form.html", policy=policy, version=policy.version, values=values, errors={}, modes=MODES
    )


@router.post("/policies/{policy_id}/edit")
async def save_policy(request: Request, user: AdminUser, services: ServicesDep, policy_id: int) -> Response:
    """Save the form; refuse if someone else saved in between."""
    form = await request.form()
    raw, values = raw_from_form(form)
    expected = _version(form)

    def save(session: Session) -> tuple[Policy, list[str]]:
        policy = _locked(session, policy_id)
        if raw.get("_other_tags_error"):
            service.validate(session=session, raw=raw, policy_id=policy_id)
            raise PolicyInvalid([])
        return policy, service.update(
            session=session, policy=policy, raw=raw, author=user.username, expected_version=expected
        )

    try:
        try:
            policy, changed = await in_transaction(request, save)
        except IntegrityError:  # another save took this version number first: nothing of ours was written
            current = await in_transaction(request, lambda s: _found(s, policy_id))
            raise PolicyConflict(
                f"「{current.name}」在您打开后已被 {current.updated_by or '他人'} 修改，请重新打开后再改"
            ) from None
    except (PolicyInvalid, PolicyConflict) as failure:
        policy = await in_transaction(request, lambda s: _found(s, policy_id))
        errors = _errors(failure, raw) if isinstance(failure, PolicyInvalid) else {"_form": str(failure)}
        return render(
            request, "admin/policy_form.html", status=409 if isinstance(failure, PolicyConflict) else 422,
            policy=policy, version=expected, values=values, errors=errors, modes=MODES,
        )  # fmt: skip
    if changed and policy.status == PolicyStatus.PUBLISHED:
        await catalog_changed(services)
    return RedirectResponse(f"/admin/policies/{policy_id}?done={'saved' if changed else 'unchanged'}", 303)


@router.post("/policies/{policy_id}/status")
async def change_status(request: Request, user: AdminUser, services: ServicesDep, policy_id: int) -> Response:
    """Publish, withdraw, or turn back into a draft."""
    status = str((await request.form()).get("status") or "")
    if status not in STATUSES:
        raise HTTPException(422, "未知状态")

    def apply(session: Session) -> bool:
        policy = _found(session, policy_id)
        return service.set_status(session=session, policy=policy, status=status, author=user.username)

    if await in_transaction(request, apply):
        await catalog_changed(services)
        if status == PolicyStatus.PUBLISHED:  # 政策找人: offer the push preview at once (bot/web/admin/push_pages.py)
            return RedirectResponse(f"/admin/policies/{policy_id}/push?published=1", 303)
    return RedirectResponse(f"/admin/policies/{policy_id}?done={status}", 303)


@router.get("/policies/{policy_id}/versions")
async def list_versions(request: Request, user: AdminUser, policy_id: int) -> Response:
    """Who changed what and when, newest first."""

    def load(session: Session) -> tuple[Policy, list[Any]]:
        return _found(session, policy_id), versions.history(session=session, policy_id=policy_id)

    policy, history = await in_transaction(request, load)
    return render(request, "admin/versions.html", policy=policy, history=history, actions=versions.ACTION_LABELS)


@router.get("/policies/{policy_id}/versions/{number}")
async def show_version(request: Request, user: AdminUser, policy_id: int, number: int) -> Response:
    """One earlier version, with the fields that differ from now marked."""

    def load(session: Session) -> tuple[Policy, Any]:
        return _found(session, policy_id), versions.get_version(session=session, policy_id=policy_id, number=number)

    policy, version = await in_transaction(request, load)
    if version is None:
        raise HTTPException(404, "没有这个版本")
    differs = [key for key in versions.differences(version.snapshot, versions.snapshot(policy)) if key != "status"]
    return render(
        request, "admin/version.html", policy=policy, version=version, labels=VIEW_LABELS, differs=differs,
        statuses=STATUSES, actions=versions.ACTION_LABELS,
    )  # fmt: skip


@router.post("/policies/{policy_id}/versions/{number}/restore")
async def restore_version(
    request: Request, user: AdminUser, services: ServicesDep, policy_id: int, number: int
) -> Response:
    """Bring back an earlier version's fields as a new version."""

    def restore(session: Session) -> tuple[list[str], PolicyStatus]:
        policy = _found(session, policy_id)
        return service.restore(session=session, policy=policy, number=number, author=user.username), policy.status

    try:
        changed, status = await in_transaction(request, restore)
    except LookupError:
        raise HTTPException(404, "没有这个版本") from None
    except PolicyInvalid as invalid:
        message = "；".join(error.message for error in invalid.errors)
        return render(request, "error.html", status=409, title="无法恢复", message=message)
    if changed and status == PolicyStatus.PUBLISHED:
        await catalog_changed(services)
    return RedirectResponse(f"/admin/policies/{policy_id}?done={'restored' if changed else 'unchanged'}", 303)
