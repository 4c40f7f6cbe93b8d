"""Freshness of a signed request: its timestamp within a window, its (timestamp, nonce) never reused for another body.

In plain and compatible mode the URL signature covers only token, timestamp and nonce, not the body: without
these checks one signed URL would carry any body, for any openid, for ever. WeChat's retries of a delivery
may repeat the query; a repeat with the same body passes (the inbox's dedup answers it), another body does not.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from bot.platform.cache import Cache
from bot.wechat.protocol import ProtocolError

MAX_TIMESTAMP_DIGITS = 12


def check_timestamp(query: Mapping[str, str], *, window: int, now: float | None = None) -> None:
    """Refuse (403) a timestamp that is missing, not a number, or more than `window` seconds from now."""
    raw = query.get("timestamp", "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_TIMESTAMP_DIGITS:
        raise ProtocolError(403, "timestamp missing or not a number")
    moment = time.time() if now is None else now
    if abs(int(raw) - moment) > window:
        raise ProtocolError(403, f"timestamp outside the {window} s window")


async def check_replay(query: Mapping[str, str], body: bytes, *, cache: Cache, window: int) -> None:
    """Refuse (403) a (timestamp, nonce) pair already used with another body within the window."""
    pair = hashlib.sha256(f"{query.get('timestamp', '')}:{query.get('nonce', '')}".encode()).hexdigest()
    digest = hashlib.sha256(body).hexdigest()
    # Kept a little longer than a timestamp stays acceptable, so that no pair can come back once forgotten.
    if await cache.set_nx("nonce:" + pair, digest, ttl=2 * window + 60):
        return
    if await cache.get("nonce:" + pair) != digest:
        raise ProtocolError(403, "nonce already used for another request")
