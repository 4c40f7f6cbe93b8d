"""The admin console over real HTTP against the real app: login, roles, CSRF, policies, import, lexicon."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.platform.settings import Settings
from policies import importing, service
from policies.models import StagedImport
from tests.policies.support import (
    ADMIN,
    HEADERS,
    STAFF,
    admin_client,
    csrf_of,
    csv_text,
    login,
    policies,
    prepare,
    read,
    xlsx_bytes,
)  # fmt: skip
from tests.support.servers import running

FORM = {
    "code": "K1", "name": "夜市摊位补贴", "body": "区商务局", "content": "每个摊位补贴2000元", "mode": "依申请",
    "tag_行业": "零售", "scale": ["小", "微"], "tag_街道": "北院门", "other_tags": "层级:区级",
    "keywords": "夜市；摊位",
    "valid_from": "2025-01-01", "valid_to": "", "url": "https://example.gov.cn/k1", "eligibility": "", "process": "",
    "materials": "",
}  # fmt: skip


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare(settings)
    with running(settings) as served:
        yield served


@pytest.fixture
def admin(live: tuple[str, FastAPI]) -> Iterator[tuple[httpx.Client, str]]:
    client, token = admin_client(live[0])
    yield client, token
    client.close()


def codes(url: str, text: str) -> list[str]:
    return [hit["code"] for hit in httpx.post(f"{url}/api/match", json={"text": text}).json()["policies"]]


def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the time limit"
        time.sleep(0.2)


def test_pages_need_a_signed_in_admin(live: tuple[str, FastAPI]) -> None:
    url, _ = live
    with httpx.Client(base_url=url) as anonymous:
        response = anonymous.get("/admin/policies?q=稳岗", follow_redirects=False)
        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.path == "/login"
        assert parse_qs(location.query)["next"] == ["/admin/policies?q=%E7%A8%B3%E5%B2%97"]
        assert anonymous.post("/admin/lexicon", data={"term": "x"}, follow_redirects=False).status_code == 303
        assert anonymous.get("/admin/export.csv", follow_redirects=False).status_code == 303
    with httpx.Client(base_url=url) as staff:
        assert login(staff, *STAFF).status_code == 303
        page = staff.get("/admin/policies")
        assert page.status_code == 403 and "没有访问此页面的权限" in page.text
        assert staff.get("/admin/export.json").status_code == 403


def test_session_cookie_flags(settings: Settings) -> None:
    prepare(settings)
    for base, secure in (("http://127.0.0.1:8000", False), ("https://zwfw.example.gov.cn", True)):
        with running(settings.replace("app", base_url=base)) as (url, _), httpx.Client(base_url=url) as client:
            page = client.get("/login")
            assert ("Secure" in page.headers["set-cookie"]) is secure
            token = csrf_of(page.text)
            # Sent by hand: a client on plain http keeps a Secure cookie to itself, as it should.
            response = client.post(
                "/login", data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token},
                headers={"Cookie": f"appealbot_login_csrf={token}"},
            )  # fmt: skip
            cookie = response.headers["set-cookie"]
            session = next(part for part in cookie.split(", appealbot") if "appealbot_session=" in part)
            assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
            assert ("Secure" in session) is secure


def test_wrong_password_then_lockout(live: tuple[str, FastAPI]) -> None:
    url, _ = live
    with httpx.Client(base_url=url) as client:
        for _ in range(5):  # five checked passwords per account and address (bot/web/lockout.py)
            response = login(client, ADMIN[0], "wrong password")
            assert response.status_code == 401 and "用户名或密码错误" in response.text
        assert login(client, "nobody", "wrong password").status_code == 401
        response = login(client, ADMIN[0], "wrong password")
        assert response.status_code == 429 and "登录失败次数过多，请 15 分钟后再试" in response.text
        response = login(client, *ADMIN)
        assert response.status_code == 429, "the right password must not open a locked account"
        assert "appealbot_session" not in response.headers.get("set-cookie", "")


def test_login_form_needs_its_own_token(live: tuple[str, FastAPI]) -> None:
    url, _ = live
    with httpx.Client(base_url=url) as client:
        response = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": "x"})
        assert response.status_code == 403 and "登录页面已过期" in response.text


POSTS = [
    "/admin/policies/new", "/admin/policies/1/edit", "/admin/policies/1/status", "/admin/policies/1/versions/1/restore",
    "/admin/import", "/admin/import/abc/commit", "/admin/import/abc/cancel", "/admin/lexicon", "/admin/lexicon/1/edit",
    "/admin/lexicon/1/delete", "/logout",
]  # fmt: skip


@pytest.mark.parametrize("token", ["", "forged"])
def test_every_form_needs_the_session_token(
    live: tuple[str, FastAPI], admin: tuple[httpx.Client, str], settings: Settings, token: str
) -> None:
    client, _ = admin
    before = {code: policy.version for code, policy in policies(settings).items()}
    for path in POSTS:
        data = {**FORM, "status": "withdrawn", "term": "甲", "aliases": "乙", "csrf_token": token}
        response = client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403, path
        assert "页面已过期或来源不明" in response.text
    assert {code: policy.version for code, policy in policies(settings).items()} == before
    assert client.get("/admin/policies").status_code == 200, "logout without the token must not sign out"


def test_a_form_posted_from_another_site_is_refused(admin: tuple[httpx.Client, str]) -> None:
    client, token = admin
    response = client.post(
        "/admin/policies/1/status", data={"status": "withdrawn", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert response.status_code == 403


def test_create_validate_publish_withdraw_and_the_bot_follows(
    live: tuple[str, FastAPI], admin: tuple[httpx.Client, str], settings: Settings
) -> None:
    url, _ = live
    client, token = admin
    bad = {**FORM, "code": "P01", "name": "", "valid_from": "2025-13-01", "mode": "免申", "csrf_token": token}
    response = client.post("/admin/policies/new", data=bad)
    assert response.status_code == 422
    for message in ("编号「P01」已被", "不能为空", "不是有效日期", "不是有效的兑现方式"):
        assert message in response.text
    assert "K1" not in policies(settings)

    response = client.post("/admin/policies/new", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    k1 = policies(settings)["K1"]
    assert k1.status == "draft" and k1.tags == {
        "行业": "批发和零售业",
        "规模": "小微",
        "街道": "北院门街道",
        "层级": "区级",
    }
    assert k1.keywords == ["夜市", "摊位"] and k1.updated_by == ADMIN[0]
    assert "K1" not in codes(url, "夜市摊位补贴")  # a draft is never recommended

    detail = response.headers["location"].split("?")[0]
    assert client.post(f"{detail}/status", data={"status": "published", "csrf_token": token}).status_code == 200
    eventually(lambda: "K1" in codes(url, "夜市摊位补贴"))
    client.post(f"{detail}/status", data={"status": "withdrawn", "csrf_token": token})
    eventually(lambda: "K1" not in codes(url, "夜市摊位补贴"))
    assert policies(settings)["K1"].status == "withdrawn"
    filtered = client.get("/admin/policies", params={"status": "withdrawn", "tag": "规模:小"}).text
    assert "夜市摊位补贴" in filtered and "小型微利企业" not in filtered


def test_the_list_reads_its_query_and_refuses_a_bad_page_in_words(admin: tuple[httpx.Client, str]) -> None:
    client, _ = admin
    listed = client.get("/admin/policies?q=稳岗&status=published&page=1&done=imported&add=1&change=2&same=0")
    assert listed.status_code == 200 and "导入完成：新增 1 条，修改 2 条，不变 0 条" in listed.text
    assert "稳岗返还" in listed.text and "小型微利企业" not in listed.text
    for query, name in (("page=abc", "page"), ("add=x", "add")):
        refused = client.get(f"/admin/policies?{query}")
        assert refused.status_code == 422 and f"链接中的参数有误：{name}「" in refused.text, query


def test_edit_conflict_versions_and_restore(admin: tuple[httpx.Client, str], settings: Settings) -> None:
    client, token = admin
    p05 = policies(settings)["P05"]
    form = client.get(f"/admin/policies/{p05.id}/edit").text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version and int(version.group(1)) == p05.version
    fields = {
        name: value for name, value in re.findall(r'<input id="f-\w+" name="(\w+)" type="\w+" value="([^"]*)"', form)
    }
    fields.update(content=p05.content, eligibility=p05.eligibility, process=p05.process, materials=p05.materials)
    edit = {**fields, "mode": p05.mode, "version": version.group(1), "csrf_token": token}
    assert client.post(f"/admin/policies/{p05.id}/edit", data={**edit, "name": "稳岗返还（改）"}).status_code == 200
    stale = client.post(f"/admin/policies/{p05.id}/edit", data={**edit, "name": "稳岗返还（再改）"})
    assert stale.status_code == 409 and f"已被 {ADMIN[0]} 修改" in stale.text
    assert policies(settings)["P05"].name == "稳岗返还（改）"

    history = client.get(f"/admin/policies/{p05.id}/versions").text
    assert "第 2 版（当前）" in history and "政策名称" in history and ADMIN[0] in history
    old = client.get(f"/admin/policies/{p05.id}/versions/1").text
    assert "失业保险稳岗返还" in old and "与当前不同" in old
    response = client.post(f"/admin/policies/{p05.id}/versions/1/restore", data={"csrf_token": token})
    assert response.status_code == 200 and "已恢复为所选版本的内容" in response.text
    restored = policies(settings)["P05"]
    assert (restored.name, restored.version, restored.status) == ("失业保险稳岗返还", 3, "published")
    assert "恢复到第 1 版" in client.get(f"/admin/policies/{p05.id}/versions").text


def test_markup_is_shown_as_text(admin: tuple[httpx.Client, str], settings: Settings) -> None:
    client, token = admin
    markup = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    client.post("/admin/policies/new", data={**FORM, "name": markup, "csrf_token": token})
    for page in (client.get("/admin/policies"), client.get(f"/admin/policies/{policies(settings)['K1'].id}")):
        assert markup not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # no script may run at all
        assert page.headers["x-frame-options"] == "DENY"


def upload(client: httpx.Client, token: str, name: str, data: bytes, **fields: str) -> httpx.Response:
    return client.post(
        "/admin/import", data={"csrf_token": token, **fields}, files={"file": (name, data, "application/octet-stream")}
    )


def staged_count(settings: Settings) -> int:
    return read(settings, lambda session: session.execute(select(func.count()).select_from(StagedImport)).scalar_one())


def test_preview_refuses_row_by_row_and_stages_nothing(admin: tuple[httpx.Client, str], settings: Settings) -> None:
    client, token = admin
    data = csv_text(
        [[*HEADERS, "兑现方式"], ["Q1", "首店奖励", "区商务局", "奖励", ""], ["Q2", "坏行", "区商务局", "奖励", "马上"]]
    )
    response = upload(client, token, "list.csv", data.encode("gbk"))
    assert response.status_code == 422
    assert "拒绝 1" in response.text and "新增 1" in response.text
    assert "兑现方式：「马上」不是有效的兑现方式" in response.text
    assert "确认导入" not in response.text and "按 GBK 编码读取" in response.text
    assert staged_count(settings) == 0 and "Q1" not in policies(settings)
    response = upload(client, token, "list.xlsx", b"not really a workbook")
    assert response.status_code == 422 and "内容不是 Excel 工作簿" in response.text


def test_commit_applies_the_preview_unless_the_catalog_moved(
    live: tuple[str, FastAPI], admin: tuple[httpx.Client, str], settings: Settings
) -> None:
    url, _ = live
    client, token = admin
    rows = [
        [*HEADERS, "关键词"],
        ["Q1", "首店奖励", "区商务局", "奖励", "品牌首店"],
        ["P01", "小微所得税", "税务局", "减免", ""],
    ]
    preview = upload(client, token, "list.xlsx", xlsx_bytes(rows), new_status="draft")
    assert preview.status_code == 200 and "新增 1" in preview.text and "修改 1" in preview.text
    staged = re.search(r'action="/admin/import/(\w+)/commit"', preview.text)
    digest = re.search(r'name="digest" value="(\w+)"', preview.text)
    assert staged and digest and staged_count(settings) == 1
    assert policies(settings)["P01"].name == "小型微利企业减免企业所得税"

    # Someone adds Q1 by hand between the preview and the confirmation: the preview is made again.
    client.post("/admin/policies/new", data={**FORM, "code": "Q1", "then": "publish", "csrf_token": token})
    commit = {"csrf_token": token, "digest": digest.group(1), "new_status": "draft"}
    moved = client.post(f"/admin/import/{staged.group(1)}/commit", data=commit)
    assert "预览之后政策清单已有变动" in moved.text and policies(settings)["Q1"].name == "夜市摊位补贴"
    fresh = re.search(r'name="digest" value="(\w+)"', moved.text)
    assert fresh and fresh.group(1) != digest.group(1)
    done = client.post(f"/admin/import/{staged.group(1)}/commit", data={**commit, "digest": fresh.group(1)})
    assert "导入完成：新增 0 条，修改 2 条，不变 0 条" in done.text
    after = policies(settings)
    assert (after["Q1"].name, after["Q1"].status, after["Q1"].keywords) == ("首店奖励", "published", ["品牌首店"])
    assert after["P01"].name == "小微所得税" and after["P01"].body == "税务局" and after["P01"].mode == "免申即享"
    eventually(lambda: "Q1" in codes(url, "开品牌首店有奖励吗"))
    again = client.post(f"/admin/import/{staged.group(1)}/commit", data={**commit, "digest": fresh.group(1)})
    assert again.status_code == 410 and staged_count(settings) == 0


def test_upload_above_the_limit_is_refused_before_it_is_read(
    live: tuple[str, FastAPI], admin: tuple[httpx.Client, str]
) -> None:
    url, _ = live
    client, token = admin
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        head = (
            f"POST /admin/import HTTP/1.1\r\nHost: {address.netloc}\r\nCookie: {cookie}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 52428800\r\n\r\n"
        )
        raw.sendall(head.encode() + b"--b\r\n")
        status = raw.recv(4096).split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 413 Request Entity Too Large"

    def chunks() -> Iterator[bytes]:
        yield f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode()
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for _ in range(importing.MAX_BYTES // (1024 * 1024) + 2):
            yield b"x" * (1024 * 1024)

    response = client.post(
        "/admin/import", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413 and "导入文件不能超过 20 MB" in response.text


@pytest.mark.parametrize("kind", ["xlsx", "csv", "json"])
def test_export_downloads_the_whole_list(
    admin: tuple[httpx.Client, str], settings: Settings, tmp_path: Path, kind: str
) -> None:
    client, _ = admin
    response = client.get(f"/admin/export.{kind}")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    path = tmp_path / f"list.{kind}"
    path.write_bytes(response.content)
    parsed = importing.read_file(path)
    assert parsed.ok and {row.raw["code"] for row in parsed.rows} == set(policies(settings))


def test_lexicon_editor(admin: tuple[httpx.Client, str], settings: Settings) -> None:
    client, token = admin

    def groups() -> list[list[str]]:
        return list(read(settings, lambda session: service.lexicon_groups(session=session)))

    def version() -> str:
        return str(read(settings, lambda session: service.catalog_version(session=session)))

    first = version()
    response = client.post(
        "/admin/lexicon", data={"term": "稳岗返还", "aliases": "稳岗钱、返岗补助；稳岗钱", "csrf_token": token}
    )
    assert response.status_code == 200 and "词条已保存" in response.text and "稳岗钱、返岗补助" in response.text
    assert groups() == [["稳岗返还", "稳岗钱", "返岗补助"]]
    second = version()
    assert second != first
    clash = client.post("/admin/lexicon", data={"term": "首店", "aliases": "返岗补助", "csrf_token": token})
    assert clash.status_code == 422 and "「返岗补助」已在「稳岗返还」一组中" in clash.text
    empty = client.post("/admin/lexicon", data={"term": "首店", "aliases": "", "csrf_token": token})
    assert empty.status_code == 422 and "请至少填写一个别名" in empty.text
    entry = re.search(r'href="/admin/lexicon/(\d+)/edit"', response.text)
    assert entry
    edited = client.post(
        f"/admin/lexicon/{entry.group(1)}/edit", data={"term": "稳岗返还", "aliases": "稳岗钱", "csrf_token": token}
    )
    assert edited.status_code == 200 and groups() == [["稳岗返还", "稳岗钱"]]
    third = version()
    assert third not in {first, second}
    client.post(f"/admin/lexicon/{entry.group(1)}/delete", data={"csrf_token": token})
    # Back to no groups: the version moves on from the last one (and equals the first, as the lexicon does).
    assert groups() == [] and version() != third


def test_examples_and_unanswered_questions(admin: tuple[httpx.Client, str], settings: Settings) -> None:
    from datetime import UTC, datetime

    from bot.platform import db
    from policies import unanswered
    from routing import examples

    client, token = admin
    page = client.get("/admin/examples?source=seed")
    assert page.status_code == 200 and "识别样例" in page.text and "初始样例" in page.text
    assert "语义识别" in page.text and "下一页" in page.text
    first = re.search(r'action="/admin/examples/(\d+)/delete"', page.text)
    assert first
    removed = int(first.group(1))
    response = client.post(f"/admin/examples/{removed}/delete", data={"csrf_token": token})
    assert response.status_code == 200 and "样例已删除" in response.text
    assert f"/admin/examples/{removed}/delete" not in client.get("/admin/examples?source=seed").text
    assert client.post(f"/admin/examples/{removed}/delete", data={}).status_code == 403  # no CSRF token

    engine = db.make_engine(settings.database_url)
    try:
        for text in ("开民办幼儿园有补贴吗", "开民办幼儿园有补贴吗", "开民办幼儿园，有补贴吗？"):
            with db.transaction(db.session_factory(engine)) as session:
                unanswered.record(session=session, text=text, now=datetime.now(UTC))
    finally:
        engine.dispose()
    listing = client.get("/admin/unanswered")
    assert listing.status_code == 200 and "开民办幼儿园有补贴吗" in listing.text
    assert re.search(r'data-label="次数">3<', listing.text), listing.text
    question = re.search(r'action="/admin/unanswered/(\d+)/delete"', listing.text)
    assert question
    cleared = client.post(f"/admin/unanswered/{question.group(1)}/delete", data={"csrf_token": token})
    assert cleared.status_code == 200 and "问题已移出列表" in cleared.text and "还没有未答问题" in cleared.text
    assert read(settings, lambda s: examples.counts(session=s)).get("seed", 0) > 1000
