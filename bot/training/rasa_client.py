"""The Rasa server's HTTP API as the admin loop uses it: status, load a model, parse a text.

``GET /status`` names the loaded model (``model_file`` is the file name, ``model_id`` the id
written at training); ``PUT /model`` loads another model file from a path the server can read
(a shared ``MODELS_DIR``) — the server swaps the agent, conversations stay in the tracker store.
Every request carries ``?token=RASA_TOKEN``. Failures become :class:`bot.errors.UpstreamUnavailable`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.errors import UpstreamUnavailable

STATUS_TIMEOUT = 10.0
LOAD_TIMEOUT = 300.0  # loading a model takes a while on a busy machine


@dataclass(frozen=True)
class LiveModel:
    url: str
    model_file: str
    model_id: str | None


class RasaClient:
    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._transport = transport

    def _request(self, method: str, path: str, *, timeout: float, **kwargs: Any) -> httpx.Response:
        params = {"token": self.token} if self.token else {}
        try:
            with httpx.Client(transport=self._transport, timeout=timeout) as client:
                response = client.request(method, f"{self.url}{path}", params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"rasa {self.url}{path}: {exc.__class__.__name__}: {exc}",
                                      user_message="对话引擎暂时连不上，请稍后再试。") from exc
        if response.status_code >= 400:
            raise UpstreamUnavailable(f"rasa {method} {path}: HTTP {response.status_code} {response.text[:300]}",
                                      user_message="对话引擎拒绝了这次请求，请查看日志或稍后再试。")
        return response

    def status(self) -> LiveModel:
        data = self._request("GET", "/status", timeout=STATUS_TIMEOUT).json()
        model_file = str(data.get("model_file") or "")
        if not model_file:
            raise UpstreamUnavailable("rasa reports no loaded model", user_message="对话引擎还没有加载模型。")
        return LiveModel(self.url, model_file, data.get("model_id"))

    def load_model(self, path: str) -> None:
        self._request("PUT", "/model", timeout=LOAD_TIMEOUT, json={"model_file": str(path)})

    def parse(self, text: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/model/parse", timeout=STATUS_TIMEOUT, json={"text": text}).json()
        return result
