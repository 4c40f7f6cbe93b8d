from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from intents.matcher import Matcher
from policies import service as policy_service
from routing import models, service
from routing.table import read_default_table
from storage import Base


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)  # routing's and policies' tables: they share one metadata
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_default_table_is_loaded_once(session: Session) -> None:
    table = read_default_table()
    assert service.ensure_default_table(session=session) is True
    assert service.ensure_default_table(session=session) is False
    assert session.scalar(select(func.count()).select_from(models.Category)) == len(table["categories"])
    assert session.scalar(select(func.count()).select_from(models.Unit)) == len(table["units"])


def test_loading_does_not_commit(session: Session) -> None:
    service.ensure_default_table(session=session)
    session.rollback()
    assert service.category_docs(session=session) == []


def test_existing_units_are_reused(session: Session) -> None:
    session.add(models.Unit(name="区营商办", kind="office"))
    session.flush()
    assert service.ensure_default_table(session=session) is True
    names = session.scalars(select(models.Unit.name).where(models.Unit.name == "区营商办")).all()
    assert names == ["区营商办"]


def test_category_docs_match_the_table(session: Session) -> None:
    service.ensure_default_table(session=session)
    docs = service.category_docs(session=session)
    table = read_default_table()["categories"]
    assert [doc.code for doc in docs] == sorted(record["code"] for record in table)
    by_code = {record["code"]: record for record in table}
    for doc in docs:
        record = by_code[doc.code]
        assert doc.name == record["name"]
        assert doc.lead_unit == record["lead_unit"]
        assert doc.units == tuple(record["units"])  # in the table's order
        assert doc.keywords == tuple(record["keywords"])


def test_database_catalog_routes_an_appeal(session: Session) -> None:
    service.ensure_default_table(session=session)
    policy_service.load_demo(session=session)
    matcher = Matcher(
        policy_service.published_docs(session=session, today=date(2026, 11, 27)),
        service.category_docs(session=session),
    )
    data = matcher.match("政府拖欠我们的工程款两年了").to_dict()
    assert (data["intent"], data["lead_unit"]) == ("appeal", "区工信交通局")
    assert matcher.match("稳岗补贴怎么申请").policies[0].code == "P05"
