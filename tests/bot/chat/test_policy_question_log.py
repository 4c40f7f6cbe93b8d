"""Every policy question the dialogue answers is logged with how it was answered and the policies it listed, in
the order the enterprise saw them (the policy side of the statistics counts these rows)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.dialogue import NO_FIT, Dialogue
from bot.platform import db
from bot.platform.cache import MemoryCache
from bot.wechat.protocol import Inbound
from intents.matcher import Matcher
from intents.records import Intent, MatchResult
from policies.catalog import doc_from_record, read_demo_catalog
from policies.models import Policy
from policies.questions import Outcome, PolicyQuestion, PolicyShown
from routing.table import category_doc_from_record, read_default_table
from tests.support.databases import Templates

QUESTION = "小微企业有哪些税收优惠"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    policies = [doc_from_record(record) for record in read_demo_catalog()]
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    return Matcher(policies, categories)


@pytest.fixture
async def chat(matcher: Matcher, templates: Templates, tmp_path: Path) -> AsyncIterator[tuple[Dialogue, str]]:
    url = templates.sqlite(tmp_path / "dialogue.db", "demo")  # the demo list is in the database, as in the app
    engine = db.make_async_engine(url)
    try:
        yield Dialogue(matcher=lambda: matcher, cache=MemoryCache(), engine=engine, state_ttl=600), url
    finally:
        await engine.dispose()


async def say(dialogue: Dialogue, text: str, openid: str = "o_log") -> str:
    inbound = Inbound(to_user="gh", openid=openid, create_time=0, msg_type="text", fields={"Content": text})
    reply = await dialogue.respond(inbound)
    assert reply is not None
    return reply


def logged(url: str) -> list[tuple[str, str, Outcome, list[str]]]:
    """(openid, text, outcome, names of the policies listed in order) of every logged question."""
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as session:
            found = []
            for question in session.scalars(select(PolicyQuestion).order_by(PolicyQuestion.id)):
                names = session.scalars(
                    select(Policy.name)
                    .join(PolicyShown, PolicyShown.policy_id == Policy.id)
                    .where(PolicyShown.question_id == question.id)
                    .order_by(PolicyShown.rank)
                )
                found.append((question.openid, question.text, question.outcome, list(names)))
            return found
    finally:
        engine.dispose()


async def test_a_listed_answer_is_logged_with_its_policies_in_order(chat: tuple[Dialogue, str]) -> None:
    dialogue, url = chat
    reply = await say(dialogue, QUESTION)
    listed = re.findall(r"^\d+\. (.+)$", reply, flags=re.MULTILINE)
    assert len(listed) >= 2, reply
    [(openid, text, outcome, names)] = logged(url)
    assert (openid, text, outcome) == ("o_log", QUESTION, Outcome.ANSWERED)
    assert len(names) == len(listed) and all(line.startswith(name) for line, name in zip(listed, names, strict=True))
    # Opening one of the list by its number is not another question.
    await say(dialogue, "1")
    assert len(logged(url)) == 1


async def test_a_question_nothing_answers_is_logged_unanswered(
    chat: tuple[Dialogue, str], matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialogue, url = chat
    real = matcher.match

    def nothing(said: str, *, intent: Intent | None = None) -> MatchResult:
        found = real(said, intent=intent)
        if "幼儿园" in said:  # the list has nothing for it (as the semantic layer would find)
            return replace(found, intent=Intent.POLICY, policies=(), choices=(), no_fit=True)
        return found

    monkeypatch.setattr(matcher, "match", nothing)
    assert await say(dialogue, "开民办幼儿园有办园补贴吗", openid="o_kindergarten") == NO_FIT
    assert logged(url) == [("o_kindergarten", "开民办幼儿园有办园补贴吗", Outcome.NO_FIT, [])]


async def test_a_policy_picked_from_a_question_is_logged_once(chat: tuple[Dialogue, str]) -> None:
    dialogue, url = chat
    await say(dialogue, "退税的事")
    assert logged(url) == []  # asked back which one: not answered yet
    await say(dialogue, "1")
    assert logged(url) == [("o_log", "退税的事", Outcome.ANSWERED, ["增值税留抵退税"])]
