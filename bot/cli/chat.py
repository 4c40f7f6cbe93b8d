"""`appealbot chat`: a terminal that talks to a running server exactly as WeChat does.

Each line is sent as a signed (and in safe mode encrypted) text message to /wechat; the passive reply
is printed, and so are messages the bot pushes later when the server runs the chat simulator.
Lines starting with "/" are actions: /subscribe, /click KEY, /image, /location, /voice TEXT, /quit.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from bot.platform.settings import Settings
from bot.web.simulator import Outgoing, message_fields
from bot.wechat.peer import Peer
from bot.wechat.protocol import ProtocolError

HELP = (
    "输入文字发送；/subscribe 关注，/click POLICY_SEARCH|APPEAL|PROGRESS 点菜单，"
    "/image，/location，/voice 文字，/quit 退出"
)


def _action(line: str, openid: str) -> Outgoing | None:
    if not line.startswith("/"):
        return Outgoing(openid=openid, kind="text", content=line)
    command, _, rest = line[1:].partition(" ")
    if command == "subscribe":
        return Outgoing(openid=openid, kind="event", event="subscribe", event_key=rest)
    if command == "click":
        return Outgoing(openid=openid, kind="event", event="CLICK", event_key=rest or "POLICY_SEARCH")
    if command in {"image", "location", "link", "voice"}:
        return Outgoing(openid=openid, kind=command, content=rest)
    return None


def _show(reply: dict[str, Any] | None) -> None:
    if reply is None:
        print("（公众号未回复）")
    elif reply.get("MsgType") == "text":
        print(f"公众号：{reply.get('Content', '')}")
    else:
        print(f"公众号（{reply.get('MsgType')}）：{reply}")


def _follow_pushes(client: httpx.Client, openid: str, stop: threading.Event) -> None:
    position = 0
    while not stop.wait(1.0):
        try:
            response = client.get("/simulator/inbox", params={"openid": openid, "after": position})
        except httpx.HTTPError:
            continue
        if response.status_code != 200:
            return  # the server runs without the simulator: no pushes to show
        data = response.json()
        position = data["next"]
        for message in data["messages"]:
            text = message.get("text", {}).get("content") or message.get("data") or message
            print(f"\n公众号（客服消息）：{text}\n> ", end="", flush=True)


def _lines(interactive: bool) -> Iterator[str]:
    """What the user types, line by line (blank lines skipped), until the input ends or /quit."""
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return
        line = line.strip()
        if line == "/quit":
            return
        if line:
            yield line


def _exchange(client: httpx.Client, peer: Peer, action: Outgoing, *, base: str) -> bool:
    """Send one action to /wechat as WeChat would and show the reply; False when the server cannot be reached."""
    query, body = peer.request(message_fields(action, now=int(time.time())))
    try:
        response = client.post("/wechat", params=query, content=body)
    except httpx.HTTPError as exc:
        print(f"无法连接服务器 {base}：{exc}", file=sys.stderr)
        return False
    if response.status_code != 200:
        print(f"服务器拒绝了消息（HTTP {response.status_code}）：{response.text}", file=sys.stderr)
        return True
    try:
        _show(peer.open_reply(response.content))
    except ProtocolError as exc:
        print(f"回复无法解密或验签：{exc.reason}", file=sys.stderr)
    return True


def run_chat(*, url: str | None, openid: str, settings: Settings) -> int:
    """Talk to the server at `url` (or the configured base URL) as the WeChat user `openid`; the exit status."""
    wechat = settings.wechat
    peer = Peer(token=wechat.token, app_id=wechat.app_id, encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode)
    base = (url or settings.app.base_url).rstrip("/")
    interactive = sys.stdin.isatty()
    stop = threading.Event()
    with httpx.Client(base_url=base, timeout=10) as client:
        if interactive:
            print(f"已连接 {base}/wechat（{wechat.mode} 模式），用户 {openid}。{HELP}")
            threading.Thread(target=_follow_pushes, args=(client, openid, stop), daemon=True).start()
        try:
            for line in _lines(interactive):
                action = _action(line, openid)
                if action is None:
                    print(HELP)
                elif not _exchange(client, peer, action, base=base):
                    return 1
        finally:
            stop.set()
    return 0
