"""Helpers of the staff console tests: accounts of several units, appeals filed and walked, signed-in clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot import accounts
from bot.chat.models import InboundMessage
from bot.platform import db
from bot.platform.settings import Settings
from routing import dispatch, lifecycle
from routing.lifecycle import Actor
from routing.models import ActorRole, Appeal, Unit
from tests.policies.support import csrf_of, login, prepare

CLERK = ("clerk", "staple horse battery")  # staff of 区审批局 (tests.policies.support.prepare)
HEAD = ("head", "approval head battery")  # unit head of 区审批局
JUDGE = ("judge", "justice clerk battery")  # staff of 区司法局
BOSS = ("boss", "business office battery")  # 区营商办
T = TypeVar("T")
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def prepare_console(settings: Settings) -> None:
    """The prepared database (admin, clerk) plus a unit head, another unit's staff and a supervisor."""
    prepare(settings)
    with transaction(settings) as session:
        accounts.create_user(session=session, username=HEAD[0], password=HEAD[1], role="unit_head", unit="区审批局")
        accounts.create_user(session=session, username=JUDGE[0], password=JUDGE[1], role="staff", unit="区司法局")
        accounts.create_user(session=session, username=BOSS[0], password=BOSS[1], role="supervisor")


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """A committed session on the settings' database."""
    engine = db.make_engine(settings.database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def run(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run work(session) in one committed transaction and return its result."""
    with transaction(settings) as session:
        return work(session)


def file(
    settings: Settings,
    *,
    openid: str = "o_enterprise",
    enterprise: str = "西安某某科技有限公司",
    description: str = "营业执照办下来了，却迟迟不让开业",
    category: str = "C06",
) -> str:
    """A new appeal (lead 区审批局 for C06); its reference."""

    def work(session: Session) -> str:
        return dispatch.file_appeal(
            session=session,
            submission=dispatch.Submission(
                openid=openid,
                enterprise=enterprise,
                contact="张三",
                phone="13800000000",
                description=description,
                category_code=category,
            ),
        ).reference

    return str(run(settings, work))


def act(
    settings: Settings,
    reference: str,
    step: Callable[..., object],
    unit: str = "区审批局",
    role: ActorRole = ActorRole.STAFF,
    **arguments: object,
) -> None:
    """Take a lifecycle step as a user of `unit` (or 区营商办 as the supervisor)."""

    def work(session: Session) -> None:
        appeal = session.scalars(select(Appeal).where(Appeal.reference == reference)).one()
        unit_id = session.scalars(select(Unit.id).where(Unit.name == unit)).one()
        step(session=session, appeal_id=appeal.id, actor=Actor(role, "tester", unit_id), **arguments)

    run(settings, work)


def sign(settings: Settings, reference: str) -> None:
    act(settings, reference, lifecycle.sign)


def wrote(
    settings: Settings,
    openid: str,
    text: str,
    *,
    msg_type: str = "text",
    ago: timedelta = timedelta(0),
    **fields: object,
) -> None:
    """The enterprise sent a message (as the callback stores it)."""
    moment = datetime.now(UTC) - ago
    run(
        settings,
        lambda session: session.execute(
            insert(InboundMessage).values(
                dedup_key=f"m:{openid}:{moment.timestamp()}:{text[:20]}",
                openid=openid,
                msg_type=msg_type,
                text=text,
                fields=fields,
                sent_at=moment,
                received_at=moment,
            )
        ),
    )


def client(url: str, who: tuple[str, str]) -> tuple[httpx.Client, str]:
    """A client signed in as `who`, and its form token."""
    signed = httpx.Client(base_url=url, timeout=30)
    response = login(signed, *who)
    assert response.status_code == 303 and response.headers["location"] == "/console/", response.text[:300]
    return signed, csrf_of(signed.get("/console/").text)
