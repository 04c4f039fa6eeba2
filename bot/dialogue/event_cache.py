"""Decrypted tracker events kept in the Rasa process, so a message re-reads only new rows.

Every message makes Rasa load the whole session of the conversation from the tracker store:
with encrypted rows that meant fetching, decrypting and parsing every earlier event again (the
largest single cost per message, docs/performance.md). Rows of the ``events`` table never
change once written; they are only added, or deleted as a whole by retention. So the store asks
the database for the *ids* of the session's rows, takes the plaintext of the ids it has seen
from here, and fetches and decrypts only the others. The database stays the only truth: an id
the database no longer lists is never returned, and rows written by another Rasa process are
simply new ids.

Bounded: at most ``max_conversations`` conversations (least recently used dropped first), and a
conversation keeps only the ids of its latest load. The plaintext lives in process memory only,
as the trackers Rasa builds from it do.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

DEFAULT_MAX_CONVERSATIONS = 500


class EventCache:
    """sender id → {event row id → plaintext JSON of the event}."""

    def __init__(self, max_conversations: int = DEFAULT_MAX_CONVERSATIONS) -> None:
        self.max_conversations = max(0, int(max_conversations))
        self._by_sender: OrderedDict[str, dict[int, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_sender)

    def missing(self, sender_id: str, ids: Sequence[int]) -> list[int]:
        """The ids among ``ids`` whose plaintext is not held here."""
        known = self._by_sender.get(sender_id) or {}
        return [i for i in ids if i not in known]

    def assemble(self, sender_id: str, ids: Sequence[int], fetched: dict[int, str]) -> list[str]:
        """The plaintexts of ``ids`` in order, from ``fetched`` or from here; remembers exactly
        these ids for the sender (ids the database no longer lists are forgotten)."""
        known = self._by_sender.get(sender_id) or {}
        texts = [fetched[i] if i in fetched else known[i] for i in ids]
        self._store(sender_id, dict(zip(ids, texts, strict=True)))
        return texts

    def add(self, sender_id: str, rows: Iterable[tuple[int, str]]) -> None:
        """Rows this process has just written (id, plaintext) for a conversation held here."""
        known = self._by_sender.get(sender_id)
        if known is None:
            return  # not loaded here lately: the next load reads it whole anyway
        known.update(rows)
        self._by_sender.move_to_end(sender_id)

    def forget(self, sender_id: str) -> None:
        self._by_sender.pop(sender_id, None)

    def clear(self) -> None:
        self._by_sender.clear()

    def _store(self, sender_id: str, texts: dict[int, str]) -> None:
        if self.max_conversations == 0:
            return
        self._by_sender[sender_id] = texts
        self._by_sender.move_to_end(sender_id)
        while len(self._by_sender) > self.max_conversations:
            self._by_sender.popitem(last=False)
