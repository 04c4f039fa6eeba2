"""WeChat delivery through the dispatcher and the stand-in WeChat API: 48-hour window, template,
retries, and the access token shared through the database or Redis."""
from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy.orm import sessionmaker

from bot.channels.senders import WeChatSender
from bot.channels.wechat_api import WeChatApiClient
from bot.outbox.dispatcher import Dispatcher, RetryPolicy
from bot.outbox.service import record_inbound
from bot.outbox.tokens import DbTokenStore, RedisTokenStore, TokenStore
from tests.integration.channels.wechat_standin import APPID, SECRET, WeChatStandIn
from tests.integration.outbox.helpers import NOW, queue, row

OPENID = "oOutbox000000000000000000001"
POLICY = RetryPolicy(base_seconds=10, max_seconds=600, max_attempts=3, jitter=0.0, lease_seconds=60)
REDIS_URL = "redis://127.0.0.1:6379/0"
BUTTONS = [{"title": "满意", "payload": "/rate_case{\"rating\": 1}"}, {"title": "不满意", "payload": "/rate_case{\"rating\": 0}"}]


@pytest.fixture
async def wx() -> AsyncIterator[WeChatStandIn]:
    server = WeChatStandIn()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def redis_store() -> Iterator[RedisTokenStore]:
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"test-outbox-{uuid.uuid4().hex[:8]}:"
    yield RedisTokenStore(client, prefix=prefix)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def sender(wx: WeChatStandIn, store: TokenStore, *, template_id: str = "", timeout: float = 2.0) -> WeChatSender:
    api = WeChatApiClient(APPID, SECRET, wx.base_url, timeout=timeout, token_store=store)
    return WeChatSender(api, template_id=template_id)


def dispatcher(session_factory: sessionmaker, wechat: WeChatSender) -> Dispatcher:
    return Dispatcher(session_factory, {"wechat": wechat}, POLICY, rng=random.Random(0))


async def test_held_outside_48_hours_then_delivered_at_the_next_message(
        session_factory: sessionmaker, wx: WeChatStandIn) -> None:
    record_inbound(session_factory, "wechat", OPENID, NOW - timedelta(hours=49))
    message_id = queue(session_factory, channel="wechat", recipient=OPENID, text="您的信访事项已办结，请评价。",
                       buttons=BUTTONS)
    d = dispatcher(session_factory, sender(wx, DbTokenStore(session_factory)))
    assert (await d.run_once(NOW)).held == 1
    stored = row(session_factory, message_id)
    assert (stored.state, stored.attempts) == ("held", 0) and "48 hours" in (stored.last_error or "")
    assert wx.sent() == [] and wx.token_calls() == []

    later = NOW + timedelta(days=3)
    inbound = record_inbound(session_factory, "wechat", OPENID, later)
    assert inbound.released == 1 and inbound.last_buttons == []
    report = await d.run_once(later)
    assert report.sent == 1
    assert wx.sent() == [{"touser": OPENID, "msgtype": "text", "text": {
        "content": "您的信访事项已办结，请评价。\n回复 1：满意\n回复 2：不满意"}}]
    assert row(session_factory, message_id).state == "sent"
    # the citizen answers: the channel learns the options of the message they are answering
    assert record_inbound(session_factory, "wechat", OPENID, later + timedelta(minutes=5)).last_buttons == BUTTONS


async def test_unknown_contact_is_held(session_factory: sessionmaker, wx: WeChatStandIn) -> None:
    message_id = queue(session_factory, channel="wechat", recipient=OPENID, text="您好")
    d = dispatcher(session_factory, sender(wx, DbTokenStore(session_factory)))
    assert (await d.run_once(NOW)).held == 1
    assert row(session_factory, message_id).state == "held" and wx.sent() == []


async def test_template_message_instead_of_holding(session_factory: sessionmaker, wx: WeChatStandIn) -> None:
    record_inbound(session_factory, "wechat", OPENID, NOW - timedelta(days=10))
    message_id = queue(session_factory, channel="wechat", recipient=OPENID, text="您的信访事项已受理。")
    d = dispatcher(session_factory, sender(wx, DbTokenStore(session_factory), template_id="TPL-STATUS"))
    assert (await d.run_once(NOW)).sent == 1
    assert wx.sent() == []
    [body] = wx.templates()
    assert body["touser"] == OPENID and body["template_id"] == "TPL-STATUS"
    assert body["data"] == {"content": {"value": "您的信访事项已受理。"}}
    assert row(session_factory, message_id).state == "sent"


