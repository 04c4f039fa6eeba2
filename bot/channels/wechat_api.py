"""The WeChat server API (customer-service messages) through wechatpy's WeChatClient.

The API base URL comes from ``Settings.wechat_api_base`` (a stand-in server in tests). wechatpy is
synchronous (requests); the async helpers run it in the default executor.

The access token lives in a shared :class:`bot.outbox.tokens.TokenStore` (Redis when ``REDIS_URL``
is set, else the ``shared_tokens`` table of the case database), so the Rasa replicas and the
outbox dispatcher use one token: it is fetched by one process at a time under the store's lock,
5 minutes before it expires, and again only when WeChat refuses the very token in the store
(40001 / 42001 / 40014). Every fetch at WeChat invalidates the previous token, which is why no
process keeps a private copy.
"""
from __future__ import annotations

import asyncio
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.outbox.tokens import MemoryTokenStore, TokenStore, get_or_refresh, make_token_store
from bot.settings import Settings

log = logging.getLogger(__name__)

_FILENAME = re.compile(r'filename="?([^";]+)"?')


@dataclass(frozen=True)
class MediaFile:
    """A downloaded media file: bytes and what the server said about them."""

    data: bytes
    content_type: str | None
    filename: str | None


class WeChatApiClient(WeChatClient):
    """WeChatClient whose API base (token endpoint included) is configurable."""

    def __init__(self, appid: str, secret: str, api_base: str, *, timeout: float = 10.0,
                 session: Any = None, token_store: TokenStore | None = None) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        base = api_base if api_base.endswith("/") else api_base + "/"
        # An instance attribute shadows the class constant; wechatpy's _request reads self.API_BASE_URL.
        self.API_BASE_URL = base
        self.tokens: TokenStore = token_store if token_store is not None else MemoryTokenStore()
        self._used = threading.local()  # the token the current thread's request carried

    @property
    def token_key(self) -> str:
        """The key of this AppID's token in the shared store."""
        return f"wechat:access_token:{self.appid}"

    def _request_token(self) -> tuple[str, float]:
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
        return str(result["access_token"]), float(result.get("expires_in", 7200))

    def fetch_access_token(self) -> dict[str, Any]:
        """A new token, unless another process already replaced the one WeChat just refused.

        wechatpy calls this after 40001 / 42001 / 40014 and then reads ``self.session``.
        """
        stale = getattr(self._used, "token", None) or self.tokens.get(self.token_key)
        token = get_or_refresh(self.tokens, self.token_key, self._request_token, stale=stale)
        self.session.set(self.access_token_key, token)
        return {"access_token": token}

    @property
    def access_token(self) -> str:
        return get_or_refresh(self.tokens, self.token_key, self._request_token)

    def _handle_result(self, res: Any, method: Any = None, url: Any = None, result_processor: Any = None,
                       **kwargs: Any) -> Any:
        params = kwargs.get("params")
        self._used.token = params.get("access_token") if isinstance(params, dict) else None
        return super()._handle_result(res, method, url, result_processor, **kwargs)

    # ---- async wrappers --------------------------------------------------------------------
    async def send_text(self, openid: str, content: str) -> dict[str, Any]:
        """POST message/custom/send (text) without blocking the event loop."""
        loop = asyncio.get_running_loop()
        result: dict[str, Any] = await loop.run_in_executor(
            None, self.message.send_text, openid, content,
        )
        return result

    async def download_media(self, media_id: str) -> MediaFile:
        """GET media/get (temporary media: images and voice of user messages, kept 3 days).

        Raises ``WeChatClientException`` when WeChat answers with an error (expired media id …);
        an expired access token is refreshed and the call retried by wechatpy.
        """
        loop = asyncio.get_running_loop()
        res = await loop.run_in_executor(None, self.media.download, media_id)
        if isinstance(res, dict):  # JSON without errcode: not a file
            raise WeChatClientException(None, f"media/get answered JSON for {media_id}", client=self)
        content_type = res.headers.get("Content-Type", "").split(";")[0].strip()
        match = _FILENAME.search(res.headers.get("Content-disposition", ""))
        return MediaFile(data=res.content, content_type=content_type or None,
                         filename=match.group(1) if match else None)


def make_api_client(settings: Settings, token_store: TokenStore | None = None) -> WeChatApiClient | None:
    """The API client for ``settings``, or None when the app secret is not configured.

    Without ``token_store`` the token is shared through Redis (``REDIS_URL``) or the case
    database (``DATABASE_URL``, opened on first use).
    """
    if not (settings.wechat_appid and settings.wechat_secret):
        return None
    if token_store is None:
        from bot.channels.runtime import shared_session_factory

        url = settings.database_url
        token_store = make_token_store(settings, lambda: shared_session_factory(url))
    return WeChatApiClient(settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base,
                           token_store=token_store)
