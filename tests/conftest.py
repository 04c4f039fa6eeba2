"""Fixtures shared by every test directory."""
from tests.db_fixtures import (
    db_engine,
    db_url,
    pg_admin_engine,
    pg_url,
    session_factory,
    sqlite_url,
)
from tests.pii_keys import use_test_keys

use_test_keys()  # PII_KEYS for this process and the processes tests start
