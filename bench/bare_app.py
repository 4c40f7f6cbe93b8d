"""The baseline: a bare FastAPI endpoint that answers every POST /wechat with a constant XML reply."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response

REPLY = (
    "<xml><ToUserName><![CDATA[o_bench]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName>"
    "<CreateTime>1795747200</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[您好]]></Content></xml>"
)

app = FastAPI()


@app.post("/wechat")
async def wechat() -> Response:
    return Response(REPLY, media_type="application/xml")
