"""One conversation, three ways in: the REST webhook, the Telegram webhook and the WeChat webhook.

Each adapter plays a citizen on one channel of the running stack (tests/rasa_fixtures.py, with the
channels enabled against the stand-ins of tests/channel_standins.py) and turns what the bot sent
back into the same comparable form: the turn as WeChat renders it (``render_messages``: texts
separated by a blank line, each button a line ``回复 n：title``), with case numbers replaced by
``<编号>``.

* REST: ``POST /webhooks/rest/webhook``; the answer is the turn.
* Telegram: real Update JSON (messages, ``callback_query`` for buttons, photos) to the webhook
  with the secret header; the turn is every ``sendMessage`` the stand-in received for the chat
  once Rasa's tracker shows the turn finished.
* WeChat: AES-encrypted XML pushes, signed like WeChat does; the turn is the (decrypted) passive
  reply plus any customer-service messages (slow turns, long texts), collected until they match
  the expected text or time runs out.
"""
from __future__ import annotations

import itertools
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.cases.attachment_models import AttachmentKind
from bot.cases.attachments import AttachmentPolicy, do_store_attachment
from bot.cases.db import make_engine, make_session_factory
from bot.channels.media import received_message
from bot.channels.wechat_protocol import parse_xml, render_messages
from bot.settings import Settings
from tests.channel_standins import TELEGRAM_SECRET
from tests.integration.channels.wechat_standin import (
    decrypt_reply,
    image_xml,
    plain_request,
    safe_request,
    text_xml,
)
from tests.rasa_fixtures import Stack

CASE_NO = re.compile(r"XF\d{8}-\d{4,}")
TURN_TIMEOUT = 90.0
_update_ids = itertools.count(random.randint(10_000, 10_000_000) * 100)
_msg_ids = itertools.count(int(time.time() * 1000) * 10)


def normalize(text: str) -> str:
    return CASE_NO.sub("<编号>", text)


@dataclass
class Turn:
    """What the bot answered in one turn."""

    text: str  # rendered like WeChat does, case numbers as they were sent
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (title, what to send back)

    @property
    def comparable(self) -> str:
        return normalize(self.text)


def rendered(messages: Sequence[Mapping[str, Any]]) -> Turn:
    text, choices = render_messages(messages)
    return Turn(text, [(c.title, c.payload) for c in choices])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def button_reply(turn: Turn | None, title: str) -> str:
    assert turn is not None, "no earlier turn to press a button of"
    for shown, value in turn.buttons:
        if shown == title:
            return value
    raise AssertionError(f"no button {title!r} in {turn.buttons}")


class ChannelAdapter:
    channel = ""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.last: dict[str, Turn] = {}
        self.user_messages: dict[str, int] = {}

    def new_user(self) -> str:
        raise NotImplementedError

    def say(self, user: str, text: str, expect: str | None = None) -> Turn:
        raise NotImplementedError

    def press(self, user: str, title: str, expect: str | None = None) -> Turn:
        raise NotImplementedError

    def attach_picture(self, user: str, data: bytes) -> str:
        """Send a picture as a citizen of this channel; the bot's confirmation."""
        raise NotImplementedError

    def turn_finished(self, user: str, count: int) -> bool:
        """Rasa has handled the citizen's ``count``-th message and waits for the next one."""
        try:
            events = self.stack.tracker(user).get("events") or []
        except httpx.HTTPError:
            return False
        users = sum(1 for e in events if e.get("event") == "user")
        last_action = next((e for e in reversed(events) if e.get("event") == "action"), None)
        tail_is_listen = bool(events) and events[-1].get("event") == "action" \
            and events[-1].get("name") == "action_listen"
        return users >= count and tail_is_listen and last_action is not None

    def _count(self, user: str) -> int:
        self.user_messages[user] = self.user_messages.get(user, 0) + 1
        return self.user_messages[user]


