"""A stand-in for the WeChat server API (api.weixin.qq.com/cgi-bin/) and WeChat request builders.

``WeChatStandIn`` is an aiohttp server on a free local port that implements ``GET /cgi-bin/token``,
``POST /cgi-bin/message/custom/send`` and ``POST /cgi-bin/message/template/send`` and records every
call; ``fail_next`` makes the next sends fail (HTTP status, WeChat errcode, or a slow answer). The helpers build webhook
requests the way WeChat does: real XML, real signatures, AES envelopes made with wechatpy.

Media: ``GET /cgi-bin/media/get`` serves files added with ``add_media`` (40007 for unknown ids).
``start()`` runs the server on the caller's event loop; ``start_in_thread()`` on a thread of its
own, for other processes (a real ``rasa run``).
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
    #: media_id -> (bytes, content type) served by media/get
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    _thread: Any = None
    _thread_loop: asyncio.AbstractEventLoop | None = None
    #: seconds media/get takes to answer (a slow download)
    media_delay: float = 0.0
    #: injected failures of the send endpoints: (http status, errcode, delay), one per call
    _failures: list[tuple[int, int, float]] = field(default_factory=list)
    #: send calls answered with an injected failure (not in ``sent()``)
    failed: list[Call] = field(default_factory=list)
    _token_counter: int = 1

    def sent(self) -> list[dict[str, Any]]:
        """Bodies of the customer-service messages received so far."""
        return [c.body for c in self.calls if c.path.endswith("/message/custom/send")]

    def templates(self) -> list[dict[str, Any]]:
        """Bodies of the template messages received so far."""
        return [c.body for c in self.calls if c.path.endswith("/message/template/send")]

    def fail_next(self, count: int = 1, *, status: int = 200, errcode: int = -1, delay: float = 0.0) -> None:
        """Answer the next ``count`` send calls with a failure: HTTP ``status`` (≠ 200), or HTTP 200
        with WeChat's ``errcode`` (-1 = system busy, 45015 = outside the 48-hour window …); after
        ``delay`` seconds (longer than the client's timeout: a timeout)."""
        self._failures.extend([(status, errcode, delay)] * count)

    def rotate_token(self) -> None:
        """Issue a new token on the next fetch and refuse the old one (40001), like a refresh
        made by someone else."""
        self._token_counter += 1
        self.token_value = f"ACCESS_TOKEN_{self._token_counter}"

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
        if q.get("access_token") != self.token_value:
            self.failed.append(Call(request.path, q, body))
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self._failures:
            status, errcode, delay = self._failures.pop(0)
            self.failed.append(Call(request.path, q, body))
            if delay:
                await asyncio.sleep(delay)
            if status != 200:
                return web.Response(status=status, text="injected failure")
            return web.json_response({"errcode": errcode, "errmsg": "injected failure"})
        self.calls.append(Call(request.path, q, body))
        if request.path.endswith("/template/send"):
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": len(self.templates())})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # ---- media ------------------------------------------------------------------------------
    def add_media(self, media_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        self.media[media_id] = (data, content_type)

    def media_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path.endswith("/media/get")]

    def sent_to(self, openid: str) -> list[str]:
        """Texts of the customer-service messages to one user."""
        return [b["text"]["content"] for b in self.sent() if b.get("touser") == openid and b.get("msgtype") == "text"]

    async def _media_get(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.calls.append(Call(request.path, q))
        if q.get("access_token") != self.token_value:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.media_delay:
            await asyncio.sleep(self.media_delay)
        found = self.media.get(q.get("media_id", ""))
        if found is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        data, content_type = found
        return web.Response(body=data, headers={
            "Content-Type": content_type,
            "Content-disposition": f'attachment; filename="{q["media_id"]}.jpg"',
        })

    # ---- running in a thread of its own ---------------------------------------------------------
    def start_in_thread(self) -> str:
        """Serve from a thread with its own event loop; the base URL."""
        import threading

        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._thread_loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="wechat-standin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("wechat stand-in did not start")
        return self.base_url

    def stop_thread(self) -> None:
        if self._thread_loop is not None:
            self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._custom_send)
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


def image_xml(openid: str, msg_id: int, media_id: str = "media-img-1") -> str:
    return message_xml({
        "ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()),
        "MsgType": "image", "PicUrl": "http://127.0.0.1/pic.jpg", "MediaId": media_id,
        "MsgId": msg_id,
    })


def location_xml(openid: str, msg_id: int, label: str | None = None) -> str:
    fields: dict[str, Any] = {
        "ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()),
        "MsgType": "location", "Location_X": "30.274085", "Location_Y": "120.155070", "Scale": 15,
    }
    if label is not None:
        fields["Label"] = label
    fields["MsgId"] = msg_id
    return message_xml(fields)


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
