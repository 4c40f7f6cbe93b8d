"""Counting failed logins atomically, per account and client address, before any password is checked.

Each attempt first takes a numbered slot with one atomic increment (Redis INCR in production, the in-process
cache embedded) and is refused unpaid when its number is past the limit; so 40 parallel guesses check at most
`PAIR_LIMIT` passwords, never "39 wrong and the 40th in" as a read-then-write counter did. A success clears
the pair's count.

Why per (account, address) pair with higher ceilings instead of one per-account lock: a per-account lock lets
anyone lock out anyone with five requests. Here a guesser on one address locks only its own pair; the owner,
on another address, still signs in. The per-address ceiling stops one address spraying many accounts, and the
per-account ceiling (many addresses at once, e.g. a botnet) is high enough that locking a real user needs a
distributed attack, and low enough that guessing stays hopeless. Every window runs `WINDOW` from its first
failure, then the count starts again. Unknown usernames are counted exactly like known ones, so the answer
never tells which usernames exist.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from bot.platform.cache import Cache, MemoryCache

WINDOW = 15 * 60  # seconds
PAIR_LIMIT = 5  # attempts per account from one address
ADDRESS_LIMIT = 30  # attempts from one address, any accounts
ACCOUNT_LIMIT = 100  # attempts on one account, all addresses together


@dataclass(frozen=True)
class Verdict:
    """Whether this attempt may check its password; when not, the minutes until it may try again."""

    allowed: bool
    minutes: int = 0


def _digest(text: str) -> str:
    # Keys hold no usernames or addresses in clear, and stay short whatever a client sends.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Lockout:
    """The three counters of one app (its cache); a process-local fallback while Redis is down."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._fallback = MemoryCache()

    def _keys(self, username: str, address: str, generation: str) -> dict[str, tuple[str, int]]:
        account = _digest(f"{username.casefold()}\0{generation}")
        return {
            "pair": (f"login:pair:{account}:{_digest(address)}", PAIR_LIMIT),
            "address": (f"login:address:{_digest(address)}", ADDRESS_LIMIT),
            "account": (f"login:account:{account}", ACCOUNT_LIMIT),
        }

    async def _incr(self, key: str) -> int:
        count = await self._cache.incr(key, ttl=WINDOW)
        # 0: Redis is down. Count in this process meanwhile rather than not at all.
        return count if count > 0 else await self._fallback.incr(key, ttl=WINDOW)

    async def _get(self, key: str) -> int:
        shared, local = await self._cache.get(key), await self._fallback.get(key)
        return max(int(shared or 0), int(local or 0))

    async def attempt(self, *, username: str, address: str, generation: str = "") -> Verdict:
        """Take a slot for one password check (before checking it); refused when any counter is past its limit.

        The pair's slot is taken atomically: that is what bounds parallel guessing. The address and account
        ceilings count failures only (so thirty colleagues behind one office NAT can all sign in); they are read
        here and raised by `failed`, so parallel requests can overshoot them by at most the requests in flight,
        which web.login_workers + web.login_queue bounds. `generation` changes with the account's password hash,
        so a password reset starts the counts afresh.
        """
        keys = self._keys(username, address, generation)
        key, limit = keys["pair"]
        refused = await self._incr(key) > limit
        for name in ("address", "account"):
            key, limit = keys[name]
            refused = refused or await self._get(key) >= limit
        return Verdict(False, math.ceil(WINDOW / 60)) if refused else Verdict(True)

    async def failed(self, *, username: str, address: str, generation: str = "") -> None:
        """The password was wrong: count it against the address and the account."""
        keys = self._keys(username, address, generation)
        for name in ("address", "account"):
            await self._incr(keys[name][0])

    async def succeeded(self, *, username: str, address: str, generation: str = "") -> None:
        """The password was right: this pair's count starts again (the others keep counting)."""
        key, _ = self._keys(username, address, generation)["pair"]
        await self._cache.delete(key)
        await self._fallback.delete(key)
