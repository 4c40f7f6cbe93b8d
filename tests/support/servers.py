"""Real servers for tests: our app and the WeChat API stand-in, each in a uvicorn thread on a free port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.platform.settings import Settings
    from bot.wechat.standin import StandIn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class QuickServer(uvicorn.Server):
    """uvicorn's server, looking at its exit flag every 10 ms instead of every 100 ms: the suite stops a server
    about a hundred times, and each stop waited half a tick on average for nothing."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)
            should_exit = await self.on_tick(counter)


@contextmanager
def serving(app: FastAPI, *, startup_timeout: float = 60.0) -> Iterator[str]:
    """Run an ASGI app on 127.0.0.1 in a background thread; yields its base URL."""
    # The socket is bound here and handed to uvicorn: no other process can take the port in between.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", server_header=False)
    server = QuickServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("server thread died during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()  # uvicorn has closed it, unless its start failed


@contextmanager
def running(settings: Settings, *, run_worker: bool = False) -> Iterator[tuple[str, FastAPI]]:
    """Our app on the given settings, served over HTTP; yields its base URL and the app."""
    from bot.app import create_app

    app = create_app(settings, run_worker=run_worker)
    with serving(app) as url:
        yield url, app


@contextmanager
def standin() -> Iterator[tuple[str, StandIn]]:
    """The WeChat API stand-in on its own port; yields its base URL and its recorded state."""
    from bot.wechat.standin import StandIn, standin_app

    state = StandIn()
    with serving(standin_app(state)) as url:
        yield url, state


def reporter(app_url: str | list[str], settings: Settings, *, senders: int = 4) -> Any:
    """A stand-in `report` that delivers TEMPLATESENDJOBFINISH events to our app's /wechat, signed as WeChat signs.

    Like WeChat, it reports a moment later and apart from the send: events wait in a queue that a few senders
    (started in the stand-in's event loop on the first report) post in order, so the API answers at full speed.
    Several app URLs share the reports, as a load balancer in front of several app instances would.
    """
    import asyncio
    import contextlib

    import httpx

    from bot.wechat.peer import Peer

    wechat = settings.wechat
    peer = Peer(token=wechat.token, app_id=wechat.app_id, encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    running: list[asyncio.Task[None]] = []

    urls = [app_url] if isinstance(app_url, str) else app_url

    async def send(number: int) -> None:
        async with httpx.AsyncClient(base_url=urls[number % len(urls)], timeout=30) as client:
            while True:
                event = await queue.get()
                query, body = peer.request(event)
                with contextlib.suppress(httpx.HTTPError):  # WeChat does not retry a report either
                    await client.post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})

    async def report(event: dict[str, Any]) -> None:
        if not running:
            running.extend(asyncio.ensure_future(send(number)) for number in range(senders * len(urls)))
        queue.put_nowait(event)

    return report
