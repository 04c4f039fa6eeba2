"""Engine, sessions, transactions and migrations of the case store.

Nothing connects at import time: callers build an engine from a URL (``Settings.database_url``).

SQLite (embedded default): the parent directory is created, connections are pooled, WAL
journal and a busy timeout let the Rasa action server and the back-office share the file, and pysqlite's
own transaction handling is replaced by explicit ``BEGIN`` (SQLAlchemy's documented
recipe) so SAVEPOINTs work and ``transaction(..., write=True)`` can take the write lock
up front with ``BEGIN IMMEDIATE`` (no "database is locked" upgrade failures under WAL).
PostgreSQL: ``pool_pre_ping`` so a restarted server does not break the first request.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.errors import InvalidInput, StorageUnavailable

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
SQLITE_POOL_SIZE = 4        # connections kept open per engine on a SQLite file
SQLITE_POOL_OVERFLOW = 16   # more opened while many threads work at once, closed when returned
_WRITE_OPTION = "petition_write_transaction"

SessionFactory = sessionmaker


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL), configured as described above."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        if path is not None:
            # SQLAlchemy 1.4 gives a SQLite file NullPool: a new connection (file open, schema
            # parse, PRAGMAs) for every session — a third of a Rasa server's time under load.
            # Connections are reused instead (SQLAlchemy 2.0's default); WAL lets them coexist.
            kwargs.setdefault("poolclass", QueuePool)
            if kwargs["poolclass"] is QueuePool:
                kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
                kwargs.setdefault("max_overflow", SQLITE_POOL_OVERFLOW)
        engine = create_engine(parsed, future=True, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, wal=path is not None)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, future=True, **kwargs)
    return engine


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions in the 2.0 style; objects stay readable after commit."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def _is_connection_error(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return bool(getattr(exc, "connection_invalidated", False))


@contextmanager
def transaction(session_factory: sessionmaker, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    ``write=True`` marks a read-then-write transaction: on SQLite it starts with
    ``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of
    failing; PostgreSQL ignores it (use row locks there).
    Connection failures and lock timeouts become :class:`bot.errors.StorageUnavailable`.
    """
    session: Session = session_factory()
    try:
        try:
            if write:
                session.connection(execution_options={_WRITE_OPTION: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    except DBAPIError as exc:
        if _is_connection_error(exc):
            log.warning("case store unavailable: %s", exc.__class__.__name__, exc_info=True)
            raise StorageUnavailable(f"database unavailable: {exc.orig!r}") from exc
        if isinstance(exc, DataError):  # e.g. an id beyond the column's integer range
            raise InvalidInput(f"value out of range: {exc.orig!r}") from exc
        raise
    except OverflowError as exc:  # SQLite: a Python int wider than 64 bits (found by tests/fuzz)
        raise InvalidInput(f"value out of range: {exc}") from exc
    finally:
        session.close()


def check_database(engine_or_factory: Engine | sessionmaker) -> None:
    """``SELECT 1``; :class:`StorageUnavailable` when the database does not answer."""
    engine = engine_or_factory if isinstance(engine_or_factory, Engine) else engine_or_factory.kw["bind"]
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise StorageUnavailable(f"database unavailable: {exc.orig!r}") from exc


def alembic_config(url: str | None = None) -> Any:
    """A programmatic Alembic config (no alembic.ini): script_location is this package's dir."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url_or_engine: str | URL | Engine, revision: str = "heads") -> None:
    """Upgrade the schema to ``revision`` (default: every head; feature branches each own a migration branch off 0001). Safe to run on every start."""
    from alembic import command

    owns_engine = not isinstance(url_or_engine, Engine)
    engine = make_engine(url_or_engine) if not isinstance(url_or_engine, Engine) else url_or_engine
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # several replicas may start at once: one migrates, the others wait
                conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except DBAPIError as exc:
        if _is_connection_error(exc):
            raise StorageUnavailable(f"database unavailable: {exc.orig!r}") from exc
        raise
    finally:
        if owns_engine:
            engine.dispose()
