"""The monthly 台账: its rows and summary read back from the .xlsx, the confirmation rules, and the reminders
on the 15th and the 18th (console notice, and the WeCom webhook on a local stand-in), each exactly once."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.jobs import ledger_jobs
from bot.platform.settings import Settings
from bot.reports import periods, workbooks
from bot.services import open_services
from routing import ledger
from routing.lifecycle import Refused
from routing.models import Notification, Unit
from routing.report_models import LedgerReminder
from tests.bot.cli.test_appeals_cli import appealbot
from tests.bot.web.console_support import prepare_console, run
from tests.support.month import NOVEMBER, at, build_month
from tests.support.servers import serving

TIMEZONE = "Asia/Shanghai"


@pytest.fixture
def month(settings: Settings) -> Settings:
    prepare_console(settings)
    run(settings, build_month)
    return settings


def unit_id(session: Session, name: str) -> int:
    found = session.scalar(select(Unit.id).where(Unit.name == name))
    assert found is not None
    return found


def test_the_ledger_of_a_unit_read_back_from_the_workbook(month: Settings) -> None:
    def build(session: Session) -> bytes:
        data, rows = workbooks.ledger_xlsx(
            session=session, period=periods.month("2026-11"), timezone=TIMEZONE, now=NOVEMBER.now,
            unit_id=unit_id(session, "区审批局"), unit_name="区审批局",
        )  # fmt: skip
        assert rows == 7
        return data

    book = load_workbook(io.BytesIO(run(month, build)))
    assert book.sheetnames == ["台账", "指标汇总"]
    sheet = [list(row) for row in book["台账"].iter_rows(values_only=True)]
    assert tuple(sheet[0]) == ledger.COLUMNS
    rows = {str(row[2])[2]: dict(zip(ledger.COLUMNS, row, strict=True)) for row in sheet[1:]}  # by 西安X科技
    assert sorted(rows) == ["A", "B", "E", "F", "G", "H", "I"]  # on 区审批局's ledger in November (C, D: 区司法局)
    assert rows["A"]["签收时间"] == "2026-11-02 11:00" and rows["A"]["办结时间"] == "2026-11-05 10:00"
    assert rows["A"]["满意度"] == "满意" and rows["A"]["是否超时"] == "否" and rows["A"]["对应任务"] == "8"
    assert rows["B"]["是否超时"] == "是" and rows["F"]["是否超时"] == "是" and rows["I"]["是否超时"] == "是"
    assert rows["F"]["备注"] == "已解决；不满意原因：诉求超出政策或法律规定，无法满足"
    assert rows["G"]["状态"] == "待签收" and rows["G"]["签收时间"] is None
    assert rows["H"]["受理时间"] == "2026-10-30 10:00"  # carried over from October, closed in November
    summary = {row[0]: row[1] for row in book["指标汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["单位"] == "区审批局" and summary["台账件数"] == 7 and summary["受理量"] == 6
    assert summary["响应率"] == "60.0%" and summary["满意率"] == "75.0%"


def test_confirmation_only_after_the_month_and_only_once(month: Settings) -> None:
    def work(session: Session) -> None:
        approval = unit_id(session, "区审批局")
        scope = periods.month("2026-11").scope(timezone=TIMEZONE, now=NOVEMBER.now, unit_id=approval)
        with pytest.raises(Refused, match="尚未结束"):
            ledger.confirm(session=session, scope=scope, month="2026-11", unit_id=approval, username="head",
                           now=at(11, 30, 20))  # fmt: skip
        report = ledger.confirm(
            session=session, scope=scope, month="2026-11", unit_id=approval, username="head", now=at(12, 21, 9)
        )
        assert report.appeals == 7
        with pytest.raises(Refused, match="已确认上报"):
            ledger.confirm(session=session, scope=scope, month="2026-11", unit_id=approval, username="head",
                           now=at(12, 22, 9))  # fmt: skip
        status = ledger.reporting(
            session=session, scope=periods.month("2026-11").scope(timezone=TIMEZONE, now=NOVEMBER.now),
            month="2026-11", due=ledger.deadline(periods.month("2026-11").first), timezone=NOVEMBER.now.tzinfo,
        )  # fmt: skip
        by_unit = {row.unit: row for row in status}
        assert by_unit["区审批局"].confirmed_by == "head" and by_unit["区审批局"].late  # the 21st: after the 20th
        assert by_unit["区司法局"].confirmed_at is None and by_unit["区司法局"].appeals == 2

    run(month, work)


@pytest.fixture
def robot() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in of the WeCom group robot webhook on a local port: records what it is sent."""
    received: list[dict[str, Any]] = []
    lock = threading.Lock()
    app = FastAPI()

    @app.post("/cgi-bin/webhook/send")
    async def send(request: Request) -> dict[str, Any]:
        with lock:
            received.append(json.loads(await request.body()))
        return {"errcode": 0, "errmsg": "ok"}

    with serving(app) as url:
        yield f"{url}/cgi-bin/webhook/send?key=test", received


