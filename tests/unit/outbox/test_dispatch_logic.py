"""The dispatcher's pure parts: backoff schedule, outcome of an attempt, the claim statement."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from bot.errors import DeliveryFailed, DeliveryHeld, DeliveryRejected, StorageUnavailable
from bot.outbox.dispatcher import OutgoingMessage, RetryPolicy, claim_query, decide
from bot.settings import Settings

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def _message(attempt: int = 1, parts_sent: int = 0) -> OutgoingMessage:
    return OutgoingMessage(id=7, channel="telegram", recipient="42", text="您好", attempt=attempt,
                           parts_sent=parts_sent, now=NOW)


# ---- backoff -------------------------------------------------------------------------------------
def test_backoff_doubles_with_jitter_inside_bounds_and_is_capped() -> None:
    policy = RetryPolicy(base_seconds=10, max_seconds=300, jitter=0.2)
    rng = random.Random(1)
    for attempt, nominal in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 160)]:
        for _ in range(50):
            delay = policy.delay(attempt, rng)
            assert nominal * 0.8 <= delay <= nominal * 1.2
    assert all(policy.delay(attempt, rng) <= 300 for attempt in range(6, 80))
    assert min(policy.delay(12, rng) for _ in range(50)) >= 300 * 0.8


def test_jitter_spreads_retries() -> None:
    policy = RetryPolicy(base_seconds=60, max_seconds=3600, jitter=0.2)
    rng = random.Random(3)
    assert len({round(policy.delay(2, rng), 3) for _ in range(20)}) > 10
    assert RetryPolicy(base_seconds=60, jitter=0.0).delay(2, rng) == 120


def test_policy_rejects_nonsense_and_reads_settings() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_seconds=100, max_seconds=10)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
    settings = Settings.from_env({"OUTBOX_MAX_ATTEMPTS": "4", "OUTBOX_RETRY_BASE_SECONDS": "5",
                                  "OUTBOX_RETRY_MAX_SECONDS": "50", "OUTBOX_LEASE_SECONDS": "40"})
    policy = RetryPolicy.from_settings(settings)
    assert (policy.max_attempts, policy.base_seconds, policy.max_seconds, policy.lease_seconds) == (4, 5, 50, 40)
    assert policy.send_timeout == 10
    assert Settings.from_env({}).outbox_dispatch is True
    assert Settings.from_env({"OUTBOX_DISPATCH": "0"}).outbox_dispatch is False


# ---- outcome of one attempt -------------------------------------------------------------------------
def test_success_is_sent() -> None:
    outcome = decide(RetryPolicy(), _message(), None, NOW, random.Random(0))
    assert (outcome.state, outcome.sent_at, outcome.attempts, outcome.last_error) == ("sent", NOW, 1, None)


def test_retryable_error_is_rescheduled_with_backoff() -> None:
    policy = RetryPolicy(base_seconds=10, jitter=0.0)
    outcome = decide(policy, _message(attempt=3), DeliveryFailed("HTTP 500"), NOW, random.Random(0))
    assert outcome.state == "pending"
    assert outcome.next_attempt_at == NOW + timedelta(seconds=40)
    assert outcome.last_error == "HTTP 500" and outcome.attempts == 3


def test_unexpected_exceptions_and_storage_errors_are_retried() -> None:
    policy = RetryPolicy(jitter=0.0)
    assert decide(policy, _message(), RuntimeError("bug"), NOW, random.Random(0)).state == "pending"
    assert decide(policy, _message(), StorageUnavailable("db"), NOW, random.Random(0)).state == "pending"


def test_retry_after_hint_wins_when_longer() -> None:
    policy = RetryPolicy(base_seconds=1, jitter=0.0)
    outcome = decide(policy, _message(), DeliveryFailed("429", retry_after=30), NOW, random.Random(0))
    assert outcome.next_attempt_at == NOW + timedelta(seconds=30)


def test_last_attempt_and_permanent_errors_fail() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert decide(policy, _message(attempt=3), DeliveryFailed("500"), NOW, random.Random(0)).state == "failed"
    assert decide(policy, _message(attempt=2), DeliveryFailed("500"), NOW, random.Random(0)).state == "pending"
    rejected = decide(policy, _message(attempt=1), DeliveryRejected("blocked"), NOW, random.Random(0))
    assert (rejected.state, rejected.last_error) == ("failed", "blocked")
    not_retryable = DeliveryFailed("bad request", retryable=False)
    assert decide(policy, _message(), not_retryable, NOW, random.Random(0)).state == "failed"


def test_hold_gives_the_attempt_back() -> None:
    outcome = decide(RetryPolicy(max_attempts=2), _message(attempt=2), DeliveryHeld("48 h"), NOW, random.Random(0))
    assert (outcome.state, outcome.attempts, outcome.last_error) == ("held", 1, "48 h")


def test_parts_already_sent_are_remembered() -> None:
    error = DeliveryFailed("timeout", parts_sent=2)
    assert decide(RetryPolicy(), _message(parts_sent=1), error, NOW, random.Random(0)).parts_sent == 2
    assert decide(RetryPolicy(), _message(parts_sent=3), DeliveryFailed("x"), NOW, random.Random(0)).parts_sent == 3


def test_long_errors_are_cut() -> None:
    outcome = decide(RetryPolicy(), _message(), DeliveryFailed("x" * 5000), NOW, random.Random(0))
    assert outcome.last_error is not None and len(outcome.last_error) == 1000


# ---- the claim statement ----------------------------------------------------------------------------
def test_claim_locks_rows_skipping_locked_ones_on_postgresql() -> None:
    sql = str(claim_query(NOW, 5).compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE SKIP LOCKED" in sql
    assert "LIMIT" in sql and "ORDER BY outbox.id" in sql
    assert "NOT (EXISTS" in sql  # an earlier undelivered message to the same recipient blocks a later one


def test_claim_on_sqlite_relies_on_begin_immediate() -> None:
    sql = str(claim_query(NOW, 5).compile(dialect=sqlite.dialect()))
    assert "FOR UPDATE" not in sql
    assert "outbox.state IN" in sql and "outbox.next_attempt_at <=" in sql
