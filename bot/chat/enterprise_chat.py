"""Binding a WeChat user to an enterprise in the chat, and what the bot knows of that enterprise.

"绑定企业" (menu key BIND_ENTERPRISE) asks for the 统一社会信用代码 and the name: a code and name that match an
imported record bind the openid (several people of one enterprise may bind); an unknown code becomes a 企业自报
profile. Then the bot asks, in plain words, the few things eligibility needs (行业, 规模, 资质) that it does not
know yet. "我的企业" shows the profile (what the enterprise told us and the register says: never other people's
contacts); "解绑" removes this user's binding; "我能享受的政策" lists the policies the enterprise qualifies for.
The step of a binding in progress is dialogue state in the cache, like a pending numbered choice.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from bot.platform.cache import Cache
from enterprises import service, terms, uscc
from enterprises.eligibility import Profile, Verdict
from enterprises.models import SOURCE_LABELS, Enterprise, FieldSource
from enterprises.service import BindOutcome
from enterprises.vocabulary import SIZE_NAMES, TagError, industry, size
from intents.records import PolicyDoc
from policies import eligible

MENU_KEYS = {"BIND_ENTERPRISE": "绑定企业", "MY_ENTERPRISE": "我的企业"}
BIND = {"绑定企业", "绑定", "企业绑定", "绑定我的企业", "企业认证"}
MINE = {"我的企业", "企业信息", "我的企业信息", "查看企业信息"}
UNBIND = {"解绑", "解除绑定", "解绑企业", "取消绑定"}
FITTING = {"我能享受的政策", "我能享受哪些政策", "适合我的政策", "可享受的政策", "符合的政策", "我符合哪些政策"}
CANCEL = {"取消", "算了", "退出", "不绑了"}
SKIP = {"不清楚", "不知道", "跳过", "以后再说"}
NONE = {"无", "没有", "都没有", "暂无", "0"}
CODE = re.compile(r"[0-9A-Za-z]{18}")
CODE_LIKE = re.compile(r"[0-9A-Za-z]{12,}")
QUESTION_END = ("?", "？", "吗", "呢")
MAX_TRIES = 3
INDUSTRY_CHOICES = (
    ("制造业", "制造业（工厂、加工生产）"),
    ("批发和零售业", "批发和零售（商店、商贸）"),
    ("住宿和餐饮业", "住宿和餐饮（酒店、饭店）"),
    ("信息传输、软件和信息技术服务业", "软件和信息技术（互联网、软件）"),
    ("建筑业", "建筑业（施工、装修）"),
    ("交通运输、仓储和邮政业", "交通运输、仓储物流"),
    ("科学研究和技术服务业", "科学研究和技术服务（研发、设计、检测）"),
    ("租赁和商务服务业", "租赁和商务服务（咨询、广告、人力）"),
    ("居民服务、修理和其他服务业", "居民服务（家政、美容、维修）"),
)
SIZES = "微小中大"
SHOWN_QUALIFICATIONS = 10


class Step(StrEnum):
    """What the binding conversation waits for."""

    USCC = "uscc"
    NAME = "name"
    INDUSTRY = "industry"
    SIZE = "size"
    QUALIFICATIONS = "qualifications"


EDIT = {"修改行业": Step.INDUSTRY, "修改规模": Step.SIZE, "修改资质": Step.QUALIFICATIONS}
QUESTIONS = (Step.INDUSTRY, Step.SIZE, Step.QUALIFICATIONS)


@dataclass
class Flow:
    """A binding (or a profile question) in progress."""

    step: Step
    uscc: str = ""
    tries: int = 0
    queue: list[str] = field(default_factory=list)  # the questions still to ask, after this one


@dataclass(frozen=True)
class Reply:
    """What to say; `choices` are policy codes the user may open by number."""

    text: str
    choices: tuple[str, ...] = ()


def _numbers(text: str) -> list[int]:
    return [int(part) for part in re.split(r"[\s,，、;；.。]+", text) if part.isdigit()]


def _question(step: Step, qualifications: Sequence[str]) -> str:
    if step == Step.USCC:
        return "请发送贵企业的统一社会信用代码（18 位，见营业执照），也可以连同企业名称一起发送。发送“取消”可退出。"
    if step == Step.NAME:
        return "请发送企业名称（与营业执照上的名称一致）。"
    if step == Step.INDUSTRY:
        options = "\n".join(f"{number}. {text}" for number, (_, text) in enumerate(INDUSTRY_CHOICES, start=1))
        return f"贵企业主要做什么？请回复序号：\n{options}\n其他行业请直接发送行业名称；不清楚可回复“跳过”。"
    if step == Step.SIZE:
        options = "\n".join(f"{number}. {SIZE_NAMES[char]}" for number, char in enumerate(SIZES, start=1))
        return (
            f"贵企业的规模是？请回复序号：\n{options}\n"
            "（按国家统计局的划型标准，以工业为例：20 人以下为微型，20–300 人为小型，300–1000 人为中型；"
            "不清楚可回复“跳过”）"
        )
    options = "\n".join(f"{number}. {name}" for number, name in enumerate(qualifications, start=1))
    return f"贵企业有下列哪些资质？可回复多个序号，用空格或逗号分开；都没有请回复“无”：\n{options}"


def _profile_text(enterprise: Enterprise) -> str:
    sources = enterprise.sources or {}

    def line(label: str, key: str, value: Any) -> str:
        if value is None or value == "":
            return f"{label}：未登记"
        origin = sources.get(key, {}).get("source")
        mark = f"（{SOURCE_LABELS[FieldSource(origin)]}）" if origin in SOURCE_LABELS else ""
        return f"{label}：{value}{mark}"

    quals = enterprise.qualifications
    lines = [
        f"【{enterprise.name}】",
        f"统一社会信用代码：{enterprise.uscc}",
        line("行业", "industry", enterprise.industry),
        line("规模", "size", SIZE_NAMES.get(enterprise.size or "", None)),
        line("资质", "qualifications", None if quals is None else "、".join(quals) or "无"),
        line("所在街道", "street", enterprise.street),
        line("成立日期", "founded_on", enterprise.founded_on.isoformat() if enterprise.founded_on else None),
        line("从业人数", "employees", enterprise.employees),
        "发送“修改行业”“修改规模”“修改资质”可更正企业自报的信息；发送“我能享受的政策”查看符合条件的政策；发送“解绑”解除绑定。",
    ]
    return "\n".join(lines)


class EnterpriseChat:
    """The chat side of enterprise profiles; `handle` returns the reply, or None when the message is not for it."""

    def __init__(self, *, engine: AsyncEngine, cache: Cache, state_ttl: int, timezone: str) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._cache = cache
        self._ttl = state_ttl
        self._zone = ZoneInfo(timezone)

    def _today(self) -> date:
        return datetime.now(self._zone).date()

    async def _run(self, work: Any) -> Any:
        async with self._sessions() as session, session.begin():
            return await session.run_sync(work)

    async def _flow(self, openid: str) -> Flow | None:
        raw = await self._cache.get(f"enterprise:{openid}")
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return Flow(step=Step(data["step"]), uscc=data["uscc"], tries=data["tries"], queue=list(data["queue"]))
        except (KeyError, TypeError, ValueError):
            return None

    async def _keep(self, openid: str, flow: Flow | None) -> None:
        if flow is None:
            await self._cache.delete(f"enterprise:{openid}")
        else:
            await self._cache.set(f"enterprise:{openid}", json.dumps(asdict(flow), ensure_ascii=False), ttl=self._ttl)

    async def handle(self, *, openid: str, text: str) -> Reply | None:
        """A command (绑定企业, 我的企业, 解绑, 我能享受的政策, 修改…), or the answer to the pending question."""
        said = unicodedata.normalize("NFKC", text).strip()
        flow = await self._flow(openid)
        if flow is not None and said in CANCEL:
            await self._keep(openid, None)
            return Reply("已退出。需要时发送“绑定企业”重新开始。")
        if said in BIND:
            return await self._start(openid)
        if said in MINE:
            return Reply(await self._run(lambda session: self._show(session, openid)))
        if said in UNBIND:
            await self._keep(openid, None)
            return Reply(await self._run(lambda session: self._unbind(session, openid)))
        if said in FITTING:
            return await self._fitting(openid)
        if said in EDIT:
            return await self._edit(openid, EDIT[said])
        if flow is not None:
            return await self._continue(openid, flow, said)
        return None

    # -- binding --

    async def _start(self, openid: str) -> Reply:
        current = await self._run(lambda session: service.bound(session=session, openid=openid))
        if current is not None:
            return Reply(f"您已绑定「{current.name}」。发送“我的企业”查看，发送“解绑”解除绑定。")
        await self._keep(openid, Flow(Step.USCC))
        return Reply(_question(Step.USCC, ()))

    async def _continue(self, openid: str, flow: Flow, said: str) -> Reply | None:
        if flow.step == Step.USCC:
            return await self._code(openid, flow, said)
        if flow.step == Step.NAME:
            return await self._name(openid, flow, said)
        return await self._answer(openid, flow, said)

    async def _code(self, openid: str, flow: Flow, said: str) -> Reply | None:
        if not CODE_LIKE.search(said.replace(" ", "")):
            await self._keep(openid, None)  # another question: the binding waits for a later "绑定企业"
            return None
        found = CODE.search(said.replace(" ", ""))
        code = uscc.normalize(found.group(0) if found else said)
        reason = uscc.problem(code)
        if reason:
            return await self._retry(openid, flow, f"{reason}。请核对后重新发送。")
        name = re.sub(r"^[\s,，:：;；]+|[\s,，。;；]+$", "", said.replace(found.group(0), "", 1)) if found else ""
        flow = Flow(Step.NAME, uscc=code)
        if name:
            return await self._name(openid, flow, name)
        await self._keep(openid, flow)
        return Reply(_question(Step.NAME, ()))

    async def _retry(self, openid: str, flow: Flow, message: str) -> Reply:
        flow.tries += 1
        if flow.tries >= MAX_TRIES:
            await self._keep(openid, None)
            return Reply(f"{message}\n已多次未能核对成功，本次绑定已结束；如有疑问可直接描述问题，工作人员会联系您。")
        await self._keep(openid, flow)
        return Reply(message)

    async def _name(self, openid: str, flow: Flow, said: str) -> Reply | None:
        if said.endswith(QUESTION_END) or len(said) > 80:
            await self._keep(openid, None)
            return None
        result = await self._run(
            lambda session: service.bind(session=session, openid=openid, uscc=flow.uscc, name=said)
        )
        if result.outcome == BindOutcome.NAME_MISMATCH:
            return await self._retry(
                openid, flow, "企业名称与该统一社会信用代码的登记信息不一致，请核对营业执照上的名称后重新发送。"
            )
        if result.outcome == BindOutcome.ALREADY:
            await self._keep(openid, None)
            return Reply(f"您已绑定「{result.enterprise.name}」，如需更换请先发送“解绑”。")
        enterprise = result.enterprise
        done = (
            f"绑定成功：{enterprise.name}。"
            if result.outcome == BindOutcome.MATCHED
            else f"企业库中暂无该企业的登记信息，已按您提供的信息为「{enterprise.name}」建档（企业自报）。"
        )
        return await self._ask_missing(openid, enterprise, done)

    async def _ask_missing(self, openid: str, enterprise: Enterprise, before: str) -> Reply:
        missing = [step for step in QUESTIONS if getattr(enterprise, str(step)) is None]
        if not missing:
            await self._keep(openid, None)
            return Reply(before + "\n" + await self._summary(openid))
        await self._keep(openid, Flow(missing[0], uscc=enterprise.uscc, queue=[str(step) for step in missing[1:]]))
        intro = "为帮您找到能享受的政策，请回答几个简单的问题（随时可发送“取消”）。\n"
        return Reply(before + "\n" + intro + await self._ask(missing[0]))

    async def _ask(self, step: Step) -> str:
        vocabulary = await self._run(lambda session: terms.load_vocabulary(session=session))
        return _question(step, vocabulary.qualifications[:SHOWN_QUALIFICATIONS])

    # -- the profile questions --

    async def _edit(self, openid: str, step: Step) -> Reply:
        enterprise = await self._run(lambda session: service.bound(session=session, openid=openid))
        if enterprise is None:
            return Reply("您还没有绑定企业，请先发送“绑定企业”。")
        origin = (enterprise.sources or {}).get(str(step), {}).get("source")
        if origin == FieldSource.REGISTER:
            return Reply(
                "这项信息来自登记核验，不能在这里修改；如有变化，请联系区营商办或直接描述情况，工作人员会核实更正。"
            )
        await self._keep(openid, Flow(step, uscc=enterprise.uscc))
        return Reply(await self._ask(step))

    def _read(self, step: Step, said: str, qualifications: Sequence[str]) -> Any:
        """The value an answer gives, or raises ValueError."""
        numbers = _numbers(said)
        if step == Step.INDUSTRY:
            if len(numbers) == 1 and 1 <= numbers[0] <= len(INDUSTRY_CHOICES) and said.isdigit():
                return INDUSTRY_CHOICES[numbers[0] - 1][0]
            return industry(said)
        if step == Step.SIZE:
            if said.isdigit() and 1 <= int(said) <= len(SIZES):
                return SIZES[int(said) - 1]
            return size(said)
        if said in NONE:
            return []
        if numbers and all(1 <= number <= len(qualifications) for number in numbers):
            return list(dict.fromkeys(qualifications[number - 1] for number in numbers))
        chosen = [name for name in qualifications if name in said]
        if not chosen:
            raise ValueError(said)
        return chosen

    async def _answer(self, openid: str, flow: Flow, said: str) -> Reply:
        vocabulary = await self._run(lambda session: terms.load_vocabulary(session=session))
        shown = vocabulary.qualifications[:SHOWN_QUALIFICATIONS]
        if said not in SKIP:
            try:
                value = self._read(flow.step, said, shown)
            except (TagError, ValueError):
                if flow.tries == 0:  # ask once more, then go on without it
                    flow.tries = 1
                    await self._keep(openid, flow)
                    return Reply("没能识别您的回答。" + _question(flow.step, shown))
            else:
                await self._run(lambda session: self._save(session, flow.uscc, str(flow.step), value, openid))
        if flow.queue:
            following = Step(flow.queue[0])
            await self._keep(openid, Flow(following, uscc=flow.uscc, queue=flow.queue[1:]))
            return Reply(_question(following, shown))
        await self._keep(openid, None)
        return Reply("已记录，谢谢！" + await self._summary(openid))

    def _save(self, session: Session, code: str, key: str, value: Any, openid: str) -> None:
        enterprise = service.get(session=session, uscc=code)
        if enterprise is not None:
            service.apply(
                session=session, enterprise=enterprise, values={key: value}, source=FieldSource.SELF, author=openid
            )

    # -- what the enterprise sees --

    def _show(self, session: Session, openid: str) -> str:
        enterprise = service.bound(session=session, openid=openid)
        if enterprise is None:
            return "您还没有绑定企业。发送“绑定企业”，输入统一社会信用代码和企业名称即可绑定。"
        return _profile_text(enterprise)

    def _unbind(self, session: Session, openid: str) -> str:
        enterprise = service.unbind(session=session, openid=openid)
        if enterprise is None:
            return "您还没有绑定企业。"
        return f"已解除与「{enterprise.name}」的绑定，不会再收到该企业的政策推送。需要时可重新发送“绑定企业”。"

    async def _profile(self, openid: str) -> tuple[Enterprise, Profile] | None:
        enterprise = await self._run(lambda session: service.bound(session=session, openid=openid))
        return (enterprise, Profile.of(enterprise)) if enterprise is not None else None

    async def _summary(self, openid: str) -> str:
        found = await self._profile(openid)
        if found is None:
            return ""
        today = self._today()
        fitting = await self._run(lambda session: eligible.qualifying(session=session, profile=found[1], today=today))
        if not fitting:
            return "发送“我的企业”可查看企业信息。"
        return f"根据贵企业的信息，目前有 {len(fitting)} 条政策符合适用条件，发送“我能享受的政策”查看。"

    async def _fitting(self, openid: str) -> Reply:
        found = await self._profile(openid)
        if found is None:
            return Reply("绑定企业后，我可以根据企业信息告诉您能享受哪些政策。请发送“绑定企业”。")
        today = self._today()
        fitting = await self._run(lambda session: eligible.qualifying(session=session, profile=found[1], today=today))
        if not fitting:
            return Reply(
                "根据目前登记的企业信息，暂未找到贵企业明确符合的政策。补充行业、规模、资质后结果会更准确（发送“我的企业”查看）。"
            )
        lines = [f"根据「{found[0].name}」的信息，符合适用条件的政策有 {len(fitting)} 条："]
        for number, (doc, verdict) in enumerate(fitting, start=1):
            lines.append(f"{number}. {doc.name}【{doc.mode}】")
            lines.append(f"   {verdict.reason}")
        lines.append("回复序号查看详情")
        return Reply("\n".join(lines), choices=tuple(doc.code for doc, _ in fitting))

    async def verdicts(self, *, openid: str, docs: Sequence[PolicyDoc]) -> dict[str, Verdict] | None:
        """The verdict of each policy for this user's enterprise; None when the user has bound none."""
        found = await self._profile(openid)
        if found is None:
            return None
        return eligible.verdicts(docs=docs, profile=found[1], today=self._today())
