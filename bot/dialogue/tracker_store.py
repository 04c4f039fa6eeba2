"""Rasa tracker store whose event data is encrypted at rest with the PII key ring.

``endpoints.yml``::

    tracker_store:
      type: bot.dialogue.tracker_store.EncryptedSQLTrackerStore
      dialect: sqlite            # or postgresql, with url/port/username/password/db
      db: var/rasa_tracker.db

It is Rasa 3.6's ``SQLTrackerStore`` (same ``events`` table, same queries, so a restarted
server resumes every conversation where it was) except that the ``data`` column — the
serialised event with the citizen's text, slot values and parse data — holds AES-GCM
ciphertext (``pii1:<kid>:...``). Rows written by the plain ``SQL`` store stay readable;
``python -m bot.security rotate-keys --tracker-url ...`` encrypts them. The other columns
(sender id, event type, timestamp, intent and action names) stay clear: Rasa queries them.

Per process it keeps the decrypted events of recent conversations (``bot.dialogue.event_cache``)
and the tracker it saved last for each: when the next load finds in the database the rows of
that save, and the tracker was not changed since (a message that failed before its save
changes it), the same tracker is returned instead of replaying every event again — with the
rows another Rasa process added after them applied to it, as a rebuild would. Both are bounded
by ``TRACKER_EVENT_CACHE``; the database stays the truth.

Creating the store is also the Rasa server's start hook: ID and phone numbers are masked in
its logs from then on, and it refuses to start without ``PII_KEYS``.
"""
from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.dialogue.event_cache import EventCache
from bot.dialogue.event_rows import EventRows
from bot.security.crypto import active_key_ring
from bot.security.startup import prepare_process
from bot.settings import get_settings

logger = logging.getLogger(__name__)


class EncryptedSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    """``SQLTrackerStore`` with the ``data`` column encrypted (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        prepare_process("rasa")
        super().__init__(*args, **kwargs)
        self.event_cache = EventCache(get_settings().tracker_event_cache)
        self.rows = EventRows(self.engine, self.SQLEvent.__table__, SessionStarted.type_name)
        #: sender → row ids of the current session as listed by the last load (used once by save)
        self._loaded_ids: dict[str, tuple[int, ...]] = {}
        #: sender → the tracker this process last saved, with its rows (see ``_reusable``)
        self._trackers: OrderedDict[str, tuple[tuple[int, ...], Any, DialogueStateTracker]] = OrderedDict()

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events (as the parent does, with sealed data).

        The events the store lacks are counted once and both streamed to the event broker and
        written (the parent counts them twice when a broker is configured)."""
        loaded_ids = self._loaded_ids.pop(tracker.sender_id, None)
        self._trackers.pop(tracker.sender_id, None)
        loaded = None if loaded_ids is None else len(loaded_ids)
        if loaded is not None and loaded <= len(tracker.events):
            # Loaded for this very message (under the conversation's lock, so no other process
            # wrote since): what the store lacks is what came after the loaded rows.
            new_events: list[Any] = list(itertools.islice(tracker.events, loaded, None))
        else:
            loaded_ids = None
            with self.session_scope() as session:
                new_events = list(self._additional_events(session, tracker))
        if not new_events:
            if loaded_ids is not None:
                self._keep(tracker, loaded_ids)
            return
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
        values: list[dict[str, Any]] = []
        plaintexts: list[str] = []
        ring = active_key_ring()
        for event in new_events:
            data = event.as_dict()
            plaintext = json.dumps(data, ensure_ascii=False)
            values.append({
                "sender_id": tracker.sender_id,
                "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"),
                "data": ring.encrypt(plaintext),
            })
            plaintexts.append(plaintext)
        rows = list(zip(self.rows.insert(values), plaintexts, strict=True))
        self.event_cache.add(tracker.sender_id, rows)
        if loaded_ids is not None:
            self._keep(tracker, (*loaded_ids, *(row_id for row_id, _ in rows)))
        logger.debug("tracker of %s stored (encrypted)", tracker.sender_id)

    def _keep(self, tracker: DialogueStateTracker, ids: tuple[int, ...]) -> None:
        """Remember the tracker just saved: its events are exactly the rows ``ids``."""
        if self.event_cache.max_conversations <= 0 or len(ids) != len(tracker.events):
            return
        self._trackers[tracker.sender_id] = (ids, self.domain, tracker)
        self._trackers.move_to_end(tracker.sender_id)
        while len(self._trackers) > self.event_cache.max_conversations:
            self._trackers.popitem(last=False)

    def _reusable(self, sender_id: str, ids: tuple[int, ...]) -> DialogueStateTracker | None:
        """The tracker saved here last, if its rows are the first of ``ids`` (the database may
        list newer rows after them, written by another process) and nothing was added to it
        since (a message that failed before its save leaves it longer)."""
        kept = self._trackers.get(sender_id)
        if kept is None:
            return None
        kept_ids, domain, tracker = kept
        if ids[: len(kept_ids)] != kept_ids or len(tracker.events) != len(kept_ids) or domain is not self.domain:
            self._trackers.pop(sender_id, None)
            return None
        return tracker

    def _texts(self, sender_id: str, ids: tuple[int, ...]) -> list[str]:
        """The plaintext of the rows ``ids``: from the event cache, the others read and decrypted."""
        missing = self.event_cache.missing(sender_id, ids)
        fetched: dict[int, str] = {}
        if missing:  # only rows this process has not decrypted yet are read again
            wanted = set(missing)
            ring = active_key_ring()
            fetched = {row_id: ring.reveal(data) for row_id, data in self.rows.data(sender_id, missing[0], missing[-1])
                       if row_id in wanted}
        return self.event_cache.assemble(sender_id, ids, fetched)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            with self.session_scope() as session:
                query = self._event_query(session, sender_id, fetch_events_from_all_sessions=True)
                ids = tuple(int(row_id) for row_id in session.execute(
                    query.with_entities(self.SQLEvent.id).statement).scalars())
        else:  # every message: one prepared statement, the same rows as Rasa's query
            ids = self.rows.session_ids(sender_id)
        kept = None
        if not fetch_events_from_all_sessions:
            self._loaded_ids[sender_id] = ids
            if len(self._loaded_ids) > 10_000:  # loads never followed by a save
                self._loaded_ids.clear()
            kept = self._reusable(sender_id, ids)
            if kept is not None and len(kept.events) == len(ids):
                return kept  # the same object Rasa would rebuild from these rows, without replaying them
        texts = self._texts(sender_id, ids)
        if kept is not None:
            # Another process added the newest rows: they are applied to the kept tracker, as a
            # rebuild would apply them after the older ones (DialogueStateTracker.from_dict).
            done = len(kept.events)
            for event in deserialise_events([json.loads(text) for text in texts[done:]]):
                kept.update(event)
            if len(kept.events) == len(ids):
                self._keep(kept, ids)
                return kept
            self._trackers.pop(sender_id, None)  # a row that does not read as an event: rebuild
        events = [json.loads(text) for text in texts]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None
