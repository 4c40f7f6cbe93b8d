"""`appealbot match --uscc` and `POST /api/match` with an enterprise: `eligible` true, false or null per policy."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bot.platform.settings import Settings
from tests.enterprises.support import code, register_file, run
from tests.policies.support import prepare
from tests.support.servers import running

SMALL, LARGE, UNKNOWN = code(11), code(12), code(13)
QUESTION = "小微企业有什么税收优惠"


@pytest.fixture
def env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("APPEALBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APPEALBOT_LOG_LEVEL", "WARNING")
    prepare(settings)  # the demo policy list
    rows = [
        [SMALL, "莲湖小微制造有限公司", "制造业", "小型", "无", "西关街道", "2020-05-01", "35"],
        [LARGE, "莲湖大型软件有限公司", "软件业", "大型", "高新技术企业", "", "2001-01-01", "1200"],
        [UNKNOWN, "莲湖新登记有限公司", "", "", "", "", "", ""],
    ]
    assert run("enterprises", "import", str(register_file(tmp_path, rows))) == 0
    return settings


def matched(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, dict[str, object]]:
    assert run("match", *argv) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return {item["code"]: item for item in payload["policies"]}


def test_match_with_an_enterprise(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    plain = matched(capsys, QUESTION)
    assert "P01" in plain and "eligible" not in plain["P01"]  # the shape stays as it was without --uscc
    small = matched(capsys, "--uscc", SMALL, QUESTION)
    large = matched(capsys, "--uscc", LARGE, QUESTION)
    unknown = matched(capsys, "--uscc", UNKNOWN.lower(), QUESTION)
    assert (small["P01"]["eligible"], large["P01"]["eligible"], unknown["P01"]["eligible"]) == (True, False, None)
    assert small["P01"]["eligibility"] == "贵企业为小微企业，符合适用对象"
    assert large["P01"]["eligibility"] == "本政策面向小微企业，贵企业为大型企业"
    assert unknown["P01"]["eligibility"] == "贵企业的规模尚未登记，暂不能判断是否符合"
    assert set(small["P01"]) == set(plain["P01"]) | {"eligible", "eligibility"}


def test_a_bad_or_unknown_enterprise_is_refused(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("match", "--uscc", SMALL[:-1] + "0", QUESTION) == 2
    assert "--uscc：统一社会信用代码" in capsys.readouterr().err
    assert run("match", "--uscc", code(99), QUESTION) == 2
    assert f"企业库中没有统一社会信用代码为 {code(99)} 的企业" in capsys.readouterr().err


def test_the_api_takes_an_enterprise(env: Settings) -> None:
    with running(env) as (url, _):
        plain = httpx.post(f"{url}/api/match", json={"text": QUESTION}, timeout=10).json()
        assert all("eligible" not in item for item in plain["policies"])
        answer = httpx.post(f"{url}/api/match", json={"text": QUESTION, "uscc": LARGE}, timeout=10)
        by_code = {item["code"]: item for item in answer.json()["policies"]}
        assert by_code["P01"]["eligible"] is False and by_code["P01"]["eligibility"].startswith("本政策面向小微企业")
        bad = httpx.post(f"{url}/api/match", json={"text": QUESTION, "uscc": "123"}, timeout=10)
        assert bad.status_code == 422 and "应为 18 位" in bad.json()["detail"]
        missing = httpx.post(f"{url}/api/match", json={"text": QUESTION, "uscc": code(99)}, timeout=10)
        assert missing.status_code == 404
