"""Admin pages of enterprise profiles (一企一档): the list with search, import and export, one enterprise with the
source of each field, its WeChat users, the policies it qualifies for, its pushes and 兑现 records; edits by staff."""

from __future__ import annotations

import asyncio
import math
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bot.web.auth import AdminUser
from bot.web.deps import Today, in_transaction
from bot.web.pages import render
from enterprises import exporting, importing, service, terms
from enterprises.eligibility import Profile
from enterprises.fields import clean_profile
from enterprises.models import SOURCE_LABELS, Enterprise, FieldSource
from enterprises.vocabulary import INDUSTRY_NAMES, SIZE_NAMES
from policies import deliveries, eligible
from policies.models import Policy, Redemption
from tabular import MB

router = APIRouter(prefix="/admin", include_in_schema=False)
PER_PAGE = 50
EXPORT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}
FIELD_LABELS = (
    ("industry", "行业"), ("size", "规模"), ("qualifications", "资质"), ("street", "所在街道"),
    ("founded_on", "成立日期"), ("employees", "从业人数"), ("contact", "联系人"), ("phone", "联系电话"),
)  # fmt: skip
NOTICES = {
    "imported": "导入完成",
    "saved": "已保存（来源：工作人员录入）",
    "unchanged": "没有改动",
    "unbound": "已解除绑定",
}


async def save_upload(upload: UploadFile, folder: Path, *, limit: int) -> Path | None:
    """The uploaded file on disk, or None when it passes the limit (nothing more is read)."""
    path = folder / f"upload{Path(upload.filename or '').suffix.lower()[:8]}"
    written = 0
    with path.open("wb") as handle:
        while chunk := await upload.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                return None
            handle.write(chunk)
    return path


def _found(session: Session, enterprise_id: int) -> Enterprise:
    enterprise = service.get_by_id(session=session, enterprise_id=enterprise_id)
    if enterprise is None:
        raise HTTPException(404, "没有这家企业")
    return enterprise


def shown(enterprise: Enterprise, key: str) -> str:
    """A profile field as people read it ("" when not known)."""
    value = getattr(enterprise, key)
    if value is None:
        return ""
    if key == "size":
        return SIZE_NAMES.get(str(value), str(value))
    if key == "qualifications":
        return "、".join(value) or "无"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def origin(enterprise: Enterprise, key: str) -> str:
    """Who told us a field, and when (local date)."""
    found = (enterprise.sources or {}).get(key) or {}
    label = SOURCE_LABELS.get(FieldSource(found["source"])) if found.get("source") in SOURCE_LABELS else ""
    when = str(found.get("at", ""))[:10]
    return f"{label} · {when}" if label else ""


@router.get("/enterprises")
async def list_enterprises(request: Request, user: AdminUser, q: str = "", page: int = 1, done: str = "") -> Response:
    """Enterprises by name, narrowed by a search; the import form and the export links."""

    def load(session: Session) -> tuple[list[Enterprise], int, dict[int, list[str]]]:
        rows, total = service.search(session=session, query=q[:100], page=page, per_page=PER_PAGE)
        return rows, total, service.openids(session=session, enterprise_ids=[row.id for row in rows])

    rows, total, users = await in_transaction(request, load)
    counts = {key: request.query_params.get(key, "0") for key in ("add", "change", "same")}
    notice = NOTICES.get(done, "")
    if done == "imported":
        notice += f"：新增 {counts['add']} 家，修改 {counts['change']} 家，不变 {counts['same']} 家"
    return render(
        request, "admin/enterprises.html", rows=rows, total=total, users=users, q=q, page=max(1, page),
        pages=max(1, math.ceil(total / PER_PAGE)), notice=notice, problems=[], shown=shown,
    )  # fmt: skip


@router.post("/enterprises/import")
async def import_enterprises(request: Request, user: AdminUser) -> Response:
    """Check the whole register file, then upsert every row by code, or nothing; problems name row and column."""
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _list_with_problems(request, ["请选择要导入的文件"])
    vocabulary = await in_transaction(request, lambda session: terms.load_vocabulary(session=session))
    with tempfile.TemporaryDirectory(prefix="appealbot-enterprises-") as folder:
        path = await save_upload(upload, Path(folder), limit=importing.LIMITS.max_bytes)
        if path is None:
            return _list_with_problems(request, [f"文件超过 {importing.LIMITS.max_bytes // MB} MB，未导入任何企业"])
        name = Path(upload.filename).name[:200]
        checked = await asyncio.to_thread(importing.read_file, path, vocabulary=vocabulary, name=name)
    if not checked.ok:
        problems = [str(problem) for problem in checked.all_problems()[:100]]
        return _list_with_problems(request, [*problems, f"未导入任何企业（共 {len(checked.all_problems())} 处问题）"])
    counts = await in_transaction(
        request, lambda session: service.import_records(session=session, records=checked.clean(), author=user.username)
    )
    query = "&".join(f"{action}={number}" for action, number in counts.items())
    return RedirectResponse(f"/admin/enterprises?done=imported&{query}", status_code=303)


def _list_with_problems(request: Request, problems: list[str]) -> Response:
    return render(
        request, "admin/enterprises.html", status=422, rows=[], total=0, users={}, q="", page=1, pages=1,
        notice="", problems=problems, shown=shown,
    )  # fmt: skip


