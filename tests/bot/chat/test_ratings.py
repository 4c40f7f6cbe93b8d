"""Reading ratings as enterprises write them: words, variants, numbers, scores, stars and emoji, with comments."""

from __future__ import annotations

import pytest

from bot.chat.ratings import Rated, read_rating
from routing.models import Rating

SATISFIED, FAIR, DISSATISFIED = Rating.SATISFIED, Rating.FAIRLY_SATISFIED, Rating.DISSATISFIED


@pytest.mark.parametrize(
    ("said", "rating", "comment"),
    [
        ("满意", SATISFIED, ""),
        ("满意。", SATISFIED, ""),
        ("非常满意！", SATISFIED, ""),
        ("基本满意，问题解决了，但之前白跑了两趟", FAIR, "问题解决了，但之前白跑了两趟"),
        ("问题解决了，基本满意", FAIR, "问题解决了"),
        ("不满意", DISSATISFIED, ""),
        ("不太满意，钱还没到账", DISSATISFIED, "钱还没到账"),
        ("非常不满意!!", DISSATISFIED, ""),
        ("谢谢，很满意", SATISFIED, "谢谢"),
        ("比较满意", FAIR, ""),
        ("还行吧", FAIR, ""),
        ("一般", FAIR, ""),
        ("没解决", DISSATISFIED, ""),
        ("1", SATISFIED, ""),
        ("２", FAIR, ""),
        ("3", DISSATISFIED, ""),
        ("5分", SATISFIED, ""),
        ("打3分", FAIR, ""),
        ("给个10分", SATISFIED, "给个"),
        ("60分吧", FAIR, ""),
        ("⭐⭐⭐⭐⭐", SATISFIED, ""),
        ("★★", DISSATISFIED, ""),
        ("五星", SATISFIED, ""),
        ("👍", SATISFIED, ""),
        ("👍🏻 办得快", SATISFIED, "办得快"),
        ("👎", DISSATISFIED, ""),
        ("好评", SATISFIED, ""),
        ("差评，态度不好", DISSATISFIED, "态度不好"),
    ],
)
def test_a_rating_and_its_comment(said: str, rating: Rating, comment: str) -> None:
    assert read_rating(said) == Rated(rating, comment)


@pytest.mark.parametrize(
    "said",
    ["稳岗返还怎么申请", "补充：第一次11月24日3号窗口", "一般来说要多久", "", "  ", "好的", "LH-20261123-0001"],
)
def test_what_is_not_a_rating(said: str) -> None:
    assert read_rating(said) is None


def test_a_bare_number_is_a_choice_when_one_is_pending() -> None:
    assert read_rating("1", numbers=False) is None
    assert read_rating("满意", numbers=False) == Rated(SATISFIED, "")
