"""The input channels' side of the outbox: record each inbound message, release held messages.

:class:`ContactRecorder` runs :func:`bot.outbox.service.record_inbound` (and, for REST without a
callback URL, :func:`bot.outbox.service.take_held_for_reply`) in a thread with a short timeout.
Most messages need neither a write nor those queries: one read first
(:func:`bot.handoff.service.glance_inbound`) tells whether a handoff is open, the contact is
fresh and anything waits, and the other steps of that message are skipped when not.
The database is opened on first use from ``DATABASE_URL``. A database that is down or slow
never breaks the chat: the call is skipped with a warning, and for ``retry_after`` seconds no
further attempt is made so that each message is not delayed by the timeout again.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import sessionmaker

from bot.channels.runtime import shared_session_factory
from bot.channels.wechat_protocol import ButtonMemory, render_messages
from bot.handoff.service import Diversion, InboundGlance, divert_citizen_message, glance_inbound
from bot.outbox.service import InboundRecord, record_inbound, take_held_for_reply
from bot.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 3.0
DEFAULT_RETRY_AFTER = 30.0
#: how long the one database read of an inbound message stands in for the handoff and outbox
#: checks of that same message (it is taken, then used within milliseconds)
GLANCE_TTL = 2.0
GLANCES_KEPT = 1000
#: WeChat events that open the 48-hour customer-service window (besides every user message)
WECHAT_WINDOW_EVENTS = frozenset({"subscribe", "subscribe_scan", "scan", "click", "scancode_push",
                                  "scancode_waitmsg"})


class ContactRecorder:
    """Contact tracking for one input channel instance (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._factory = session_factory
        self.timeout = timeout
        self.retry_after = retry_after
        self._clock = clock
        self._skip_until = 0.0
        #: (channel, sender) → (clock, glance) of the message being handled (see :meth:`inbound`)
        self._glances: dict[tuple[str, str], tuple[float, InboundGlance]] = {}

    def session_factory(self) -> sessionmaker:
        """The database of ``settings.database_url``, opened (and migrated) on first use."""
        if self._factory is None:
            self._factory = shared_session_factory(self.settings.database_url)
        return self._factory

    async def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        if self._clock() < self._skip_until:
            return None

        def run() -> T:
            return fn(self.session_factory(), *args, **kwargs)

        try:
            return await asyncio.wait_for(asyncio.to_thread(run), timeout=self.timeout)
        except asyncio.TimeoutError:
            log.warning("%s: the case database did not answer within %.1f s; chat goes on without it",
                        what, self.timeout)
        except Exception as exc:
            log.warning("%s failed (%s); chat goes on without it", what, exc.__class__.__name__, exc_info=True)
        self._skip_until = self._clock() + self.retry_after
        return None

    async def inbound(self, channel: str, sender_id: str, *, release_held: bool = True) -> InboundRecord | None:
        """Record one inbound message; None when the database could not be reached.

        One read (:func:`glance_inbound`) answers the usual message whole; its findings also
        spare :meth:`divert` and :meth:`take_held` their own reads for this message."""
        if not sender_id:
            return None
        glance: InboundGlance | None = await self._call("glance_inbound", glance_inbound, channel, sender_id,
                                                        release_held=release_held)
        if glance is not None:
            self._remember(channel, sender_id, glance)
            if glance.quiet is not None:
                return glance.quiet
        return await self._call("record_inbound", record_inbound, channel, sender_id,
                                release_held=release_held)

    def _remember(self, channel: str, sender_id: str, glance: InboundGlance) -> None:
        now = self._clock()
        if len(self._glances) >= GLANCES_KEPT:
            self._glances = {k: v for k, v in self._glances.items() if now - v[0] <= GLANCE_TTL}
        self._glances[(channel, sender_id)] = (now, glance)

    def _glance(self, channel: str, sender_id: str, *, last_use: bool = False) -> InboundGlance | None:
        """The glance of this sender's current message (taken by :meth:`inbound` moments ago)."""
        key = (channel, sender_id)
        found = self._glances.pop(key, None) if last_use else self._glances.get(key)
        if found is None or self._clock() - found[0] > GLANCE_TTL:
            return None
        return found[1]

    async def divert(self, channel: str, sender_id: str, text: str) -> bool:
        """True when a member of staff holds this chat: the message was stored for them and the bot
        must stay quiet (bot/handoff). A database that cannot be reached never silences the bot."""
        if not sender_id:
            return False
        glance = self._glance(channel, sender_id, last_use=True)  # the gate is the message's last step
        if glance is not None and not glance.handoff_open:
            return False
        found: Diversion | None = await self._call("divert_citizen_message", divert_citizen_message,
                                                   channel, sender_id, text or "")
        return bool(found and found.held)

    async def take_held(self, channel: str, recipient: str) -> list[dict[str, Any]]:
        """The recipient's waiting outbox messages as Rasa output dicts (now marked sent)."""
        glance = self._glance(channel, recipient)
        if glance is not None and not glance.waiting:
            return []
        rows = await self._call("take_held_for_reply", take_held_for_reply, channel, recipient)
        messages: list[dict[str, Any]] = []
        for row in rows or ():
            message: dict[str, Any] = {"recipient_id": recipient, "text": row.text}
            if row.buttons:
                message["buttons"] = [dict(b) for b in row.buttons]
            messages.append(message)
        return messages

    async def wechat_inbound(self, message: Any, memory: ButtonMemory) -> InboundRecord | None:
        """A WeChat message or event: record it when it opens the 48-hour window, and when the last
        thing the citizen saw was an outbox message with numbered options, let a reply "1" pick them."""
        kind = getattr(message, "type", "")
        event = (getattr(message, "event", "") or "").lower()
        if kind == "event" and event not in WECHAT_WINDOW_EVENTS:
            return None
        user = str(getattr(message, "source", "") or "")
        record = await self.inbound("wechat", user)
        if record is not None and record.last_buttons and not memory.choices(user):
            _, choices = render_messages([{"buttons": record.last_buttons}])
            memory.remember(user, choices)
        return record