async def test_reminders_on_the_15th_and_18th_exactly_once(
    month: Settings, robot: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = robot
    settings = month.replace("reports", webhook_url=url)
    services = await open_services(settings, load_demo=False)
    try:
        assert await ledger_jobs.remind_ledgers(services, now=at(12, 14, 10)) == 0  # too early
        assert await ledger_jobs.remind_ledgers(services, now=at(12, 15, 9)) == 2  # 区审批局, 区司法局
        assert await ledger_jobs.remind_ledgers(services, now=at(12, 15, 11)) == 0  # once a day and unit
        run(settings, lambda session: ledger.confirm(
            session=session, scope=periods.month("2026-11").scope(timezone=TIMEZONE, now=at(12, 16, 9)),
            month="2026-11", unit_id=unit_id(session, "区审批局"), username="head", now=at(12, 16, 9),
        ))  # fmt: skip
        assert await ledger_jobs.remind_ledgers(services, now=at(12, 18, 9)) == 1  # only 区司法局 now
        assert await ledger_jobs.remind_ledgers(services, now=at(12, 21, 9)) == 0  # after the 20th
    finally:
        await services.close()
    assert len(received) == 2
    assert "区审批局尚未确认上报 2026-11" in received[0]["text"]["content"]
    assert received[1]["msgtype"] == "text" and "区司法局" in received[1]["text"]["content"]
    assert "区审批局" not in received[1]["text"]["content"]

    def stored(session: Session) -> tuple[list[tuple[int, str]], list[str]]:
        reminders = [
            (row.day, row.webhook) for row in session.scalars(select(LedgerReminder).order_by(LedgerReminder.id))
        ]
        texts = list(session.scalars(select(Notification.text).where(Notification.text.contains("工作台账"))))
        return reminders, texts

    reminders, texts = run(settings, stored)
    assert reminders == [(15, "sent"), (15, "sent"), (18, "sent")]
    assert len(texts) == 3 and all("请单位负责人于 12月20日 前" in text for text in texts)


def test_reports_ledger_on_the_command_line(month: Settings, tmp_path: Path) -> None:
    database = Path(month.database_url.removeprefix("sqlite:///"))
    output = tmp_path / "台账.xlsx"
    done = appealbot(
        "reports", "ledger", "--month", "2026-11", "--unit", "区司法局", "-o", str(output), database=database
    )
    assert done.returncode == 0, done.stderr
    sheet = list(load_workbook(output)["台账"].iter_rows(min_row=2, values_only=True))
    assert sorted(str(row[2]) for row in sheet) == ["西安C科技有限公司", "西安D科技有限公司"]
    district = tmp_path / "all.xlsx"
    assert appealbot("reports", "ledger", "--month", "2026-11", "-o", str(district), database=database).returncode == 0
    assert load_workbook(district)["台账"].max_row == 1 + 9  # every appeal open at some moment of November
    wrong = appealbot("reports", "ledger", "--month", "2026-13", "-o", str(output), database=database)
    assert wrong.returncode == 2 and "YYYY-MM" in wrong.stderr
    bad_file = appealbot("reports", "ledger", "--month", "2026-11", "-o", str(tmp_path / "x.pdf"), database=database)
    assert bad_file.returncode == 2 and ".xlsx" in bad_file.stderr
