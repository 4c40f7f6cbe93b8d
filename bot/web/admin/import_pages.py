"""Import with a row-by-row preview before anything is committed, and export, of the policy list."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.admin.common import catalog_changed
from bot.web.auth import AdminUser
from bot.web.deps import ServicesDep, in_transaction
from bot.web.pages import render
from enterprises import terms
from policies import exporting, import_plan, importing
from policies.import_plan import ACTION_LABELS, Plan, PlanAction
from policies.importing import Parsed, Row
from policies.models import PolicyStatus, StagedImport

router = APIRouter(prefix="/admin", include_in_schema=False)
UPLOAD_PATH = "/admin/import"
FORM_OVERHEAD = 64 * 1024  # the multipart envelope and the small fields around the file
STAGED_FOR = timedelta(hours=24)
NEW_STATUSES: dict[str, str] = {PolicyStatus.PUBLISHED: "直接发布", PolicyStatus.DRAFT: "存为草稿"}
EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


class TooLarge(Exception):
    """The request body passed the import size limit while it was being received."""


class UploadLimit:
    """Refuse an import upload above the limit from its Content-Length, or as soon as the stream passes it."""

    def __init__(self, app: ASGIApp, limit: int = importing.MAX_BYTES + FORM_OVERHEAD) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await _too_large(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise TooLarge
            return message

        await self.app(scope, counted, send)


def too_large_page(request: Request, exc: Exception | None = None) -> Response:
    """The answer to an upload above the limit."""
    limit = importing.MAX_BYTES // 1024 // 1024
    message = f"导入文件不能超过 {limit} MB，未读取也未导入任何内容。请删去不需要的内容或分批导入。"
    return render(request, "error.html", status=413, title="文件太大", message=message)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    scope.setdefault("state", {})
    await too_large_page(Request(scope, receive))(scope, receive, send)


@router.get("/import")
async def import_page(request: Request, user: AdminUser) -> Response:
    """The upload form and the export links."""
    return render(request, "admin/import.html", new_statuses=NEW_STATUSES, limit=importing.MAX_BYTES // 1024 // 1024)


async def _save_upload(upload: UploadFile, folder: Path) -> Path:
    suffix = Path(upload.filename or "").suffix.lower()[:8]
    path = folder / f"upload{suffix}"
    written = 0
    with path.open("wb") as handle:
        while chunk := await upload.read(1024 * 1024):
            written += len(chunk)
            if written > importing.MAX_BYTES:
                break  # read_file reports the size; nothing more is kept
            handle.write(chunk)
        if written > importing.MAX_BYTES:
            handle.write(b"\0")
    return path


def _preview(
    request: Request, *, parsed: Parsed, plan: Plan, staged: str, new_status: str, notice: str = ""
) -> Response:
    return render(
        request, "admin/import_preview.html", parsed=parsed, plan=plan, staged=staged, new_status=new_status,
        new_statuses=NEW_STATUSES, actions=ACTION_LABELS, problems=parsed.problems, notice=notice,
        status=200 if parsed.ok else 422,
    )  # fmt: skip


@router.post("/import")
async def upload(request: Request, user: AdminUser) -> Response:
    """Read and check the file, stage it, and show what would happen row by row; nothing is committed yet."""
    form = await request.form(max_files=1, max_fields=10)
    new_status = str(form.get("new_status") or PolicyStatus.PUBLISHED)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return render(
            request, "admin/import.html", status=422, new_statuses=NEW_STATUSES, error="请选择要导入的文件",
            limit=importing.MAX_BYTES // 1024 // 1024,
        )  # fmt: skip
    name = Path(file.filename).name[:200]
    vocabulary = await in_transaction(request, lambda session: terms.load_vocabulary(session=session))
    with tempfile.TemporaryDirectory(prefix="appealbot-import-") as folder:
        path = await _save_upload(file, Path(folder))
        parsed = await asyncio.to_thread(importing.read_file, path, name=name, vocabulary=vocabulary)
    staged = secrets.token_hex(16)

    def stage(session: Session) -> Plan:
        session.execute(delete(StagedImport).where(StagedImport.created_at < datetime.now(UTC) - STAGED_FOR))
        plan = import_plan.plan(session=session, parsed=parsed)
        if parsed.ok:
            records = [{**row.record, "_row": row.number} for row in parsed.rows if row.record is not None]
            now = datetime.now(UTC)
            session.add(StagedImport(id=staged, filename=name, records=records, author=user.username, created_at=now))
        return plan

    plan = await in_transaction(request, stage)
    return _preview(request, parsed=parsed, plan=plan, staged=staged, new_status=new_status)


def _parsed_again(staged: StagedImport) -> Parsed:
    parsed = Parsed(file=staged.filename)
    for record in staged.records:
        data = {key: value for key, value in record.items() if key != "_row"}
        parsed.rows.append(Row(number=int(record.get("_row", 0)), raw=data, record=data))
    return parsed


@router.post("/import/{staged_id}/commit")
async def commit(request: Request, user: AdminUser, services: ServicesDep, staged_id: str) -> Response:
    """Apply a previewed import in one transaction, if the catalog has not moved since the preview."""
    form = await request.form()
    digest = str(form.get("digest") or "")
    new_status = str(form.get("new_status") or PolicyStatus.PUBLISHED)
    if new_status not in NEW_STATUSES:
        raise HTTPException(422, "未知状态")

    def apply(session: Session) -> tuple[str, Any]:
        staged = session.get(StagedImport, staged_id)
        if staged is None:
            return "gone", None
        parsed = _parsed_again(staged)
        plan = import_plan.plan(session=session, parsed=parsed)
        if plan.digest() != digest:
            return "moved", (parsed, plan)
        counts = import_plan.apply(
            session=session, records=parsed.records(), author=user.username, source=staged.filename,
            new_status=PolicyStatus(new_status),
        )  # fmt: skip
        session.delete(staged)
        return "done", counts

    outcome, result = await in_transaction(request, apply)
    if outcome == "gone":
        message = "此导入已完成或已过期，请重新上传文件。"
        return render(request, "error.html", status=410, title="导入已失效", message=message)
    if outcome == "moved":
        parsed, plan = result
        notice = "预览之后政策清单已有变动，下面是按最新清单重新生成的预览，请核对后再确认。"
        return _preview(request, parsed=parsed, plan=plan, staged=staged_id, new_status=new_status, notice=notice)
    if result[PlanAction.ADD] or result[PlanAction.CHANGE]:
        await catalog_changed(services)
    query = "&".join(f"{key}={result[key]}" for key in (PlanAction.ADD, PlanAction.CHANGE, PlanAction.SAME))
    return RedirectResponse(f"/admin/policies?done=imported&{query}", status_code=303)


@router.post("/import/{staged_id}/cancel")
async def cancel(request: Request, user: AdminUser, staged_id: str) -> Response:
    """Drop a staged import."""
    await in_transaction(request, lambda s: s.execute(delete(StagedImport).where(StagedImport.id == staged_id)))
    return RedirectResponse("/admin/import", status_code=303)


@router.get("/export.{kind}")
async def export(request: Request, user: AdminUser, kind: str) -> Response:
    """Every policy as a file to download."""
    if kind not in EXPORT_TYPES:
        raise HTTPException(404, "不支持的导出格式")
    rows = await in_transaction(request, lambda s: exporting.records(session=s))
    data = await asyncio.to_thread(exporting.render, rows, f".{kind}")
    name = f"政策清单-{datetime.now(UTC).strftime('%Y%m%d')}.{kind}"
    disposition = f"attachment; filename=\"policies.{kind}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=EXPORT_TYPES[kind], headers={"Content-Disposition": disposition})
