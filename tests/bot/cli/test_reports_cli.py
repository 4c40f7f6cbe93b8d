"""`appealbot reports kpi` (and the other report commands) run as an operator runs them, on the month of appeals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.platform import db
from routing import service
from tests.bot.cli.test_appeals_cli import appealbot
from tests.routing.support import SEEDED_AT
from tests.support.month import EXPECTED_ALL, EXPECTED_UNITS, build_month
from tests.support.policy_month import (
    EXPECTED_POLICIES,
    EXPECTED_POLICY_RATES,
    EXPECTED_TOP,
    EXPECTED_UNANSWERED,
    build_policy_month,
)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database holding the month of appeals, and of policy questions and pushes (November 2026)."""
    path = tmp_path_factory.mktemp("reports") / "month.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with db.transaction(db.session_factory(engine)) as session:
        service.ensure_default_table(session=session, now=SEEDED_AT)
        build_month(session)
        build_policy_month(session)
    engine.dispose()
    return path


def test_kpi_json_has_every_unit_and_all(database: Path) -> None:
    done = appealbot("reports", "kpi", "--from", "2026-11-01", "--to", "2026-11-30", "--json", database=database)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert {name: figures["all"][name] for name in EXPECTED_ALL} == EXPECTED_ALL
    assert figures["all"]["response_rate"] == pytest.approx(4 / 7)
    for unit, expected in EXPECTED_UNITS.items():
        assert {name: figures[unit][name] for name in expected} == expected
    units = [name for name in figures if name != "policies"]  # the policy side is the district's, not a unit's
    rates = [figures[unit][key] for unit in units for key in ("response_rate", "satisfaction_rate")]
    assert all(rate is None or 0 <= rate <= 1 for rate in rates)


def test_kpi_json_has_the_policy_side(database: Path) -> None:
    done = appealbot("reports", "kpi", "--from", "2026-11-01", "--to", "2026-11-30", "--json", database=database)
    assert done.returncode == 0, done.stderr
    policies = json.loads(done.stdout)["policies"]
    assert {name: policies[name] for name in EXPECTED_POLICIES} == EXPECTED_POLICIES
    for name, expected in EXPECTED_POLICY_RATES.items():
        assert policies[name] == pytest.approx(expected), name
    assert [(item["code"], item["questions"]) for item in policies["top_policies"]] == EXPECTED_TOP
    assert policies["top_policies"][1]["mode"] == "免申即享"
    assert [(item["text"], item["count"]) for item in policies["unanswered_questions"]] == EXPECTED_UNANSWERED
    table = appealbot("reports", "kpi", "--from", "2026-11-01", "--to", "2026-11-30", database=database)
    assert (
        "政策咨询 7 次，找到政策 4 次（57.1%）" in table.stdout
        and "政策找人推送 4 条，查看 2 条（50.0%）" in table.stdout
    )


def test_kpi_of_one_unit_and_as_a_table(database: Path) -> None:
    done = appealbot(
        "reports", "kpi", "--from", "2026-11-01", "--to", "2026-11-30", "--unit", "区司法局", "--json",
        database=database,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert set(figures) == {"区司法局", "all"}
    assert figures["all"]["received"] == EXPECTED_UNITS["区司法局"]["received"] == figures["区司法局"]["received"]
    table = appealbot("reports", "kpi", "--from", "2026-11-01", "--to", "2026-11-30", database=database)
    assert table.returncode == 0 and "响应率" in table.stdout
    assert any(line.startswith("全区\t8\t7\t6") and "57.1%" in line for line in table.stdout.splitlines())


def test_kpi_refuses_bad_input(database: Path) -> None:
    wrong_date = appealbot("reports", "kpi", "--from", "2026-13-01", database=database)
    assert wrong_date.returncode == 2 and "YYYY-MM-DD" in wrong_date.stderr
    backwards = appealbot("reports", "kpi", "--from", "2026-11-30", "--to", "2026-11-01", database=database)
    assert backwards.returncode == 2 and "早于" in backwards.stderr
    unknown = appealbot("reports", "kpi", "--unit", "区不存在局", database=database)
    assert unknown.returncode == 2 and "没有名为" in unknown.stderr


def test_appeals_export_with_the_queue_filters(database: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    output = tmp_path / "appeals.xlsx"

    def exported(*filters: str) -> list[str]:
        done = appealbot("appeals", "export", str(output), *filters, database=database)
        assert done.returncode == 0, done.stderr
        rows = load_workbook(output)["诉求"].iter_rows(min_row=2, values_only=True)
        return sorted(str(row[2])[2] for row in rows)  # the letter of 西安X科技有限公司

    assert exported() == ["D", "G", "I"]  # open appeals, as the queue lists them
    assert exported("--unit", "区审批局") == ["G", "I"]
    assert exported("--state", "closed") == ["A", "B", "C", "E", "F", "H"]
    assert exported("--state", "已办结", "--from", "2026-11-01", "--to", "2026-11-30") == ["A", "B", "C", "E", "F"]
    assert exported("--state", "closed", "--to", "2026-10-31") == ["H"]
    header = next(load_workbook(output)["诉求"].iter_rows(max_row=1, values_only=True))
    assert header[:3] == ("编号", "受理时间", "企业")
    bad = appealbot("appeals", "export", str(output), "--state", "nonsense", database=database)
    assert bad.returncode == 2 and "未知的状态" in bad.stderr
