"""The tracker store's per-message SQL, as prepared Core statements on Rasa's ``events`` table.

Rasa's ``SQLTrackerStore`` builds an ORM query (with its session-start subquery) for every load
and writes events through an ORM session (one object, one unit-of-work flush per event). Under
load that was a fifth of a Rasa server's time (docs/performance.md, fifth profile). The same
statements are built here once per store and run on a connection of Rasa's own engine:

- :meth:`EventRows.session_ids`: the row ids of the latest session — Rasa's ``_event_query``
  (rows from the last ``session_started`` on, or every row when there is none), ordered by id;
- :meth:`EventRows.data`: ids and stored data of a range of a conversation's rows;
- :meth:`EventRows.insert`: new rows in one transaction, their ids in the order given
  (PostgreSQL: one ``INSERT … RETURNING``; SQLite: one statement per row, ids from the cursor).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, or_, select


class EventRows:
    """Prepared statements on ``table`` (Rasa's ``events``) through ``engine``."""

    def __init__(self, engine: Any, table: Any, session_started: str) -> None:
        self.engine = engine
        self.table = table
        c = table.c
        start = (
            select(func.max(c.timestamp))
            .where(c.sender_id == bindparam("sender_id"), c.type_name == session_started)
            .scalar_subquery()
        )
        self._ids = (
            select(c.id)
            .where(c.sender_id == bindparam("sender_id"), or_(c.timestamp >= start, start.is_(None)))
            .order_by(c.id)
        )
        self._data = select(c.id, c.data).where(
            c.sender_id == bindparam("sender_id"), c.id >= bindparam("low"), c.id <= bindparam("high")
        )
        self._insert = table.insert()
        self._returning = engine.dialect.name == "postgresql"

    def session_ids(self, sender_id: str) -> tuple[int, ...]:
        with self.engine.connect() as conn:
            return tuple(int(row_id) for row_id in conn.execute(self._ids, {"sender_id": sender_id}).scalars())

    def data(self, sender_id: str, low: int, high: int) -> list[tuple[int, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(self._data, {"sender_id": sender_id, "low": low, "high": high})
            return [(int(row_id), data) for row_id, data in rows]

    def insert(self, values: Sequence[dict[str, Any]]) -> list[int]:
        """Insert the rows ``values`` (column → value) in one transaction; their ids, in order."""
        if not values:
            return []
        with self.engine.begin() as conn:
            if self._returning:
                # A sequence hands out the ids of one statement in the order of its rows.
                result = conn.execute(self.table.insert().values(list(values)).returning(self.table.c.id))
                return sorted(int(row_id) for row_id in result.scalars())
            return [int(conn.execute(self._insert, row).inserted_primary_key[0]) for row in values]
