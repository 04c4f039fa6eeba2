"""Schemathesis against the back-office's own ``/openapi.json`` (in-process ASGI, SQLite).

Every operation is called with generated (valid and invalid) parameters and bodies as an
admin; the only check is that the server never answers 5xx. Operations that start real
model training or swap the live model are left out (they launch Rasa). Bounded examples
per operation keep the run within a couple of minutes.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from bot.backoffice.app import create_app
from bot.cases.db import make_engine, make_session_factory, migrate
from bot.settings import Settings

ADMIN_TOKEN = "fuzz-admin-token"
MAX_EXAMPLES = 20


@pytest.fixture
def api_schema(sqlite_url: str, tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    engine = make_engine(sqlite_url)
    migrate(engine)
    app = create_app(
        Settings(backoffice_token=ADMIN_TOKEN, database_url=sqlite_url, attachments_dir=str(tmp_path / "files"),
                 rasa_url="http://127.0.0.1:9"),
        make_session_factory(engine),
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    engine.dispose()


schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    path_regex=r"^/api/training/(runs|rollback|runs/\{run_id\}/promote)$", method="POST"
)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, checks=[not_a_server_error])
