"""A stand-in for the Rasa server's model API (GET /status, PUT /model) on a real HTTP port."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "fake-rasa-token"


@dataclass
class FakeRasa:
    url: str
    model_file: str
    loads: list[str] = field(default_factory=list)
    #: model file names whose PUT /model fails with HTTP 500
    fail_on: set[str] = field(default_factory=set)


def _handler(state: FakeRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _reply(self, status: int, body: object | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            token = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
            if token != TOKEN:
                self._reply(401, {"reason": "NotAuthenticated"})
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if urlsplit(self.path).path == "/status":
                self._reply(200, {"model_file": state.model_file, "model_id": f"id-{state.model_file}"})
            else:
                self._reply(404, {})

        def do_PUT(self) -> None:
            if not self._authorised():
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            path = str(body.get("model_file") or "")
            name = os.path.basename(path)
            if name in state.fail_on:
                self._reply(500, {"reason": "LoadingError"})
                return
            if not os.path.isfile(path):
                self._reply(400, {"reason": "BadRequest"})
                return
            state.loads.append(name)
            state.model_file = name
            self._reply(204)

    return Handler


@contextmanager
def fake_rasa(model_file: str) -> Iterator[FakeRasa]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state := FakeRasa("", model_file)))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
