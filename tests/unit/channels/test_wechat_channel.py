"""WeChatInput configuration and the API client, without network."""
from __future__ import annotations

import pytest

from bot.channels.wechat import WeChatInput, WeChatOutput
from bot.channels.wechat_api import WeChatApiClient, make_api_client
from bot.settings import Settings


def test_name_and_webhook_prefix() -> None:
    channel = WeChatInput(Settings())
    assert WeChatInput.name() == "wechat" and channel.url_prefix() == "wechat"


def test_disabled_without_token_or_appid() -> None:
    assert not WeChatInput(Settings(wechat_appid="wx1")).enabled
    assert not WeChatInput(Settings(wechat_token="t")).enabled
    channel = WeChatInput(Settings(wechat_token="t", wechat_appid="wx1"))
    assert channel.enabled and channel.crypto is None
    assert channel.get_output_channel() is None  # no secret: no customer-service API


def test_from_credentials_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_TOKEN", "t")
    monkeypatch.setenv("WECHAT_APPID", "wx1")
    monkeypatch.setenv("WECHAT_SECRET", "s")
    monkeypatch.setenv("WECHAT_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    monkeypatch.setenv("WECHAT_API_BASE", "http://127.0.0.1:1/cgi-bin")
    channel = WeChatInput.from_credentials({"reply_timeout": 0.5})
    assert channel.enabled and channel.reply_timeout == 0.5 and channel.crypto is not None
    assert isinstance(channel.get_output_channel(), WeChatOutput)
    assert channel.api is not None and channel.api.API_BASE_URL == "http://127.0.0.1:1/cgi-bin/"
    assert WeChatInput.from_credentials(None).reply_timeout == 4.0


def test_api_client_base_url_is_per_instance() -> None:
    client = WeChatApiClient("wx1", "s", "http://standin:9/cgi-bin/")
    assert client.API_BASE_URL == "http://standin:9/cgi-bin/"
    assert WeChatApiClient.API_BASE_URL == "https://api.weixin.qq.com/cgi-bin/"
    assert make_api_client(Settings(wechat_appid="wx1")) is None
