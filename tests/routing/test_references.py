"""Appeal references: PREFIX-YYYYMMDD-NNNN by the district's day, prefix from data, unique under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from bot.platform import db
from intents.matcher import find_reference
from routing.models import RoutingSetting
from routing.references import format_reference, next_reference, normalize_reference
from tests.routing.support import MONDAY, file, local


def test_references_count_per_local_day(session: Session) -> None:
    first = file(session, now=MONDAY)
    second = file(session, now=MONDAY)
    # 23:30 in Xi'an is still Monday there, though it is 15:30 UTC.
    late = file(session, now=local(2026, 11, 23, 23, 30))
    next_day = file(session, now=local(2026, 11, 24, 0, 5))
    assert [first.reference, second.reference, late.reference, next_day.reference] == [
        "LH-20261123-0001",
        "LH-20261123-0002",
        "LH-20261123-0003",
        "LH-20261124-0001",
    ]


def test_the_prefix_is_data(session: Session) -> None:
    session.execute(update(RoutingSetting).where(RoutingSetting.key == "reference_prefix").values(value="XC"))
    assert file(session, now=MONDAY).reference == "XC-20261123-0001"


def test_the_matcher_finds_our_references_in_a_message() -> None:
    reference = format_reference("LH", MONDAY.date(), 42)
    assert reference == "LH-20261123-0042"
    for said in (f"请问{reference}办得怎么样了", "lh202611230042 进度", "ＬＨ－２０２６１１２３－００４２"):
        assert find_reference(said) == reference
        assert normalize_reference(said) == reference


@pytest.fixture
def pg_engine(pg_database: str) -> Iterator[Engine]:
    engine = db.make_engine(pg_database)
    yield engine
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.database("schema")  # migrated, with the default routing table
def test_concurrent_filings_never_share_a_number(pg_engine: Engine) -> None:
    factory = db.session_factory(pg_engine)
    references: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def take() -> None:
        try:
            start.wait()
            for _ in range(5):
                with db.transaction(factory) as session:
                    references.append(next_reference(session=session, prefix="LH", day=MONDAY.date()))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(references) == [format_reference("LH", MONDAY.date(), n) for n in range(1, 61)]
