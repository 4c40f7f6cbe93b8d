"""The rules shipped as data are valid, and bad rules are refused naming the setting."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from routing.deadlines import LimitError, parse_limit
from routing.models import Stage
from routing.rules import RulesError, limit_for, rules_from
from routing.table import read_default_table


def test_the_shipped_rules() -> None:
    table = read_default_table()
    rules = rules_from(table)
    assert rules.reference_prefix == "LH" and rules.supervisor_unit == "区营商办" and rules.max_returns == 2
    assert [(level.percent, level.audience) for level in rules.levels] == [
        (75, "staff"),
        (100, "unit_head"),
        (200, "supervisor"),
    ]
    assert rules.working_hours["periods"] == [["09:00", "12:00"], ["14:00", "18:00"]]
    subjective = [reason.code for reason in rules.dissatisfaction_reasons if reason.subjective]
    assert subjective == ["D01", "D02", "D03", "D04"]
    assert {unit["name"] for unit in table["units"]} >= {rules.supervisor_unit}
    assert rules.default_category in {category["code"] for category in table["categories"]}
    for limits in table["time_limits"]:
        assert parse_limit(limits["sign"])[1] == "h" and parse_limit(limits["reply"])[1] == "d"
        parse_limit(limits["contact"])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("reference_prefix", "莲湖", "reference_prefix 应为 1 到 6 个英文字母"),
        ("escalation", [{"level": 1, "percent": 100, "name": "超时", "audience": "mayor"}], "audience 只能是"),
        (
            "escalation",
            [
                {"level": 1, "percent": 100, "name": "a", "audience": "staff"},
                {"level": 2, "percent": 75, "name": "b", "audience": "staff"},
            ],
            "逐级增大",
        ),
        ("max_returns", -1, "max_returns 应为 0 到 10 之间的整数"),
        ("working_hours", {"periods": [["18:00", "09:00"]]}, "working_hours"),
        ("urgencies", [{"code": "urgent", "name": "紧急"}], "normal"),
        ("return_reasons", [], "return_reasons 不能为空"),
    ],
)
def test_bad_rules_are_refused_naming_the_setting(key: str, value: object, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        rules_from({**read_default_table(), key: value})


def test_limits_are_written_as_admins_write_them() -> None:
    assert parse_limit("2h") == (2, "h") and parse_limit("7个工作日") == (7, "d") and parse_limit(" 4 小时") == (4, "h")
    for bad in ("两周", "0d", "7 weeks", ""):
        with pytest.raises(LimitError):
            parse_limit(bad)


def test_a_categorys_own_limit_wins_then_the_default_then_normal_urgency(session: Session) -> None:
    assert limit_for(session=session, category_code="C06", urgency="urgent", stage=Stage.SIGN) == (1, "h")
    assert limit_for(session=session, category_code="C06", urgency="normal", stage=Stage.REPLY) == (7, "d")
    assert limit_for(session=session, category_code="C06", urgency="unheard-of", stage=Stage.REPLY) == (7, "d")
    with pytest.raises(RulesError, match="没有设置「整改节点」的时限"):
        limit_for(session=session, category_code="C06", urgency="normal", stage=Stage.MILESTONE)
