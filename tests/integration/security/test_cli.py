"""``python -m bot.security``: new-key, status, rotate-keys and anonymise on a SQLite file,
including the Rasa tracker database (plain ``events`` rows are encrypted, old conversations dropped)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cases.db import make_engine, make_session_factory, migrate
from bot.cases.service import do_change_status, get_case
from bot.security import __main__ as cli
from bot.security.crypto import KeyRing, generate_key_entry, install_key_ring, is_encrypted, key_id_of
from bot.security.logmask import uninstall_pii_log_masking
from bot.settings import PROJECT_ROOT, Settings
from tests.integration.security.helpers import NOW, PHONE, raw_row, submit
from tests.pii_keys import TEST_PII_KEYS, use_test_keys


@pytest.fixture
def isolated() -> Iterator[None]:
    yield
    uninstall_pii_log_masking()
    use_test_keys()


def use_settings(monkeypatch: pytest.MonkeyPatch, **kw: object) -> None:
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(**kw))  # type: ignore[arg-type]


def make_tracker(path: Path, rows: list[tuple[str, float, str]]) -> str:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), "
                             "type_name VARCHAR(255), timestamp FLOAT, intent_name VARCHAR(255), "
                             "action_name VARCHAR(255), data TEXT)"))
        for sender, ts, data in rows:
            conn.execute(sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, :d)"),
                         {"s": sender, "t": ts, "d": data})
    engine.dispose()
    return url


def tracker_rows(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return [(r.sender_id, r.data) for r in conn.execute(sa.text("SELECT sender_id, data FROM events ORDER BY id"))]
    finally:
        engine.dispose()


def test_new_key_prints_a_usable_entry(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, pii_keys="")
    assert cli.main(["new-key", "--kid", "k2030"]) == 0
    entry = capsys.readouterr().out.strip()
    assert KeyRing.parse(entry).current_kid == "k2030"


def test_rotate_keys_and_status(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str], isolated: None) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    factory = make_session_factory(engine)
    case_no = submit(factory)
    event = json.dumps({"event": "user", "text": f"我的电话{PHONE}"}, ensure_ascii=False)
    tracker_url = make_tracker(tmp_path / "tracker.db", [("c1", time.time(), event)])

    new_keys = f"{generate_key_entry('k2')},{TEST_PII_KEYS}"
    use_settings(monkeypatch, database_url=sqlite_url, pii_keys=new_keys)
    assert cli.main(["status"]) == 0
    assert "test1\t3" in capsys.readouterr().out

    assert cli.main(["rotate-keys", "--tracker-url", tracker_url]) == 0
    out = capsys.readouterr().out
    assert "3 value(s) re-encrypted" in out and "1 re-encrypted" in out
    raw = raw_row(factory, case_no)
    assert key_id_of(raw["phone"]) == "k2" and key_id_of(raw["id_number"]) == "k2"
    [(_, data)] = tracker_rows(tracker_url)
    assert is_encrypted(data) and PHONE not in data and key_id_of(data) == "k2"
    install_key_ring(KeyRing.parse(new_keys))
    assert json.loads(KeyRing.parse(new_keys).decrypt(data))["text"].endswith(PHONE)
    assert get_case(factory, case_no).phone == PHONE

    assert cli.main(["status"]) == 0
    assert capsys.readouterr().out.strip() == "k2\t3"
    engine.dispose()


def test_anonymise_uses_the_retention_setting(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], isolated: None) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    factory = make_session_factory(engine)
    old = submit(factory, now=NOW - timedelta(days=800))
    for step in ("accepted", "answered", "closed"):
        do_change_status(factory, old, step, actor="staff:li", now=NOW - timedelta(days=799))
    now = time.time()
    tracker_url = make_tracker(tmp_path / "tracker.db", [
        ("gone", now - 900 * 86400, "{}"), ("gone", now - 800 * 86400, "{}"), ("kept", now - 900 * 86400, "{}"),
        ("kept", now - 60, "{}"),
    ])
    use_settings(monkeypatch, database_url=sqlite_url, pii_keys=TEST_PII_KEYS, retention_days=730)
    assert cli.main(["anonymise", "--dry-run", "--tracker-url", tracker_url]) == 0
    assert f"would anonymise 1 ({old})" in capsys.readouterr().out
    assert get_case(factory, old).petitioner_name == "张三"
    assert len(tracker_rows(tracker_url)) == 4

    assert cli.main(["anonymise", "--tracker-url", tracker_url]) == 0
    out = capsys.readouterr().out
    assert f"anonymised 1 ({old})" in out and "1 inactive conversation(s) removed" in out
    assert get_case(factory, old).petitioner_name != "张三"
    assert {sender for sender, _ in tracker_rows(tracker_url)} == {"kept"}
    assert cli.main(["anonymise", "--older-than-days", "5000", "--no-tracker"]) == 0
    engine.dispose()


def test_refuses_to_run_without_a_key(sqlite_url: str) -> None:
    """A real process: the message tells the operator what to do."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": sqlite_url, "PII_KEYS": ""}
    result = subprocess.run([sys.executable, "-m", "bot.security", "rotate-keys", "--no-tracker"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "PII_KEYS" in result.stderr and "new-key" in result.stderr
