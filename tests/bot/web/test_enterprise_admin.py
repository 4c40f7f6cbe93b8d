"""The admin pages of 政策找人 over real HTTP against the real app: the enterprise register (import, export, one
enterprise, staff edits), the tag vocabulary, the push preview and its campaign, 兑现 records and 应享未享, the
share of 免申即享/即申即享; and the staff's read view of an enterprise."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import select

from bot.platform import db
from bot.platform.settings import Settings
from enterprises.models import Binding, Enterprise, FieldSource
from policies import service
from policies.models import Campaign, Delivery, PolicyStatus
from tests.enterprises.support import HEADER, code
from tests.policies.support import STAFF, admin_client, csrf_of, csv_text, login, prepare, read
from tests.support.servers import running

SMALL, MICRO, LARGE = code(41), code(42), code(43)
REGISTER = csv_text(
    [
        HEADER,
        [SMALL, "莲湖小型制造有限公司", "制造业", "小型", "无", "西关街道", "2019-04-01", "45", "孙三", "13800000003"],
        [MICRO, "莲湖微型商贸有限公司", "批发和零售业", "微型", "", "", "", "", "", ""],
        [LARGE, "莲湖大型制造有限公司", "制造业", "大型", "规上工业", "", "", "", "", ""],
    ]
)


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


def upload(client: httpx.Client, token: str, path: str, name: str, data: bytes) -> httpx.Response:
    return client.post(path, data={"csrf_token": token}, files={"file": (name, data)})


def enterprise_id(settings: Settings, uscc: str) -> int:
    found = read(settings, lambda session: session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)))
    assert found is not None
    return int(found)


def test_register_import_export_and_one_enterprise(settings: Settings, admin: tuple[httpx.Client, str]) -> None:
    client, token = admin
    bad = REGISTER.replace("批发和零售业", "科技").encode()
    refused = upload(client, token, "/admin/enterprises/import", "名录.csv", bad)
    assert refused.status_code == 422
    assert "文件 名录.csv，第 3 行，列「行业」：行业「科技」不是国民经济行业分类" in refused.text
    assert "未导入任何企业" in refused.text and read(settings, lambda s: s.scalar(select(Enterprise.id))) is None
    done = upload(client, token, "/admin/enterprises/import", "名录.csv", REGISTER.encode())
    assert "新增 3 家，修改 0 家，不变 0 家" in done.text and "莲湖小型制造有限公司" in done.text
    exported = client.get("/admin/enterprises/export.xlsx")
    assert exported.status_code == 200 and "filename*=UTF-8''" in exported.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None and [cell.value for cell in sheet[1]] == HEADER
    again = upload(client, token, "/admin/enterprises/import", "export.xlsx", exported.content)
    assert "新增 0 家，修改 0 家，不变 3 家" in again.text
    page = client.get(f"/admin/enterprises/{enterprise_id(settings, SMALL)}").text
    assert "导入核验" in page and "西关街道" in page and "贵企业为小微企业，符合适用对象" in page  # P01 fits
    invalid = client.post(
        f"/admin/enterprises/{enterprise_id(settings, SMALL)}/edit", data={"csrf_token": token, "employees": "很多"}
    )
    assert invalid.status_code == 422 and "从业人数「很多」应为整数" in invalid.text
    saved = client.post(
        f"/admin/enterprises/{enterprise_id(settings, MICRO)}/edit",
        data={"csrf_token": token, "street": "土门街道", "qualifications": ["个体工商户"], "employees": "6"},
    )
    assert "已保存（来源：工作人员录入）" in saved.text and "工作人员录入" in saved.text
    stored = read(settings, lambda s: s.scalar(select(Enterprise).where(Enterprise.uscc == MICRO)))
    assert stored is not None and (stored.street, stored.qualifications, stored.employees) == (
        "土门街道",
        ["个体工商户"],
        6,
    )
    assert stored.sources["street"]["source"] == FieldSource.STAFF and stored.sources["street"]["by"] == "admin"
    assert stored.sources["industry"]["source"] == FieldSource.REGISTER  # untouched fields keep their source


def test_vocabulary_terms(admin: tuple[httpx.Client, str]) -> None:
    client, token = admin
    page = client.get("/admin/vocabulary").text
    assert "高新技术企业" in page and "北院门街道" in page and "C 制造业" in page
    added = client.post("/admin/vocabulary", data={"csrf_token": token, "key": "资质", "value": "瞪羚企业"})
    assert "已添加" in added.text and "瞪羚企业" in added.text
    twice = client.post("/admin/vocabulary", data={"csrf_token": token, "key": "资质", "value": "瞪羚企业"})
    assert twice.status_code == 422 and "资质词表中已有「瞪羚企业」" in twice.text
    removed = client.post("/admin/vocabulary/remove", data={"csrf_token": token, "key": "资质", "value": "瞪羚企业"})
    assert "已删除" in removed.text and "<li>瞪羚企业" not in removed.text


def test_publish_preview_confirm_and_the_report(settings: Settings, admin: tuple[httpx.Client, str]) -> None:
    client, token = admin
    upload(client, token, "/admin/enterprises/import", "名录.csv", REGISTER.encode())
    engine = db.make_engine(settings.database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            session.add(Binding(openid="o_admin_small", enterprise_id=enterprise_id(settings, SMALL),
                                source=FieldSource.REGISTER, bound_at=datetime.now(UTC)))  # fmt: skip
            raw = {"code": "T9", "name": "小微制造企业技改补贴", "body": "区工信交通局", "content": "奖励10万元",
                   "tags": "行业:制造业;规模:小微"}  # fmt: skip
            policy_id = service.create(session=session, raw=raw, author="admin", status=PolicyStatus.DRAFT).id
    finally:
        engine.dispose()
    published = client.post(f"/admin/policies/{policy_id}/status", data={"csrf_token": token, "status": "published"})
    assert str(published.url).endswith(f"/admin/policies/{policy_id}/push?published=1")
    preview = published.text
    assert "政策已发布。可将它推送给符合条件的企业" in preview
    assert 'id="n-eligible">1<' in preview and 'id="n-messages">1<' in preview
    assert "【政策推送】小微制造企业技改补贴" in preview and "贵企业为制造业小微企业，符合适用对象。" in preview
    version = csrf_of(preview) and preview.split('name="version" value="')[1].split('"')[0]
    report = client.post(f"/admin/policies/{policy_id}/push", data={"csrf_token": token, "version": version})
    assert "/admin/campaigns/" in str(report.url) and "已确认推送" in report.text
    assert 'data-figure="待发送">1<' in report.text and "o_admin_small" in report.text
    again = client.post(f"/admin/policies/{policy_id}/push", data={"csrf_token": token, "version": version})
    assert again.url == report.url.copy_with(query=None)  # the same campaign, not a second one
    campaigns = read(settings, lambda s: s.scalars(select(Campaign)).all())
    assert len(campaigns) == 1
    assert read(settings, lambda s: len(s.scalars(select(Delivery)).all())) == 1
    stopped = client.post(f"/admin/campaigns/{campaigns[0].id}/stop", data={"csrf_token": token})
    assert "已停止推送" in stopped.text and 'data-figure="已停止">1<' in stopped.text


def test_redemptions_unclaimed_and_the_share_on_the_home(settings: Settings, admin: tuple[httpx.Client, str]) -> None:
    client, token = admin
    upload(client, token, "/admin/enterprises/import", "名录.csv", REGISTER.encode())
    bad = csv_text([["统一社会信用代码", "政策编号", "兑现日期"], [SMALL, "P404", "2026-01-05"]]).encode()
    refused = upload(client, token, "/admin/redemptions/import", "兑现.csv", bad)
    assert refused.status_code == 422 and "第 2 行，列「政策编号」：政策清单中没有编号为「P404」的政策" in refused.text
    good = csv_text([["统一社会信用代码", "政策编号", "兑现日期", "兑现金额"], [SMALL, "P01", "2026-01-05", "3000"]])
    assert "新增 1 条兑现记录" in upload(client, token, "/admin/redemptions/import", "兑现.csv", good.encode()).text
    p01 = read(settings, lambda s: service.get_by_code(session=s, code="P01"))
    assert p01 is not None
    sheet = load_workbook(io.BytesIO(client.get(f"/admin/policies/{p01.id}/unclaimed.xlsx").content)).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [MICRO]  # SMALL received it
    home = client.get("/admin/").text
    assert "免申即享、即申即享政策占比" in home and 'id="quick-share">' in home


def test_staff_read_view_of_an_enterprise(
    settings: Settings, live: tuple[str, FastAPI], admin: tuple[httpx.Client, str]
) -> None:
    client, token = admin
    upload(client, token, "/admin/enterprises/import", "名录.csv", REGISTER.encode())
    with httpx.Client(base_url=live[0], timeout=30, follow_redirects=True) as staff:
        assert login(staff, *STAFF).status_code == 303
        found = staff.get("/console/enterprises", params={"q": "小型制造"}).text
        assert "莲湖小型制造有限公司" in found
        page = staff.get(f"/console/enterprises/{enterprise_id(settings, SMALL)}")
        assert page.status_code == 200 and "导入核验" in page.text and "没有您可查看的诉求" in page.text
        assert staff.get(f"/admin/enterprises/{enterprise_id(settings, SMALL)}").status_code == 403
