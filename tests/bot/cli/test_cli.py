"""The command line, run as a user runs it: `appealbot match`, `appealbot chat`, `appealbot db upgrade`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from tests.conftest import fresh_settings
from tests.support.databases import Templates
from tests.support.servers import running

ROOT = Path(__file__).resolve().parents[3]


def appealbot(
    *args: str, database: Path, stdin: str = "", extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = (
        {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")}
        | {"APPEALBOT_DATABASE_URL": f"sqlite:///{database}", "APPEALBOT_LOG_LEVEL": "WARNING"}
        | (extra or {})
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    result = appealbot("db", "upgrade", database=database)
    assert result.returncode == 0, result.stderr
    tables = set(inspect(create_engine(f"sqlite:///{database}")).get_table_names())
    expected = {"inbound_messages", "outbound_messages", "subscribers", "policies", "categories", "alembic_version"}
    assert expected <= tables


@pytest.mark.slow  # two `appealbot match` processes, each building the matcher
def test_match_one_text_and_json_lines(templates: Templates, tmp_path: Path) -> None:
    database = tmp_path / "m.db"
    templates.sqlite(database, "demo")  # what `serve` leaves in an empty database
    one = appealbot("match", "缴的失业险能退一部分吗", database=database)
    assert one.returncode == 0, one.stderr
    result = json.loads(one.stdout)
    assert {"text", "intent", "policies", "category", "lead_unit", "units"} <= set(result)
    assert result["text"] == "缴的失业险能退一部分吗" and result["intent"] == "policy"
    assert result["policies"] and {"code", "name", "score", "matched"} <= set(result["policies"][0])

    lines = ["稳岗返还怎么申请", "拖欠我们的工程款一年了没人管", "你好", "我上次反映的问题办得怎么样了"]
    many = appealbot("match", database=database, stdin="\n".join(lines) + "\n")
    assert many.returncode == 0, many.stderr
    results = [json.loads(line) for line in many.stdout.splitlines()]
    assert [item["text"] for item in results] == lines
    assert [item["intent"] for item in results] == ["policy", "appeal", "other", "progress"]
    assert results[1]["lead_unit"] and results[1]["category"]["code"]


def test_match_on_an_empty_database_uses_the_routing_defaults_only(tmp_path: Path) -> None:
    result = appealbot("match", "拖欠我们的工程款一年了没人管", database=tmp_path / "empty.db")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["intent"] == "appeal" and answer["lead_unit"]
    assert answer["policies"] == []  # the demo list is loaded only by `serve`


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    result = appealbot("match", "你好", database=tmp_path / "x.db", extra={"APPEALBOT_WECHAT_MODE": "secure"})
    assert result.returncode == 2
    assert "wechat.mode" in result.stderr


def test_chat_talks_to_a_running_server(templates: Templates, tmp_path: Path) -> None:
    settings = fresh_settings(tmp_path, templates)
    with running(settings) as (url, _):
        result = appealbot(
            "chat",
            "--url",
            url,
            "--openid",
            "o_terminal_test",
            database=tmp_path / "client.db",
            stdin="/subscribe\n稳岗返还怎么申请\n1\n/click PROGRESS\n/quit\n",
        )
    assert result.returncode == 0, result.stderr
    replies = [line for line in result.stdout.splitlines() if line.startswith("公众号")]
    assert "欢迎关注" in replies[0]
    assert "回复序号" in result.stdout
    assert "没有在办的诉求" in result.stdout
