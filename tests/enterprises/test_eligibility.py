"""Eligibility from a policy's tags: the verdict and its one-line reason, and the SQL set agreeing with it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.platform import db
from enterprises import service
from enterprises.eligibility import Conditions, Profile, Verdict, conditions, eligible_query, evaluate, full_years
from enterprises.models import FieldSource
from enterprises.vocabulary import ABOVE_SCALE, INDUSTRY_NAMES, Range, Scale, Vocabulary
from tests.enterprises.support import code

TODAY = date(2026, 11, 30)
SMALL_FACTORY = Profile(
    industry="制造业", size="小", qualifications=(), street="西关街道", founded_on=date(2020, 5, 1), employees=35
)


def verdict(tags: dict[str, str], profile: Profile = SMALL_FACTORY) -> Verdict:
    return evaluate(conditions(tags), profile, today=TODAY)


def test_the_reason_says_why_the_enterprise_fits() -> None:
    assert verdict({"行业": "制造业", "规模": "小微", "类型": "补贴"}) == Verdict(
        True, "贵企业为制造业小微企业，符合适用对象"
    )
    assert verdict({"规模": "中小微", "街道": "西关街道、北院门街道", "成立年限": "≥3年"}) == Verdict(
        True, "贵企业为中小微企业，位于西关街道，成立6年，符合适用对象"
    )
    assert verdict({"层级": "国家", "规模": "不限", "行业": "不限"}) == Verdict(
        True, "本政策面向各类企业，符合适用对象"
    )
    tech = Profile(industry="信息传输、软件和信息技术服务业", size="中", qualifications=("高新技术企业",))
    assert verdict({"资质": "高新技术企业、专精特新"}, tech) == Verdict(True, "贵企业为高新技术企业，符合适用对象")
    assert verdict({"规模": "规下"}) == Verdict(True, "贵企业为规下企业，符合适用对象")


def test_the_reason_says_why_not() -> None:
    assert verdict({"行业": "批发和零售业", "规模": "小微"}) == Verdict(False, "本政策面向批发和零售业，贵企业为制造业")
    assert verdict({"规模": "大中"}).reason == "本政策面向大中企业，贵企业为小型企业"
    assert verdict({"规模": "规上"}).reason == "本政策面向规上企业，贵企业尚未纳入规模以上统计"
    assert verdict({"资质": "高新技术企业"}).reason == "本政策面向高新技术企业，贵企业暂无此资质"
    assert verdict({"成立年限": "<3"}).reason == "本政策要求成立年限≤2年，贵企业成立6年"
    assert verdict({"从业人数": "≤20人"}).reason == "本政策要求从业人数≤20人，贵企业35人"


def test_what_is_not_known_cannot_be_told() -> None:
    unknown = Profile(industry="制造业")
    assert verdict({"行业": "制造业", "规模": "小微", "资质": "专精特新"}, unknown) == Verdict(
        None, "贵企业的规模、资质尚未登记，暂不能判断是否符合"
    )
    # an unmet condition decides even when another is unknown
    assert verdict({"行业": "建筑业", "规模": "小微"}, unknown).eligible is False
    assert verdict({"规模": "规上"}, Profile(size="小")).eligible is None  # 资质 unknown: 规上 cannot be told


def test_a_tag_stored_before_the_vocabulary_is_not_guessed() -> None:
    assert conditions({"行业": "科技"}).unreadable == ("行业",)
    assert verdict({"行业": "科技"}).eligible is None


def test_full_years() -> None:
    assert full_years(date(2020, 12, 1), TODAY) == 5 and full_years(date(2020, 11, 30), TODAY) == 6
    assert (
        full_years(date(2024, 2, 29), date(2025, 2, 28)) == 0 and full_years(date(2024, 2, 29), date(2025, 3, 1)) == 1
    )


# -- the SQL set agrees with the Python verdicts --

QUALIFICATIONS = ["高新技术企业", "科技型中小企业", "专精特新", *sorted(ABOVE_SCALE), "个体工商户"]
STREETS = list(Vocabulary.default().streets[:4])


def random_profile(rng: random.Random) -> Profile:
    def maybe(value: object) -> object:
        return None if rng.random() < 0.15 else value

    quals = tuple(rng.sample(QUALIFICATIONS, rng.randint(0, 2)))
    founded = TODAY - timedelta(days=rng.randint(0, 12 * 366)) if rng.random() > 0.1 else date(2024, 2, 29)
    return Profile(
        industry=maybe(rng.choice(INDUSTRY_NAMES[:6])),  # type: ignore[arg-type]
        size=maybe(rng.choice("大中小微")),  # type: ignore[arg-type]
        qualifications=maybe(quals),  # type: ignore[arg-type]
        street=maybe(rng.choice(STREETS)),  # type: ignore[arg-type]
        founded_on=maybe(founded),  # type: ignore[arg-type]
        employees=maybe(rng.randint(0, 600)),  # type: ignore[arg-type]
    )


def random_conditions(rng: random.Random) -> Conditions:
    def some(values: list[str], most: int) -> tuple[str, ...]:
        return tuple(rng.sample(values, rng.randint(1, most))) if rng.random() < 0.4 else ()

    sizes = "".join(char for char in "大中小微" if rng.random() < 0.5) if rng.random() < 0.5 else ""
    above = rng.choice([None, None, True, False])
    low, high = rng.choice([None, rng.randint(0, 8)]), rng.choice([None, rng.randint(3, 12)])
    age = Range(low, high) if (low is not None or high is not None) and rng.random() < 0.4 else None
    staff_low, staff_high = rng.choice([None, rng.randint(0, 100)]), rng.choice([None, rng.randint(100, 500)])
    staff = Range(staff_low, staff_high) if (staff_low or staff_high) and rng.random() < 0.4 else None
    return Conditions(
        industries=some(list(INDUSTRY_NAMES[:6]), 3),
        scale=Scale(sizes, above),
        qualifications=some(QUALIFICATIONS, 2),
        streets=some(STREETS, 2),
        age=age,
        staff=staff,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'e.db'}" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    engine = db.make_engine(url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def test_sql_finds_exactly_the_enterprises_python_says_qualify(engine: Engine) -> None:
    rng = random.Random(13)
    profiles: dict[int, Profile] = {}
    with db.transaction(db.session_factory(engine)) as session:
        for number in range(400):
            profile = random_profile(rng)
            values = {key: getattr(profile, key) for key in ("industry", "size", "street", "founded_on", "employees")}
            quals = None if profile.qualifications is None else list(profile.qualifications)
            row = service.create(
                session=session,
                uscc=code(number),
                values={"name": f"企业{number}", **values, "qualifications": quals},
                source=FieldSource.REGISTER,
                author="test",
            )
            profiles[row.id] = profile
    sizes = []
    with db.session_factory(engine)() as session:
        for _ in range(150):
            rules = random_conditions(rng)
            by_sql = set(session.scalars(eligible_query(rules, today=TODAY)))
            by_python = {key for key, profile in profiles.items() if evaluate(rules, profile, today=TODAY).eligible}
            assert by_sql == by_python, rules
            sizes.append(len(by_sql))
    assert min(sizes) == 0 and max(sizes) > 100  # the random conditions reach both ends


def test_sources_are_noted_per_field(engine: Engine) -> None:
    with db.transaction(db.session_factory(engine)) as session:
        row = service.create(
            session=session, uscc=code(1), values={"name": "甲", "industry": "制造业"}, source=FieldSource.SELF,
            author="o_user", now=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        changed = service.apply(
            session=session, enterprise=row, values={"industry": "建筑业", "size": None, "employees": 9},
            source=FieldSource.STAFF, author="clerk",
        )  # fmt: skip
        assert changed == ["industry", "employees"]
        assert row.sources["name"]["source"] == FieldSource.SELF and row.sources["industry"]["by"] == "clerk"
        assert "size" not in row.sources  # a None never erases and is never stamped
