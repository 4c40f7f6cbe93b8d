"""The policy list's tables on SQLite and on the real PostgreSQL: migration 0002, versions, tags, lexicon."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

import bot.accounts  # noqa: F401  (registers the users tables in the metadata)
from bot.platform import db
from policies import import_plan, importing, lexicon, service, versions
from policies.models import Policy, PolicyStatus, PolicyTag
from tests.policies.support import csv_text, write
from tests.support.databases import Content, Templates
from tests.support.migrations import model_differences

MINE = {"policies", "policy_tags", "policy_versions", "policy_imports", "lexicon_entries", "users", "login_sessions"}
RAW = {
    "code": "K1",
    "name": "夜市摊位补贴",
    "body": "区商务局",
    "content": "每个摊位补贴2000元",
    "tags": "规模:小微;行业:零售、餐饮",
}


# Migrated once per session (tests/support/databases.py); the test of migration 0002 starts empty.
pytestmark = pytest.mark.database("schema")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path, templates: Templates, database_content: Content) -> str:
    if request.param == "sqlite":
        return templates.sqlite(tmp_path / "store.db", database_content)
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        yield session


@pytest.mark.database("empty")
def test_migration_0002_gives_existing_policies_a_first_version(engine: Engine) -> None:
    with engine.begin() as connection:
        config = db.alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO policies (code, name, body, eligibility, content, process, materials, mode, tags,"
                " keywords, valid_from, url, status, demo) VALUES ('P1', '稳岗返还', '区人社局', '', '返还', '', '',"
                " '免申即享',"
                " '{\"规模\": \"中小\", \"类型\": \"补贴\"}', '[\"稳岗\"]', '2024-01-01', '', 'published', true)"
            )
        )
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        policy = session.scalars(select(Policy)).one()
        assert policy.version == 1
        first = versions.history(session=session, policy_id=policy.id)
        assert [(v.number, v.action) for v in first] == [(1, "created")]
        assert first[0].snapshot["valid_from"] == "2024-01-01" and first[0].snapshot["tags"]["规模"] == "中小"
        tags = {tuple(row) for row in session.execute(select(PolicyTag.key, PolicyTag.value))}
        assert tags == {("规模", "中"), ("规模", "小"), ("类型", "补贴")}


def test_models_and_migrations_agree(session: Session, engine: Engine) -> None:
    assert model_differences(engine, MINE) == []


def test_every_change_is_a_version_and_moves_the_catalog_version(session: Session) -> None:
    seen = {service.catalog_version(session=session)}

    def moved() -> None:
        session.commit()
        now = service.catalog_version(session=session)
        assert now not in seen
        seen.add(now)

    policy = service.create(session=session, raw=RAW, author="admin")
    assert policy.status == "draft" and policy.tags == {"规模": "小微", "行业": "批发和零售业、住宿和餐饮业"}
    moved()
    service.set_status(session=session, policy=policy, status="published", author="admin")
    moved()
    assert service.update(session=session, policy=policy, raw={**RAW, "name": "夜市补贴"}, author="li") == ["name"]
    moved()
    assert service.update(session=session, policy=policy, raw={**RAW, "name": "夜市补贴"}, author="li") == []
    assert service.restore(session=session, policy=policy, number=1, author="wang") == ["name"]
    moved()
    service.set_status(session=session, policy=policy, status="withdrawn", author="admin")
    moved()
    lexicon.save_entry(session=session, term="夜市摊位补贴", aliases="摆摊补贴", author="admin")
    moved()
    history = versions.history(session=session, policy_id=policy.id)
    assert [(v.number, v.action, v.author, v.changed) for v in history] == [
        (5, "withdrawn", "admin", ["status"]),
        (4, "restored", "wang", ["name"]),
        (3, "updated", "li", ["name"]),
        (2, "published", "admin", ["status"]),
        (1, "created", "admin", [*versions.FIELDS, "status"]),
    ]
    assert history[1].snapshot["name"] == "夜市摊位补贴" and history[1].note == "恢复到第 1 版"
    assert policy.status == "withdrawn" and policy.name == "夜市摊位补贴"


def test_tag_filters_use_single_values(session: Session) -> None:
    service.create(session=session, raw=RAW, author="admin", status=PolicyStatus.PUBLISHED)
    service.create(session=session, raw={**RAW, "code": "K2", "name": "大企业奖励", "tags": "规模:大"}, author="admin")
    today = date(2026, 11, 27)

    def found(**filters: str) -> list[str]:
        rows, _ = service.search(session=session, filters=service.Filters(**filters), today=today)
        return [row.code for row in rows]

    assert found(tag_key="规模", tag_value="小") == ["K1"]
    assert found(tag_key="行业", tag_value="住宿和餐饮业") == ["K1"]
    assert found(tag_key="规模", tag_value="大") == ["K2"]
    assert found(status="draft") == ["K2"]
    assert found(query="大企业") == ["K2"]
    assert service.tag_choices(session=session)["规模"] == ["大", "小", "微"]


def test_import_plan_and_apply(session: Session, tmp_path: Path) -> None:
    service.create(session=session, raw=RAW, author="admin", status=PolicyStatus.PUBLISHED)
    session.commit()
    rows = [["编号", "政策名称", "实施主体", "优惠内容", "生效日期", "标签"],
            ["K1", "夜市摊位补贴", "区商务局", "每个摊位补贴2000元", "", "规模:小微;行业:零售、餐饮"],
            ["K2", "首店奖励", "区商务局", "奖励", "2025-01-01", "类型:奖励"],
            ["K3", "夜市补贴", "区商务局（改）", "补贴", "", ""]]  # fmt: skip
    parsed = importing.read_file(write(tmp_path / "list.csv", csv_text(rows)))
    service.create(session=session, raw={**RAW, "code": "K3"}, author="admin")
    plan = import_plan.plan(session=session, parsed=parsed)
    assert [(step.code, step.action, step.changes) for step in plan.steps] == [
        ("K1", "same", ()), ("K2", "add", ()), ("K3", "change", ("政策名称", "实施主体", "优惠内容", "标签")),
    ]  # fmt: skip
    counts = import_plan.apply(session=session, records=parsed.records(), author="admin", source="list.csv")
    session.commit()
    assert counts == {"add": 1, "change": 1, "same": 1}
    k2 = service.get_by_code(session=session, code="K2")
    assert k2 is not None and k2.valid_from == date(2025, 1, 1) and k2.status == "published" and k2.version == 1
    k3 = service.get_by_code(session=session, code="K3")
    assert k3 is not None and k3.tags == {} and k3.status == "draft" and k3.version == 2
    assert versions.history(session=session, policy_id=k3.id)[0].note == "文件 list.csv"


def test_lexicon_groups(session: Session) -> None:
    assert service.lexicon_groups(session=session) == []
    lexicon.save_entry(session=session, term="稳岗返还", aliases="稳岗钱，返岗补助 稳岗钱", author="admin")
    lexicon.save_entry(session=session, term="ＡＩ补贴", aliases=["人工智能补贴", "AI补贴"], author="admin")
    assert service.lexicon_groups(session=session) == [["AI补贴", "人工智能补贴"], ["稳岗返还", "稳岗钱", "返岗补助"]]
    with pytest.raises(lexicon.LexiconError, match="「稳岗钱」已在「稳岗返还」一组中"):
        lexicon.save_entry(session=session, term="稳岗钱", aliases="稳岗", author="admin")
