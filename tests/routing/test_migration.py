"""Migration 0003 upgrades a database that already holds data and goes back down, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, select

from bot.platform import db
from routing import service
from routing.models import Unit
from tests.routing.support import file
from tests.support.migrations import migrate


def round_trip(url: str) -> None:
    engine = db.make_engine(url)
    try:
        migrate(engine, "0002")
        with engine.begin() as connection:  # a district that ran the product before appeals existed
            for name, kind in (("北院门街道办事处", "street"), ("区甲局", "department"), ("区乙局", "department")):
                connection.exec_driver_sql(f"INSERT INTO units (name, kind) VALUES ('{name}', '{kind}')")
            connection.exec_driver_sql(
                "INSERT INTO categories (code, name, description, keywords, seed_task, lead_unit_id) "
                "SELECT 'X01', '老类别', '', '[]', '', id FROM units WHERE name = '区甲局'"
            )
            connection.exec_driver_sql(
                "INSERT INTO category_units (category_id, unit_id, position) SELECT c.id, u.id, 0 "
                "FROM categories c, units u WHERE c.code = 'X01' AND u.name = '区乙局'"
            )
        migrate(engine, "head")
        with engine.connect() as connection:  # nothing rebuilt, nothing cascaded away
            assert connection.exec_driver_sql("SELECT count(*) FROM category_units").scalar() == 1
        with db.transaction(db.session_factory(engine)) as session:
            service.ensure_default_table(session=session)
            street = session.scalars(select(Unit).where(Unit.name == "北院门街道办事处")).one()
            assert street.aliases == ["北院门", "北院门街道", "北院门街办"]  # filled in for the old row
            assert file(session, street="北院门", category="X01").co_units == ["区乙局", "北院门街道办事处"]
        tables = set(inspect(engine).get_table_names())
        assert {"appeals", "appeal_timers", "escalations", "notifications", "calendar_days"} <= tables
        migrate(engine, "0002", down=True)
        assert "appeals" not in set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            assert (
                connection.exec_driver_sql(
                    "SELECT count(*) FROM category_units cu JOIN categories c ON c.id = cu.category_id "
                    "WHERE c.code = 'X01'"
                ).scalar()
                == 1
            )
        migrate(engine, "head")
    finally:
        engine.dispose()


def test_round_trip(empty_url: str) -> None:
    round_trip(empty_url)
