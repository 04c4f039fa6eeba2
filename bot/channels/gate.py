"""What every input channel does around Rasa's ``on_new_message`` (``guarded``).

1. **Handoff.** When a member of staff holds the citizen's chat (bot/handoff), the message is
   stored for them and Rasa never sees it: the bot stays silent until the chat is released.
2. **No answer.** When Rasa answers nothing — the action server is down or failed (Rasa then
   logs the error and drops that action's events), or the turn raised — the citizen gets a polite
   "please send it again shortly" instead of silence. Slots filled earlier stay in the tracker,
   so the form continues where it was once the action server is back.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.channels.contacts import ContactRecorder

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

NO_ANSWER = (
    "抱歉，系统暂时没能处理您的这条消息，请您稍等一两分钟后再发一次。"
    "您之前填写的内容都已保存，不会丢失。"
)


class CountingOutput(OutputChannel):
    """Passes every bot message on to the real output channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    @classmethod
    def name(cls) -> str:
        return "counting"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)

    # direct calls of the specific senders are counted too (the inner channel's own send_response
    # calls its own methods, so nothing is counted twice)
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_text_message(recipient_id, text, **kwargs)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_text_with_buttons(recipient_id, text, buttons, **kwargs)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_image_url(recipient_id, image, **kwargs)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_attachment(recipient_id, attachment, **kwargs)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_custom_json(recipient_id, json_message, **kwargs)

    def __getattr__(self, item: str) -> Any:  # anything else (e.g. a channel's own helpers)
        return getattr(self.inner, item)


def guarded(on_new_message: OnNewMessage, contacts: ContactRecorder, channel: str) -> OnNewMessage:
    """``on_new_message`` with the handoff diversion and the no-answer notice (module docstring)."""

    async def handler(message: UserMessage) -> None:
        sender = str(message.sender_id or "")
        if await contacts.divert(channel, sender, message.text or ""):
            log.info("%s: message of %s relayed to the member of staff holding the chat", channel, sender)
            return
        counting = CountingOutput(message.output_channel)
        message.output_channel = counting
        try:
            await on_new_message(message)
        except Exception:
            log.exception("%s: the dialogue engine failed on a message of %s", channel, sender)
        if counting.sent == 0:
            log.warning("%s: no answer for %s (action server down?); sent the retry notice", channel, sender)
            try:
                await counting.inner.send_text_message(sender, NO_ANSWER)
            except Exception:
                log.exception("%s: could not send the retry notice to %s", channel, sender)

    return handler
