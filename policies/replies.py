"""Texts the bot sends about policies: the numbered list and the full detail (一次性告知)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from intents.records import PolicyDoc
from policies.models import PolicyMode

NO_APPLICATION = PolicyMode.NO_APPLICATION
# The modes as enterprises read them in a policy's detail (a PolicyDoc's mode is a plain string).
MODE_LABELS: dict[str, str] = {
    PolicyMode.NO_APPLICATION: "免申即享（无需申请，符合条件直接享受）",
    PolicyMode.INSTANT: "即申即享（提交申请后即时兑现）",
    PolicyMode.ON_APPLICATION: "依申请（提交申请，审核通过后兑现）",
}
FITS_MARK = "【符合】"
SUMMARY_LENGTH = 60
# The list is read on a phone: two lines a policy, the benefit cut to this many characters.
LIST_SUMMARY_LENGTH = 40
BODY_LENGTH = 18
# Long unit names as enterprises say them, for the list (the detail keeps the full name).
SHORT_UNITS = {
    "人力资源和社会保障局": "人社局",
    "工业和信息化局": "工信局",
    "工业和信息化厅": "工信厅",
    "科学技术局": "科技局",
    "科学技术厅": "科技厅",
    "市场监督管理局": "市场监管局",
    "国家税务总局": "",
}
_SENTENCE_END = re.compile(r"[。；;\n]")
_UNIT_SEPARATOR = re.compile(r"[、；;，,（(]")
_MATERIAL_SEPARATORS = re.compile(r"[；;\n]+")


def mode_label(mode: str) -> str:
    """The mode with a short explanation for enterprises."""
    return MODE_LABELS.get(mode, mode or PolicyMode.ON_APPLICATION)


def summary(content: str, *, limit: int = SUMMARY_LENGTH) -> str:
    """The benefit in one line: its first sentence, cut to `limit` characters (at a comma when there is one)."""
    text = " ".join(content.split())
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip() or text
    if len(first) <= limit:
        return first
    comma = max(first.rfind(mark, 0, limit) for mark in "，,")
    cut = comma if comma >= limit // 3 else limit - 1
    return first[:cut] + "…"


def short_body(body: str, *, limit: int = BODY_LENGTH) -> str:
    """The first implementing unit in its everyday short form, with 等 when there are more."""
    parts = _UNIT_SEPARATOR.split(body.strip(), maxsplit=1)
    first = parts[0].strip()
    more = (len(parts) > 1 and not body.strip().endswith(("）", ")"))) or "、" in body or "；" in body
    for long, short in SHORT_UNITS.items():
        first = first.replace(long, short)
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    return first + ("等" if more and not first.endswith("…") else "")


def mode_mark(mode: str) -> str:
    """The mode as a short mark after the policy name; 免申即享 says that no application is needed."""
    return "【免申即享·无需申请】" if mode == NO_APPLICATION else f"【{mode or PolicyMode.ON_APPLICATION}】"


def materials_list(materials: str) -> list[str]:
    """The materials text split into items (on ；, ; or line breaks), trailing full stops removed."""
    items = (item.strip().rstrip("。.") for item in _MATERIAL_SEPARATORS.split(materials or ""))
    return [re.sub(r"^\d+[.、．]\s*", "", item) for item in items if item]


def list_order(docs: Sequence[PolicyDoc], fits: Mapping[str, bool | None] | None = None) -> list[PolicyDoc]:
    """The order in which format_policy_list numbers the policies: those the enterprise qualifies for first (when
    its verdicts are given), then 免申即享, otherwise as given."""
    rank = {True: 0, None: 1, False: 2}
    return sorted(docs, key=lambda doc: (rank[(fits or {}).get(doc.code)], doc.mode != NO_APPLICATION))


def format_policy_list(docs: Sequence[PolicyDoc], fits: Mapping[str, bool | None] | None = None) -> str:
    """A numbered list (in list_order), two lines a policy: name and mode, then body and benefit; 回复序号查看详情.

    With the enterprise's verdicts (`fits`, by code), the ones it qualifies for come first, marked 【符合】."""
    ordered = list_order(docs, fits)
    if not ordered:
        return "暂未找到符合条件的惠企政策，您可以换个说法描述企业情况或想了解的事项。"
    lines: list[str] = []
    fitting = sum(1 for doc in ordered if (fits or {}).get(doc.code))
    if fitting:
        lines.append(f"根据贵企业的信息，标【符合】的 {fitting} 条贵企业符合适用条件：")
    for number, doc in enumerate(ordered, start=1):
        mark = FITS_MARK if (fits or {}).get(doc.code) else ""
        lines.append(f"{number}. {mark}{doc.name}{mode_mark(doc.mode)}")
        lines.append(f"   {short_body(doc.body)}｜{summary(doc.content, limit=LIST_SUMMARY_LENGTH)}")
    lines.append("回复序号查看详情")
    return "\n".join(lines)


def format_question(labels: Sequence[str]) -> str:
    """One short question with numbered choices (the engine was unsure); the user replies 1, 2, ..."""
    lines = ["想确认一下，您是想："]
    lines.extend(f"{number}. {label}" for number, label in enumerate(labels, start=1))
    lines.append("请回复序号。")
    return "\n".join(lines)


def format_policy_detail(doc: PolicyDoc) -> str:
    """Everything about one policy in one message: benefit, eligibility, process and the full materials list."""
    lines = [
        f"【{doc.name}】",
        f"实施主体：{doc.body}",
        f"兑现方式：{mode_label(doc.mode)}",
        f"优惠内容：{doc.content}",
    ]
    if doc.eligibility:
        lines.append(f"适用对象：{doc.eligibility}")
    if doc.process:
        lines.append(f"办理流程：{doc.process}")
    items = materials_list(doc.materials)
    if items:
        heading = "申报材料（一次性告知）：" if doc.mode == NO_APPLICATION else "申报材料（一次性告知，请一次备齐）："
        lines.append(heading)
        lines.extend(f"{number}. {item}" for number, item in enumerate(items, start=1))
    elif doc.mode == NO_APPLICATION:
        lines.append("申报材料：无需提交材料。")
    else:
        lines.append("申报材料：清单未列明，请联系实施主体确认。")
    if doc.url:
        lines.append(f"原文链接：{doc.url}")
    return "\n".join(lines)


def format_policy_card(doc: PolicyDoc) -> str:
    """A policy as a card staff send in a reply: name, implementing body, benefit, how to apply, materials."""
    lines = [f"【政策推荐】{doc.name}{mode_mark(doc.mode)}", f"实施主体：{doc.body}", f"优惠内容：{doc.content}"]
    lines.append(f"如何申请：{doc.process}" if doc.process else f"如何申请：{mode_label(doc.mode)}")
    items = materials_list(doc.materials)
    if items:
        lines.append("申报材料：" + "；".join(items))
    if doc.url:
        lines.append(f"原文链接：{doc.url}")
    return "\n".join(lines)
