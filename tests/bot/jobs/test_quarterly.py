"""The quarterly analysis report built from the month of appeals: read back from its PDF (text extracted with
pypdf, pages drawn with pdftoppm for a look) and its HTML; recommendations, finalising, and the command line."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from bot.platform.settings import Settings
from bot.reports import periods, quarterly
from routing.lifecycle import Refused
from tests.bot.cli.test_appeals_cli import appealbot
from tests.bot.web.console_support import prepare_console, run
from tests.support.browser import ARTIFACTS
from tests.support.month import at, build_month

TIMEZONE = "Asia/Shanghai"
Q4 = periods.quarter("2026Q4")


@pytest.fixture
def month(settings: Settings) -> Settings:
    prepare_console(settings)
    run(settings, build_month)
    return settings


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_report_reads_back_from_its_pdf(month: Settings) -> None:
    def generate(session: Session) -> tuple[str, bytes]:
        report = quarterly.generate(session=session, quarter=Q4, timezone=TIMEZONE, username="boss", now=at(12, 10, 10))
        return report.html, report.pdf or b""

    html, pdf = run(month, generate)
    text = text_of(pdf)
    compact = "".join(text.split())
    assert "2026Q4企业诉求办理情况分析报告" in compact
    assert "响应率55.6%" in compact  # 5 of 9 signed in time in the quarter (the month plus H in October)
    assert "满意率66.7%" in compact and "已评价6件次" in compact
    assert "准入不准营：9件" in compact  # the nine similar texts grouped as one recurring problem
    assert "承办单位没有联系我1" in compact and "诉求超出政策或法律规定，无法满足1" in compact
    assert "（待区营商办填写）" in compact
    assert "区审批局" in html and "<svg" in html
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "quarterly-2026Q4.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                str(ARTIFACTS / "quarterly-2026Q4.pdf"),
                str(ARTIFACTS / "quarterly-page"),
            ],
            check=True,
        )
        assert (ARTIFACTS / "quarterly-page-1.png").exists()


def test_recommendations_then_finalised_and_kept(month: Settings) -> None:
    def work(session: Session) -> None:
        with pytest.raises(Refused, match="尚未生成"):
            quarterly.write_recommendations(session=session, quarter=Q4, timezone=TIMEZONE, username="boss", text="x",
                                            final=False)  # fmt: skip
        quarterly.generate(session=session, quarter=Q4, timezone=TIMEZONE, username="boss", now=at(12, 10, 10))
        with pytest.raises(Refused, match="请填写工作建议"):
            quarterly.write_recommendations(session=session, quarter=Q4, timezone=TIMEZONE, username="boss", text=" ",
                                            final=True)  # fmt: skip
        report = quarterly.write_recommendations(
            session=session, quarter=Q4, timezone=TIMEZONE, username="boss",
            text="一、准入不准营问题集中，建议审批局牵头专项整治。", final=True, now=at(12, 11, 10),
        )  # fmt: skip
        assert report.finalised_by == "boss"
        kept_pdf = report.pdf
        again = quarterly.generate(session=session, quarter=Q4, timezone=TIMEZONE, username="other", now=at(12, 12, 10))
        assert again.pdf == kept_pdf and again.generated_by == "boss"  # finalised: kept as it was
        assert "建议审批局牵头专项整治" in "".join(text_of(kept_pdf or b"").split())
        with pytest.raises(Refused, match="已定稿"):
            quarterly.write_recommendations(session=session, quarter=Q4, timezone=TIMEZONE, username="boss", text="y",
                                            final=False)  # fmt: skip

    run(month, work)


def test_reports_quarterly_on_the_command_line(month: Settings, tmp_path: Path) -> None:
    database = Path(month.database_url.removeprefix("sqlite:///"))
    pdf = tmp_path / "q.pdf"
    done = appealbot("reports", "quarterly", "--quarter", "2026Q4", "-o", str(pdf), database=database)
    assert done.returncode == 0, done.stderr
    assert "2026Q4企业诉求办理情况分析报告" in "".join(text_of(pdf.read_bytes()).split())
    html = tmp_path / "q.html"
    assert appealbot("reports", "quarterly", "--quarter", "2026Q4", "-o", str(html), database=database).returncode == 0
    assert html.read_text(encoding="utf-8").startswith("<!doctype html>")
    wrong = appealbot("reports", "quarterly", "--quarter", "2026Q5", "-o", str(pdf), database=database)
    assert wrong.returncode == 2 and "YYYYQn" in wrong.stderr
    docx = appealbot("reports", "quarterly", "--quarter", "2026Q4", "-o", str(tmp_path / "q.docx"), database=database)
    assert docx.returncode == 2 and ".pdf" in docx.stderr


def test_the_report_has_the_policy_side_of_the_quarter(month: Settings) -> None:
    from tests.support.policy_month import build_policy_month

    run(month, build_policy_month)

    def generate(session: Session) -> tuple[str, bytes]:
        report = quarterly.generate(session=session, quarter=Q4, timezone=TIMEZONE, username="boss", now=at(12, 10, 10))
        return report.html, report.pdf or b""

    html, pdf = run(month, generate)
    compact = "".join(text_of(pdf).split())
    # The quarter holds the month, q7 of 31 October (T4 listed), q8 of 1 December and d7 sent on 30 October.
    assert "咨询政策9次（5位用户），其中5次找到了相符的政策、4次未找到；向企业展示政策8条次" in compact
    assert "政策找人推送5条，已送达4条，企业查看详情3条" in compact
    assert "政策咨询答复率55.6%" in compact and "推送查看率60.0%" in compact
    assert "推送中即申即享占比40.0%" in compact  # d3 and d7 of five
    assert "科技型中小企业研发费用补助区科技局依申请3" in compact  # the most asked first
    assert "外贸企业出口信用保险补贴区商务局依申请2" in compact
    assert "数据中心电费补贴2人才公寓申请1厂房租金减免1" in compact
    assert "被问到最多的政策" in html
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "quarterly-2026Q4-policies.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        prefix = str(ARTIFACTS / "quarterly-2026Q4-policies")
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(ARTIFACTS / "quarterly-2026Q4-policies.pdf"), prefix], check=True
        )
