"""A Redis ticket-lock store whose every change is atomic, for several Rasa servers.

Rasa's ``RedisLockStore`` reads a conversation's lock, changes it in Python and writes it back
with a plain ``SET``. Two servers doing that at the same moment lose one of the writes: a
finished ticket comes back to life, or two messages get the same ticket number. Measured here
with two servers and one conversation (``tests/e2e/test_two_rasa.py``): a resurrected ticket
keeps the queue blocked until it expires, and a waiting server whose own ticket expired in the
meantime waits for ever, because ``TicketLock.now_serving`` never equals a ticket that no longer
exists.

This store keeps Rasa's data format and key names (so the two can be swapped, and the default
``RedisLockStore`` can read what it wrote) and changes three things:

- issuing, updating and finishing tickets run as ``WATCH``/``MULTI`` transactions, retried when
  another server changed the lock in between;
- a lock with no live ticket left is deleted in the same transaction, and every saved lock
  carries a Redis expiry a little after its last ticket's, so nothing stale stays behind;
- a server whose ticket has vanished stops waiting with ``LockError`` (the channel then gives the
  citizen the polite "please try again" answer) instead of hanging.

Configured in ``endpoints.yml`` as ``lock_store: {type: bot.dialogue.lock_store.AtomicRedisLockStore,
url: <redis host>, port: 6379, db: 1, key_prefix: ...}``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

log = logging.getLogger(__name__)

#: seconds a saved lock outlives its last ticket in Redis
EXPIRY_MARGIN_S = 30
_CONNECTION_KEYS = (
    "port", "db", "username", "password", "use_ssl", "ssl_certfile", "ssl_keyfile", "ssl_ca_certs",
    "key_prefix", "socket_timeout",
)


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` with atomic read-modify-write of each conversation's lock."""

    def __init__(self, endpoint_config: Any = None, host: str | None = None, **kwargs: Any) -> None:
        settings: dict[str, Any] = {}
        if endpoint_config is not None:
            settings.update(getattr(endpoint_config, "kwargs", {}) or {})
            host = host or getattr(endpoint_config, "url", None)
        settings.update(kwargs)
        chosen = {key: settings[key] for key in _CONNECTION_KEYS if settings.get(key) is not None}
        super().__init__(host=host or "localhost", **chosen)

    # --- atomic primitives -------------------------------------------------------------------

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def _change(self, conversation_id: str, change: Callable[[TicketLock | None], TicketLock | None]) -> Any:
        """Apply ``change`` to the stored lock in one transaction; returns what ``change`` stored.

        ``change`` gets the current lock (``None`` when there is none) and returns the lock to
        save, or ``None`` to delete it. It may run several times when another server interferes.
        """
        key = self._key(conversation_id)
        outcome: dict[str, TicketLock | None] = {}

        def attempt(pipe: Any) -> None:
            raw = pipe.get(key)
            current = TicketLock.from_dict(json.loads(raw)) if raw else None
            result = change(current)
            pipe.multi()
            if result is None or not result.tickets:
                pipe.delete(key)
            else:
                pipe.set(key, result.dumps(), ex=_expiry_seconds(result))
            outcome["lock"] = result

        self.red.transaction(attempt, key)
        return outcome.get("lock")

    # --- LockStore API -----------------------------------------------------------------------

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        issued: dict[str, int] = {}

        def add_ticket(lock: TicketLock | None) -> TicketLock:
            lock = lock or self.create_lock(conversation_id)
            issued["ticket"] = lock.issue_ticket(lock_lifetime)
            return lock

        try:
            self._change(conversation_id, add_ticket)
        except Exception as exc:  # the same contract as Rasa's store: callers expect LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        return issued["ticket"]

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def drop_ticket(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, drop_ticket)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # finish_serving deletes the lock in the same transaction when no ticket is left;
        # a separate "is anyone waiting? then delete" step would race with a new ticket.
        self.finish_serving(conversation_id, ticket_number)

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if lock is None or not _holds(lock, ticket):
                raise LockError(
                    f"Ticket {ticket} for conversation '{conversation_id}' expired while waiting."
                )
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)


def _holds(lock: TicketLock, ticket: int) -> bool:
    lock.remove_expired_tickets()
    return any(t.number == ticket for t in lock.tickets)


def _expiry_seconds(lock: TicketLock) -> int:
    last = max((t.expires for t in lock.tickets), default=time.time())
    return max(1, math.ceil(last - time.time()) + EXPIRY_MARGIN_S)
