"""bot.channels.gate.guarded: handoff diversion and the no-answer notice, with fakes (no I/O)."""
from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.gate import NO_ANSWER, guarded


class FakeContacts:
    def __init__(self, held: bool) -> None:
        self.held = held
        self.seen: list[tuple[str, str, str]] = []

    async def divert(self, channel: str, sender_id: str, text: str) -> bool:
        self.seen.append((channel, sender_id, text))
        return self.held


def message(output: CollectingOutputChannel, text: str = "你好") -> UserMessage:
    return UserMessage(text, output, "u1", input_channel="rest")


async def test_a_held_chat_never_reaches_the_bot() -> None:
    calls: list[str] = []

    async def bot(msg: UserMessage) -> None:
        calls.append(msg.text or "")

    contacts = FakeContacts(held=True)
    out = CollectingOutputChannel()
    await guarded(bot, contacts, "rest")(message(out))  # type: ignore[arg-type]
    assert calls == [] and out.messages == [] and contacts.seen == [("rest", "u1", "你好")]


async def test_answers_pass_through_unchanged() -> None:
    async def bot(msg: UserMessage) -> None:
        await msg.output_channel.send_text_message(msg.sender_id, "您好！")

    out = CollectingOutputChannel()
    await guarded(bot, FakeContacts(held=False), "rest")(message(out))  # type: ignore[arg-type]
    assert [m["text"] for m in out.messages] == ["您好！"]


async def test_silence_or_a_crash_gets_the_polite_notice() -> None:
    async def silent(_msg: UserMessage) -> None:
        return None

    async def broken(_msg: UserMessage) -> Any:
        raise RuntimeError("action server unreachable")

    for bot in (silent, broken):
        out = CollectingOutputChannel()
        await guarded(bot, FakeContacts(held=False), "telegram")(message(out))  # type: ignore[arg-type]
        assert [m["text"] for m in out.messages] == [NO_ANSWER]
