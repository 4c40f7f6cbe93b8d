"""The tag vocabulary policies and enterprises share (标签化管理): 行业, 规模, 资质, 街道, 成立年限, 从业人数.

行业 is a 门类 of GB/T 4754-2017 and 规模 a size of 统计上大中小微型企业划分办法（2017）: both fixed by national
standards, so they are data here. 资质 and 街道 are extendable by admins (`tag_terms`, see enterprises.terms);
`Vocabulary.default()` is what ships. Pure: no database.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# The 20 门类 of GB/T 4754-2017 (国民经济行业分类), by letter.
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("A", "农、林、牧、渔业"),
    ("B", "采矿业"),
    ("C", "制造业"),
    ("D", "电力、热力、燃气及水生产和供应业"),
    ("E", "建筑业"),
    ("F", "批发和零售业"),
    ("G", "交通运输、仓储和邮政业"),
    ("H", "住宿和餐饮业"),
    ("I", "信息传输、软件和信息技术服务业"),
    ("J", "金融业"),
    ("K", "房地产业"),
    ("L", "租赁和商务服务业"),
    ("M", "科学研究和技术服务业"),
    ("N", "水利、环境和公共设施管理业"),
    ("O", "居民服务、修理和其他服务业"),
    ("P", "教育"),
    ("Q", "卫生和社会工作"),
    ("R", "文化、体育和娱乐业"),
    ("S", "公共管理、社会保障和社会组织"),
    ("T", "国际组织"),
)
INDUSTRY_NAMES = tuple(name for _, name in INDUSTRIES)
# Everyday names of a 门类 (each names one 门类 only; 科技 and 工业 span several and are refused).
INDUSTRY_ALIASES: dict[str, str] = {
    **{alias: "农、林、牧、渔业" for alias in ("农林牧渔业", "农林牧渔", "农业", "林业", "畜牧业", "渔业")},
    "采矿": "采矿业",
    "制造": "制造业",
    "电力热力燃气及水生产和供应业": "电力、热力、燃气及水生产和供应业",
    "建筑": "建筑业",
    **{alias: "批发和零售业" for alias in ("批发零售业", "批发零售", "批发业", "零售业", "批发", "零售")},
    **{alias: "交通运输、仓储和邮政业" for alias in ("交通运输仓储和邮政业", "交通运输业", "交通运输", "物流业")},
    **{alias: "住宿和餐饮业" for alias in ("住宿餐饮业", "住宿餐饮", "餐饮业", "餐饮", "住宿业")},
    **{
        alias: "信息传输、软件和信息技术服务业"
        for alias in ("信息传输软件和信息技术服务业", "软件和信息技术服务业", "软件业", "信息技术服务业", "软件")
    },
    "金融": "金融业",
    "房地产": "房地产业",
    **{alias: "租赁和商务服务业" for alias in ("租赁和商务服务", "租赁业", "商务服务业")},
    **{
        alias: "科学研究和技术服务业"
        for alias in ("科学研究和技术服务", "科研和技术服务业", "科技服务业", "技术服务业")
    },
    "水利环境和公共设施管理业": "水利、环境和公共设施管理业",
    **{alias: "居民服务、修理和其他服务业" for alias in ("居民服务修理和其他服务业", "居民服务业")},
    "教育业": "教育",
    **{alias: "卫生和社会工作" for alias in ("卫生", "医疗卫生")},
    **{alias: "文化、体育和娱乐业" for alias in ("文化体育和娱乐业", "文化体育娱乐业", "文体娱乐业")},
    "公共管理社会保障和社会组织": "公共管理、社会保障和社会组织",
    **{letter: name for letter, name in INDUSTRIES},
}
ANY = "不限"
SIZES = "大中小微"
SIZE_NAMES = {"大": "大型", "中": "中型", "小": "小型", "微": "微型"}
ABOVE, BELOW = "规上", "规下"
# 限额以上/以下 is trade's and catering's word for the same line (限上商贸), stored as 规上/规下.
SCALE_WORDS = {
    "规上": ABOVE, "规模以上": ABOVE, "限上": ABOVE, "限额以上": ABOVE,
    "规下": BELOW, "规模以下": BELOW, "限下": BELOW, "限额以下": BELOW,
    "不限": ANY,
}  # fmt: skip
# 资质 that make an enterprise 规模以上 (规上工业, 限上批零住餐, 规上服务业).
ABOVE_SCALE = frozenset({"规上工业", "限上商贸", "规上服务业"})
CONDITION_KEYS = ("行业", "规模", "资质", "街道", "成立年限", "从业人数")
RANGE_UNITS = {"成立年限": "年", "从业人数": "人"}
TERM_KEYS = ("资质", "街道")  # the keys admins extend
SEPARATORS = re.compile(r"[、,，/|]")
SIZE_NOISE = re.compile(r"(?:型|企业|\s)")
QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"', "'": '"'})
DEFAULTS_PATH = Path(__file__).with_name("vocabulary.json")


class TagError(ValueError):
    """A tag value outside the vocabulary; the message says why, in Chinese, for admins."""


@dataclass(frozen=True)
class Vocabulary:
    """The admin-extendable terms: 资质 and the district's 街道."""

    qualifications: tuple[str, ...]
    streets: tuple[str, ...]

    @classmethod
    def default(cls) -> Vocabulary:
        """The shipped terms (enterprises/vocabulary.json)."""
        data = json.loads(DEFAULTS_PATH.read_text(encoding="utf-8"))
        return cls(qualifications=tuple(data["资质"]), streets=tuple(data["街道"]))

    def terms(self, key: str) -> tuple[str, ...]:
        """The terms of one extendable key."""
        return self.qualifications if key == "资质" else self.streets


