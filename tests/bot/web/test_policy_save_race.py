"""Two admins saving one policy at the same moment: one wins, the other gets 409 (never 500), and no edit is lost,
over real HTTP on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest

from bot import accounts
from bot.platform.settings import Settings
from tests.bot.web.console_support import run
from tests.policies.support import ADMIN, csrf_of, login, policies, prepare
from tests.support.servers import running

SECOND = ("admin2", "second admin battery")
ROUNDS = 12


@pytest.fixture
def url(backend: Settings) -> Iterator[str]:
    prepare(backend)
    run(backend, lambda s: accounts.create_user(session=s, username=SECOND[0], password=SECOND[1], role="admin"))
    with running(backend) as (served, _):
        yield served


def form_of(client: httpx.Client, policy_id: int) -> dict[str, str]:
    page = client.get(f"/admin/policies/{policy_id}/edit").text
    fields = dict(re.findall(r'<input id="f-\w+" name="(\w+)" type="\w+" value="([^"]*)"', page))
    for name in ("content", "eligibility", "process", "materials"):
        found = re.search(rf'<textarea id="f-{name}" name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
        fields[name] = found.group(1) if found else ""
    mode = re.search(r'<option value="(\w+)" selected', page)
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version, page[:300]
    return {**fields, "mode": mode.group(1) if mode else "", "version": version.group(1), "csrf_token": csrf_of(page)}


async def save_both(url: str, cookies: list[httpx.Cookies], policy_id: int, forms: list[dict[str, str]]) -> list[int]:
    async def one(jar: httpx.Cookies, form: dict[str, str]) -> int:
        async with httpx.AsyncClient(base_url=url, cookies=jar, timeout=60) as client:
            response = await client.post(f"/admin/policies/{policy_id}/edit", data=form, follow_redirects=False)
            return response.status_code

    return list(await asyncio.gather(*(one(jar, form) for jar, form in zip(cookies, forms, strict=True))))


def test_two_admins_saving_one_policy_at_once_one_gets_409(backend: Settings, url: str) -> None:
    clients = [httpx.Client(base_url=url, timeout=60), httpx.Client(base_url=url, timeout=60)]
    for client, who in zip(clients, (ADMIN, SECOND), strict=True):
        assert login(client, *who).status_code == 303
    policy = policies(backend)["P05"]
    outcomes = []
    for round_ in range(ROUNDS):
        forms = [form_of(client, policy.id) for client in clients]
        forms = [{**form, "name": f"稳岗返还 第{round_}轮 {who}"} for form, who in zip(forms, "AB", strict=True)]
        statuses = asyncio.run(save_both(url, [client.cookies for client in clients], policy.id, forms))
        outcomes.append(sorted(statuses))
        now = policies(backend)["P05"]
        winner = "A" if statuses[0] == 303 else "B"
        assert sorted(statuses) == [303, 409], (round_, statuses)
        assert now.version == policy.version + round_ + 1 and now.name.endswith(winner), (round_, now.name)
    assert outcomes == [[303, 409]] * ROUNDS
