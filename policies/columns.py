"""The policy list's columns (docs/interfaces.md) and the validation every way in shares: import, console, CLI."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from policies.models import MODES, STATUS_LABELS, STATUSES, PolicyMode, PolicyStatus
from tabular import cell_text


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    limit: int = 20000


# docs/interfaces.md's order; 状态 (status) is our extension so that an export imports back unchanged.
COLUMNS = (
    Column("code", "编号", True, 64),
    Column("name", "政策名称", True, 255),
    Column("body", "实施主体", True, 255),
    Column("eligibility", "适用对象"),
    Column("content", "优惠内容", True),
    Column("process", "办理流程"),
    Column("materials", "申报材料"),
    Column("mode", "兑现方式"),
    Column("tags", "标签"),
    Column("keywords", "关键词"),
    Column("valid_from", "生效日期"),
    Column("valid_to", "有效期至"),
    Column("url", "原文链接", limit=1024),
    Column("status", "状态"),
)
BY_KEY = {column.key: column for column in COLUMNS}
STRUCTURED_TAGS = ("行业", "规模", "街道", "资质", "类型")
SCALE_NOISE = re.compile(r"[型企业、/，,\s]")
STATUS_BY_WORD: dict[str, PolicyStatus] = {
    **{label: status for status, label in STATUS_LABELS.items()},
    **{status: status for status in PolicyStatus},
}
KEYWORD_SEPARATORS = re.compile(r"[;；,，、]")
TAG_SEPARATORS = re.compile(r"[;；]")
DATE_FORMS = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class FieldError(ValueError):
    """One field's value cannot be used; `key` is the column's English alias."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def header_key(header: str) -> str | None:
    """The column key for a header as admins write it (Chinese or English alias, a trailing * allowed)."""
    text = unicodedata.normalize("NFKC", str(header)).strip().rstrip("*").strip()
    for column in COLUMNS:
        if text == column.header or text.lower() == column.key:
            return column.key
    return None


def label(key: str) -> str:
    """How a column is named in messages: 「优惠内容」(content)."""
    column = BY_KEY.get(key)
    return f"「{column.header}」({key})" if column else f"「{key}」"


