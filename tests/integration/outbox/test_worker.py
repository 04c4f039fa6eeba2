"""The dispatcher where it runs: in the back-office lifespan, and as ``python -m bot.outbox``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.cases.db import make_engine, make_session_factory, migrate
from bot.cases.deadlines import utcnow
from bot.settings import PROJECT_ROOT, Settings
from tests.integration.channels.telegram_standin import TelegramStandIn
from tests.integration.outbox.helpers import queue, row

TOKEN = "999:WORKER-test"


@pytest.fixture(scope="module")
def standin() -> Iterator[TelegramStandIn]:
    server = TelegramStandIn(TOKEN).start()
    yield server
    server.stop()


def _wait_state(session_factory: sessionmaker, message_id: int, state: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        current = row(session_factory, message_id).state
        if current == state or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def test_backoffice_lifespan_runs_the_dispatcher(session_factory: sessionmaker, standin: TelegramStandIn) -> None:
    standin.clear()
    settings = Settings(backoffice_token="t", telegram_token=TOKEN, telegram_api_base=standin.base_url,
                        outbox_poll_seconds=0.1)
    app = create_app(settings, session_factory)
    with TestClient(app):
        assert app.state.outbox_dispatcher is not None
        assert set(app.state.outbox_dispatcher.senders) == {"rest", "telegram"}
        message_id = queue(session_factory, channel="telegram", recipient="31", text="后台发出", at=utcnow())
        assert _wait_state(session_factory, message_id, "sent") == "sent"
    assert [m["text"] for m in standin.sent(31)] == ["后台发出"]


def test_backoffice_without_dispatch(session_factory: sessionmaker) -> None:
    app = create_app(Settings(backoffice_token="t", outbox_dispatch=False), session_factory)
    with TestClient(app):
        assert app.state.outbox_dispatcher is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_separate_worker_process(db_url: str, standin: TelegramStandIn, tmp_path: Path) -> None:
    standin.clear()
    engine = make_engine(db_url)
    migrate(engine)
    factory = make_session_factory(engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_", "REST_", "OUTBOX_"))}
    env.update(PYTHONPATH=str(PROJECT_ROOT), DATABASE_URL=db_url, TELEGRAM_TOKEN=TOKEN,
               TELEGRAM_API_BASE=standin.base_url, OUTBOX_POLL_SECONDS="0.2", REDIS_URL="")
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot.outbox"], env=env, cwd=PROJECT_ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        message_id = queue(factory, channel="telegram", recipient="32", text="独立进程发出", at=utcnow())
        assert _wait_state(factory, message_id, "sent", timeout=60) == "sent", log_path.read_text()
        assert [m["text"] for m in standin.sent(32)] == ["独立进程发出"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        engine.dispose()
