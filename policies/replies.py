"""Texts the bot sends about policies: the numbered list and the full detail (一次性告知)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from intents.records import PolicyDoc

NO_APPLICATION = "免申即享"
MODE_LABELS = {
    "免申即享": "免申即享（无需申请，符合条件直接享受）",
    "即申即享": "即申即享（提交申请后即时兑现）",
    "依申请": "依申请（提交申请，审核通过后兑现）",
}
SUMMARY_LENGTH = 60
_SENTENCE_END = re.compile(r"[。；;\n]")
_MATERIAL_SEPARATORS = re.compile(r"[；;\n]+")


def mode_label(mode: str) -> str:
    """The mode with a short explanation for enterprises."""
    return MODE_LABELS.get(mode, mode or "依申请")


def summary(content: str, *, limit: int = SUMMARY_LENGTH) -> str:
    """The benefit in one line: its first sentence, cut to `limit` characters."""
    text = " ".join(content.split())
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip() or text
    return first if len(first) <= limit else first[: limit - 1] + "…"


def materials_list(materials: str) -> list[str]:
    """The materials text split into items (on ；, ; or line breaks), trailing full stops removed."""
    items = (item.strip().rstrip("。.") for item in _MATERIAL_SEPARATORS.split(materials or ""))
    return [re.sub(r"^\d+[.、．]\s*", "", item) for item in items if item]


def list_order(docs: Sequence[PolicyDoc]) -> list[PolicyDoc]:
    """The order in which format_policy_list numbers the policies: 免申即享 first, otherwise as given."""
    return sorted(docs, key=lambda doc: doc.mode != NO_APPLICATION)


def format_policy_list(docs: Sequence[PolicyDoc]) -> str:
    """A numbered list (in list_order) with body, one-line benefit and mode; ends with 回复序号查看详情."""
    ordered = list_order(docs)
    if not ordered:
        return "暂未找到符合条件的惠企政策，您可以换个说法描述企业情况或想了解的事项。"
    lines: list[str] = []
    for number, doc in enumerate(ordered, start=1):
        marker = "【免申即享·无需申请】" if doc.mode == NO_APPLICATION else ""
        lines.append(f"{number}. {doc.name}{marker}")
        lines.append(f"   实施主体：{doc.body}")
        lines.append(f"   优惠内容：{summary(doc.content)}")
        lines.append(f"   兑现方式：{mode_label(doc.mode)}")
    lines.append("回复序号查看详情")
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
