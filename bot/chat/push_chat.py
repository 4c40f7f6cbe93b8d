"""What a user says about pushes: 退订 (all, or one kind) and 恢复推送, honoured from the next claim on; "详情" (or
"1" with no list pending) after a push opens the pushed policy; and WeChat's delivery reports of template messages.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from bot.chat.enterprise_chat import Reply
from enterprises import service as enterprise_service
from enterprises.eligibility import Profile
from policies import deliveries, eligible, service
from policies.deliveries import ALL
from policies.models import PushKind
from policies.replies import format_policy_detail

OPT_OUT: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("退订", "退订推送", "取消推送", "不要推送", "别再推送", "TD", "td"), (ALL,)),
    **dict.fromkeys(("退订提醒", "退订申报提醒", "不要提醒"), (PushKind.REMINDER,)),
    **dict.fromkeys(("退订新政策", "退订政策推送"), (PushKind.NEW,)),
}
OPT_IN = {"恢复推送", "订阅推送", "重新订阅", "接收推送"}
DETAIL = {"详情", "查看详情", "政策详情"}
# A reply to a push is about it for this long.
OPENS_WITHIN = timedelta(days=7)


class PushChat:
    """The chat side of pushes; `handle` returns the reply, or None when the message is not about pushes."""

    def __init__(self, *, engine: AsyncEngine, timezone: str) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._zone = ZoneInfo(timezone)

    async def _run(self, work: Any) -> Any:
        async with self._sessions() as session, session.begin():
            return await session.run_sync(work)

    async def handle(self, *, openid: str, text: str, pending: bool) -> Reply | None:
        """退订, 恢复推送, or 详情 of the last push; `pending` says a numbered list is waiting for the user's number."""
        said = unicodedata.normalize("NFKC", text).strip()
        now = datetime.now(UTC)
        if said in OPT_OUT:
            kinds = OPT_OUT[said]
            await self._run(lambda session: deliveries.opt_out(session=session, openid=openid, kinds=kinds, now=now))
            what = "政策推送和申报提醒" if ALL in kinds else PushKind(kinds[0]).label
            return Reply(f"已退订{what}，即时生效。回复“恢复推送”可重新接收；查政策、反映问题不受影响。")
        if said in OPT_IN:
            again = await self._run(lambda session: deliveries.opt_in(session=session, openid=openid))
            return Reply("已恢复接收政策推送。" if again else "您目前正在接收政策推送，无需恢复。")
        if said in DETAIL or (said == "1" and not pending):
            opened: Reply | None = await self._run(
                lambda session: self._detail(session, openid, now, strict=said in DETAIL)
            )
            return opened
        return None

    def _detail(self, session: Session, openid: str, now: datetime, *, strict: bool) -> Reply | None:
        found = deliveries.last_push(session=session, openid=openid, since=now - OPENS_WITHIN)
        if found is None:
            return Reply("最近没有向您推送政策。可以直接说说企业情况，我帮您查找政策。") if strict else None
        delivery, code = found
        doc = service.published_doc(session=session, code=code, today=now.astimezone(self._zone).date())
        if doc is None:
            return Reply("推送的这条政策已下线或过期，请以实施主体最新发布为准。")
        deliveries.mark_opened(session=session, delivery_id=delivery.id, now=now)
        enterprise = enterprise_service.bound(session=session, openid=openid)
        verdict = ""
        if enterprise is not None:
            today = now.astimezone(self._zone).date()
            verdicts = eligible.verdicts(docs=[doc], profile=Profile.of(enterprise), today=today)
            verdict = f"\n适用判断：{verdicts[code].reason}"
        return Reply(format_policy_detail(doc) + verdict, choices=(code,))

    async def report(self, *, openid: str, msgid: int, status: str) -> bool:
        """WeChat's TEMPLATESENDJOBFINISH: applied to the push it is about (kept until that push is known)."""
        now = datetime.now(UTC)
        found: bool = await self._run(
            lambda session: deliveries.report(session=session, openid=openid, msgid=msgid, status=status, now=now)
        )
        return found
