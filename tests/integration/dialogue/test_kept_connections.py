"""Speed fix 10: Rasa's endpoint calls keep their connections (real aiohttp server on loopback)."""
from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from bot.dialogue import kept_connections, speedups


class Recorder:
    """A stand-in action server: answers every POST with what it received and counts the TCP
    connections it saw (by the client's port)."""

    def __init__(self) -> None:
        self.peers: list[int] = []
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.append(peer[1] if peer else -1)
        self.bodies.append(json.loads(await request.text()))
        self.headers.append(dict(request.headers))
        return web.json_response({"events": [], "responses": []})


async def serve(recorder: Recorder, port: int = 0) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/webhook", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@pytest.fixture
async def fixed() -> AsyncIterator[None]:
    speedups.install()
    yield
    speedups.uninstall()
    await kept_connections.close_connector()  # no idle connection left behind with the test's loop
    assert not kept_connections._connectors.get(asyncio.get_running_loop())


@pytest.fixture
async def server() -> AsyncIterator[tuple[Recorder, int]]:
    recorder = Recorder()
    runner, port = await serve(recorder)
    yield recorder, port
    await runner.cleanup()


BODY = {"next_action": "validate_petition_form", "sender_id": "张三-1", "tracker": {
    "slots": {"phone": "13812345678", "people_count": 30, "missing": None, "confidence": 0.8731234567,
              "facts": "公司拖欠工资/三个月"}, "events": [{"event": "user", "timestamp": 1.79e9, "text": "确认提交"}]}}


async def test_calls_share_one_connection_and_carry_the_same_body(fixed: None, server: tuple[Recorder, int]) -> None:
    recorder, port = server
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Token": "t"},
                              basic_auth={"username": "rasa", "password": "pw"})
    for _ in range(3):
        assert await endpoint.request(json=BODY, method="post", timeout=5) == {"events": [], "responses": []}
    assert len(set(recorder.peers)) == 1  # one TCP connection for the three calls
    assert recorder.bodies == [BODY] * 3
    assert recorder.headers[0]["X-Token"] == "t" and recorder.headers[0]["Authorization"].startswith("Basic ")
    assert recorder.headers[0]["Content-Type"] == "application/json"


async def test_without_the_fix_every_call_opens_a_connection(server: tuple[Recorder, int]) -> None:
    recorder, port = server
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    for _ in range(3):
        await endpoint.request(json=BODY, method="post", timeout=5)
    assert len(set(recorder.peers)) == 3


async def test_an_idle_connection_is_let_go_before_the_server_would(
    fixed: None, server: tuple[Recorder, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept_connections, "KEEPALIVE_S", 0.2)
    kept_connections._connectors.clear()
    recorder, port = server
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    await endpoint.request(json=BODY, method="post", timeout=5)
    await asyncio.sleep(1.5)  # aiohttp sweeps idle connections about once a second
    await endpoint.request(json=BODY, method="post", timeout=5)
    assert len(set(recorder.peers)) == 2


async def test_a_restarted_server_is_reached_on_a_new_connection(fixed: None) -> None:
    first = Recorder()
    runner, port = await serve(first)
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    await endpoint.request(json=BODY, method="post", timeout=5)
    await runner.cleanup()  # the action server goes away (its connections with it) ...
    second = Recorder()
    runner, _ = await serve(second, port)  # ... and comes back on the same port
    try:
        assert await endpoint.request(json=BODY, method="post", timeout=5) == {"events": [], "responses": []}
        assert second.bodies == [BODY]
    finally:
        await runner.cleanup()


def test_bodies_are_the_same_json_and_what_ujson_refuses_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import ujson

    assert json.loads(kept_connections.dumps({"名": "张三", "x": [1, 2.5, None, True]})) == {
        "名": "张三", "x": [1, 2.5, None, True]}
    assert json.loads(kept_connections.dumps({"big": 2**70})) == {"big": 2**70}
    assert kept_connections.dumps({"u": "a/b"}) == '{"u":"a/b"}'  # ujson, slashes as they are
    assert math.isnan(json.loads(kept_connections.dumps({"v": math.nan}))["v"])  # as json.dumps writes it

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise OverflowError("too deep")

    monkeypatch.setattr(ujson, "dumps", refuse)
    assert kept_connections.dumps(BODY) == json.dumps(BODY)

