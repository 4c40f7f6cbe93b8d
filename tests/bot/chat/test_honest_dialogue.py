"""Honest answers with the semantic layer: nothing fits (said in one line, staff offered, the question counted),
near misses named as such, and appeals routed to the unit learned from examples or to 区营商办 for triage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.dialogue import NO_FIT, NOT_EXACT, Dialogue
from bot.platform import db
from bot.platform.cache import MemoryCache
from bot.services import prepare_database
from bot.wechat.protocol import Inbound
from intents.matcher import Matcher
from intents.records import Intent, MatchResult
from policies import unanswered
from routing.models import Appeal, AppealEvent, Unit


@pytest.fixture
async def chat(hybrid_matcher: Matcher, tmp_path: Path) -> AsyncIterator[tuple[Dialogue, str]]:
    url = f"sqlite:///{tmp_path / 'dialogue.db'}"
    migrated = db.make_engine(url)
    prepare_database(migrated, load_demo=False)
    migrated.dispose()
    engine = db.make_async_engine(url)
    try:
        yield Dialogue(matcher=lambda: hybrid_matcher, cache=MemoryCache(), engine=engine, state_ttl=600), url
    finally:
        await engine.dispose()


async def say(dialogue: Dialogue, text: str, openid: str = "o_honest") -> str:
    inbound = Inbound(to_user="gh", openid=openid, create_time=0, msg_type="text", fields={"Content": text})
    reply = await dialogue.respond(inbound)
    assert reply is not None
    return reply


def questions(url: str) -> list[tuple[str, int, int]]:
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as session:
            return [(row.text, row.count, row.passed_to_staff) for row in unanswered.listing(session=session)]
    finally:
        engine.dispose()


async def test_nothing_fits_is_said_counted_and_handed_to_staff(
    chat: tuple[Dialogue, str], hybrid_matcher: Matcher
) -> None:
    dialogue, url = chat
    question = "开民办幼儿园有办园补贴吗"
    result = hybrid_matcher.match(question)
    assert result.intent == Intent.POLICY
    reply = await say(dialogue, question)
    if result.no_fit:
        assert reply == NO_FIT
    else:  # near misses: said first, two names at most, staff offered
        assert reply.startswith(NOT_EXACT) and reply.count("\n") <= 4 and "转人工" in reply
    await say(dialogue, question, openid="o_other")
    assert questions(url) == [(question, 2, 0)]
    # "转人工" opens a hand-off to a person (bot.chat.handoff) and passes the unanswered question to staff.
    assert "人工" in await say(dialogue, "转人工")
    assert questions(url) == [(question, 2, 1)]
    # "转人工" with no question pending opens a hand-off and passes nothing.
    await say(dialogue, "转人工", openid="o_fresh")
    assert questions(url) == [(question, 2, 1)]


async def test_an_answerable_question_gets_its_list_unhedged(chat: tuple[Dialogue, str]) -> None:
    dialogue, url = chat
    reply = await say(dialogue, "稳岗返还怎么申请")
    assert "失业保险稳岗返还" in reply and not reply.startswith(NOT_EXACT)
    assert questions(url) == []


async def test_a_triaged_appeal_is_filed_to_the_office_with_its_candidates(
    chat: tuple[Dialogue, str], hybrid_matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialogue, url = chat
    text = "我们公司的事情反映了很多次了，到现在也没个说法"
    real = hybrid_matcher.match

    def unsure(said: str, *, intent: Intent | None = None) -> MatchResult:
        found = real(said, intent=intent)
        if said == text:  # the classifier's own doubt, made certain for the test
            return replace(found, intent=Intent.APPEAL, triage=True, choices=())
        return found

    monkeypatch.setattr(hybrid_matcher, "match", unsure)
    first = await say(dialogue, text)
    assert "区营商办分拨" in first
    for answer in ("西安某某科技有限公司", "张三", "13800000000", "不清楚"):
        await say(dialogue, answer)
    filed = await say(dialogue, "确认")
    assert "已受理" in filed and "承办单位：区营商办" in filed
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as session:
            appeal = session.scalars(select(Appeal)).one()
            assert session.get(Unit, appeal.unit_id).name == "区营商办"  # type: ignore[union-attr]
            event = session.scalars(select(AppealEvent).where(AppealEvent.action == "dispatch")).one()
            assert event.data["triage"] is True and event.data["candidates"]
    finally:
        engine.dispose()
