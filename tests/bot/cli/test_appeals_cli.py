"""`appealbot appeals list|show` and `appealbot routing import|export`, run as an operator runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.platform import db
from routing import dispatch, lifecycle
from routing.lifecycle import Actor
from routing.models import ActorRole, Category, Unit
from tests.support.databases import Templates

ROOT = Path(__file__).resolve().parents[3]
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")


def appealbot(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")}
    env |= {"APPEALBOT_DATABASE_URL": f"sqlite:///{database}", "APPEALBOT_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def seed(templates: Templates, database: Path) -> list[str]:
    """Two appeals: one just dispatched, one signed by its unit long ago (its later limits overdue)."""
    engine = db.make_engine(templates.sqlite(database, "schema"))  # migrated, with the default routing table
    now = datetime.now(UTC)
    with db.transaction(db.session_factory(engine)) as session:
        fresh = dispatch.file_appeal(
            session=session,
            now=now,
            submission=dispatch.Submission(
                openid="o_a",
                enterprise="甲公司",
                contact="张三",
                phone="13800000000",
                description="政府拖欠工程款",
                category_code="C11",
            ),
        )
        old = dispatch.file_appeal(
            session=session,
            now=now - timedelta(days=40),
            submission=dispatch.Submission(
                openid="o_b",
                enterprise="乙公司",
                contact="李四",
                phone="13900000000",
                description="要求开循环证明",
                category_code="C08",
            ),
        )
        unit_id = session.scalars(select(Unit.id).where(Unit.name == "区司法局")).one()
        lifecycle.sign(
            session=session, appeal_id=old.id, actor=Actor(ActorRole.STAFF, "li", unit_id), now=now - timedelta(days=40)
        )
        references = [fresh.reference, old.reference]
    engine.dispose()
    return references


@pytest.mark.slow  # six `appealbot` processes
def test_appeals_list_and_show_with_every_deadline_and_its_status(templates: Templates, tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    fresh, old = seed(templates, database)
    listed = appealbot("appeals", "list", "--json", database=database)
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [item["reference"] for item in items] == [old, fresh]  # newest first by filing order
    item = items[0]
    assert set(item) >= {"reference", "state", "category", "lead_unit", "enterprise", "deadlines"}
    assert (item["state"], item["lead_unit"], item["enterprise"]) == ("signed", "区司法局", "乙公司")
    assert [(d["stage"], d["status"]) for d in item["deadlines"]] == [
        ("sign", "met"),
        ("contact", "overdue"),
        ("reply", "overdue"),
    ]
    assert all(ISO_WITH_OFFSET.match(d["due_at"]) for i in items for d in i["deadlines"])

    by_state = json.loads(appealbot("appeals", "list", "--state", "待签收", "--json", database=database).stdout)
    assert [item["reference"] for item in by_state] == [fresh]
    by_unit = json.loads(appealbot("appeals", "list", "--unit", "区司法局", "--json", database=database).stdout)
    assert [item["reference"] for item in by_unit] == [old]
    text = appealbot("appeals", "list", database=database)
    assert text.returncode == 0 and fresh in text.stdout and "共 2 件" in text.stdout

    shown = appealbot("appeals", "show", fresh.lower(), "--json", database=database)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["reference"] == fresh and detail["phone"] == "13800000000"
    assert [event["action"] for event in detail["history"]] == ["accept", "dispatch"]
    assert ISO_WITH_OFFSET.match(detail["history"][0]["at"])
    readable = appealbot("appeals", "show", old, database=database)
    assert "截止" in readable.stdout and "已超时" in readable.stdout and "签收" in readable.stdout


def test_bad_input_exits_2_with_a_message(templates: Templates, tmp_path: Path) -> None:
    database = tmp_path / "b.db"
    seed(templates, database)
    unknown = appealbot("appeals", "show", "LH-20990101-0001", database=database)
    assert unknown.returncode == 2 and "没有编号为 LH-20990101-0001 的诉求" in unknown.stderr
    state = appealbot("appeals", "list", "--state", "飞了", database=database)
    assert state.returncode == 2 and "未知的状态「飞了」" in state.stderr


@pytest.mark.slow  # five `appealbot` processes
def test_routing_export_and_import_all_or_nothing(tmp_path: Path) -> None:
    database = tmp_path / "r.db"
    exported = appealbot("routing", "export", str(tmp_path / "table.xlsx"), database=database)
    assert exported.returncode == 0, exported.stderr  # an empty database gets the seed's table first
    assert (tmp_path / "table.xlsx").stat().st_size > 0
    assert appealbot("routing", "export", str(tmp_path / "categories.csv"), database=database).returncode == 0
    rows = (tmp_path / "categories.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("编码,名称,牵头单位") and len(rows) == 14

    bad = tmp_path / "bad.csv"
    bad.write_text("编码,名称,牵头单位\nC01,改了名字,区投资局\nC02,要素保障,区不存在局\n", encoding="utf-8")
    refused = appealbot("routing", "import", str(bad), database=database)
    assert refused.returncode == 2
    assert "文件 bad.csv，第 3 行，列「牵头单位」：没有名为「区不存在局」的单位" in refused.stderr
    assert "导入未执行" in refused.stderr
    engine = db.make_engine(f"sqlite:///{database}")
    with db.session_factory(engine)() as session:
        assert session.scalars(select(Category.name).where(Category.code == "C01")).one() != "改了名字"
    good = tmp_path / "good.csv"
    good.write_text("编码,名称,牵头单位\nC01,招商承诺不兑现,区投资局\n", encoding="utf-8")
    assert appealbot("routing", "import", str(good), database=database).returncode == 0
    with db.session_factory(engine)() as session:
        assert session.scalars(select(Category.name).where(Category.code == "C01")).one() == "招商承诺不兑现"
    engine.dispose()
    missing = appealbot("routing", "import", str(tmp_path / "nope.xlsx"), database=database)
    assert missing.returncode == 2 and "文件 nope.xlsx：文件不存在" in missing.stderr
