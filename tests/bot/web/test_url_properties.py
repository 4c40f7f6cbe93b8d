"""Every odd console or admin link is a 4xx page, never a 5xx, and changes nothing (Hypothesis, real HTTP).

Each GET and POST route under /admin/ and /console/ gets arbitrary path values and query values (huge and
negative integers, "²", text, empty), signed in as the admin and as 区营商办. GETs never change the database;
a POST that is refused (4xx) changed nothing either. A few hundred examples here; APPEALBOT_URL_EXAMPLES=10000
(bench/url_properties.py) for the long run, which prints the counts and the slowest request found.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import product
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import select
from starlette.routing import BaseRoute

from bot.platform.settings import Settings
from bot.web.console import reads  # noqa: F401  (its table is part of the app's metadata)
from storage import Base
from tests.bot.web.console_support import BOSS, file, prepare_console, run, sign
from tests.policies.support import ADMIN, csrf_of, login
from tests.support.servers import running

EXAMPLES = int(os.environ.get("APPEALBOT_URL_EXAMPLES", "150"))
# Rows that reading a page may write: sessions, "last seen" marks, and the unanswered-question counters.
VOLATILE = {"login_sessions", "appeal_reads"}
HUGE = st.integers(min_value=2**31 - 5, max_value=10**30) | st.integers(min_value=-(10**30), max_value=-(2**31) + 5)
VALUES = st.one_of(
    st.integers(min_value=-5, max_value=50).map(str),
    HUGE.map(str),
    st.sampled_from(["", "²", "abc", "1.5", "0x10", "1e3", " 7 ", "-0", "LH-20261130-0001", "%00", "../..", "null"]),
    st.text(max_size=12),
)
QUERY_NAMES = ["page", "version", "number", "unit", "state", "deadline", "q", "year", "done", "month", "id", "kind"]


@dataclass
class Tally:
    """What the run saw: statuses, and the slowest request."""

    statuses: Counter[int] = field(default_factory=Counter)
    slowest: tuple[float, str] = (0.0, "")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, status: int, seconds: float, what: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if seconds > self.slowest[0]:
                self.slowest = (seconds, what)


def fingerprint(settings: Settings) -> str:
    """A digest of every row of every table but the volatile ones."""

    def work(session: object) -> str:
        digest = hashlib.sha256()
        for table in Base.metadata.sorted_tables:
            if table.name in VOLATILE:
                continue
            for row in session.execute(select(table)).all():  # type: ignore[attr-defined]
                digest.update(repr(tuple(row)).encode())
        return digest.hexdigest()

    return str(run(settings, work))


def every_route(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """The app's API routes, also those inside included routers (kept as such by this FastAPI)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from every_route(inner.routes)


def routes(app: FastAPI, method: str) -> list[APIRoute]:
    chosen = {
        (route.path, route.name): route
        for route in every_route(app.routes)
        if route.path.startswith(("/admin", "/console")) and method in (route.methods or set())
    }
    assert len(chosen) > 10, sorted(chosen)
    return [chosen[key] for key in sorted(chosen)]


def query_names(route: APIRoute) -> list[str]:
    """The query parameters the route declares (fields of a query model too), then the common ones."""
    names: list[str] = []
    for declared in route.dependant.query_params:
        annotation = declared.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += [inner.alias or name for name, inner in annotation.model_fields.items()]
        else:
            names.append(declared.alias)
    return list(dict.fromkeys([*names, *QUERY_NAMES]))


def mine(who: str, route: APIRoute) -> bool:
    """The admin tries the admin pages, 区营商办 the console (each other's are a plain 403, tested elsewhere)."""
    return route.path.startswith("/admin" if who == "admin" else "/console")


def link(route: APIRoute, values: list[str]) -> str:
    """The route's path with its parameters replaced by these values (percent-encoded, as a browser sends them)."""
    given = iter(values)
    return re.sub(r"{\w+(?::\w+)?}", lambda _: quote(next(given, "1"), safe="") or "x", route.path)


@pytest.fixture
def live(backend: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(backend)
    reference = file(backend)
    sign(backend, reference)
    with running(backend) as served:
        yield served


def signed(url: str, who: tuple[str, str]) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=60)
    assert login(client, *who).status_code == 303
    home = "/admin/policies/new" if who == ADMIN else "/console/"
    return client, csrf_of(client.get(home).text)