def parse_date(key: str, value: Any) -> str | None:
    """YYYY-MM-DD (also YYYY/M/D and 2024年1月1日, and Excel date cells) as an ISO date string."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFKC", cell_text(value))
    if not text:
        return None
    match = DATE_FORMS.fullmatch(text)
    try:
        if not match:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        raise FieldError(key, f"「{text[:40]}」不是有效日期，应为 YYYY-MM-DD，例如 2025-01-31") from None


def parse_tags(value: Any) -> dict[str, str]:
    """`key:value` pairs separated by ; or ； (or a JSON object); a repeated key joins its values with 、."""
    if isinstance(value, Mapping):
        pairs = [(cell_text(key), cell_text(item)) for key, item in value.items()]
    else:
        pairs = []
        for item in TAG_SEPARATORS.split(unicodedata.normalize("NFKC", cell_text(value))):
            if not item.strip():
                continue
            if ":" not in item:
                example = "标签应写成 键:值，例如 行业:制造业;规模:小微"
                raise FieldError("tags", f"「{item.strip()[:40]}」缺少冒号，{example}")
            key, _, tag = item.partition(":")
            pairs.append((key.strip(), tag.strip()))
    tags: dict[str, str] = {}
    for key, tag in pairs:
        if not key or not tag:
            raise FieldError("tags", f"「{key}:{tag}」的键和值都不能为空，例如 行业:制造业")
        if len(key) > 32 or len(tag) > 128 or ":" in tag:
            rule = "键最多 32 字、值最多 128 字，多个标签用 ; 分隔"
            raise FieldError("tags", f"「{key}:{tag[:40]}」不是一个标签：{rule}")
        if key == "规模" and not scale_ok(tag):
            raise FieldError(
                "tags",
                f"规模「{tag}」无效：只能由 大、中、小、微 组成，或写 不限、规上、规下、限上、限下，例如 规模:小微",
            )
        tags[key] = f"{tags[key]}、{tag}" if key in tags and tag not in tags[key] else tag
    return tags


# Scale words besides 大/中/小/微 (docs/interfaces.md): 规模以上/以下 (industry), 限额以上/以下 (trade, catering).
SCALE_WORDS = frozenset({"不限", "规上", "规下", "限上", "限下", "规模以上", "规模以下", "限额以上", "限额以下"})
SCALE_PARTS = re.compile(r"[、/，,\s]+")


def scale_ok(tag: str) -> bool:
    """A 规模 tag: sizes made of 大中小微 (型/企业 allowed), or the scale words, several separated by 、."""
    parts = [part for part in SCALE_PARTS.split(tag) if part]
    if not parts:
        return False
    for part in parts:
        sizes = SCALE_NOISE.sub("", part)
        if part not in SCALE_WORDS and (not sizes or set(sizes) - set("大中小微")):
            return False
    return True


def format_tags(tags: Mapping[str, Any]) -> str:
    """Tags as one cell: 行业:制造业;规模:小微."""
    return ";".join(f"{key}:{value}" for key, value in tags.items())


def parse_keywords(value: Any) -> list[str]:
    """Extra terms separated by ; ； , ， or 、 (or a JSON list), without repeats."""
    items = [cell_text(item) for item in value] if isinstance(value, list | tuple) else [cell_text(value)]
    words = [part.strip() for item in items for part in KEYWORD_SEPARATORS.split(item)]
    words = list(dict.fromkeys(word for word in words if word))
    for word in words:
        if len(word) > 64:
            raise FieldError("keywords", f"关键词「{word[:20]}…」太长（最多 64 字）；多个关键词请用 ; 或 、 分隔")
    return words


def _mode(value: Any) -> PolicyMode:
    text = unicodedata.normalize("NFKC", cell_text(value)).replace(" ", "")
    if not text:
        return PolicyMode.ON_APPLICATION
    if text not in MODES:
        raise FieldError("mode", f"「{text[:20]}」不是有效的兑现方式，应为 {' / '.join(MODES)} 之一（留空即依申请）")
    return PolicyMode(text)


def _status(value: Any) -> PolicyStatus | None:
    text = cell_text(value)
    if not text:
        return None
    if text.lower() not in STATUS_BY_WORD and text not in STATUS_BY_WORD:
        raise FieldError("status", f"「{text[:20]}」不是有效状态，应为 草稿、已发布 或 已撤回")
    return STATUS_BY_WORD.get(text.lower(), STATUS_BY_WORD.get(text))


def clean_record(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """A record keyed by column keys, validated: (clean values, every error found, in column order)."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    parsers: dict[str, Callable[[Any], Any]] = {
        "mode": _mode, "tags": parse_tags, "keywords": parse_keywords, "status": _status,
        "valid_from": lambda value: parse_date("valid_from", value),
        "valid_to": lambda value: parse_date("valid_to", value),
    }  # fmt: skip
    for column in COLUMNS:
        value = raw.get(column.key)
        try:
            if column.key in parsers:
                clean[column.key] = parsers[column.key](value)
                continue
            text = cell_text(value)
            if column.required and not text:
                raise FieldError(column.key, "不能为空")
            if len(text) > column.limit:
                raise FieldError(column.key, f"太长：{len(text)} 字，最多 {column.limit} 字")
            if column.key == "code" and re.search(r"\s", text):
                raise FieldError(column.key, f"编号「{text}」不能含空格或换行")
            if column.key == "url" and text and not re.fullmatch(r"https?://\S+", text):
                raise FieldError(column.key, f"「{text[:60]}」不是以 http:// 或 https:// 开头的链接")
            clean[column.key] = text
        except FieldError as error:
            errors.append(error)
    if not errors and clean["valid_from"] and clean["valid_to"] and clean["valid_from"] > clean["valid_to"]:
        errors.append(FieldError("valid_to", f"有效期至 {clean['valid_to']} 早于生效日期 {clean['valid_from']}"))
    return clean, errors


def record_cells(record: Mapping[str, Any]) -> dict[str, str]:
    """A clean record as the text of its spreadsheet cells, keyed by column key."""
    cells = {key: cell_text(record.get(key)) for key in BY_KEY}
    cells["tags"] = format_tags(record.get("tags") or {})
    cells["keywords"] = ";".join(record.get("keywords") or [])
    status = str(record.get("status") or "")
    cells["status"] = PolicyStatus(status).label if status in STATUSES else ""
    return cells
