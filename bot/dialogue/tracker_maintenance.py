"""Maintenance of the Rasa tracker database without importing Rasa: key rotation, retention.

Works on the ``events`` table of Rasa's SQL tracker store (``id``, ``sender_id``,
``timestamp``, ``data``) through any SQLAlchemy URL (``sqlite:///var/rasa_tracker.db``,
``postgresql+psycopg2://...``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.security.crypto import KeyRing, rotate_value

log = logging.getLogger(__name__)

events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


@dataclass
class TrackerRotationReport:
    rows: int = 0
    rotated: int = 0


def rotate_tracker_events(engine: Engine, ring: KeyRing, *, batch_size: int = 1000) -> TrackerRotationReport:
    """Re-encrypt every event's data with the current key (plaintext rows get encrypted)."""
    report = TrackerRotationReport()
    if not sa.inspect(engine).has_table("events"):
        return report
    last_id = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(events.c.id, events.c.data).where(events.c.id > last_id).order_by(events.c.id).limit(batch_size)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            for row in rows:
                report.rows += 1
                new = rotate_value(ring, row.data)
                if new != row.data:
                    conn.execute(sa.update(events).where(events.c.id == row.id).values(data=new))
                    report.rotated += 1
    log.info("tracker key rotation: %d event(s), %d re-encrypted", report.rows, report.rotated)
    return report


def purge_inactive_conversations(engine: Engine, older_than_days: int, *, now: datetime | None = None) -> int:
    """Delete every event of the conversations whose latest event is older than the cutoff.

    Returns the number of conversations (sender ids) removed. A citizen who writes again
    later simply starts a new conversation.
    """
    if not sa.inspect(engine).has_table("events"):
        return 0
    at = now or datetime.now(timezone.utc)
    cutoff = (at - timedelta(days=older_than_days)).timestamp()
    latest = (
        sa.select(events.c.sender_id, sa.func.max(events.c.timestamp).label("last"))
        .group_by(events.c.sender_id)
        .subquery()
    )
    with engine.begin() as conn:
        stale = [row.sender_id for row in conn.execute(sa.select(latest.c.sender_id).where(latest.c.last < cutoff))]
        for start in range(0, len(stale), 500):
            conn.execute(sa.delete(events).where(events.c.sender_id.in_(stale[start:start + 500])))
    log.info("tracker retention: %d conversation(s) inactive since before %s removed", len(stale),
             datetime.fromtimestamp(cutoff, timezone.utc).isoformat())
    return len(stale)
