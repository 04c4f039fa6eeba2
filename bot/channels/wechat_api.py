"""The WeChat server API (customer-service messages) through wechatpy's WeChatClient.

The API base URL comes from ``Settings.wechat_api_base`` (a stand-in server in tests). wechatpy is
synchronous (requests); the async helpers run it in the default executor.

The access token is cached in-process (wechatpy's MemoryStorage, refreshed 60 s before it expires
and when WeChat answers 40001 / 42001). With several Rasa replicas each process fetches its own
token, and every fetch invalidates the others' after 5 minutes: the shared Redis cache
(``REDIS_URL``, wechatpy's RedisStorage as ``session=``) is the next step, see docs/channels.md.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from wechatpy import WeChatClient
from wechatpy.client.base import BaseWeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.settings import Settings

log = logging.getLogger(__name__)


class WeChatApiClient(WeChatClient):
    """WeChatClient whose API base (token endpoint included) is configurable."""

    def __init__(self, appid: str, secret: str, api_base: str, *, timeout: float = 10.0,
                 session: Any = None) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        base = api_base if api_base.endswith("/") else api_base + "/"
        # An instance attribute shadows the class constant; wechatpy's _request reads self.API_BASE_URL.
        self.API_BASE_URL = base
        self._token_lock = threading.Lock()

    def fetch_access_token(self) -> dict[str, Any]:
        """GET {base}token (wechatpy's own method hard-codes api.weixin.qq.com and has no timeout)."""
        res = self._http.get(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        if res.status_code >= 400:
            raise WeChatClientException(None, f"token endpoint answered HTTP {res.status_code}",
                                        client=self, request=res.request, response=res)
        result: dict[str, Any] = res.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""),
                                        client=self, request=res.request, response=res)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    @property
    def access_token(self) -> str:
        with self._token_lock:  # one fetch at a time, not one per waiting thread
            token = BaseWeChatClient.access_token.fget(self)  # type: ignore[attr-defined]
        return str(token)

    # ---- async wrappers --------------------------------------------------------------------
    async def send_text(self, openid: str, content: str) -> dict[str, Any]:
        """POST message/custom/send (text) without blocking the event loop."""
        loop = asyncio.get_running_loop()
        result: dict[str, Any] = await loop.run_in_executor(
            None, self.message.send_text, openid, content,
        )
        return result


def make_api_client(settings: Settings) -> WeChatApiClient | None:
    """The API client for ``settings``, or None when the app secret is not configured."""
    if not (settings.wechat_appid and settings.wechat_secret):
        return None
    return WeChatApiClient(settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base)
