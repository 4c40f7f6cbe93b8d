"""The outbound client: one access token shared by all processes through Redis, refreshed once when rejected."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.platform.cache import MemoryCache, RedisCache
from bot.wechat.api import WeChatApi
from tests.support.servers import standin


def client(base: str, cache: MemoryCache | RedisCache, http: httpx.AsyncClient) -> WeChatApi:
    return WeChatApi(base=base, app_id="wx00appealbotdemo", app_secret="s3cret", cache=cache, http=http)


@pytest.mark.redis
async def test_processes_share_one_token_and_refresh_it_once(redis_url: tuple[str, str]) -> None:
    url, prefix = redis_url
    with standin() as (api_url, api):
        # Two "processes": separate Redis connections and HTTP clients, one shared Redis.
        caches = [RedisCache(url, prefix=prefix), RedisCache(url, prefix=prefix)]
        https = [httpx.AsyncClient(timeout=5), httpx.AsyncClient(timeout=5)]
        apis = [client(api_url, cache, http) for cache, http in zip(caches, https, strict=True)]
        try:
            results = await asyncio.gather(*(apis[i % 2].send_text(openid=f"o_{i}", text="您好") for i in range(20)))
            assert all(result.ok for result in results)
            assert len(api.tokens_issued) == 1

            api.expired.add(api.tokens_issued[-1])  # WeChat now answers 42001 to that token
            results = await asyncio.gather(
                *(apis[i % 2].send_text(openid=f"o_{i}", text="再次您好") for i in range(20))
            )
            assert all(result.ok for result in results)
            # exactly one refresh: nobody invalidated the token another process had just fetched
            assert len(api.tokens_issued) == 2
            assert sum(len(items) for items in api.received.values()) == 40
        finally:
            for cache in caches:
                await cache.close()
            for http in https:
                await http.aclose()


async def test_token_replaced_elsewhere_is_refreshed_on_40001() -> None:
    with standin() as (api_url, api):
        async with httpx.AsyncClient(timeout=5) as http:
            wechat = client(api_url, MemoryCache(), http)
            assert (await wechat.send_text(openid="o_1", text="一")).ok
            api.issue_token()  # someone else (another deployment) fetched a token: ours is no longer the latest
            result = await wechat.send_text(openid="o_1", text="二")
            assert result.ok
            assert len(api.tokens_issued) == 3
            assert [item["text"]["content"] for item in api.received["o_1"]] == ["一", "二"]


async def test_errors_are_reported_not_raised() -> None:
    with standin() as (api_url, api):
        async with httpx.AsyncClient(timeout=5) as http:
            wechat = client(api_url, MemoryCache(), http)
            api.failures["o_far"] = 45015
            result = await wechat.send_text(openid="o_far", text="超过48小时")
            assert not result.ok and result.errcode == 45015 and result.permanent
            template = await wechat.send_template(openid="o_t", template_id="TPL1", data={"first": "您的诉求已受理"})
            assert template.ok and template.msgid is not None
