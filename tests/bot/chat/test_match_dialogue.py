"""The conversation around the matcher: numbered policy lists, and "when unsure, ask" with 1/2 replies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.dialogue import Dialogue, choice_number
from bot.platform import db
from bot.platform.cache import MemoryCache
from bot.wechat.protocol import Inbound
from intents.matcher import Matcher
from policies.catalog import doc_from_record, read_demo_catalog
from routing.table import category_doc_from_record, read_default_table
from tests.support.databases import Templates


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    policies = [doc_from_record(record) for record in read_demo_catalog()]
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    return Matcher(policies, categories)


@pytest.fixture
async def dialogue(matcher: Matcher, templates: Templates, tmp_path: Path) -> AsyncIterator[Dialogue]:
    url = templates.sqlite(tmp_path / "dialogue.db", "schema")  # the filing keeps drafts and reads the rules there
    engine = db.make_async_engine(url)
    try:
        yield Dialogue(matcher=lambda: matcher, cache=MemoryCache(), engine=engine, state_ttl=600)
    finally:
        await engine.dispose()


async def say(dialogue: Dialogue, text: str, openid: str = "o_match") -> str:
    inbound = Inbound(to_user="gh", openid=openid, create_time=0, msg_type="text", fields={"Content": text})
    reply = await dialogue.respond(inbound)
    assert reply is not None
    return reply


async def test_unsure_policy_question_is_asked_and_1_opens_the_first_choice(dialogue: Dialogue) -> None:
    question = await say(dialogue, "退税的事")
    assert question.splitlines() == [
        "想确认一下，您是想：",
        "1. 增值税留抵退税",
        "2. 出口货物劳务增值税退（免）税",
        "请回复序号。",
    ]
    detail = await say(dialogue, "1")
    assert detail.startswith("【增值税留抵退税】")
    assert "申报材料" in detail


async def test_2_in_full_width_chooses_the_complaint(dialogue: Dialogue) -> None:
    question = await say(dialogue, "凭什么我们就不算小型微利企业？条件到底是啥")
    assert "2. 反映办理中遇到的问题" in question
    answer = await say(dialogue, "２")
    assert "牵头办理单位" in answer
    assert "牵头办理单位" not in await say(dialogue, "2")  # the question was answered once and is gone


async def test_a_new_message_drops_the_question(dialogue: Dialogue) -> None:
    await say(dialogue, "退税的事")
    listing = await say(dialogue, "稳岗返还怎么申请")
    assert listing.splitlines()[0].startswith("1. 失业保险稳岗返还")
    assert (await say(dialogue, "1")).startswith("【失业保险稳岗返还】")  # the list's 1, not the question's


async def test_a_number_out_of_range_keeps_the_question(dialogue: Dialogue) -> None:
    await say(dialogue, "退税的事")
    assert await say(dialogue, "5") == "请回复 1 到 2 之间的序号。"
    assert (await say(dialogue, "第2个")).startswith("【出口货物劳务增值税退（免）税】")


async def test_users_have_their_own_questions(dialogue: Dialogue) -> None:
    await say(dialogue, "退税的事", openid="o_a")
    await say(dialogue, "招人有什么补贴", openid="o_b")  # a list, no question
    assert (await say(dialogue, "2", openid="o_a")).startswith("【出口货物劳务增值税退（免）税】")
    assert not (await say(dialogue, "2", openid="o_b")).startswith("【出口货物")


@pytest.mark.parametrize(
    ("said", "number"),
    [("1", 1), ("１", 1), (" 2 ", 2), ("2.", 2), ("第3个", 3), ("选1", 1), ("二", 2), ("12345", None), ("1个月", None)],
)
def test_choice_numbers(said: str, number: int | None) -> None:
    assert choice_number(said) == number
