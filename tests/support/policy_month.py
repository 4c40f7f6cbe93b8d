"""A month of policy questions and pushes with known times (November 2026, Asia/Shanghai), for the policy side
of the statistics. The hand-computed figures are in EXPECTED_POLICIES.

Policies: T1 免申即享, T2 即申即享, T3 and T4 依申请.

| question | who | when | answer |
|---|---|---|---|
| q1 | o_a | 2nd 10:00 | listed T1, T3 |
| q2 | o_b | 3rd 10:00 | listed T3 |
| q3 | o_a | 10th 09:00 | listed T2, T3, T1 |
| q4 | o_c | 11th 15:00 | 数据中心电费补贴: nothing fits |
| q5 | o_d | 12th 15:00 | 数据中心电费补贴: nothing fits well, T4 and T2 offered by name |
| q6 | o_b | 20th 11:00 | 人才公寓申请: nothing fits |
| q7 | o_a | 31 October 23:00 | listed T4 (before the month) |
| q8 | o_c | 1 December 00:30 | nothing fits (after the month) |
| q9 | o_e | 30th 23:59 | listed T4 (the month's last minute) |

| push | policy | sent | then |
|---|---|---|---|
| d1 | T1 | 5th 10:00 | delivered, 详情 asked 5th 11:00 |
| d2 | T1 | 5th 10:00 | accepted by WeChat, no report yet |
| d3 | T2 | 16th 10:00 | delivered, 详情 asked 18th 09:00 |
| d4 | T3 | 25th 10:00 | delivered |
| d5 | T3 | 25th 10:00 | reported not delivered (failed) |
| d6 | T1 | — | still queued |
| d7 | T2 | 30 October 10:00 | delivered, 详情 asked 2nd 10:00 (sent before the month) |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from enterprises.models import Enterprise
from policies import questions
from policies.indicators import Window
from policies.models import (
    Campaign,
    CampaignState,
    Delivery,
    DeliveryState,
    Policy,
    PolicyMode,
    PolicyStatus,
    PushChannel,
    PushKind,
)
from policies.questions import Outcome
from tests.support.month import NOVEMBER, at

NOVEMBER_WINDOW = Window(NOVEMBER.start, NOVEMBER.end)
POLICIES = {
    "T1": ("小微企业稳岗返还", PolicyMode.NO_APPLICATION, "区人社局"),
    "T2": ("首次入规企业奖励", PolicyMode.INSTANT, "区工信局"),
    "T3": ("科技型中小企业研发费用补助", PolicyMode.ON_APPLICATION, "区科技局"),
    "T4": ("外贸企业出口信用保险补贴", PolicyMode.ON_APPLICATION, "区商务局"),
}
QUESTIONS: list[tuple[str, str, datetime, str, Outcome, list[str]]] = [
    ("q1", "o_a", at(11, 2, 10), "稳岗补贴怎么领", Outcome.ANSWERED, ["T1", "T3"]),
    ("q2", "o_b", at(11, 3, 10), "研发费用有补助吗", Outcome.ANSWERED, ["T3"]),
    ("q3", "o_a", at(11, 10, 9), "刚入规有什么奖励", Outcome.ANSWERED, ["T2", "T3", "T1"]),
    ("q4", "o_c", at(11, 11, 15), "数据中心电费补贴", Outcome.NO_FIT, []),
    ("q5", "o_d", at(11, 12, 15), "数据中心电费补贴", Outcome.NEAR_MISS, ["T4", "T2"]),
    ("q6", "o_b", at(11, 20, 11), "人才公寓申请", Outcome.NO_FIT, []),
    ("q7", "o_a", at(10, 31, 23), "出口信保有补贴吗", Outcome.ANSWERED, ["T4"]),
    ("q8", "o_c", at(12, 1, 0, 30), "厂房租金减免", Outcome.NO_FIT, []),
    ("q9", "o_e", at(11, 30, 23, 59), "出口信保补贴", Outcome.ANSWERED, ["T4"]),
]
DELIVERIES: list[tuple[str, str, datetime | None, DeliveryState, datetime | None]] = [
    ("d1", "T1", at(11, 5, 10), DeliveryState.DELIVERED, at(11, 5, 11)),
    ("d2", "T1", at(11, 5, 10), DeliveryState.SENT, None),
    ("d3", "T2", at(11, 16, 10), DeliveryState.DELIVERED, at(11, 18, 9)),
    ("d4", "T3", at(11, 25, 10), DeliveryState.DELIVERED, None),
    ("d5", "T3", at(11, 25, 10), DeliveryState.FAILED, None),
    ("d6", "T1", None, DeliveryState.QUEUED, None),
    ("d7", "T2", at(10, 30, 10), DeliveryState.DELIVERED, at(11, 2, 10)),
]

EXPECTED_POLICIES: dict[str, Any] = {
    "questions": 7,  # q1-q6, q9
    "answered": 4,  # q1 q2 q3 q9
    "unanswered": 3,  # q4 q5 q6
    "askers": 5,  # o_a o_b o_c o_d o_e
    "shown": 7,  # 2 + 1 + 3 + 1 (q5's two near misses are not counted)
    "shown_no_application": 2,  # T1 in q1 and q3
    "shown_instant": 1,  # T2 in q3
    "pushed": 4,  # d1-d4 (d5 failed, d6 queued, d7 sent in October)
    "delivered": 3,  # d1 d3 d4
    "opened": 2,  # d1 d3
    "pushed_no_application": 2,  # d1 d2
    "pushed_instant": 1,  # d3
}
EXPECTED_POLICY_RATES = {
    "answer_rate": 4 / 7,
    "open_rate": 2 / 4,
    "shown_no_application_share": 2 / 7,
    "shown_instant_share": 1 / 7,
    "pushed_no_application_share": 2 / 4,
    "pushed_instant_share": 1 / 4,
}
# (code, questions whose answer listed it), the most asked first, ties by code.
EXPECTED_TOP = [("T3", 3), ("T1", 2), ("T2", 1), ("T4", 1)]
EXPECTED_UNANSWERED = [("数据中心电费补贴", 2), ("人才公寓申请", 1)]


def build_policy_month(session: Session) -> dict[str, int]:
    """Add the policies, questions and pushes; returns the ids of the policies, questions and deliveries by name."""
    made: dict[str, int] = {}
    created = at(10, 1, 9)
    for code, (name, mode, body) in POLICIES.items():
        policy = Policy(
            code=code, name=name, body=body, content=name, mode=mode, status=PolicyStatus.PUBLISHED, tags={},
            keywords=[], version=1, created_at=created, updated_at=created,
        )  # fmt: skip
        session.add(policy)
        session.flush()
        made[code] = policy.id
    for name, openid, when, text, outcome, codes in QUESTIONS:
        made[name] = questions.record(
            session=session, openid=openid, text=text, outcome=outcome, codes=codes, now=when
        ).id
    campaigns: dict[str, int] = {}
    for code in POLICIES:
        campaign = Campaign(
            policy_id=made[code], policy_version=1, kind=PushKind.NEW, state=CampaignState.DONE, eligible=2,
            bound=2, created_by="admin", created_at=at(10, 30, 9),
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        campaigns[code] = campaign.id
    for number, (name, code, sent, state, opened) in enumerate(DELIVERIES, 1):
        enterprise = Enterprise(
            uscc=f"91610100MA6U{number:06d}", name=f"西安推送{number}有限公司", created_at=created, updated_at=created
        )
        session.add(enterprise)
        session.flush()
        delivery = Delivery(
            campaign_id=campaigns[code], policy_id=made[code], policy_version=1, kind=PushKind.NEW,
            enterprise_id=enterprise.id, openid=f"o_push_{number}", state=state, channel=PushChannel.TEMPLATE,
            text=f"政策推送 {code}", fields={}, attempts=1, sent_at=sent, opened_at=opened,
        )  # fmt: skip
        session.add(delivery)
        session.flush()
        made[name] = delivery.id
    return made
