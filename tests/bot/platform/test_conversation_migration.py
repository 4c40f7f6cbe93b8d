"""Migration 0006 (what messages were attached to, rating comments, hand-offs) goes down and up again on a database
that holds appeals, messages and a hand-off, on SQLite and PostgreSQL, without touching the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, inspect, select

from bot.chat.models import Attached, Handoff, HandoffState, InboundMessage
from bot.platform import db
from routing import service
from routing.models import Appeal, AppealEvent, AppealTimer, Unit
from tests.routing.support import file
from tests.support.migrations import migrate

NEW_TABLES = {"handoffs", "set_aside_waits"}


def columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def round_trip(url: str) -> None:
    engine = db.make_engine(url)
    now = datetime.now(UTC)
    try:
        migrate(engine, "head")
        with db.transaction(db.session_factory(engine)) as session:
            service.ensure_default_table(session=session)
            appeal = file(session)
            unit_id = session.scalars(select(Unit.id).where(Unit.name == "区审批局")).one()
            session.add(
                InboundMessage(
                    dedup_key="m:o_enterprise:1",
                    openid="o_enterprise",
                    msg_type="text",
                    text="补充材料",
                    fields={},
                    sent_at=now,
                    received_at=now,
                    attached_as=Attached.SUPPLEMENT,
                    appeal_id=appeal.id,
                )
            )
            session.add(
                Handoff(
                    openid="o_enterprise",
                    unit_id=unit_id,
                    appeal_id=appeal.id,
                    state=HandoffState.OPEN,
                    opened_at=now,
                    last_enterprise_at=now,
                )
            )
            appeal.rating_comment, appeal.reopens = "白跑了两趟", 1
        migrate(engine, "0005", down=True)
        assert not NEW_TABLES & set(inspect(engine).get_table_names())
        assert "rating_comment" not in columns(engine, "appeals")
        assert "appeal_id" not in columns(engine, "inbound_messages")
        with engine.connect() as connection:  # nothing else touched, nothing cascaded away
            assert connection.scalar(select(func.count()).select_from(Appeal.__table__)) == 1
            assert connection.scalar(select(func.count()).select_from(AppealEvent.__table__)) == 2
            assert connection.scalar(select(func.count()).select_from(AppealTimer.__table__)) == 3
            assert connection.exec_driver_sql("SELECT text FROM inbound_messages").scalar() == "补充材料"
        migrate(engine, "head")
        with db.session_factory(engine)() as session:
            again = session.scalars(select(Appeal)).one()
            assert (again.rating_comment, again.reopens) == (None, 0)  # the server default fills old rows
            message = session.scalars(select(InboundMessage)).one()
            assert (message.attached_as, message.appeal_id) == (None, None)
    finally:
        engine.dispose()


def test_round_trip(empty_url: str) -> None:
    round_trip(empty_url)