def clean(text: str) -> str:
    """NFKC, straight quotes, no surrounding space."""
    return unicodedata.normalize("NFKC", text).translate(QUOTES).strip()


def units(value: str) -> list[str]:
    """The pieces of a tag value separated by 、 , ， / or |, without blanks and repeats."""
    return list(dict.fromkeys(part.strip() for part in SEPARATORS.split(clean(value)) if part.strip()))


def industry(text: str) -> str:
    """One 门类 by its name, an everyday name or its letter; TagError for anything else."""
    word = clean(text).replace(" ", "")
    found = word if word in INDUSTRY_NAMES else INDUSTRY_ALIASES.get(word.upper() if len(word) == 1 else word)
    if found is None:
        raise TagError(
            f"行业「{word[:40]}」不是国民经济行业分类（GB/T 4754-2017）的门类；"
            f"可填门类名称或字母 A–T（如 制造业、批发和零售业、C），或 不限"
        )
    return found


def industries(value: str) -> list[str]:
    """A 行业 tag as 门类 names (or [不限]); names that contain 、 are read whole (农、林、牧、渔业)."""
    pieces = units(value)
    if pieces == [ANY]:
        return [ANY]
    found: list[str] = []
    start = 0
    while start < len(pieces):
        for end in range(len(pieces), start, -1):  # the longest run of pieces that names a 门类
            joined = "、".join(pieces[start:end])
            if joined in INDUSTRY_NAMES or joined in INDUSTRY_ALIASES:
                found.append(industry(joined))
                start = end
                break
        else:
            if pieces[start] == ANY:
                raise TagError("行业填了 不限 就不能再填具体门类")
            industry(pieces[start])  # raises with the reason
    return list(dict.fromkeys(found))


def size(text: str) -> str:
    """An enterprise's size: one of 大 中 小 微 (大型, 小型企业 … are read too)."""
    word = SIZE_NOISE.sub("", clean(text))
    if len(word) != 1 or word not in SIZES:
        raise TagError(f"规模「{clean(text)[:20]}」无效：企业规模应为 大型、中型、小型、微型 之一")
    return word


@dataclass(frozen=True)
class Scale:
    """A policy's 规模 condition: the sizes it is for (empty: any) and whether it is for 规上 (True) or 规下 (False)."""

    sizes: str = ""
    above: bool | None = None

    @property
    def unrestricted(self) -> bool:
        """True for 规模:不限."""
        return not self.sizes and self.above is None

    def text(self) -> str:
        """The stored form: 不限, 小微, 规上, 中小、规上."""
        parts = [self.sizes] if self.sizes else []
        if self.above is not None:
            parts.append(ABOVE if self.above else BELOW)
        return "、".join(parts) or ANY


def scale(value: str) -> Scale:
    """A policy's 规模 tag: sizes of 大 中 小 微, 不限, 规上 (规模以上) or 规下 (规模以下), e.g. 中小微、规上."""
    sizes = ""
    words: set[str] = set()
    for piece in units(value):
        word = SIZE_NOISE.sub("", piece)
        if word in SCALE_WORDS:
            words.add(SCALE_WORDS[word])
        elif word and not set(word) - set(SIZES):
            sizes += word
        else:
            raise TagError(
                f"规模「{piece[:20]}」无效：应为 大、中、小、微 的组合（如 小微），或 不限、规上、规下（限上、限下）"
            )
    if ANY in words and (sizes or len(words) > 1):
        raise TagError("规模填了 不限 就不能再填其他规模")
    if {ABOVE, BELOW} <= words:
        raise TagError("规模不能同时是 规上 和 规下")
    if not sizes and not words:
        raise TagError("规模不能为空，例如 规模:小微")
    ordered = "".join(char for char in SIZES if char in sizes)
    return Scale(ordered, True if ABOVE in words else False if BELOW in words else None)


