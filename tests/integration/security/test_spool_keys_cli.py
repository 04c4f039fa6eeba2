"""``python -m bot.security status`` / ``rotate-keys`` see the submission spool, too."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

import bot.security.__main__ as cli
from bot.cases.service import PetitionSubmission
from bot.cases.spool import SubmissionSpool
from bot.security.crypto import KeyRing, generate_key_entry, key_id_of
from bot.security.logmask import uninstall_pii_log_masking
from bot.settings import Settings
from tests.pii_keys import TEST_PII_KEYS, use_test_keys


@pytest.fixture
def isolated() -> Iterator[None]:
    yield
    uninstall_pii_log_masking()
    use_test_keys()


def test_status_and_rotation_cover_the_spool(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], isolated: None) -> None:
    directory = tmp_path / "spool"
    sub = PetitionSubmission(petitioner_name="裴思远", facts="积水", demand="排水", consent=True,
                             id_number="320102197804123573", sender_id="s", idempotency_key="rest:s:1.0")
    SubmissionSpool(directory, KeyRing.parse(TEST_PII_KEYS)).put(sub, now=datetime(2026, 11, 23, tzinfo=timezone.utc))
    new_keys = f"{generate_key_entry('k2')},{TEST_PII_KEYS}"
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(database_url=sqlite_url, pii_keys=new_keys,
                                                              submit_spool_dir=str(directory)))
    assert cli.main(["status"]) == 0
    assert "test1\t1\t(submission spool)" in capsys.readouterr().out

    assert cli.main(["rotate-keys", "--no-tracker"]) == 0
    assert "submission spool: 1 entry(ies) re-encrypted" in capsys.readouterr().out
    ring = KeyRing.parse(new_keys)
    [entry] = SubmissionSpool(directory, ring).entries()
    assert key_id_of(entry.payload) == "k2"
    assert SubmissionSpool(directory, ring).submission(entry) == sub
    assert cli.main(["status"]) == 0
    assert "k2\t1\t(submission spool)" in capsys.readouterr().out
