"""Failed logins are counted atomically before any password is checked, per account and client address.

Over real HTTP against the real app, on the embedded default and on PostgreSQL + Redis: 40 parallel wrong
logins check at most five passwords, the right password of the locked pair is refused, and the owner on another
address still signs in; unknown names get the same answers; the per-address ceiling stops spraying.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from bot.platform.cache import RedisCache
from bot.platform.settings import Settings
from bot.web import lockout
from tests.policies.support import ADMIN, STAFF, csrf_of, prepare
from tests.support.servers import running


@pytest.fixture
def url(backend: Settings) -> Iterator[str]:
    prepare(backend)
    with running(backend) as (served, _):
        yield served


async def attempts(url: str, username: str, passwords: list[str], *, address: str = "10.0.0.1") -> list[int]:
    """POST /login with each password at once from one client address (as a proxy reports it); the statuses."""
    headers = {"X-Forwarded-For": address}
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
        page = await client.get("/login")
        token = csrf_of(page.text)

        async def one(password: str) -> int:
            data = {"username": username, "password": password, "csrf_token": token, "next": ""}
            response = await client.post("/login", data=data, follow_redirects=False)
            return response.status_code

        return list(await asyncio.gather(*(one(password) for password in passwords)))


def test_forty_parallel_wrong_logins_check_at_most_five_passwords(url: str) -> None:
    statuses = Counter(asyncio.run(attempts(url, ADMIN[0], [f"wrong guess {n}" for n in range(40)])))
    assert set(statuses) <= {401, 429} and statuses[401] <= lockout.PAIR_LIMIT, statuses
    assert statuses[429] >= 40 - lockout.PAIR_LIMIT, statuses
    # The pair is locked: even the right password is refused, unchecked.
    assert asyncio.run(attempts(url, ADMIN[0], [ADMIN[1]])) == [429]
    # The owner, on another address, is not locked out by the guesser.
    assert asyncio.run(attempts(url, ADMIN[0], [ADMIN[1]], address="10.0.0.2")) == [303]


def test_unknown_names_are_answered_like_known_ones(url: str) -> None:
    known = asyncio.run(attempts(url, STAFF[0], ["wrong guess"] * 7, address="10.0.1.1"))
    unknown = asyncio.run(attempts(url, "nobody-here", ["wrong guess"] * 7, address="10.0.1.2"))
    assert sorted(known) == sorted(unknown) == [401] * lockout.PAIR_LIMIT + [429] * (7 - lockout.PAIR_LIMIT)


def test_one_address_spraying_many_accounts_is_stopped(url: str) -> None:
    names = [f"user{n}" for n in range(lockout.ADDRESS_LIMIT + 5)]
    statuses: list[int] = []
    for name in names:  # one by one: each failure is counted before the next attempt reads the ceiling
        statuses += asyncio.run(attempts(url, name, ["wrong guess"], address="10.0.2.1"))
    assert statuses[: lockout.ADDRESS_LIMIT] == [401] * lockout.ADDRESS_LIMIT
    assert statuses[lockout.ADDRESS_LIMIT :] == [429] * 5
    assert asyncio.run(attempts(url, STAFF[0], [STAFF[1]], address="10.0.2.1")) == [429]
    assert asyncio.run(attempts(url, STAFF[0], [STAFF[1]], address="10.0.2.2")) == [303]


async def test_with_redis_down_the_counts_go_on_in_the_process() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", prefix="appealbot-test:")  # nothing listens there
    counters = lockout.Lockout(cache)
    try:
        verdicts = [await counters.attempt(username="admin", address="10.0.3.1") for _ in range(7)]
    finally:
        await cache.close()
    assert [verdict.allowed for verdict in verdicts] == [True] * lockout.PAIR_LIMIT + [False] * 2
