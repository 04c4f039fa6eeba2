"""A Redis ticket-lock store whose every change is atomic, for several Rasa servers.

Rasa's ``RedisLockStore`` reads a conversation's lock, changes it in Python and writes it back
with a plain ``SET``. Two servers doing that at the same moment lose one of the writes: a
finished ticket comes back to life, or two messages get the same ticket number. Measured here
with two servers and one conversation (``tests/e2e/test_two_rasa.py``): a resurrected ticket
keeps the queue blocked until it expires, and a waiting server whose own ticket expired in the
meantime waits for ever, because ``TicketLock.now_serving`` never equals a ticket that no longer
exists.

This store keeps Rasa's data format and key names (so the two can be swapped, and the default
``RedisLockStore`` can read what it wrote) and changes four things:

- issuing, updating and finishing tickets each run as one Lua script inside Redis: atomic, and
  one round trip instead of the several of a ``WATCH``/``GET``/``MULTI``/``SET``/``EXEC``
  transaction. The scripts do exactly what
  ``TicketLock`` does in Python, with the caller's clock, as Rasa's store uses it;
- a lock with no live ticket left is deleted in the same script, and every saved lock
  carries a Redis expiry a little after its last ticket's, so nothing stale stays behind;
- ``lock()`` — what Rasa's message handling uses — talks to Redis through redis-py's asyncio
  client, so the server's event loop serves other conversations while a round trip is under
  way (the synchronous client blocked it: ~13 % of a saturated server's loop); the synchronous
  methods stay for everything else;
- a server whose ticket has vanished stops waiting with ``LockError`` (the channel then gives the
  citizen the polite "please try again" answer) instead of hanging.

Configured in ``endpoints.yml`` as ``lock_store: {type: bot.dialogue.lock_store.AtomicRedisLockStore,
url: <redis host>, port: 6379, db: 1, key_prefix: ...}``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        self._scripts = _register(self.red)
        pool = self.red.connection_pool.connection_kwargs  # the asyncio client connects alike
        self._async_kwargs = {
            "host": pool.get("host", host or "localhost"), "port": pool.get("port", 6379),
            "db": pool.get("db", 0), "username": pool.get("username"), "password": pool.get("password"),
            "socket_timeout": pool.get("socket_timeout"),
        }
        if settings.get("use_ssl"):
            self._async_kwargs.update(
                ssl=True, ssl_certfile=settings.get("ssl_certfile"), ssl_keyfile=settings.get("ssl_keyfile"),
                ssl_ca_certs=settings.get("ssl_ca_certs"),
            )
        self._async: tuple[Any, Any, dict[str, Any]] | None = None  # (loop, client, scripts)

    # --- atomic primitives -------------------------------------------------------------------

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def _async_client(self) -> tuple[Any, dict[str, Any]]:
        """redis-py's asyncio client and scripts for the running event loop (one per loop)."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            from redis import asyncio as aioredis

            client = aioredis.Redis(**self._async_kwargs)
            self._async = (loop, client, _register(client))
        return self._async[1], self._async[2]

    # --- LockStore API -----------------------------------------------------------------------

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        """Rasa's ticket lock (same steps as ``LockStore.lock``) over the asyncio client."""
        client, scripts = self._async_client()
        key = self._key(conversation_id)
        try:
            ticket = int(await scripts["issue"](keys=[key], args=_issue_args(conversation_id, lock_lifetime)))
        except Exception as exc:  # the same contract as Rasa's store: callers expect LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        try:
            while True:
                raw = await client.get(key)
                lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                if lock is None or not _holds(lock, ticket):
                    raise LockError(
                        f"Ticket {ticket} for conversation '{conversation_id}' expired while waiting."
                    )
                if not lock.is_locked(ticket):
                    break
                await asyncio.sleep(wait_time_in_seconds)
                await scripts["update"](keys=[key], args=_update_args())
            yield lock
        finally:
            await scripts["finish"](keys=[key], args=_finish_args(ticket))

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            number = self._scripts["issue"](
                keys=[self._key(conversation_id)], args=_issue_args(conversation_id, lock_lifetime)
            )
        except Exception as exc:  # the same contract as Rasa's store: callers expect LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        return int(number)

    def update_lock(self, conversation_id: str) -> None:
        self._scripts["update"](keys=[self._key(conversation_id)], args=_update_args())

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._scripts["finish"](keys=[self._key(conversation_id)], args=_finish_args(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # finish_serving deletes the lock in the same script when no ticket is left;
        # a separate "is anyone waiting? then delete" step would race with a new ticket.
        self.finish_serving(conversation_id, ticket_number)


def _register(client: Any) -> dict[str, Any]:
    """The three scripts on a (sync or asyncio) client; registering sends nothing to Redis."""
    return {name: client.register_script(_LUA_COMMON + body) for name, body in _LUA.items()}


def _issue_args(conversation_id: str, lifetime: float) -> list[Any]:
    return [repr(time.time()), repr(float(lifetime)), EXPIRY_MARGIN_S, conversation_id]


def _update_args() -> list[Any]:
    return [repr(time.time()), EXPIRY_MARGIN_S]


def _finish_args(ticket: int) -> list[Any]:
    return [repr(time.time()), EXPIRY_MARGIN_S, int(ticket)]


def _holds(lock: TicketLock, ticket: int) -> bool:
    lock.remove_expired_tickets()
    return any(t.number == ticket for t in lock.tickets)


# Lua for the three changes. A lock is Rasa's JSON: {"conversation_id": ..., "tickets": [<ticket
# JSON string>, ...]}, a ticket {"number": n, "expires": unix seconds}. A ticket has expired when
# now > expires (``Ticket.has_expired``). A lock without tickets is deleted; a saved one expires
# in Redis EXPIRY_MARGIN_S seconds after its last ticket.
_LUA_COMMON = """
local function live_tickets(raw, now)
  local kept = {}
  if not raw then return kept end
  local lock = cjson.decode(raw)
  for _, text in ipairs(lock.tickets or {}) do
    local ticket = cjson.decode(text)
    if ticket.expires >= now then table.insert(kept, ticket) end
  end
  return kept, lock.conversation_id
end

local function save(key, conversation_id, tickets, now, margin)
  if #tickets == 0 then
    redis.call('DEL', key)
    return
  end
  local encoded, last = {}, now
  for i, ticket in ipairs(tickets) do
    encoded[i] = cjson.encode({number = ticket.number, expires = ticket.expires})
    if ticket.expires > last then last = ticket.expires end
  end
  local ttl = math.max(1, math.ceil(last - now) + margin)
  redis.call('SET', key, cjson.encode({conversation_id = conversation_id, tickets = encoded}), 'EX', ttl)
end
"""

_LUA = {
    # ARGV: now, lifetime, margin, conversation id -> the new ticket's number
    "issue": """
local now, lifetime, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tickets, conversation_id = live_tickets(redis.call('GET', KEYS[1]), now)
local number = 0
if #tickets > 0 then number = tickets[#tickets].number + 1 end
table.insert(tickets, {number = number, expires = now + lifetime})
save(KEYS[1], conversation_id or ARGV[4], tickets, now, margin)
return number
""",
    # ARGV: now, margin -> drops expired tickets
    "update": """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local now, margin = tonumber(ARGV[1]), tonumber(ARGV[2])
local tickets, conversation_id = live_tickets(raw, now)
save(KEYS[1], conversation_id, tickets, now, margin)
return #tickets
""",
    # ARGV: now, margin, ticket number -> drops that ticket and the expired ones
    "finish": """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local now, margin, done = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local live, conversation_id = live_tickets(raw, now)
local tickets = {}
for _, ticket in ipairs(live) do
  if ticket.number ~= done then table.insert(tickets, ticket) end
end
save(KEYS[1], conversation_id, tickets, now, margin)
return #tickets
""",
}
