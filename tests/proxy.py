"""A tiny round-robin HTTP reverse proxy (aiohttp) for tests: each request goes to the next backend.

    with RoundRobinProxy(["http://127.0.0.1:5005", "http://127.0.0.1:5006"]) as proxy:
        httpx.post(f"{proxy.url}/webhooks/rest/webhook", json=...)
        proxy.log  # [(backend index, method, path, sender or None), ...]

It runs its own event loop in a thread. Connections to the backends are not kept alive, so a
backend closing an idle connection can never fail a forwarded request.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
from types import TracebackType

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class RoundRobinProxy:
    def __init__(self, backends: list[str], host: str = "127.0.0.1") -> None:
        if not backends:
            raise ValueError("no backends")
        self.backends = [b.rstrip("/") for b in backends]
        self.host = host
        self.port = 0
        self.log: list[tuple[int, str, str, str | None]] = []
        self._lock = threading.Lock()
        self._next = itertools.cycle(range(len(self.backends)))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- forwarding ----------------------------------------------------------------------
    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self._lock:
            index = next(self._next)
            sender = None
            if body and request.content_type == "application/json":
                try:
                    data = json.loads(body)
                    sender = data.get("sender") if isinstance(data, dict) else None
                except ValueError:
                    pass
            self.log.append((index, request.method, request.path, sender))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = f"{self.backends[index]}{request.rel_url}"
        connector = TCPConnector(force_close=True)
        async with ClientSession(connector=connector, timeout=ClientTimeout(total=120)) as session:
            async with session.request(request.method, url, headers=headers, data=body,
                                       allow_redirects=False) as upstream:
                payload = await upstream.read()
                out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                return web.Response(status=upstream.status, body=payload, headers=out)

    # ---- lifecycle -----------------------------------------------------------------------
    async def _serve(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        server = site._server  # the bound port of port 0
        assert server is not None and server.sockets
        self.port = int(server.sockets[0].getsockname()[1])
        self._stopped = asyncio.Event()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            await runner.cleanup()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def start(self, timeout: float = 10.0) -> RoundRobinProxy:
        self._thread = threading.Thread(target=self._run, name="round-robin-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            raise RuntimeError(f"proxy did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop and self._stopped and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread:
            self._thread.join(timeout=10)

    def backends_of(self, sender: str) -> set[int]:
        with self._lock:
            return {index for index, _, _, who in self.log if who == sender}

    def __enter__(self) -> RoundRobinProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RoundRobinProxy({self.url} -> {self.backends})"