async def test_wechat_says_window_closed_then_held(session_factory: sessionmaker, wx: WeChatStandIn) -> None:
    record_inbound(session_factory, "wechat", OPENID, NOW - timedelta(hours=1))
    message_id = queue(session_factory, channel="wechat", recipient=OPENID, text="您好")
    wx.fail_next(1, errcode=45015)
    d = dispatcher(session_factory, sender(wx, DbTokenStore(session_factory)))
    assert (await d.run_once(NOW)).held == 1
    assert "45015" in (row(session_factory, message_id).last_error or "")


@pytest.mark.parametrize("failure", [{"errcode": -1}, {"status": 500}, {"status": 200, "delay": 1.0}],
                         ids=["system-busy", "http-500", "timeout"])
async def test_retry_after_a_stand_in_failure(session_factory: sessionmaker, wx: WeChatStandIn,
                                              failure: dict[str, float]) -> None:
    record_inbound(session_factory, "wechat", OPENID, NOW - timedelta(hours=1))
    message_id = queue(session_factory, channel="wechat", recipient=OPENID, text="状态更新")
    wx.fail_next(1, **failure)  # type: ignore[arg-type]
    d = dispatcher(session_factory, sender(wx, DbTokenStore(session_factory), timeout=0.4))
    assert (await d.run_once(NOW)).retried == 1
    assert row(session_factory, message_id).state == "pending" and wx.sent() == []
    assert (await d.run_once(NOW + timedelta(minutes=1))).sent == 1
    assert [b["text"]["content"] for b in wx.sent()] == ["状态更新"]


async def test_invalid_openid_fails_at_once(session_factory: sessionmaker, wx: WeChatStandIn) -> None:
    record_inbound(session_factory, "wechat", OPENID, NOW - timedelta(hours=1))
    message_id = queue(session_factory, channel="wechat", recipient=OPENID, text="您好")
    wx.fail_next(1, errcode=40003)
    d = dispatcher(session_factory, sender(wx, DbTokenStore(session_factory)))
    assert (await d.run_once(NOW)).failed == 1
    assert row(session_factory, message_id).state == "failed"


# ---- the shared access token ------------------------------------------------------------------------
async def _shared_token_across_processes(session_factory: sessionmaker, wx: WeChatStandIn,
                                         stores: tuple[TokenStore, TokenStore]) -> None:
    """Two senders with their own clients and store objects (as two processes would have)."""
    record_inbound(session_factory, "wechat", OPENID, NOW - timedelta(hours=1))
    first, second = (dispatcher(session_factory, sender(wx, store)) for store in stores)
    queue(session_factory, channel="wechat", recipient=OPENID, text="一")
    assert (await first.run_once(NOW)).sent == 1
    queue(session_factory, channel="wechat", recipient=OPENID, text="二")
    assert (await second.run_once(NOW)).sent == 1
    assert len(wx.token_calls()) == 1  # the second process reused the first one's token
    assert stores[1].get(f"wechat:access_token:{APPID}") == wx.token_value

    wx.rotate_token()  # someone else refreshed: WeChat refuses the stored token once
    queue(session_factory, channel="wechat", recipient=OPENID, text="三")
    assert (await second.run_once(NOW)).sent == 1
    queue(session_factory, channel="wechat", recipient=OPENID, text="四")
    assert (await first.run_once(NOW)).sent == 1
    assert len(wx.token_calls()) == 2  # one refresh, shared
    assert [b["text"]["content"] for b in wx.sent()] == ["一", "二", "三", "四"]
    assert {c.query["access_token"] for c in wx.calls if c.path.endswith("custom/send")} == {
        "ACCESS_TOKEN_1", "ACCESS_TOKEN_2"}


async def test_token_shared_through_the_database(session_factory: sessionmaker, wx: WeChatStandIn) -> None:
    await _shared_token_across_processes(session_factory, wx,
                                         (DbTokenStore(session_factory), DbTokenStore(session_factory)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_token_shared_through_redis(session_factory: sessionmaker, wx: WeChatStandIn,
                                          redis_store: RedisTokenStore) -> None:
    other = RedisTokenStore(redis.Redis.from_url(REDIS_URL), prefix=redis_store.prefix)
    try:
        await _shared_token_across_processes(session_factory, wx, (redis_store, other))
    finally:
        other.client.close()
