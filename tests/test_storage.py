"""storage.EnumString: a StrEnum kept as its plain string value and read back as the member."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text

from storage import EnumString


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


def test_the_value_is_stored_and_the_member_read_back() -> None:
    metadata = MetaData()
    table = Table("paints", metadata, Column("id", Integer, primary_key=True), Column("colour", EnumString(Colour, 8)))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), [{"id": 1, "colour": Colour.RED}, {"id": 2, "colour": "green"}])
        assert connection.execute(text("SELECT colour FROM paints ORDER BY id")).scalars().all() == ["red", "green"]
        assert connection.execute(text("SELECT typeof(colour) FROM paints")).scalars().all() == ["text", "text"]
        read = connection.execute(select(table.c.colour).order_by(table.c.id)).scalars().all()
        assert read == [Colour.RED, Colour.GREEN] and all(type(value) is Colour for value in read)
        # Any string may be compared (a filter typed by a user matches nothing); an unknown stored value is an error.
        assert connection.execute(select(table.c.id).where(table.c.colour == "blue")).first() is None
        connection.execute(text("INSERT INTO paints (id, colour) VALUES (3, 'blue')"))
        with pytest.raises(ValueError):
            connection.execute(select(table.c.colour).where(table.c.id == 3)).scalar()


def test_the_column_type_is_a_plain_varchar() -> None:
    column: Column[Colour] = Column("colour", EnumString(Colour, 8))
    engine = create_engine("sqlite://")
    assert str(column.type.compile(engine.dialect)) == str(String(8).compile(engine.dialect)) == "VARCHAR(8)"