def terms(key: str, value: str, vocabulary: Vocabulary, *, allow_any: bool) -> list[str]:
    """A 资质 or 街道 tag as known terms (a street may omit 街道: 北院门); TagError names the unknown one."""
    pieces = units(value)
    if allow_any and pieces == [ANY]:
        return [ANY]
    known = vocabulary.terms(key)
    found = []
    for piece in pieces:
        term = piece if piece in known else f"{piece}街道" if key == "街道" and f"{piece}街道" in known else None
        if term is None:
            listed = "、".join(known[:12]) + ("……" if len(known) > 12 else "")
            raise TagError(f"{key}「{piece[:40]}」不在{key}词表中（{listed}）；管理员可在 管理后台 → 标签词表 添加")
        found.append(term)
    if not found:
        raise TagError(f"{key}不能为空")
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Range:
    """A numeric range, bounds optional: 成立年限 ≥3, 从业人数 ≤300, 10-300."""

    low: int | None = None
    high: int | None = None

    def contains(self, number: int) -> bool:
        """True when number lies within the bounds (both inclusive)."""
        return (self.low is None or number >= self.low) and (self.high is None or number <= self.high)

    def text(self, unit: str = "") -> str:
        """The stored form: ≥3, ≤300, 10-300."""
        if self.low is not None and self.high is not None:
            return f"{self.low}-{self.high}{unit}" if self.low != self.high else f"{self.low}{unit}"
        return f"≥{self.low}{unit}" if self.low is not None else f"≤{self.high}{unit}"


_NUMBER = r"(\d{1,7})"
_RANGE_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"{_NUMBER}[-~至到]{_NUMBER}"), "between"),
    (re.compile(rf"(?:≥|>=|不少于|不低于|至少){_NUMBER}"), "low"),
    (re.compile(rf"{_NUMBER}(?:以上|及以上|或以上)"), "low"),
    (re.compile(rf"(?:>|超过|多于|高于){_NUMBER}"), "above"),
    (re.compile(rf"(?:≤|<=|不超过|不多于|不高于|最多){_NUMBER}"), "high"),
    (re.compile(rf"{_NUMBER}(?:以下|及以下|以内)"), "high"),
    (re.compile(rf"(?:<|少于|低于|不满|不足){_NUMBER}"), "below"),
)


def number_range(key: str, value: str) -> Range:
    """A 成立年限 (years) or 从业人数 (people) tag: ≥3, >3, ≤300, <20, 10-300, 3年以上, 300人以下, 不超过300人."""
    unit = RANGE_UNITS.get(key, "")
    text = clean(value).replace(" ", "").replace("（含）", "").replace("(含)", "")
    text = text.replace("年", "").replace("人", "").replace("名", "")
    for pattern, kind in _RANGE_FORMS:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        first = int(found.group(1))
        if kind == "between":
            second = int(found.group(2))
            if second < first:
                raise TagError(f"{key}「{clean(value)}」的下限大于上限")
            return Range(first, second)
        return {
            "low": Range(low=first),
            "above": Range(low=first + 1),
            "high": Range(high=first),
            "below": Range(high=max(0, first - 1)),
        }[kind]
    raise TagError(
        f"{key}「{clean(value)[:30]}」不是范围：可写 ≥3、≤300、10-300、3{unit}以上、300{unit}以下 或 不超过300{unit}"
    )


def canonical(key: str, value: str, vocabulary: Vocabulary) -> str:
    """A tag value as stored: checked against the vocabulary for the condition keys, as written for labels."""
    if key == "行业":
        return "、".join(industries(value))
    if key == "规模":
        return scale(value).text()
    if key in TERM_KEYS:
        return "、".join(terms(key, value, vocabulary, allow_any=key == "街道"))
    if key in RANGE_UNITS:
        return number_range(key, value).text(RANGE_UNITS[key])
    return value


def tag_units(key: str, value: str) -> list[str]:
    """The single values inside a stored tag value, for filtering: 规模 小微 is 小 and 微; 行业 names stay whole."""
    if key == "规模":
        try:
            found = scale(value)
        except TagError:
            return [char for char in SIZES if char in value]
        flags = [] if found.above is None else [ABOVE if found.above else BELOW]
        return [*found.sizes, *flags] or [ANY]
    if key == "行业":
        try:
            return industries(value)
        except TagError:
            return units(value)
    return units(value)
