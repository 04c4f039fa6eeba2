"""A stand-in for the WeChat server API (api.weixin.qq.com/cgi-bin/) and WeChat request builders.

``WeChatStandIn`` is an aiohttp server on a free local port that implements ``GET /cgi-bin/token``
and ``POST /cgi-bin/message/custom/send`` and records every call. The helpers build webhook
requests the way WeChat does: real XML, real signatures, AES envelopes made with wechatpy.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat_protocol import parse_xml, sign

APPID = "wx1234567890abcdef"
SECRET = "standin-secret"
TOKEN = "standin-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues
ACCOUNT = "gh_standin"


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class WeChatStandIn:
    appid: str = APPID
    secret: str = SECRET
    calls: list[Call] = field(default_factory=list)
    token_value: str = "ACCESS_TOKEN_1"
    base_url: str = ""
    _runner: web.AppRunner | None = None

    def sent(self) -> list[dict[str, Any]]:
        """Bodies of the customer-service messages received so far."""
        return [c.body for c in self.calls if c.path.endswith("/message/custom/send")]

    def token_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path.endswith("/token")]

    async def wait_sent(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.sent()) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.sent()

    async def _token(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.calls.append(Call(request.path, q))
        if q.get("grant_type") != "client_credential" or q.get("appid") != self.appid \
                or q.get("secret") != self.secret:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid or secret"})
        return web.json_response({"access_token": self.token_value, "expires_in": 7200})

    async def _custom_send(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        body = json.loads((await request.read()).decode("utf-8"))
        self.calls.append(Call(request.path, q, body))
        if q.get("access_token") != self.token_value:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/cgi-bin/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# ---- building WeChat requests ------------------------------------------------------------------
def message_xml(fields: dict[str, Any]) -> str:
    """A WeChat push XML: ``<xml><ToUserName><![CDATA[...]]></ToUserName>…</xml>``."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(openid: str, content: str, msg_id: int, create_time: int | None = None) -> str:
    return message_xml({
        "ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": create_time or int(time.time()),
        "MsgType": "text", "Content": content, "MsgId": msg_id,
    })


def event_xml(openid: str, event: str, key: str | None = None, create_time: int | None = None) -> str:
    fields: dict[str, Any] = {
        "ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": create_time or int(time.time()),
        "MsgType": "event", "Event": event,
    }
    if key is not None:
        fields["EventKey"] = key
    return message_xml(fields)


def voice_xml(openid: str, msg_id: int, recognition: str | None = None) -> str:
    fields: dict[str, Any] = {
        "ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()),
        "MsgType": "voice", "MediaId": "media-voice-1", "Format": "amr",
    }
    if recognition is not None:
        fields["Recognition"] = recognition
    fields["MsgId"] = msg_id
    return message_xml(fields)


def image_xml(openid: str, msg_id: int) -> str:
    return message_xml({
        "ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()),
        "MsgType": "image", "PicUrl": "http://127.0.0.1/pic.jpg", "MediaId": "media-img-1",
        "MsgId": msg_id,
    })


_nonce_counter = [0]


def _nonce() -> str:
    _nonce_counter[0] += 1
    return f"n{_nonce_counter[0]}x{int(time.time() * 1000) % 100000}"


def plain_request(xml: str, *, token: str = TOKEN, timestamp: int | None = None,
                  nonce: str | None = None) -> tuple[str, str]:
    """(query string, body) of a plain-mode push."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or _nonce()
    query = {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "o"}
    return urlencode(query), xml


def safe_request(xml: str, *, token: str = TOKEN, aes_key: str = AES_KEY, appid: str = APPID,
                 timestamp: int | None = None, nonce: str | None = None) -> tuple[str, str]:
    """(query string, body) of a safe-mode (AES) push, encrypted with wechatpy's crypto."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or _nonce()
    envelope = WeChatCrypto(token, aes_key, appid).encrypt_message(xml, nonce, ts)
    encrypt = parse_xml(envelope)["Encrypt"]
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    query = {
        "signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "o",
        "encrypt_type": "aes", "msg_signature": sign(token, ts, nonce, encrypt),
    }
    return urlencode(query), body


def decrypt_reply(xml: str, *, token: str = TOKEN, aes_key: str = AES_KEY, appid: str = APPID) -> str:
    """The plaintext of an encrypted passive reply (checks its MsgSignature too)."""
    outer = parse_xml(xml)
    return str(WeChatCrypto(token, aes_key, appid).decrypt_message(
        xml, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"],
    ))
