"""The fields of an appeal being filed in the chat: what the first message already says, each answer checked for
what it is (a company name is not a phone number, a person's name is not 11 digits) with the reason when it is
refused, the questions, the summary to confirm, and the offer of last time's details."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from bot.chat.waiting import plain


class DraftStep(StrEnum):
    """What the chat waits for (AppealDraft.step, a plain string column of routing): a field of the draft, named
    as its key in the draft's data, the confirmation, the offer of last time's details, the field to change, or
    the reason of a 不满意 rating."""

    ENTERPRISE = "enterprise"
    CONTACT = "contact"
    PHONE = "phone"
    STREET = "street"
    PLACE = "place"
    CONFIRM = "confirm"
    REUSE = "reuse"
    WHICH = "which"
    RATE_REASON = "rate_reason"


FIELDS = (DraftStep.ENTERPRISE, DraftStep.CONTACT, DraftStep.PHONE, DraftStep.STREET)
REMEMBERED = ("enterprise", "contact", "phone", "street")
LABELS = {
    DraftStep.ENTERPRISE: "企业名称",
    DraftStep.CONTACT: "联系人",
    DraftStep.PHONE: "电话",
    DraftStep.STREET: "所在街道",
    DraftStep.PLACE: "地点",
}
# Words that name a field to change ("改电话", "修改联系人").
FIELD_WORDS: dict[str, DraftStep] = {
    "企业": DraftStep.ENTERPRISE, "企业名称": DraftStep.ENTERPRISE, "公司": DraftStep.ENTERPRISE,
    "公司名称": DraftStep.ENTERPRISE, "联系人": DraftStep.CONTACT, "称呼": DraftStep.CONTACT,
    "姓名": DraftStep.CONTACT, "电话": DraftStep.PHONE, "手机": DraftStep.PHONE, "手机号": DraftStep.PHONE,
    "联系电话": DraftStep.PHONE, "街道": DraftStep.STREET, "所在街道": DraftStep.STREET, "地点": DraftStep.PLACE,
    "地址": DraftStep.PLACE,
}  # fmt: skip
CONFIRM = {"确认", "确定", "提交", "是", "是的", "对", "没问题", "好", "好的", "确认提交"}
REUSE = {"1", "沿用", "沿用并提交", "是", "是的", "好", "好的", "对", "确认", "可以", "没问题"}
EDIT = {"修改", "重填", "重新填写", "2", "改一下", "要改"}
SKIP = {"不清楚", "不知道", "跳过", "无", "没有", "其他", "不在莲湖"}
QUESTIONS: dict[str, str] = {
    DraftStep.ENTERPRISE: "请问企业全称是？",
    DraftStep.CONTACT: "请问联系人怎么称呼？",
    DraftStep.PHONE: "请留一个联系电话（手机或带区号的座机）。",
    DraftStep.PLACE: "问题发生在哪里？请说明项目或具体地址。",
}
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?\d{7,8})(?!\d)")
DIGITS = re.compile(r"\d")
NUMBER_RUN = re.compile(r"(?:电话|手机)?[:：]?[\d\s\-()（）]{7,}")
LETTERS = re.compile(r"[\u4e00-\u9fa5A-Za-z]")
LEGAL_FORM = re.compile(r"(有限责任公司|股份有限公司|有限公司|合伙企业|（有限合伙）|\(有限合伙\)|个体工商户|厂|店)$")
HONORIFIC = re.compile(r"^[\u4e00-\u9fa5]{1,3}(先生|女士|经理|总|老师|主任|科长|处长|工)$")
# Only a registered legal form counts in a first message: "我们公司" or "那个厂" name no enterprise.
COMPANY = re.compile(
    r"([\u4e00-\u9fa5A-Za-z0-9（）()]{2,40}?(?:有限责任公司|股份有限公司|有限公司|（有限合伙）|\(有限合伙\)))"
)
NOT_A_NAME = ("我们", "你们", "他们", "政府", "拖欠", "欠")
CONTACT = re.compile(
    r"(?:我是|我叫|联系人[:：]?|姓名[:：]?)([\u4e00-\u9fa5]{1,4}?(?:先生|女士|经理|总)?)(?=[，,。；;\s电手]|$)"
)


def find_phone(text: str) -> str | None:
    """A mobile or landline number in the text (spaces and brackets ignored)."""
    flat = re.sub(r"[\s（）()]", "", text)
    found = MOBILE.search(flat) or LANDLINE.search(flat)
    return found.group(1) if found else None


def mask(phone: str) -> str:
    """139****5678: enough to recognise one's own number, not to read it off a shared screen."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else phone


