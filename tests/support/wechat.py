"""Talk to /wechat exactly as WeChat does, from fixtures of real-shaped XML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from bot.platform.settings import Settings
from bot.wechat.peer import Peer

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "wechat"


def fixture(name: str, **replace: str) -> str:
    """A fixture's XML, with some elements' text replaced (e.g. FromUserName, MsgId, Content)."""
    xml = (FIXTURES / f"{name}.xml").read_text(encoding="utf-8")
    for element, value in replace.items():
        xml, count = re.subn(
            rf"<{element}>.*?</{element}>", f"<{element}><![CDATA[{value}]]></{element}>", xml, flags=re.S
        )
        if not count:
            xml = xml.replace("</xml>", f"<{element}><![CDATA[{value}]]></{element}></xml>")
    return xml


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.xml"))


def peer(settings: Settings) -> Peer:
    wechat = settings.wechat
    return Peer(token=wechat.token, app_id=wechat.app_id, encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode)


def post(client: httpx.Client, settings: Settings, xml: str) -> tuple[int, dict[str, Any] | None, str]:
    """POST one message; returns the status, the opened reply (None for "success") and the raw body."""
    speaker = peer(settings)
    query, body = speaker.request_xml(xml)
    response = client.post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})
    if response.status_code != 200:
        return response.status_code, None, response.text
    return 200, speaker.open_reply(response.content), response.text