class RestAdapter(ChannelAdapter):
    channel = "rest"

    def new_user(self) -> str:
        return f"rest-{uuid.uuid4().hex[:12]}"

    def say(self, user: str, text: str, expect: str | None = None) -> Turn:
        turn = rendered(self.stack.send(user, text, timeout=TURN_TIMEOUT))
        self.last[user] = turn
        return turn

    def press(self, user: str, title: str, expect: str | None = None) -> Turn:
        return self.say(user, button_reply(self.last.get(user), title))

    def attach_picture(self, user: str, data: bytes) -> str:
        # The REST channel has no upload: store it through the service, as an upload form would.
        settings = Settings(database_url=self.stack.database_url, attachments_dir=str(attachments_dir(self.stack)))
        engine = make_engine(settings.database_url)
        try:
            row = do_store_attachment(make_session_factory(engine), AttachmentPolicy.from_settings(settings),
                                      channel="rest", sender_id=user, kind="image", data=data)
        finally:
            engine.dispose()
        return received_message(AttachmentKind(row.kind), row.filename, row.size)


class TelegramAdapter(ChannelAdapter):
    channel = "telegram"

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        assert stack.channels is not None, "the stack runs without chat channels"
        self.standin = stack.channels.telegram
        self.webhook = f"{stack.rasa_url}/webhooks/telegram/webhook"

    def new_user(self) -> str:
        return str(random.randint(100_000_000, 2_000_000_000))

    def _post(self, update: dict[str, Any]) -> None:
        resp = httpx.post(self.webhook, json=update, timeout=30,
                          headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        assert resp.status_code == 200 and resp.json().get("ok"), resp.text

    def _message(self, user: str, **fields: Any) -> dict[str, Any]:
        update_id = next(_update_ids)
        person = {"id": int(user), "is_bot": False, "first_name": "秀英", "language_code": "zh-hans"}
        return {"update_id": update_id, "message": {
            "message_id": update_id % 1_000_000, "date": int(time.time()),
            "chat": {"id": int(user), "type": "private", "first_name": "秀英"}, "from": person, **fields,
        }}

    def _sent_messages(self, user: str) -> list[dict[str, Any]]:
        messages = []
        for params in self.standin.sent(int(user)):
            markup = params.get("reply_markup") or {}
            buttons = [{"title": b["text"], "payload": b.get("callback_data", "")}
                       for row in markup.get("inline_keyboard", []) for b in row]
            messages.append({"text": params.get("text", ""), "buttons": buttons})
        return messages

    def _turn(self, user: str, update: dict[str, Any]) -> Turn:
        mark = len(self.standin.sent(int(user)))
        count = self._count(user)
        self._post(update)
        wait_until(lambda: self.turn_finished(user, count), TURN_TIMEOUT, f"telegram turn {count} of {user}")
        turn = rendered(self._sent_messages(user)[mark:])
        self.last[user] = turn
        return turn

    def say(self, user: str, text: str, expect: str | None = None) -> Turn:
        return self._turn(user, self._message(user, text=text))

    def press(self, user: str, title: str, expect: str | None = None) -> Turn:
        data = button_reply(self.last.get(user), title)
        update_id = next(_update_ids)
        person = {"id": int(user), "is_bot": False, "first_name": "秀英"}
        return self._turn(user, {"update_id": update_id, "callback_query": {
            "id": f"cbq-{update_id}", "chat_instance": "e2e", "data": data, "from": person,
            "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                        "chat": {"id": int(user), "type": "private"}},
        }})

    def message_turn(self, user: str, **fields: Any) -> Turn:
        """A message of any kind (contact, venue …) that reaches Rasa; the bot's turn."""
        return self._turn(user, self._message(user, **fields))

    def channel_reply(self, user: str, **fields: Any) -> str:
        """A message the channel answers itself (no Rasa turn); that answer."""
        mark = len(self.standin.sent(int(user)))
        self._post(self._message(user, **fields))
        wait_until(lambda: len(self.standin.sent(int(user))) > mark, TURN_TIMEOUT, "the channel's reply")
        return str(self.standin.sent(int(user))[mark]["text"])

    def attach_picture(self, user: str, data: bytes) -> str:
        file_id = f"photo-{uuid.uuid4().hex[:10]}"
        self.standin.add_file(file_id, data, f"photos/{file_id}.jpg")
        return self.channel_reply(user, photo=[
            {"file_id": f"thumb-{file_id}", "file_unique_id": "t", "width": 90, "height": 90, "file_size": 900},
            {"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 960, "file_size": len(data)},
        ])


class WeChatAdapter(ChannelAdapter):
    channel = "wechat"

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        assert stack.channels is not None, "the stack runs without chat channels"
        self.standin = stack.channels.wechat
        self.webhook = f"{stack.rasa_url}/webhooks/wechat/webhook"

    def new_user(self) -> str:
        return "o" + uuid.uuid4().hex[:27]

    def push(self, xml: str, *, encrypted: bool = True) -> str | None:
        """Post one push (safe mode, or plain); the passive reply's text (None: "success")."""
        query, body = safe_request(xml) if encrypted else plain_request(xml)
        resp = httpx.post(f"{self.webhook}?{query}", content=body.encode("utf-8"), timeout=30)
        assert resp.status_code == 200, resp.text
        if resp.text == "success":
            return None
        reply = parse_xml(decrypt_reply(resp.text) if encrypted else resp.text)
        assert reply["MsgType"] == "text", reply
        return str(reply["Content"])

    def xml_turn(self, user: str, xml: str, expect: str | None = None, *, encrypted: bool = True) -> Turn:
        """A push that reaches Rasa (text, menu click, recognised voice); the bot's turn."""
        mark = len(self.standin.sent_to(user))
        count = self._count(user)
        passive = self.push(xml, encrypted=encrypted)
        wait_until(lambda: self.turn_finished(user, count), TURN_TIMEOUT, f"wechat turn {count} of {user}")

        def collected() -> str:
            parts = ([passive] if passive is not None else []) + self.standin.sent_to(user)[mark:]
            return "\n".join(parts)

        # The rest of a long or slow turn comes as customer-service messages, just after the turn.
        deadline = time.monotonic() + 15
        if expect is None:
            def complete() -> bool:
                return passive is not None or len(self.standin.sent_to(user)) > mark
        else:
            def complete() -> bool:
                return normalize(collected()) == expect
        while not complete() and time.monotonic() < deadline:
            time.sleep(0.1)
        turn = Turn(collected())
        turn.buttons = [(m.group(2), m.group(1)) for m in re.finditer(r"^回复 (\d+)：(.+)$", turn.text, re.M)]
        self.last[user] = turn
        return turn

    def say(self, user: str, text: str, expect: str | None = None) -> Turn:
        return self.xml_turn(user, text_xml(user, text, next(_msg_ids)), expect)

    def press(self, user: str, title: str, expect: str | None = None) -> Turn:
        return self.say(user, button_reply(self.last.get(user), title), expect)

    def channel_reply(self, user: str, xml: str, *, encrypted: bool = True) -> str:
        """A push the channel answers itself (no Rasa turn); that answer."""
        mark = len(self.standin.sent_to(user))
        passive = self.push(xml, encrypted=encrypted)
        if passive is not None:
            return passive
        wait_until(lambda: len(self.standin.sent_to(user)) > mark, TURN_TIMEOUT, "the channel's reply")
        return self.standin.sent_to(user)[mark]

    def attach_picture(self, user: str, data: bytes) -> str:
        media_id = f"media-{uuid.uuid4().hex[:12]}"
        self.standin.add_media(media_id, data, "image/jpeg")
        return self.channel_reply(user, image_xml(user, next(_msg_ids), media_id=media_id))

    @staticmethod
    def next_msg_id() -> int:
        return next(_msg_ids)


ADAPTERS: tuple[type[ChannelAdapter], ...] = (RestAdapter, TelegramAdapter, WeChatAdapter)


def stored_attachments(stack: Stack, case_no: str) -> list[dict[str, Any]]:
    resp = stack.api("GET", f"/api/cases/{case_no}/attachments")
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def attachments_dir(stack: Stack) -> Path:
    assert stack.channels is not None
    return Path(stack.channels.env(stack.rasa_url, stack.workdir)["ATTACHMENTS_DIR"])
