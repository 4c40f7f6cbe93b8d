"""The conversation: what the bot answers to each message and event.

Every message goes first to what waits for the enterprise (bot.chat.waiting: a draft, a hand-off, what its
appeals wait for); what no wait takes goes message → intents (understand) → policies / routing (find) → reply.
Per-user state (the policies just listed, the unread part of a long reply) lives in the cache with an expiry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from bot.chat import handoff, messages
from bot.chat.appeal_waits import AppealWaits
from bot.chat.appeals import AppealChat
from bot.chat.enterprise_chat import MENU_KEYS as ENTERPRISE_MENU_KEYS
from bot.chat.enterprise_chat import EnterpriseChat
from bot.chat.push_chat import PushChat
from bot.chat.waiting import Message, Routed, Router
from bot.platform.cache import Cache
from bot.wechat.protocol import Inbound
from intents.hybrid import FIT_SURE
from intents.matcher import Matcher, MatchResult
from intents.records import INTENTS, Intent, PolicyDoc
from policies import questions, unanswered
from policies.replies import format_policy_detail, format_policy_list, format_question, list_order

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 2048
MORE = "更多"
CONTINUED = f"\n（未完，回复“{MORE}”查看后续）"
# A message pushed in pieces (staff replies, appeal updates): every piece is sent, one after another.
NEXT_PIECE = "\n（未完，见下一条）"
SENTENCE_ENDS = "\n。！？；!?;"

WELCOME = (
    "您好，欢迎关注！我是营商环境服务助手，可以帮您：\n"
    "1. 查政策：直接说您的情况，如“小微企业有什么税收优惠”“招应届生有补贴吗”；\n"
    "2. 反映诉求：办事难、政策不兑现、拖欠账款等问题，告诉我，我们转给负责单位限时办理；\n"
    "3. 查进度：发送“进度”或诉求编号。\n"
    "也可以点击下方菜单。"
)
HELP_POLICY = "请直接描述您企业的情况或想了解的政策，例如：“小微企业有什么税收优惠”“稳岗返还怎么申请”。"
HELP_APPEAL = "请直接说明您遇到的问题：什么事、在哪个部门或环节、现在卡在哪里。我们会转给负责单位限时办理。"
NO_APPEALS = "您目前没有在办的诉求。如需反映问题，请直接描述您遇到的情况。"
NOT_UNDERSTOOD = "抱歉，我没太明白。您可以问政策（如“稳岗返还怎么申请”），或直接反映遇到的问题。"
NO_POLICY = "暂时没有找到与您描述相符的政策。可以换个说法，或补充行业、企业规模等信息。"
# A policy question nothing in the list fits: said plainly in one line, with an offer to pass it to staff.
NO_FIT = "没有找到与您的问题相符的政策。回复“转人工”，我们把问题转给工作人员答复您。"
NOT_EXACT = "没有找到与您的问题完全相符的政策。最接近的是：\n"
NEAR_MISS_END = "\n回复序号查看详情；回复“转人工”，我们把问题转给工作人员答复您。"
NEAR_MISSES = 2
ASK_FOR_TEXT = "抱歉，没能识别这条语音，请发送文字描述。"
UNSUPPORTED = "暂不支持这种消息，请发送文字描述您的问题。"
GREETING = "您好！请问有什么可以帮您？可以问政策，也可以直接反映遇到的问题。"
THANKS = "不客气！还有其他问题随时告诉我。"

ATTACHMENT_KINDS = {
    "image": "图片", "video": "视频", "shortvideo": "小视频", "location": "位置", "link": "链接", "file": "文件",
}  # fmt: skip
# Menu keys configured in the official account's custom menu, and the words users type for the same.
MENU_KEYS = {
    "POLICY_SEARCH": "政策查询", "APPEAL": "我要反映", "PROGRESS": "进度查询", "HELP": "帮助", "HUMAN": "人工客服",
    **ENTERPRISE_MENU_KEYS,
}  # fmt: skip
PROGRESS = {"进度", "进度查询", "查进度", "查询进度"}
COMMANDS = {
    "政策查询": "policy_help",
    "查政策": "policy_help",
    "我要反映": "appeal_help",
    "反映问题": "appeal_help",
    "我要投诉": "appeal_help",
    "帮助": "help",
    "菜单": "help",
}


@dataclass
class DialogueState:
    """What the bot remembers about one user between messages."""

    choices: list[str] = field(default_factory=list)  # policy codes just listed, for "回复序号"
    more: list[str] = field(default_factory=list)  # unread pages of a long reply
    attachments: list[str] = field(default_factory=list)  # dedup keys of media sent in this conversation
    # -- "when unsure, ask": the numbered choices just offered ("policy:P05", "appeal:C09") and the message --
    asked: list[str] = field(default_factory=list)
    asked_text: str = ""
    # -- end --
    unanswered: str = ""  # the last policy question nothing fitted, passed to staff on "转人工"


# A reply that picks a numbered choice: "1", "１", "2.", "第2个", "选3", "二".
CHOICE = re.compile(r"^(?:第|选)?\s*([0-9]{1,2}|[一二三四五六七八九])\s*(?:个|项|条)?[.。、]?$")
CHINESE_DIGITS = {char: number for number, char in enumerate("一二三四五六七八九", start=1)}


def choice_number(said: str) -> int | None:
    """The number a short reply picks, or None when it is not such a reply."""
    found = CHOICE.match(unicodedata.normalize("NFKC", said).strip())
    if found is None:
        return None
    value = found.group(1)
    return int(value) if value.isdigit() else CHINESE_DIGITS[value]


def paginate(text: str, *, limit: int = MAX_REPLY_BYTES, continued: str = CONTINUED) -> list[str]:
    """Split a reply into pages of at most `limit` UTF-8 bytes, cut at sentence ends where possible."""
    pages: list[str] = []
    rest = text
    budget = limit - len(continued.encode())
    while len(rest.encode()) > limit:
        cut = len(rest.encode()[:budget].decode("utf-8", errors="ignore"))
        boundary = max(rest.rfind(mark, 0, cut) for mark in SENTENCE_ENDS)
        if boundary > cut // 2:
            cut = boundary + 1
        pages.append(rest[:cut].rstrip() + continued)
        rest = rest[cut:].lstrip("\n")
    pages.append(rest)
    return pages


class Dialogue:
    """Answers one inbound message; returns the reply text, or None when nothing should be said."""

    def __init__(
        self,
        *,
        matcher: Callable[[], Matcher],
        cache: Cache,
        engine: AsyncEngine,
        state_ttl: int,
        clock: Callable[[], datetime] | None = None,
        timezone: str = "Asia/Shanghai",
        run_match: Callable[..., Awaitable[MatchResult]] | None = None,
    ) -> None:
        self._matcher = matcher
        self._run_match = run_match
        self._cache = cache
        self._db = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._state_ttl = state_ttl
        self._clock = clock or (lambda: datetime.now(UTC))
        self._appeals = AppealChat(engine=engine)
        # One place decides where a message goes: what waits for the enterprise, in bot.chat.waiting's order.
        self.router = Router(engine=engine)
        self.router.register(self._appeals)
        self.router.register(handoff.Handoffs())
        self.router.register(AppealWaits())
        # -- 政策找人 (bot/chat/enterprise_chat.py, push_chat.py): binding, the profile, replies to pushes --
        self._enterprise = EnterpriseChat(engine=engine, cache=cache, state_ttl=state_ttl, timezone=timezone)
        self._pushes = PushChat(engine=engine, timezone=timezone)
        # -- end --

    async def _match(self, text: str, *, intent: Intent | None = None) -> MatchResult:
        """Match in a thread (the index's pool in the app): embedding and classifying never block the loop."""
        if self._run_match is not None:
            return await self._run_match(text, intent=intent)
        return await asyncio.to_thread(self._matcher().match, text, intent=intent)

    async def _state(self, openid: str) -> DialogueState:
        raw = await self._cache.get(f"dialog:{openid}")
        if not raw:
            return DialogueState()
        try:
            return DialogueState(**json.loads(raw))
        except (TypeError, ValueError):
            return DialogueState()

    async def _save(self, openid: str, state: DialogueState) -> None:
        await self._cache.set(f"dialog:{openid}", json.dumps(asdict(state), ensure_ascii=False), ttl=self._state_ttl)

    async def _paged(self, openid: str, state: DialogueState, text: str) -> str:
        first, *rest = paginate(text)
        state.more = rest
        await self._save(openid, state)
        return first

    async def respond(self, inbound: Inbound) -> str | None:
        if inbound.msg_type == "event":
            return await self._event(inbound)
        return await self.handle(
            openid=inbound.openid,
            kind=inbound.msg_type,
            text=inbound.text,
            key=inbound.dedup_key,
            fields=inbound.fields,
        )

    async def handle(
        self, *, openid: str, kind: str, text: str | None, key: str, fields: Mapping[str, Any] | None = None
    ) -> str | None:
        """Answer one message: what waits for the enterprise takes it first (bot.chat.waiting), else the dialogue."""
        state = await self._state(openid)
        message = Message(
            openid=openid,
            kind=kind,
            text=text,
            key=key,
            now=self._clock(),
            fields=fields or {},
            choice_pending=bool(state.asked or state.choices),
        )
        routed = await self.router.route(message)
        if routed.taken is not None:
            return routed.taken.reply
        if kind in {"text", "voice"}:
            if text is None:
                return ASK_FOR_TEXT if kind == "voice" else NOT_UNDERSTOOD
            return await self._text(message, state, routed)
        if kind in ATTACHMENT_KINDS:
            state.attachments = [*state.attachments, key][-20:]
            await self._save(openid, state)
            reply = f"已收到您发送的{ATTACHMENT_KINDS[kind]}，已附在本次对话中。请再用文字说明您想咨询或反映的事项。"
            return _with(reply, routed.reminder)
        return UNSUPPORTED

    async def _event(self, inbound: Inbound) -> str | None:
        event, key = inbound.event, inbound.event_key or ""
        if event == "subscribe":
            scene = key.removeprefix("qrscene_") if key.startswith("qrscene_") else None
            await messages.set_subscription(self._db, openid=inbound.openid, subscribed=True, scene=scene)
            return WELCOME
        if event == "unsubscribe":
            await messages.set_subscription(self._db, openid=inbound.openid, subscribed=False)
            return None
        if event == "scan":
            return "欢迎回来！" + WELCOME.split("\n", 1)[1]
        if event == "click":
            command = MENU_KEYS.get(key)
            if command is None:
                return NOT_UNDERSTOOD
            return await self.handle(openid=inbound.openid, kind="text", text=command, key=inbound.dedup_key)
        if event == "templatesendjobfinish":
            msg_id = str(inbound.fields.get("MsgID") or inbound.fields.get("MsgId") or "")
            if msg_id.isdigit():
                status = str(inbound.fields.get("Status", ""))
                if not await messages.record_template_status(self._db, msg_id=int(msg_id), status=status):
                    # -- a push's delivery report (bot/chat/push_chat.py) --
                    await self._pushes.report(openid=inbound.openid, msgid=int(msg_id), status=status)
            return None
        return None  # VIEW, LOCATION reports and other events need no answer

    async def _text(self, message: Message, state: DialogueState, routed: Routed) -> str:
        """What no wait took: a pending choice, a command, then a new intent (the matcher runs once)."""
        openid, said = message.openid, message.said
        if said == MORE and state.more:
            page, state.more = state.more[0], state.more[1:]
            await self._save(openid, state)
            return page
        # -- enterprise binding and profile (bot/chat/enterprise_chat.py): its commands and pending questions --
        told = await self._enterprise_reply(openid, state, said)
        if told is not None:
            return _with(told, routed.reminder)
        # -- end --
        number = choice_number(said)
        if number is not None and state.asked:
            return await self._resolve(message, state, number)
        if number is not None and state.choices:
            return await self._detail(openid, state, number)
        command = _command(said)
        if command == "handoff" and state.unanswered:  # the question no policy answered goes to staff too
            await self._pass_to_staff(openid, state)
        if command is not None:
            return await self._command(command, message, routed)
        result = await self._match(said)
        log.info("matched", extra={"intent": result.intent, "policies": [hit.code for hit in result.policies]})
        if state.asked:  # a new message instead of a number: the question is dropped
            state.asked, state.asked_text = [], ""
            await self._save(openid, state)
        if result.choices:
            state.asked = [f"{choice.intent}:{choice.code or ''}" for choice in result.choices]
            state.asked_text = said
            state.choices = []
            await self._save(openid, state)
            return _with(format_question([choice.label for choice in result.choices]), routed.reminder)
        return _with(await self._answer(message, state, result), routed.reminder)

    async def _enterprise_reply(self, openid: str, state: DialogueState, said: str) -> str | None:
        """The enterprise chat's (or the pushes') answer (a list it gives can be opened by number), or None."""
        told = await self._enterprise.handle(openid=openid, text=said)
        if told is None:
            pending = bool(state.choices or state.asked)
            told = await self._pushes.handle(openid=openid, text=said, pending=pending)
        if told is None or not told.choices:
            return told.text if told is not None else None
        state.choices, state.asked, state.asked_text = list(told.choices), [], ""
        return await self._paged(openid, state, told.text)

    async def _command(self, command: str, message: Message, routed: Routed) -> str:
        if command == "policy_help":
            return _with(HELP_POLICY, routed.reminder)
        if command == "appeal_help":
            return _with(HELP_APPEAL, routed.reminder)
        if command == "progress":
            return await self._progress(message, routed, reference=None)
        if command == "handoff":
            return await self._handoff(message)
        return _with(WELCOME, routed.reminder)

    async def _progress(self, message: Message, routed: Routed, *, reference: str | None) -> str:
        """The progress of the enterprise's appeals, and what waits for it."""
        reply = await self._appeals.progress(openid=message.openid, reference=reference)
        if routed.waits:
            reply += "\n\n" + "\n".join(f"· {wait.label}" for wait in routed.waits)
        return reply

    async def _handoff(self, message: Message) -> str:
        async with self._sessions() as session, session.begin():
            return await session.run_sync(
                lambda sync: handoff.open_handoff(sync, openid=message.openid, key=message.key, now=message.now)
            )

    async def _resolve(self, message: Message, state: DialogueState, number: int) -> str:
        """The answer to a numbered choice offered by format_question."""
        openid = message.openid
        if not 1 <= number <= len(state.asked):
            return f"请回复 1 到 {len(state.asked)} 之间的序号。"
        asked, _, code = state.asked[number - 1].partition(":")
        intent = Intent(asked) if asked in INTENTS else None
        text = state.asked_text
        state.asked, state.asked_text = [], ""
        await self._save(openid, state)
        matcher = self._matcher()
        if intent == Intent.POLICY and code:
            doc = matcher.policy(code)
            if doc is not None:
                state.choices = [code]
                await self._asked(openid, text, questions.Outcome.ANSWERED, [code])
                return await self._paged(openid, state, format_policy_detail(doc))
        return await self._answer(message, state, await self._match(text, intent=intent))

    async def _detail(self, openid: str, state: DialogueState, number: int) -> str:
        if not 1 <= number <= len(state.choices):
            return f"请回复 1 到 {len(state.choices)} 之间的序号。"
        doc = self._matcher().policy(state.choices[number - 1])
        if doc is None:
            return "这条政策已下线，请重新查询。"
        # -- the enterprise's verdict under the detail (bot/chat/enterprise_chat.py) --
        fits = await self._enterprise.verdicts(openid=openid, docs=[doc])
        verdict = f"\n适用判断：{fits[doc.code].reason}" if fits else ""
        # -- end --
        return await self._paged(openid, state, format_policy_detail(doc) + verdict)

    async def _answer(self, message: Message, state: DialogueState, result: MatchResult) -> str:
        openid = message.openid
        if result.intent == Intent.POLICY:
            docs = [doc for doc in (self._matcher().policy(hit.code) for hit in result.policies) if doc]
            if not docs:
                return await self._no_fit(openid, state, result)
            # -- a bound enterprise sees the policies it qualifies for first (bot/chat/enterprise_chat.py) --
            verdicts = await self._enterprise.verdicts(openid=openid, docs=docs)
            fits = {code: verdict.eligible for code, verdict in verdicts.items()} if verdicts else None
            # -- end --
            # The numbers the user replies with follow this order (qualifying, then 免申即享, first).
            docs = list_order(docs, fits)
            state.choices = [doc.code for doc in docs]
            if result.policies[0].score < FIT_SURE and result.semantic != "none":
                return await self._near_misses(openid, state, result, docs[:NEAR_MISSES])
            await self._asked(openid, result.text, questions.Outcome.ANSWERED, state.choices)
            return await self._paged(openid, state, format_policy_list(docs, fits))
        if result.intent == Intent.PROGRESS:
            return await self._progress(message, Routed(), reference=result.reference)
        if result.intent == Intent.APPEAL:
            started = await self._appeals.start(
                openid=openid, said=result.text, result=result, key=message.key, now=message.now
            )
            return started if started is not None else HELP_APPEAL
        if result.intent == Intent.OTHER:
            forwarded = await self._appeals.forwarded(message=message)
            if forwarded is not None:
                return forwarded
            if any(word in result.text for word in ("谢谢", "感谢", "多谢")):
                return THANKS
            return GREETING
        return NOT_UNDERSTOOD

    async def _no_fit(self, openid: str, state: DialogueState, result: MatchResult) -> str:
        """Nothing in the list fits: say so in one line, offer staff, count the question for the admins."""
        await self._asked(openid, result.text, questions.Outcome.NO_FIT, [])
        if not result.no_fit:
            return NO_POLICY
        await self._write(lambda session: unanswered.record(session=session, text=result.text, now=datetime.now(UTC)))
        state.unanswered, state.choices = result.text, []
        await self._save(openid, state)
        return NO_FIT

    async def _near_misses(self, openid: str, state: DialogueState, result: MatchResult, docs: list[PolicyDoc]) -> str:
        """Nothing fits well: said first, the closest two by name only, staff offered, the question counted."""
        await self._write(lambda session: unanswered.record(session=session, text=result.text, now=datetime.now(UTC)))
        state.unanswered, state.choices = result.text, [doc.code for doc in docs]
        await self._asked(openid, result.text, questions.Outcome.NEAR_MISS, state.choices)
        await self._save(openid, state)
        names = "\n".join(f"{number}. {doc.name}" for number, doc in enumerate(docs, 1))
        return NOT_EXACT + names + NEAR_MISS_END

    async def _pass_to_staff(self, openid: str, state: DialogueState) -> None:
        """Record the unanswered policy question as passed to staff (the hand-off opens beside it)."""
        text, state.unanswered = state.unanswered, ""
        await self._write(lambda session: unanswered.passed_to_staff(session=session, text=text, openid=openid))
        await self._save(openid, state)

    async def _asked(self, openid: str, text: str, outcome: questions.Outcome, codes: list[str]) -> None:
        """Log the policy question and the policies its answer lists, for the statistics (policies/indicators.py)."""
        now = self._clock()
        await self._write(
            lambda session: questions.record(
                session=session, openid=openid, text=text, outcome=outcome, codes=codes, now=now
            )
        )

    async def _write(self, work: Callable[[Session], object]) -> None:
        async with self._sessions() as session, session.begin():
            await session.run_sync(work)


def _command(said: str) -> str | None:
    """The command a message is, if it is one (menu words, progress, help, a person)."""
    if said in PROGRESS:
        return "progress"
    if handoff.asks_for_person(said):
        return "handoff"
    return COMMANDS.get(said)


def _with(reply: str, reminder: str) -> str:
    """A reply with the reminder of what still waits for the enterprise (after it, or before a paged one)."""
    if not reminder:
        return reply
    return f"{reminder}\n{reply}" if CONTINUED in reply else f"{reply}\n\n{reminder}"
