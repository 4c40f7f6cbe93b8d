from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from policies import service
from policies.catalog import doc_from_record, doc_from_row, read_demo_catalog
from policies.models import Policy
from policies.replies import format_policy_card
from storage import Base


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def add(session: Session, code: str, **fields: object) -> None:
    values: dict[str, object] = {"name": f"政策{code}", "body": "区人社局", "content": "补贴"} | fields
    session.add(Policy(code=code, **values))
    session.flush()


def test_load_demo_into_an_empty_table(session: Session) -> None:
    inserted = service.load_demo(session=session)
    assert inserted == len(read_demo_catalog()) >= 20
    assert service.count(session=session) == inserted
    rows = session.scalars(select(Policy)).all()
    assert all(row.demo and row.status == "published" for row in rows)
    p05 = session.scalars(select(Policy).where(Policy.code == "P05")).one()
    assert p05.tags["类型"] == "补贴" and "稳岗返还" in p05.keywords
    p01 = session.scalars(select(Policy).where(Policy.code == "P01")).one()
    assert p01.valid_to == date(2027, 12, 31)


def test_load_demo_does_not_commit(session: Session) -> None:
    service.load_demo(session=session)
    session.rollback()
    assert service.count(session=session) == 0


def test_load_demo_leaves_an_existing_list_alone(session: Session) -> None:
    add(session, "X1")
    assert service.load_demo(session=session) == 0
    assert service.count(session=session) == 1


def test_load_demo_twice_inserts_once(session: Session) -> None:
    first = service.load_demo(session=session)
    assert service.load_demo(session=session) == 0
    assert service.count(session=session) == first


def test_published_docs_respect_status_and_validity(session: Session) -> None:
    today = date(2026, 11, 27)
    add(session, "A1")
    add(session, "A2", valid_from=today, valid_to=today)
    add(session, "B1", status="draft")
    add(session, "B2", status="withdrawn")
    add(session, "B3", valid_to=date(2026, 11, 26))
    add(session, "B4", valid_from=date(2026, 11, 28))
    assert [doc.code for doc in service.published_docs(session=session, today=today)] == ["A1", "A2"]


def test_row_and_record_give_the_same_document(session: Session) -> None:
    service.load_demo(session=session)
    by_code = {doc.code: doc for doc in service.published_docs(session=session, today=date(2026, 11, 27))}
    for record in read_demo_catalog():
        if record["code"] in by_code:
            assert by_code[record["code"]] == doc_from_record(record)


def test_doc_from_row_tolerates_empty_optional_columns(session: Session) -> None:
    add(session, "C1")
    row = session.scalars(select(Policy).where(Policy.code == "C1")).one()
    doc = doc_from_row(row)
    assert (doc.eligibility, doc.materials, doc.mode, doc.tags, doc.keywords, doc.url) == ("", "", "依申请", (), (), "")


def test_only_published_valid_policies_can_be_sent_as_cards(session: Session) -> None:
    today = date(2026, 11, 27)
    add(
        session,
        "A1",
        status="published",
        process="网上申报",
        materials="营业执照；申请表",
        url="https://example.gov.cn/a1",
    )
    add(session, "A2", status="withdrawn")
    add(session, "A3", status="draft")
    add(session, "A4", status="published", valid_to=date(2026, 1, 1))
    add(session, "A5", status="published", valid_from=date(2027, 1, 1))
    assert service.published_names(session=session, today=today) == [("A1", "政策A1")]
    assert [
        code
        for code in ("A1", "A2", "A3", "A4", "A5", "ZZ")
        if service.published_doc(session=session, code=code, today=today)
    ] == ["A1"]
    doc = service.published_doc(session=session, code="A1", today=today)
    assert doc is not None
    assert format_policy_card(doc) == (
        "【政策推荐】政策A1【依申请】\n实施主体：区人社局\n优惠内容：补贴\n如何申请：网上申报\n"
        "申报材料：营业执照；申请表\n原文链接：https://example.gov.cn/a1"
    )
