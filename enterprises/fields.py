"""The profile's columns (docs/interfaces.md) and the validation every way in shares: import, console, chat."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from enterprises import uscc
from enterprises.vocabulary import ANY, SIZE_NAMES, TagError, Vocabulary, industry, size, terms
from tabular import cell_text
from tabular.records import CellError, Field

FIELDS = (
    Field("uscc", "统一社会信用代码", True, ("信用代码", "社会信用代码", "credit_code")),
    Field("name", "企业名称", True, ("名称", "企业")),
    Field("industry", "行业", aliases=("所属行业", "行业门类")),
    Field("size", "规模", aliases=("企业规模",)),
    Field("qualifications", "资质", aliases=("企业资质",)),
    Field("street", "街道", aliases=("所属街道",)),
    Field("founded_on", "成立日期", aliases=("成立时间", "founded")),
    Field("employees", "从业人数", aliases=("职工人数", "员工人数")),
    Field("contact", "联系人"),
    Field("phone", "联系电话", aliases=("电话", "手机")),
)
LABELS = {column.key: column.header for column in FIELDS}
NONE_WORDS = {"无", "没有", "暂无", "none"}  # a 资质 cell saying the enterprise holds none
DATE_FORMS = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
PHONE = re.compile(r"[0-9+\-() ]{5,32}")
LIMITS = {"name": 255, "contact": 64}


def parse_day(key: str, value: Any) -> date | None:
    """YYYY-MM-DD (also YYYY/M/D, 2024年1月1日, an Excel date cell); None for an empty cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", cell_text(value))
    if not text:
        return None
    found = DATE_FORMS.fullmatch(text)
    try:
        if found is None:
            raise ValueError
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise CellError(key, f"「{text[:40]}」不是有效日期，应为 YYYY-MM-DD，例如 2018-05-20") from None


def _employees(value: Any) -> int | None:
    text = unicodedata.normalize("NFKC", cell_text(value)).removesuffix("人").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 7:
        raise CellError("employees", f"从业人数「{text[:20]}」应为整数，例如 35")
    return int(text)


def _qualifications(value: Any, vocabulary: Vocabulary) -> list[str] | None:
    text = cell_text(value)
    if not text:
        return None
    if text.lower() in NONE_WORDS:
        return []
    return terms("资质", text, vocabulary, allow_any=False)


def _street(value: Any, vocabulary: Vocabulary) -> str | None:
    text = cell_text(value)
    if not text:
        return None
    found = terms("街道", text, vocabulary, allow_any=False)
    if len(found) > 1:
        raise TagError("街道只能填一个（企业所在的街道）")
    return found[0]


def _text(key: str, value: Any) -> str:
    text = cell_text(value)
    if key == "phone" and text and not PHONE.fullmatch(text):
        raise CellError(key, f"联系电话「{text[:32]}」无效：只能含数字、空格和 + - ( )，5 到 32 位")
    limit = LIMITS.get(key, 32)
    if len(text) > limit:
        raise CellError(key, f"太长：{len(text)} 字，最多 {limit} 字")
    return text


def _one(key: str, value: Any, vocabulary: Vocabulary) -> Any:
    if key == "uscc":
        code = uscc.normalize(cell_text(value))
        reason = uscc.problem(code) if code else "不能为空"
        if reason:
            raise CellError(key, reason)
        return code
    if key == "industry":
        text = cell_text(value)
        found = industry(text) if text else None
        if found == ANY:
            raise TagError("企业的行业要填具体门类，不能填 不限")
        return found
    if key == "size":
        text = cell_text(value)
        return size(text) if text else None
    if key == "qualifications":
        return _qualifications(value, vocabulary)
    if key == "street":
        return _street(value, vocabulary)
    if key == "founded_on":
        return parse_day(key, value)
    if key == "employees":
        return _employees(value)
    return _text(key, value)


def clean_profile(raw: Mapping[str, Any], vocabulary: Vocabulary) -> tuple[dict[str, Any], list[CellError]]:
    """The given fields, validated: (clean values, every error in column order); blanks are None."""
    clean: dict[str, Any] = {}
    errors: list[CellError] = []
    for column in FIELDS:
        if column.key not in raw:
            continue
        try:
            clean[column.key] = _one(column.key, raw[column.key], vocabulary)
            if column.required and not clean[column.key]:
                raise CellError(column.key, "不能为空")
        except TagError as error:
            errors.append(CellError(column.key, str(error)))
        except CellError as error:
            errors.append(error)
    return clean, errors


def cells(values: Mapping[str, Any]) -> dict[str, str]:
    """A profile as the text of its spreadsheet cells, keyed by column key (an unknown field is empty)."""
    text = {key: "" if values.get(key) is None else str(values.get(key)) for key in LABELS}
    qualifications = values.get("qualifications")
    text["qualifications"] = "" if qualifications is None else "、".join(qualifications) or "无"
    founded = values.get("founded_on")
    text["founded_on"] = founded.isoformat() if isinstance(founded, date) else ""
    size_word = values.get("size")
    text["size"] = SIZE_NAMES.get(str(size_word), "") if size_word else ""
    return text
