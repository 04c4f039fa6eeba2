"""The submission spool on disk: encrypted, written atomically, one entry per idempotency key.

Files only (a temporary directory); storing the entries in a database is
tests/integration/cases/test_spool_drain.py.
"""
from __future__ import annotations

import json
import os
import random
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import bot.cases.spool as spool_module
from bot.cases.service import PetitionSubmission, SubmitResult
from bot.cases.spool import (
    STORED_LATER_HEAD,
    SpoolError,
    SpoolRetry,
    SubmissionSpool,
    key_hash,
    stored_later_message,
    submission_from_json,
    submission_to_json,
)
from bot.cases.status import CaseStatus
from bot.errors import InvalidInput
from bot.security.crypto import KeyRing, generate_key_entry, key_id_of
from tests.pii_keys import TEST_PII_KEYS

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
ID_NUMBER = "32010219780412357X"
PHONE = "13655501234"
NAME = "裴思远"


def submission(key: str = "rest:spool-unit:1700000000.5", **overrides: object) -> PetitionSubmission:
    base = PetitionSubmission(
        petitioner_name=NAME, id_number=ID_NUMBER, phone=PHONE, facts="小区地下车库长期积水，物业一直不处理。",
        demand="请督促物业排水并修好排水泵。", consent=True, petition_type="grievance", category="housing",
        people_count=2, channel="rest", sender_id="spool-unit", conversation_id="spool-unit", idempotency_key=key,
        transcript=[{"role": "citizen", "text": f"我的电话是{PHONE}"}], legal_channel_alternatives=["mediation"],
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.parse(TEST_PII_KEYS)


@pytest.fixture
def spool(tmp_path: Path, ring: KeyRing) -> SubmissionSpool:
    return SubmissionSpool(tmp_path / "spool", ring)


def test_an_entry_is_encrypted_and_private(spool: SubmissionSpool) -> None:
    assert spool.put(submission(), now=NOW) is True
    [path] = list(spool.directory.iterdir())
    raw = path.read_bytes()
    for secret in (ID_NUMBER, PHONE, NAME, "地下车库"):
        assert secret.encode("utf-8") not in raw
        assert json.dumps(secret).encode("ascii") not in raw  # not even \\u-escaped
    document = json.loads(raw)
    assert document["payload"].startswith("pii1:test1:")
    assert path.name == key_hash("rest:spool-unit:1700000000.5") + ".spool"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    [entry] = spool.entries()
    assert spool.submission(entry) == submission()  # every field comes back, transcript included
    assert (entry.spooled_at, entry.attempts, entry.next_attempt_at) == (NOW, 0, NOW)


def test_the_same_key_twice_is_one_entry_and_the_first_copy_wins(spool: SubmissionSpool) -> None:
    assert spool.put(submission(), now=NOW) is True
    assert spool.put(submission(facts="第二次点击时的内容"), now=NOW + timedelta(seconds=1)) is False
    assert len(spool) == 1
    [entry] = spool.entries()
    assert spool.submission(entry).facts == submission().facts and entry.spooled_at == NOW
    assert spool.put(submission(key="rest:spool-unit:1700000099.0"), now=NOW - timedelta(minutes=1)) is True
    assert len(spool) == 2
    assert [spool.submission(e).idempotency_key for e in spool.entries()] == [  # oldest first
        "rest:spool-unit:1700000099.0", "rest:spool-unit:1700000000.5",
    ]


def test_a_submission_without_a_key_is_refused(spool: SubmissionSpool) -> None:
    with pytest.raises(InvalidInput):
        spool.put(submission(key=""))
    assert len(spool) == 0


def test_a_writer_that_dies_before_the_rename_leaves_no_entry(spool: SubmissionSpool,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    def die(*_args: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "link", die)
    with pytest.raises(OSError, match="power cut"):
        spool.put(submission(), now=NOW)
    assert synced, "the data was fsynced before it would have been linked into place"
    assert spool.entries() == [] and len(spool) == 0
    assert list(spool.directory.iterdir()) == []  # the temporary file is cleaned up, too


def test_an_update_that_dies_keeps_the_previous_version(spool: SubmissionSpool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    spool.put(submission(), now=NOW)
    [entry] = spool.entries()
    before = entry.path.read_bytes()

    def die(*_args: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", die)
    with pytest.raises(OSError):
        spool.reschedule(entry, error="database unavailable", next_attempt_at=NOW + timedelta(minutes=1))
    assert entry.path.read_bytes() == before
    assert [p.name for p in spool.directory.iterdir()] == [entry.path.name]


def test_a_left_over_temporary_file_is_ignored_and_later_removed(spool: SubmissionSpool) -> None:
    spool.put(submission(), now=NOW)
    leftover = spool.directory / ".tmp-crashed"
    leftover.write_text("half", encoding="utf-8")
    assert len(spool.entries()) == 1
    assert spool.remove_stale_temp_files() == 0  # young: maybe a writer at work
    old = 2 * spool_module.STALE_TEMP_SECONDS
    os.utime(leftover, (leftover.stat().st_mtime - old, leftover.stat().st_mtime - old))
    assert spool.remove_stale_temp_files() == 1 and not leftover.exists()


def test_reschedule_counts_the_attempt_and_moves_to_the_current_key(tmp_path: Path, ring: KeyRing) -> None:
    old_spool = SubmissionSpool(tmp_path / "spool", ring)
    old_spool.put(submission(), now=NOW)
    rotated = KeyRing.parse(f"{generate_key_entry('k2')},{TEST_PII_KEYS}")
    spool = SubmissionSpool(tmp_path / "spool", rotated)
    [entry] = spool.entries()
    assert key_id_of(entry.payload) == "test1"
    later = NOW + timedelta(seconds=7)
    spool.reschedule(entry, error="database unavailable: refused", next_attempt_at=later)
    [again] = spool.entries()
    assert (again.attempts, again.next_attempt_at, again.last_error) == (1, later, "database unavailable: refused")
    assert again.spooled_at == NOW and key_id_of(again.payload) == "k2"
    assert spool.submission(again) == submission()


def test_rotate_and_key_ids(tmp_path: Path, ring: KeyRing) -> None:
    SubmissionSpool(tmp_path / "spool", ring).put(submission(), now=NOW)
    SubmissionSpool(tmp_path / "spool", ring).put(submission(key="telegram:9:1.0"), now=NOW)
    rotated = KeyRing.parse(f"{generate_key_entry('k2')},{TEST_PII_KEYS}")
    spool = SubmissionSpool(tmp_path / "spool", rotated)
    assert spool.key_ids() == {"test1": 2}
    assert spool.rotate() == 2 and spool.rotate() == 0
    assert spool.key_ids() == {"k2": 2}
    assert {spool.submission(e).idempotency_key for e in spool.entries()} == {
        "rest:spool-unit:1700000000.5", "telegram:9:1.0",
    }


def test_an_entry_of_another_key_ring_is_unreadable_but_untouched(tmp_path: Path, ring: KeyRing) -> None:
    foreign = SubmissionSpool(tmp_path / "spool", KeyRing.parse(generate_key_entry("other")))
    foreign.put(submission(), now=NOW)
    spool = SubmissionSpool(tmp_path / "spool", ring)
    [entry] = spool.entries()
    before = entry.path.read_bytes()
    with pytest.raises(SpoolError):
        spool.submission(entry)
    assert spool.rotate() == 0
    assert entry.path.read_bytes() == before


def test_entries_swapped_between_files_are_detected(spool: SubmissionSpool) -> None:
    spool.put(submission(key="a:1:1"), now=NOW)
    spool.put(submission(key="a:1:2"), now=NOW)
    first, second = (spool.path_for("a:1:1"), spool.path_for("a:1:2"))
    doc_first, doc_second = json.loads(first.read_text()), json.loads(second.read_text())
    doc_first["payload"] = doc_second["payload"]  # the key hash says a:1:1, the content is a:1:2
    first.write_text(json.dumps(doc_first), encoding="utf-8")
    entry = spool.read(first)
    with pytest.raises(SpoolError, match="another key"):
        spool.submission(entry)
    second.write_text("{not json", encoding="utf-8")
    assert [e.path for e in spool.entries()] == [first]  # the damaged one is skipped, not deleted
    assert second.exists()


def test_set_aside_moves_the_entry_out_of_the_queue(spool: SubmissionSpool) -> None:
    spool.put(submission(), now=NOW)
    [entry] = spool.entries()
    target = spool.set_aside(entry, "invalid_field: unknown category")
    assert spool.entries() == [] and target.parent.name == "failed"
    kept = json.loads(target.read_text())
    assert kept["last_error"] == "invalid_field: unknown category" and kept["payload"] == entry.payload


def test_submission_json_round_trip() -> None:
    sub = submission()
    assert submission_from_json(submission_to_json(sub)) == sub
    assert submission_from_json(json.dumps({"petitioner_name": "甲", "unknown_later_field": 1})).petitioner_name == "甲"
    with pytest.raises(SpoolError):
        submission_from_json("[1, 2]")


def test_retry_waits_double_up_to_the_cap() -> None:
    retry = SpoolRetry(base_seconds=5, max_seconds=60, jitter=0.2)
    rng = random.Random(7)
    for attempt, nominal in ((1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (30, 60)):
        wait = retry.delay(attempt, rng)
        assert nominal * 0.8 <= wait <= min(60, nominal * 1.2), (attempt, wait)
    with pytest.raises(ValueError):
        SpoolRetry(base_seconds=10, max_seconds=5)


def test_the_later_message_brings_the_number() -> None:
    due = datetime(2026, 12, 8, 15, 59, tzinfo=timezone.utc)
    created = SubmitResult("XF20261123-0004", due, CaseStatus.REGISTERED, created=True)
    text = stored_later_message(created)
    assert text.startswith(STORED_LATER_HEAD) and "登记成功" in text and "XF20261123-0004" in text
    assert "2026年12月8日前" in text
    # found already stored (an earlier drain died before deleting the file): still "registered"
    again = stored_later_message(replace(created, created=False), attachments=2)
    assert "登记成功" in again and "不会重复登记" not in again and "2个文件/图片" in again
    repeat = SubmitResult("XF20261101-0002", due, CaseStatus.ACCEPTED, created=False, duplicate_of="XF20261101-0002")
    assert "已经在办理" in stored_later_message(repeat) and "XF20261101-0002" in stored_later_message(repeat)


def test_settings_from_the_environment() -> None:
    from bot.settings import Settings

    settings = Settings.from_env({"SUBMIT_SPOOL_DIR": "/srv/spool", "SUBMIT_SPOOL_POLL_SECONDS": "2",
                                  "SUBMIT_SPOOL_RETRY_BASE_SECONDS": "3", "SUBMIT_SPOOL_RETRY_MAX_SECONDS": "90"})
    assert SubmissionSpool.from_settings(settings).directory == Path("/srv/spool")
    assert settings.submit_spool_poll_seconds == 2.0
    assert SpoolRetry.from_settings(settings) == SpoolRetry(base_seconds=3.0, max_seconds=90.0)
    assert Path(Settings.from_env({}).submit_spool_dir).parts[-2:] == ("var", "spool")
