"""Database fixtures for the case store: SQLite (a file in tmp_path) and PostgreSQL.

PostgreSQL comes from ``TEST_POSTGRES_URL`` (default
``postgresql+psycopg2://postgres@127.0.0.1:5432/test``). Every test gets its own schema
(``search_path`` set through libpq ``options``), dropped afterwards, so parallel or
repeated runs never collide. An unreachable server FAILS the PostgreSQL tests (CI
provides one); set ``ALLOW_NO_POSTGRES=1`` to skip them on a machine without it.

``session_factory`` / ``db_url`` are parametrised over both backends.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

from bot.cases.db import make_engine, make_session_factory, migrate

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", "").strip() or DEFAULT_TEST_POSTGRES_URL


@contextmanager
def throwaway_postgres_database(prefix: str) -> Iterator[str]:
    """A whole new PostgreSQL database (for servers that take a URL, not a schema): its
    SQLAlchemy URL; dropped afterwards, sessions still on it included. Unreachable → failure."""
    base = make_url(postgres_base_url())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL not usable at {base.render_as_string()}: {exc}", pytrace=False)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine]:
    """An engine on the test database itself (creates and drops the per-test schemas)."""
    url = postgres_base_url()
    engine = make_engine(url, pool_size=2, max_overflow=2)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        message = (
            f"PostgreSQL not reachable at {make_url(url).render_as_string(hide_password=True)}: "
            f"{exc.__class__.__name__}: {exc}. Start it or set TEST_POSTGRES_URL; "
            "ALLOW_NO_POSTGRES=1 skips these tests instead."
        )
        if os.environ.get("ALLOW_NO_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin_engine: Engine) -> Iterator[str]:
    """URL of a fresh, empty schema in the test database (dropped after the test)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with pg_admin_engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_base_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_admin_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'cases.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Both backends: an empty SQLite file, then an empty PostgreSQL schema."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on ``db_url``."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker:
    return make_session_factory(db_engine)
