"""Integers in console and admin links that no row can have: refused as a 404 (a path) or 422 (a query) page.

FastAPI parses `?page=99999999999999999999` or `/admin/policies/99999999999` as Python ints of any size; the
database then fails (PostgreSQL integer out of range, SQLite overflow) and the user saw a 500. Every integer
parameter a page declares is checked here, before the page runs, against what the database columns hold.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

from fastapi import HTTPException, Request
from pydantic import BaseModel

# The INTEGER columns of PostgreSQL (ids, versions, counts, pages): anything beyond is no row's value.
LOWEST, HIGHEST = -(2**31), 2**31 - 1


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if get_origin(annotation) in {Union, types.UnionType}:
        return any(arg is int for arg in get_args(annotation))
    return False


def _value(raw: str | None) -> int | None:
    text = (raw or "").strip()
    try:
        return int(text) if text else None
    except ValueError:  # not an integer at all: FastAPI's own check answers 422
        return None


async def ints_in_range(request: Request) -> None:
    """A route-level dependency: 404 for an out-of-range integer in the path, 422 in the query."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    for field in dependant.path_params:
        value = _value(request.path_params.get(field.name))
        if _is_int(field.field_info.annotation) and value is not None and not LOWEST <= value <= HIGHEST:
            raise HTTPException(404, "没有找到这一项：链接中的编号超出范围")
    for name in _int_query_names(dependant.query_params):
        for raw in request.query_params.getlist(name):
            value = _value(raw)
            if value is not None and not LOWEST <= value <= HIGHEST:
                raise HTTPException(422, f"链接中的参数有误：{name}「{raw[:40]}」超出范围")


def _int_query_names(fields: list[Any]) -> Iterator[str]:
    # A query parameter declared as int, or an int field of a query model (Annotated[Model, Query()]).
    for field in fields:
        annotation = field.field_info.annotation
        if _is_int(annotation):
            yield field.alias
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, inner in annotation.model_fields.items():
                if _is_int(inner.annotation):
                    yield inner.alias or name


def whole_number(text: str | None) -> int | None:
    """Text of ASCII digits that fits an INTEGER column, as an int; None for anything else ("²", "٣", 10**20)."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if number <= HIGHEST else None
