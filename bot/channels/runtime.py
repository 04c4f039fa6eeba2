"""Process-wide resources of the chat channels (Rasa process), made on first use, never at import.

:func:`shared_session_factory` opens the case database named by ``DATABASE_URL`` once per
process and URL, migrated to the current schema, for contact tracking (``record_inbound``),
held messages and the shared WeChat token. A failure is not cached: the next call tries again.
"""
from __future__ import annotations

import threading

from sqlalchemy.orm import sessionmaker

from bot.cases.db import make_engine, make_session_factory, migrate

_factories: dict[str, sessionmaker] = {}
_lock = threading.Lock()


def shared_session_factory(database_url: str) -> sessionmaker:
    """The session factory of ``database_url`` for this process (raises StorageUnavailable when down)."""
    with _lock:
        factory = _factories.get(database_url)
        if factory is not None:
            return factory
        engine = make_engine(database_url)
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        factory = make_session_factory(engine)
        _factories[database_url] = factory
        return factory


def dispose_all() -> None:
    """Close every engine made here (tests, shutdown)."""
    with _lock:
        for factory in _factories.values():
            factory.kw["bind"].dispose()
        _factories.clear()
