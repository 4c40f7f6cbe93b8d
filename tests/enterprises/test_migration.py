"""Migration 0005 on a database that already holds a policy list: tags move onto the vocabulary, with a version."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, select, text

from bot.platform import db
from enterprises import terms
from policies import versions
from policies.models import Policy, PolicyTag
from tests.support.migrations import migrate, model_differences

MINE = {
    "enterprises", "enterprise_qualifications", "enterprise_bindings", "tag_terms", "push_campaigns", "push_deliveries",
    "push_opt_outs", "template_reports", "redemptions",
}  # fmt: skip
OLD_TAGS = {
    "P08": {"类型": "税收", "行业": "科技", "层级": "国家", "资质": "高新技术企业"},
    "P02": {"类型": "税收", "主体": "个体工商户", "层级": "国家"},
    "P26": {"类型": "税收", "行业": "软件和信息技术服务业、外贸"},
    "P99": {"规模": "小微型", "资质": "瞪羚企业", "街道": "北院门街道"},
    "P01": {"类型": "税收", "规模": "小微"},
}


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    engine = db.make_engine(empty_url)
    yield engine
    engine.dispose()


def test_existing_policy_tags_move_onto_the_vocabulary(engine: Engine) -> None:
    migrate(engine, "0006")
    with engine.begin() as connection:
        for number, (code, tags) in enumerate(OLD_TAGS.items(), start=1):
            connection.execute(
                text(
                    "INSERT INTO policies (id, code, name, body, eligibility, content, process, materials, mode, tags,"
                    " keywords, url, status, demo, version, updated_by) VALUES (:id, :code, :code, '区税务局', '',"
                    " '优惠', '', '', '依申请', :tags, '[]', '', 'published', true, 1, '')"
                ),
                {"id": number, "code": code, "tags": json.dumps(tags, ensure_ascii=False)},
            )
            connection.execute(
                text(
                    "INSERT INTO policy_versions (policy_id, number, action, changed, snapshot, author, note,"
                    " created_at) VALUES (:id, 1, 'created', '[]', :snapshot, '', '', CURRENT_TIMESTAMP)"
                ),
                {"id": number, "snapshot": json.dumps({"code": code, "tags": tags}, ensure_ascii=False)},
            )
    migrate(engine, "head")
    with db.session_factory(engine)() as session:
        stored = {policy.code: policy for policy in session.scalars(select(Policy))}
        assert stored["P08"].tags == {"类型": "税收", "领域": "科技", "层级": "国家", "资质": "高新技术企业"}
        assert stored["P02"].tags == {"类型": "税收", "资质": "个体工商户", "层级": "国家"}
        assert stored["P26"].tags == {"类型": "税收", "行业": "信息传输、软件和信息技术服务业", "领域": "外贸"}
        assert stored["P99"].tags["规模"] == "小微"
        assert stored["P01"].version == 1  # already on the vocabulary: untouched
        history = versions.history(session=session, policy_id=stored["P08"].id)
        assert (history[0].number, history[0].author, history[0].changed) == (2, "系统升级", ["tags"])
        assert history[0].snapshot["tags"] == stored["P08"].tags and history[0].snapshot["code"] == "P08"
        rows = {
            (row[0], row[1])
            for row in session.execute(select(PolicyTag.key, PolicyTag.value).where(PolicyTag.policy_id == 3))
        }
        assert ("行业", "信息传输、软件和信息技术服务业") in rows and ("领域", "外贸") in rows
        vocabulary = terms.load_vocabulary(session=session)
        assert "瞪羚企业" in vocabulary.qualifications and "高新技术企业" in vocabulary.qualifications
        assert len(vocabulary.streets) == 9
    migrate(engine, "0006", down=True)
    assert "enterprises" not in set(inspect(engine).get_table_names())
    migrate(engine, "head")


def test_models_and_migrations_agree(engine: Engine) -> None:
    db.upgrade(engine)
    assert model_differences(engine, MINE) == []
