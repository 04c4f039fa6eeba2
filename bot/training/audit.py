"""Audit rows of the admin loop (``training_events``), written inside the caller's transaction."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.training.models import TrainingEvent


def record(
    session: Session, actor: str, action: str, *, at: datetime | None = None, inbox_id: int | None = None,
    run_id: int | None = None, model_file: str | None = None, note: str | dict[str, Any] | None = None,
) -> TrainingEvent:
    """Add one audit row to ``session`` (committed with the change it describes)."""
    text = json.dumps(note, ensure_ascii=False, default=str) if isinstance(note, dict) else note
    event = TrainingEvent(at=at or utcnow(), actor=(actor or "system")[:200], action=action, inbox_id=inbox_id,
                          run_id=run_id, model_file=model_file, note=text)
    session.add(event)
    return event


def do_record(session_factory: sessionmaker, actor: str, action: str, **kwargs: Any) -> TrainingEvent:
    """An audit row in a transaction of its own (for steps that change nothing else, e.g. a refusal)."""
    with transaction(session_factory, write=True) as session:
        return record(session, actor, action, **kwargs)


def recent_events(session_factory: sessionmaker, limit: int = 100, actions: Sequence[str] | None = None) -> list[TrainingEvent]:
    with transaction(session_factory) as session:
        query = select(TrainingEvent).order_by(TrainingEvent.id.desc()).limit(limit)
        if actions:
            query = query.where(TrainingEvent.action.in_(list(actions)))
        return list(session.execute(query).scalars())
