"""Fixtures shared by every test directory."""
from tests.db_fixtures import (
    db_engine,
    db_url,
    pg_admin_engine,
    pg_url,
    session_factory,
    sqlite_url,
)