def report(tally: Tally, label: str) -> None:
    print(f"\n{label}: {sum(tally.statuses.values())} requests, statuses {dict(sorted(tally.statuses.items()))}; "
          f"slowest {tally.slowest[0]:.3f} s: {tally.slowest[1]}")  # fmt: skip


def test_odd_get_links_are_4xx_pages_and_change_nothing(backend: Settings, live: tuple[str, FastAPI]) -> None:
    url, app = live
    clients = {"admin": signed(url, ADMIN)[0], "supervisor": signed(url, BOSS)[0]}
    gets = [(who, route) for who, route in product(sorted(clients), routes(app, "GET")) if mine(who, route)]
    tally = Tally()
    before = fingerprint(backend)

    @settings_(EXAMPLES)
    @given(target=st.sampled_from(gets), values=st.lists(VALUES, min_size=3, max_size=3), data=st.data())
    def one(target: tuple[str, APIRoute], values: list[str], data: st.DataObject) -> None:
        who, route = target
        query = data.draw(st.dictionaries(st.sampled_from(query_names(route)), VALUES, max_size=3), label="query")
        path = link(route, values)
        started = time.monotonic()
        response = clients[who].get(path, params=query)
        tally.note(response.status_code, time.monotonic() - started, f"{who} GET {response.request.url.raw_path!r}")
        assert response.status_code < 500, (who, path, query, response.text[:300])
        if response.status_code >= 400 and "text/html" in response.headers.get("content-type", ""):
            assert re.search(r"[\u4e00-\u9fff]", response.text), response.text[:300]  # a page in Chinese

    one()
    report(tally, "GET")
    assert fingerprint(backend) == before, "a GET changed the database"


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_refused_odd_posts_are_4xx_and_change_nothing(backend: Settings, live: tuple[str, FastAPI]) -> None:
    url, app = live
    clients = {"admin": signed(url, ADMIN), "supervisor": signed(url, BOSS)}
    posts = [(who, route) for who, route in product(sorted(clients), routes(app, "POST")) if mine(who, route)]
    tally = Tally()

    @settings_(max(EXAMPLES // 3, 30))
    @given(target=st.sampled_from(posts), values=st.lists(VALUES, min_size=3, max_size=3), data=st.data())
    def one(target: tuple[str, APIRoute], values: list[str], data: st.DataObject) -> None:
        who, route = target
        form = data.draw(st.dictionaries(st.sampled_from(query_names(route)), VALUES, max_size=3), label="form")
        client, token = clients[who]
        path = link(route, values)
        before = fingerprint(backend)
        started = time.monotonic()
        response = client.post(path, data={**form, "csrf_token": token}, params=form, follow_redirects=False)
        tally.note(response.status_code, time.monotonic() - started, f"{who} POST {response.request.url.raw_path!r}")
        assert response.status_code < 500, (who, path, form, response.text[:300])
        if response.status_code >= 400:
            assert fingerprint(backend) == before, (who, path, form, response.status_code)

    one()
    report(tally, "POST")


def settings_(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_the_named_findings(live: tuple[str, FastAPI]) -> None:
    """The links of the issue, one by one: each a 4xx page in Chinese."""
    url, _ = live
    admin, _ = signed(url, ADMIN)
    boss, _ = signed(url, BOSS)
    for client, path in [
        (boss, "/console/?page=99999999999999999999"),
        (boss, "/console/?page=²"),
        (admin, "/admin/policies?page=-3"),
    ]:
        assert client.get(path).status_code == 200, path  # pages read leniently: the last, or the first
    for client, path in [
        (admin, "/admin/policies/99999999999"),
        (admin, "/admin/policies?page=99999999999999999999"),
        (admin, "/admin/policies/1/versions/99999999999"),
    ]:
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:200])
        assert re.search(r"[\u4e00-\u9fff]", response.text), path
    for version in ("abc", "²", "99999999999999999999"):
        token = csrf_of(admin.get("/admin/policies/1/edit").text)
        saved = admin.post("/admin/policies/1/edit", data={"version": version, "csrf_token": token, "name": "改"})
        assert saved.status_code in {409, 422} and "版本" in saved.text, (version, saved.status_code, saved.text[:200])