@router.get("/enterprises/export.{kind}")
async def export_enterprises(request: Request, user: AdminUser, kind: str) -> Response:
    """Every enterprise as a file to download; it imports back unchanged."""
    if kind not in EXPORT_TYPES:
        raise HTTPException(404, "不支持的导出格式")
    rows = await in_transaction(request, lambda session: service.records(session=session))
    data = await asyncio.to_thread(exporting.render, rows, f".{kind}")
    name = f"企业名录-{datetime.now(UTC):%Y%m%d}.{kind}"
    disposition = f"attachment; filename=\"enterprises.{kind}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=EXPORT_TYPES[kind], headers={"Content-Disposition": disposition})


def _details(session: Session, enterprise: Enterprise, today: date) -> dict[str, Any]:
    bindings = service.bindings(session=session, enterprise_id=enterprise.id)
    found = eligible.qualifying(session=session, profile=Profile.of(enterprise), today=today)
    general = [(doc, verdict) for doc, verdict in found if eligible.doc_conditions(doc).none]
    fitting = [(doc, verdict) for doc, verdict in found if not eligible.doc_conditions(doc).none]
    pushes = deliveries.pushes_of(session=session, openids=[binding.openid for binding in bindings])
    paid = session.execute(
        select(Redemption, Policy).join(Policy, Policy.id == Redemption.policy_id)
        .where(Redemption.enterprise_id == enterprise.id).order_by(Redemption.received_on.desc())
    ).all()  # fmt: skip
    return {
        "bindings": bindings, "fitting": fitting, "general": general, "pushes": pushes,
        "paid": [(row[0], row[1]) for row in paid],
    }  # fmt: skip


@router.get("/enterprises/{enterprise_id}")
async def show_enterprise(
    request: Request, user: AdminUser, today: Today, enterprise_id: int, done: str = ""
) -> Response:
    """One enterprise: every field with its source, its users, the policies it fits, pushes and 兑现 records."""

    def load(session: Session) -> tuple[Enterprise, dict[str, Any], Any]:
        enterprise = _found(session, enterprise_id)
        return enterprise, _details(session, enterprise, today), terms.load_vocabulary(session=session)

    enterprise, details, vocabulary = await in_transaction(request, load)
    return _page(
        request, enterprise, details, vocabulary, values=_values(enterprise), errors={}, notice=NOTICES.get(done, "")
    )


def _values(enterprise: Enterprise) -> dict[str, Any]:
    values: dict[str, Any] = {key: shown(enterprise, key) for key, _ in FIELD_LABELS}
    values["size"] = enterprise.size or ""
    values["qualifications"] = list(enterprise.qualifications or [])
    return values


def _page(
    request: Request, enterprise: Enterprise, details: dict[str, Any], vocabulary: Any, *, values: dict[str, Any],
    errors: dict[str, str], notice: str = "", status: int = 200,
) -> Response:  # fmt: skip
    return render(
        request, "admin/enterprise.html", status=status, enterprise=enterprise, labels=FIELD_LABELS, shown=shown,
        origin=origin, values=values, errors=errors, industries=INDUSTRY_NAMES, sizes=SIZE_NAMES,
        vocabulary=vocabulary, notice=notice, **details,
    )  # fmt: skip


@router.post("/enterprises/{enterprise_id}/edit")
async def edit_enterprise(request: Request, user: AdminUser, today: Today, enterprise_id: int) -> Response:
    """Save the fields staff entered (工作人员录入); an empty field leaves what is stored."""
    form = await request.form()
    raw: dict[str, Any] = {key: str(form.get(key) or "").strip() for key, _ in FIELD_LABELS if key != "qualifications"}
    chosen = [str(value) for value in form.getlist("qualifications")]
    raw["qualifications"] = "、".join(chosen) if chosen else ("无" if form.get("no_qualifications") else "")

    def save(session: Session) -> tuple[str, Enterprise, dict[str, Any], Any, dict[str, str]]:
        enterprise = _found(session, enterprise_id)
        vocabulary = terms.load_vocabulary(session=session)
        clean, problems = clean_profile(raw, vocabulary)
        if problems:
            errors = {problem.key: problem.message for problem in problems}
            return "invalid", enterprise, _details(session, enterprise, today), vocabulary, errors
        changed = service.apply(
            session=session, enterprise=enterprise, values=clean, source=FieldSource.STAFF, author=user.username
        )
        return ("saved" if changed else "unchanged"), enterprise, {}, vocabulary, {}

    outcome, enterprise, details, vocabulary, errors = await in_transaction(request, save)
    if outcome == "invalid":
        values: dict[str, Any] = {**raw, "qualifications": chosen}
        return _page(request, enterprise, details, vocabulary, values=values, errors=errors, status=422)
    return RedirectResponse(f"/admin/enterprises/{enterprise_id}?done={outcome}", status_code=303)


@router.post("/enterprises/{enterprise_id}/unbind")
async def unbind_user(request: Request, user: AdminUser, enterprise_id: int) -> Response:
    """Remove one WeChat user's binding to this enterprise."""
    openid = str((await request.form()).get("openid") or "")

    def unbind(session: Session) -> None:
        enterprise = _found(session, enterprise_id)
        current = service.bound(session=session, openid=openid)
        if current is None or current.id != enterprise.id:
            raise HTTPException(404, "这位用户没有绑定这家企业")
        service.unbind(session=session, openid=openid)

    await in_transaction(request, unbind)
    return RedirectResponse(f"/admin/enterprises/{enterprise_id}?done=unbound", status_code=303)
