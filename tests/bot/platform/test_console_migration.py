"""Migrations 0004 (read markers) and 0005 (indicators, reports) go down and up over a database with appeals."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, inspect, select

from bot import accounts
from bot.platform import db
from bot.web.console import reads
from routing import service
from routing.models import Appeal, AppealEvent, AppealTimer
from tests.routing.support import file
from tests.support.migrations import migrate


def round_trip(url: str) -> None:
    """Filled at head (the models are head's), down to 0003 through 0005 and 0004, and up again over the data."""
    engine = db.make_engine(url)
    try:
        # A district already handling appeals at 0003: the rows are written with today's models, then the schema
        # goes back to 0003 (later migrations drop only what they added), so the models need not match 0003.
        migrate(engine, "head")
        with db.transaction(db.session_factory(engine)) as session:
            service.ensure_default_table(session=session)
            appeal_id = file(session).id
            user = accounts.create_user(
                session=session, username="clerk", password="long enough 1", role="staff", unit="区审批局"
            )
            user_id = user.id
        migrate(engine, "0003", down=True)
        assert "appeal_reads" not in inspect(engine).get_table_names()
        with db.session_factory(engine)() as session:  # nothing else touched, nothing cascaded away
            assert session.scalar(select(func.count()).select_from(Appeal)) == 1
            assert session.scalar(select(func.count()).select_from(AppealEvent)) == 2
            assert session.scalar(select(func.count()).select_from(AppealTimer)) == 3
        migrate(engine, "head")
        assert "appeal_reads" in inspect(engine).get_table_names()
        now = datetime.now(UTC)
        with db.transaction(db.session_factory(engine)) as session:
            reads.mark_seen(session=session, appeal_id=appeal_id, user_id=user_id, now=now)
            reads.mark_seen(session=session, appeal_id=appeal_id, user_id=user_id, now=now)  # an upsert
        with db.session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(accounts.AppealRead)) == 1
            assert session.scalar(select(func.count()).select_from(AppealTimer)) == 3
    finally:
        engine.dispose()


def test_round_trip(empty_url: str) -> None:
    round_trip(empty_url)
