"""Reading a rating the way enterprises write one: 满意 / 基本满意 / 不满意, common variants, 1 / 2 / 3 as the
request numbers them, scores and stars, emoji, with or without a comment ("基本满意，问题解决了，但之前白跑了
两趟" is 基本满意 with the comment "问题解决了，但之前白跑了两趟")."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from routing.models import Rating

# Words that name a rating wherever they stand, the longest (and negated) first.
WORDS: tuple[tuple[str, Rating], ...] = tuple(
    sorted(
        [
            *((word, Rating.DISSATISFIED) for word in (
                "不满意", "非常不满意", "很不满意", "不太满意", "不是很满意", "不怎么满意", "不大满意", "差评",
            )),
            *((word, Rating.FAIRLY_SATISFIED) for word in (
                "基本满意", "比较满意", "还算满意", "基本上满意", "中评", "一般满意",
            )),
            *((word, Rating.SATISFIED) for word in (
                "满意", "非常满意", "很满意", "挺满意", "十分满意", "特别满意", "好评", "五星好评",
            )),
        ],
        key=lambda item: -len(item[0]),
    )
)  # fmt: skip
# Words that are a rating only as the whole reply or its first words ("一般来说……" is not one).
LEADING: tuple[tuple[str, Rating], ...] = tuple(
    sorted(
        [
            *((word, Rating.DISSATISFIED) for word in (
                "不行", "太差", "很差", "太差了", "没解决", "没有解决", "还没解决", "问题没解决", "问题没有解决",
            )),
            *((word, Rating.FAIRLY_SATISFIED) for word in ("一般", "还行", "还可以", "凑合", "过得去", "马马虎虎")),
            *((word, Rating.SATISFIED) for word in ("很好", "非常好", "挺好", "不错", "很棒", "赞", "点赞")),
        ],
        key=lambda item: -len(item[0]),
    )
)  # fmt: skip
EMOJI: dict[str, Rating] = {
    **dict.fromkeys("👍👏💯🌹😊🙂😄😃😀🥰❤♥🎉", Rating.SATISFIED),
    **dict.fromkeys("👌😐😶🤔", Rating.FAIRLY_SATISFIED),
    **dict.fromkeys("👎😠😡😞😤💢😒🙁☹", Rating.DISSATISFIED),
}
NUMBERED = {"1": Rating.SATISFIED, "2": Rating.FAIRLY_SATISFIED, "3": Rating.DISSATISFIED}
CHINESE_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
SCORE = re.compile(r"(?:打|给|评)?\s*(100|[0-9]{1,2}|[一二两三四五六七八九十])\s*(分|星|颗星)")
STARS = re.compile(r"[⭐★☆✨]+")
EDGES = " \t\r\n，,。.！!？?；;：:、~～…-—（）()【】\"'“”"
# Emoji variation selectors, joiners and skin tones.
ARROWS = "\ufe0f\u200d\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
PARTICLES = "吧啊呀了哈嘛的"


@dataclass(frozen=True)
class Rated:
    """A rating read from a message, and what else the message said (the comment, possibly empty)."""

    rating: Rating
    comment: str


def _score(value: int, scale: int) -> Rating:
    """A score on a 5-, 10- or 100-point scale as a rating."""
    share = value / scale
    if share >= 0.8:
        return Rating.SATISFIED
    if share >= 0.6:
        return Rating.FAIRLY_SATISFIED
    return Rating.DISSATISFIED


def _rest(text: str, start: int, end: int) -> str:
    """The message without the rating: the comment (a lone particle such as "吧" is none)."""
    rest = (text[:start].strip(EDGES) + "，" + text[end:].strip(EDGES)).strip(EDGES)
    return "" if rest and all(char in PARTICLES for char in rest) else rest


def _scored(text: str) -> Rated | None:
    found = SCORE.search(text)
    if found is not None:
        raw = found.group(1)
        value = int(raw) if raw.isdigit() else CHINESE_NUMBERS[raw]
        scale = 5 if found.group(2) != "分" or value <= 5 else (10 if value <= 10 else 100)
        return Rated(_score(value, scale), _rest(text, found.start(), found.end()))
    stars = STARS.search(text)
    if stars is not None and len(stars.group(0)) <= 5:
        return Rated(_score(len(stars.group(0)), 5), _rest(text, stars.start(), stars.end()))
    return None


def read_rating(text: str, *, numbers: bool = True) -> Rated | None:
    """The rating a message gives, or None; `numbers`: a bare 1 / 2 / 3 is a rating (no other numbered choice)."""
    flat = "".join(char for char in text if char not in ARROWS).strip()  # the comment keeps the enterprise's text
    normal = unicodedata.normalize("NFKC", flat)
    bare = normal.strip(EDGES)
    if not bare:
        return None
    if numbers and bare in NUMBERED:
        return Rated(NUMBERED[bare], "")
    for word, rating in WORDS:
        at = flat.find(word)
        if at >= 0:
            return Rated(rating, _rest(flat, at, at + len(word)))
    scored = _scored(normal)
    if scored is not None:
        return scored
    for char in flat:
        if char in EMOJI:
            at = flat.index(char)
            return Rated(EMOJI[char], _rest(flat, at, at + 1).replace(char, "").strip(EDGES))
    lead = flat.strip(EDGES)
    for word, rating in LEADING:
        after = lead[len(word) :]
        if lead.startswith(word) and (not after or after[0] in EDGES or after[0] in PARTICLES):
            return Rated(rating, _rest(lead, 0, len(word)))
    return None
