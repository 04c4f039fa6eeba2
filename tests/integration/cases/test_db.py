"""Engine, migrations and error translation of the case store."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from bot.cases.db import (
    alembic_config,
    check_database,
    make_engine,
    make_session_factory,
    migrate,
    transaction,
)
from bot.cases.models import Case
from bot.cases.schema import metadata
from bot.errors import StorageUnavailable

UNREACHABLE_PG = "postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2"


def test_migrations_match_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert set(inspect(conn).get_table_names()) >= {"cases", "case_events", "case_counter", "alembic_version"}


def test_migrate_is_idempotent_and_accepts_a_url(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            applied = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        assert applied == set(ScriptDirectory.from_config(alembic_config()).get_heads())
    finally:
        engine.dispose()


def test_sqlite_file_parent_is_created_and_wal_enabled(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "cases.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        assert path.exists()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


def test_transaction_rolls_back_on_error(session_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), transaction(session_factory, write=True) as s:
        s.execute(text("INSERT INTO case_counter (day, last_seq) VALUES ('20260101', 1)"))
        raise RuntimeError("boom")
    with transaction(session_factory) as s:
        assert s.execute(text("SELECT count(*) FROM case_counter")).scalar_one() == 0


def test_naive_datetimes_never_reach_the_database(session_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as info, transaction(session_factory) as s:
        s.add(Case(case_no="X", status="registered", channel="rest", petitioner_name="a", facts="b",
                   demand="c", consent=True, created_at=datetime(2026, 1, 1), updated_at=datetime(2026, 1, 1)))
        s.flush()
    assert "naive" in str(info.value)


def test_unreachable_database_is_storage_unavailable() -> None:
    engine = make_engine(UNREACHABLE_PG)
    factory = make_session_factory(engine)
    try:
        with pytest.raises(StorageUnavailable) as info:
            with transaction(factory) as s:
                s.execute(text("SELECT 1"))
        assert info.value.http_status == 503 and info.value.retryable
        with pytest.raises(StorageUnavailable):
            check_database(engine)
        with pytest.raises(StorageUnavailable):
            migrate(engine)
    finally:
        engine.dispose()
