"""What the admin pages share: the catalog-changed notification, notices, and form conversions."""

from __future__ import annotations

import logging
from typing import Any

from bot.services import Services
from bot.web.pages import environment
from policies.columns import BY_KEY, STRUCTURED_TAGS, FieldError, format_tags, parse_tags
from policies.import_plan import PlanAction
from policies.models import STATUS_LABELS, PolicyMode, PolicyStatus

log = logging.getLogger(__name__)

# Keyed by the `done` code of the redirect; a status change redirects with the new status.
NOTICES: dict[str, str] = {
    "created": "政策已保存",
    "saved": "修改已保存",
    "unchanged": "没有改动",
    PolicyStatus.PUBLISHED: "已发布，机器人几秒内即按新清单回答",
    PolicyStatus.WITHDRAWN: "已撤回，机器人不再推荐此政策",
    PolicyStatus.DRAFT: "已转为草稿",
    "restored": "已恢复为所选版本的内容",
    "imported": "导入完成",
    "lexicon_saved": "词条已保存，机器人几秒内生效",
    "lexicon_deleted": "词条已删除",
    "example_removed": "样例已删除，机器人几秒内按新的样例识别",
    "question_cleared": "问题已移出列表",
}
LABELS = {**{key: column.header for key, column in BY_KEY.items()}, "status": "状态"}
environment.filters["label"] = lambda key: LABELS.get(key, key)
# The enums the admin templates compare against (`policy.status == PolicyStatus.PUBLISHED`).
environment.globals.update(PlanAction=PlanAction, PolicyMode=PolicyMode, PolicyStatus=PolicyStatus)


def notice(code: str, **numbers: int) -> str:
    """The message for a notice code from a redirect (only known codes are shown)."""
    text = NOTICES.get(code, "")
    if code == "imported" and numbers:
        add, change, same = (numbers.get(key, 0) for key in ("add", "change", "same"))
        text += f"：新增 {add} 条，修改 {change} 条，不变 {same} 条"
    return text


async def catalog_changed(services: Services) -> None:
    """Tell the matching engine that policies or the lexicon changed, so the bot answers from them in seconds."""
    notify = getattr(getattr(services, "match_index", None), "notify_changed", None)
    if notify is None:
        return
    try:
        await notify()
    except Exception:  # committed already: the index's own poll picks the change up; the page must not fail
        log.exception("could not notify the match index of a catalog change")


def form_values(policy_fields: dict[str, Any]) -> dict[str, str]:
    """A record (or snapshot) as the policy form's field values."""
    tags = dict(policy_fields.get("tags") or {})
    values = {key: "" if policy_fields.get(key) is None else str(policy_fields.get(key)) for key in BY_KEY}
    for key in STRUCTURED_TAGS:
        values[f"tag_{key}"] = str(tags.pop(key, ""))
    values["other_tags"] = format_tags(tags)
    values["keywords"] = "；".join(policy_fields.get("keywords") or [])
    values.pop("tags", None)
    return values


def raw_from_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The policy form's fields as a raw record for validation, and the form values to show again."""
    values = {key: str(form.get(key) or "").strip() for key in BY_KEY if key not in {"tags", "status"}}
    for key in STRUCTURED_TAGS:
        values[f"tag_{key}"] = str(form.get(f"tag_{key}") or "").strip()
    scale = "".join(size for size in "大中小微" if size in form.getlist("scale"))
    values["tag_规模"] = scale
    values["other_tags"] = str(form.get("other_tags") or "").strip()
    raw: dict[str, Any] = {key: values[key] for key in BY_KEY if key in values}
    tags = {key: values[f"tag_{key}"] for key in STRUCTURED_TAGS if values[f"tag_{key}"]}
    try:
        tags.update({key: value for key, value in parse_tags(values["other_tags"], None).items() if key not in tags})
        raw["tags"] = tags
    except FieldError as error:
        raw["tags"] = tags
        raw["_other_tags_error"] = error.message
    return raw, values


STATUSES = STATUS_LABELS
