"""Helpers shared by the policy-list and admin-console tests: a prepared database, accounts, files, a client."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import httpx
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import accounts
from bot.platform import db
from bot.platform.settings import Settings
from bot.services import prepare_database
from policies.models import Policy

ADMIN = ("admin", "correct horse battery")
STAFF = ("clerk", "staple horse battery")
HEADERS = ["编号", "政策名称", "实施主体", "优惠内容"]
T = TypeVar("T")


def prepare(settings: Settings, *, demo: bool = True) -> None:
    """Migrate, load the routing table (and the demo list), and create an admin and a staff account."""
    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(engine, load_demo=demo)
        with db.transaction(db.session_factory(engine)) as session:
            accounts.create_user(session=session, username=ADMIN[0], password=ADMIN[1], role="admin")
            accounts.create_user(session=session, username=STAFF[0], password=STAFF[1], role="staff", unit="区审批局")
    finally:
        engine.dispose()


def read(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run `work(session)` against the settings' database and return its result."""
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_factory(engine)() as session:
            return work(session)
    finally:
        engine.dispose()


def policies(settings: Settings) -> dict[str, Policy]:
    """Every policy by code."""

    def load(session: Session) -> dict[str, Policy]:
        return {policy.code: policy for policy in session.scalars(select(Policy))}

    return dict(read(settings, load))


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    """A workbook with one sheet holding these rows."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(rows: Sequence[Sequence[object]]) -> str:
    """Rows as CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def write(path: Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write bytes or text (in the given encoding) and return the path."""
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def csrf_of(html: str) -> str:
    """The form token on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """Sign in through the login form as a browser would."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": ""},
        follow_redirects=False,
    )


def admin_client(url: str) -> tuple[httpx.Client, str]:
    """A client signed in as the admin, and its form token."""
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    response = login(client, *ADMIN)
    assert response.status_code == 303, response.text
    return client, csrf_of(client.get("/admin/policies/new").text)
