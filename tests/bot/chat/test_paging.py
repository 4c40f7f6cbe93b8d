"""Replies over WeChat's 2048-byte limit are cut at sentence ends and continued on "更多"."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat.dialogue import CONTINUED, MAX_REPLY_BYTES, paginate

SENTENCE = st.text(alphabet="政策补贴申报材料营业执照复印件法定代表人身份证明abc123，、", min_size=1, max_size=80)


@given(st.lists(SENTENCE.map(lambda s: s + "。"), min_size=1, max_size=120))
@settings(max_examples=200, deadline=None)
def test_pages_fit_and_lose_nothing(sentences: list[str]) -> None:
    text = "\n".join(sentences)
    pages = paginate(text)
    assert all(len(page.encode()) <= MAX_REPLY_BYTES for page in pages)
    assert all(page.endswith(CONTINUED) for page in pages[:-1])
    assert not pages[-1].endswith(CONTINUED)
    rebuilt = "".join(page.removesuffix(CONTINUED) for page in pages)
    assert rebuilt.replace("\n", "") == text.replace("\n", "")


def test_short_reply_is_one_page() -> None:
    assert paginate("您好。") == ["您好。"]


def test_cut_at_a_sentence_end() -> None:
    text = "第一句话说明政策内容。" * 100 + "最后一句。"
    pages = paginate(text)
    assert len(pages) >= 2
    assert pages[0].removesuffix(CONTINUED).endswith("。")


def test_text_without_any_sentence_end_is_still_cut_safely() -> None:
    text = "长" * 3000
    pages = paginate(text)
    assert all(len(page.encode()) <= MAX_REPLY_BYTES for page in pages)
    assert "".join(page.removesuffix(CONTINUED) for page in pages) == text
