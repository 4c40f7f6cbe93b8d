"""Structured logs: JSON lines with the request id; phone and ID numbers never appear whole."""

from __future__ import annotations

import json
import logging

import pytest

from bot.platform.logs import JsonFormatter, TextFormatter, mask, request_id


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("联系人张三 13812345678", "联系人张三 138****5678"),
        ("电话：+86 15900001111。", "电话：+86 159****1111。"),
        ("身份证610104199001011234", "身份证610104********1234"),
        ("身份证 61010419900101123X 已核", "身份证 610104********123X 已核"),
        ("订单号 202611271234567890123 不是手机号", "订单号 202611271234567890123 不是手机号"),
        ("MsgId 24602150000000001", "MsgId 24602150000000001"),
    ],
)
def test_mask(raw: str, masked: str) -> None:
    assert mask(raw) == masked


def record(message: str, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("bot.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_json_line_carries_request_id_and_masks_extras() -> None:
    token = request_id.set("req-42")
    try:
        line = JsonFormatter().format(record("企业来电 13812345678", text="我的电话13987654321", count=3))
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert entry["msg"] == "企业来电 138****5678"
    assert entry["text"] == "我的电话139****4321"
    assert entry["count"] == 3
    assert entry["level"] == "info" and entry["logger"] == "bot.test"


def test_text_format_masks_too() -> None:
    line = TextFormatter().format(record("回电 13812345678", id_number="610104199001011234"))
    assert "13812345678" not in line and "610104199001011234" not in line
    assert "138****5678" in line