def understood(text: str) -> dict[str, str]:
    """What the first message already says: phone, enterprise, contact person (the street is the caller's)."""
    found: dict[str, str] = {}
    phone = find_phone(text)
    if phone:
        found["phone"] = phone
    company = COMPANY.search(text)
    if company:
        name = re.sub(r"^(?:我们公司是|我们是|我是|我们|我司|本公司|公司名称[:：]?|是)", "", company.group(1))
        if len(name) >= 6 and not any(word in name for word in NOT_A_NAME):
            found["enterprise"] = name
    contact = CONTACT.search(text)
    if contact:
        found["contact"] = contact.group(1)
    return found


def check_enterprise(said: str) -> str | None:
    """Why this is not a company name, or None."""
    if find_phone(said) or len(DIGITS.findall(said)) >= 7:
        return "这看起来是电话号码，不是企业名称。"
    if not LETTERS.search(said):
        return "企业名称应当是文字。"
    if not 2 <= len(said) <= 60:
        return "企业名称请填写 2 到 60 个字。"
    if HONORIFIC.match(said):
        return "这看起来是联系人的称呼，不是企业名称。"
    return None


def check_contact(said: str) -> tuple[str | None, str | None]:
    """(the name, None) or (None, why it is not a name); a phone number typed with the name is left aside."""
    name = re.sub(r"[\s,，、:：]+", " ", NUMBER_RUN.sub(" ", said)).strip()
    if not name:
        return None, "这看起来是电话号码，不是联系人的称呼。"
    if DIGITS.search(name):
        return None, "称呼里不应有数字。"
    if COMPANY.search(name) or (LEGAL_FORM.search(name) and len(name) > 5):
        return None, "这看起来是企业名称，不是联系人的称呼。"
    if not LETTERS.search(name) or not 1 <= len(name) <= 20:
        return None, "称呼请填写 1 到 20 个字，如“王先生”“李女士”。"
    return name, None


def next_step(data: dict[str, Any]) -> DraftStep:
    """The first field still missing, else the confirmation."""
    for step in FIELDS:
        if step not in data:
            return step
    if data.get("asks_place") and DraftStep.PLACE not in data:
        return DraftStep.PLACE
    return DraftStep.CONFIRM


def handled_by(data: dict[str, Any], *, intro: bool = False) -> str:
    """Who will handle the appeal, as the enterprise reads it (区营商办 triages what the bot could not place)."""
    if data.get("triage"):
        return "将由区营商办分拨到责任单位办理"
    return f"牵头办理单位：{data['lead_unit']}" if intro else f"{data['lead_unit']}牵头办理"


def summary(data: dict[str, Any]) -> list[str]:
    """The lines of the draft to confirm."""
    lines = [
        f"问题：{data['description']}",
        f"类别：{data['category_name']}（{handled_by(data)}）",
        f"企业：{data['enterprise']}",
        f"联系人：{data['contact']}　电话：{data['phone']}",
    ]
    if data.get("street"):
        lines.append(f"所在街道：{data['street']}")
    if data.get("place"):
        lines.append(f"地点：{data['place']}")
    return lines


def reuse_offer(data: dict[str, Any]) -> str:
    """The offer of last time's details, in one line."""
    kept = {**data.get("remembered", {}), **{key: data[key] for key in REMEMBERED if key in data}}
    parts = [kept.get("enterprise", ""), kept.get("contact", ""), mask(str(kept.get("phone", "")))]
    street = f"（所在街道：{kept['street']}）" if kept.get("street") else ""
    return f"沿用上次的信息：{' / '.join(parts)}{street}？回复 1 沿用，2 修改；回复“取消”放弃。"


def which_question(data: dict[str, Any]) -> str:
    """Which field to change, numbered, with its value now."""
    steps: list[DraftStep] = [*FIELDS, *((DraftStep.PLACE,) if data.get("asks_place") else ())]
    lines = ["请问要修改哪一项？回复序号："]
    for number, step in enumerate(steps, 1):
        value = data.get(step) or "未填"
        lines.append(f"{number}. {LABELS[step]}（现为：{value}）")
    return "\n".join(lines)


def chosen_field(said: str, data: dict[str, Any]) -> DraftStep | None:
    """The field a reply to `which_question` (or "改电话") names."""
    word = plain(said).removeprefix("修改").removeprefix("改")
    steps: list[DraftStep] = [*FIELDS, *((DraftStep.PLACE,) if data.get("asks_place") else ())]
    if word.isdigit() and 1 <= int(word) <= len(steps):
        return steps[int(word) - 1]
    found: DraftStep | None = FIELD_WORDS.get(word)
    return found
