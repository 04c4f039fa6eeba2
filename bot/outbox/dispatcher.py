"""Delivery of the outbox: claim due messages, send each through its channel's Sender, record the outcome.

One round (:meth:`Dispatcher.run_once`):

1. **claim** (one write transaction): messages that are ``pending`` and due, or ``sending`` with an
   expired lease, oldest first, at most one per recipient (a later message waits until the earlier
   one is delivered, held or failed, so a citizen reads them in order). PostgreSQL locks the rows
   with ``FOR UPDATE SKIP LOCKED`` (two dispatchers never claim the same row); SQLite takes the
   write lock up front with ``BEGIN IMMEDIATE``. Claimed rows become ``sending``, ``attempts + 1``,
   and ``next_attempt_at`` = end of the lease.
2. **send** outside any transaction, concurrently, each bounded by ``send_timeout`` (a quarter of
   the lease, so a lease never runs out while its message is still being sent).
3. **finish** (one write transaction per message, only if the claim is still ours: state
   ``sending`` and the same ``attempts``): ``sent``; ``held`` (the attempt is given back);
   ``pending`` again after an exponential backoff with jitter; or ``failed`` after the last attempt
   or a permanent refusal (with a ``message_failed`` audit row on the case).

Rounds repeat until nothing is due. Senders are injected (``bot.channels.senders`` builds them),
so this module knows no chat API.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased, sessionmaker
from sqlalchemy.sql import Select

from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.cases.models import CaseEvent
from bot.errors import DeliveryFailed, DeliveryHeld, PetitionError, StorageUnavailable
from bot.outbox.models import Contact, OutboxMessage, OutboxState
from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000
LEASE_LOST_ERROR = "the dispatcher's lease ran out during the last attempt; delivery unknown"


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed message as the senders see it (a snapshot, no database session)."""

    id: int
    channel: str
    recipient: str
    text: str
    buttons: tuple[dict[str, str], ...] = ()
    kind: str = "notice"
    case_id: int | None = None
    #: this attempt's number (1 = first)
    attempt: int = 1
    #: pieces of a split text that an earlier attempt already delivered
    parts_sent: int = 0
    #: when the citizen last wrote to us in this channel (None: never / unknown)
    last_inbound_at: datetime | None = None
    #: when the dispatcher claimed it (the senders' "now", e.g. for WeChat's 48-hour window)
    now: datetime = field(default_factory=utcnow)


class Sender(Protocol):
    """Delivers one message in one channel.

    Returns when the channel accepted it. Raises :class:`bot.errors.DeliveryFailed` (``retryable``
    or not), or :class:`bot.errors.DeliveryHeld` when it cannot be pushed now. Any other exception
    counts as a retryable failure.
    """

    async def send(self, message: OutgoingMessage) -> None: ...


# ---- pure decisions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """Backoff schedule: attempt n failed -> wait ``base * 2**(n-1)`` (capped at ``max``) ± jitter."""

    base_seconds: float = 10.0
    max_seconds: float = 3600.0
    max_attempts: int = 10
    jitter: float = 0.2
    lease_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_seconds < 0 or self.max_seconds < self.base_seconds:
            raise ValueError("need 0 <= base_seconds <= max_seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            base_seconds=settings.outbox_retry_base_seconds,
            max_seconds=settings.outbox_retry_max_seconds,
            max_attempts=settings.outbox_max_attempts,
            lease_seconds=settings.outbox_lease_seconds,
        )

    @property
    def send_timeout(self) -> float:
        """How long one send may take; well inside the lease."""
        return self.lease_seconds / 4

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt, 1) - 1, 62)
        raw = min(self.max_seconds, self.base_seconds * (2.0 ** exponent))
        spread = raw * self.jitter
        return min(self.max_seconds, max(0.0, rng.uniform(raw - spread, raw + spread)))


@dataclass(frozen=True)
class Outcome:
    """What to write back for one attempt."""

    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    parts_sent: int
    #: when the attempt ended
    at: datetime
    sent_at: datetime | None = None


def _describe(error: BaseException) -> str:
    text = error.detail if isinstance(error, PetitionError) else f"{type(error).__name__}: {error}"
    return text[:MAX_ERROR_CHARS]


def decide(
    policy: RetryPolicy, message: OutgoingMessage, error: BaseException | None, now: datetime,
    rng: random.Random,
) -> Outcome:
    """The outcome of one attempt: sent, held, retried later, or failed for good."""
    parts = message.parts_sent
    if isinstance(error, DeliveryFailed) and error.parts_sent is not None:
        parts = max(parts, error.parts_sent)
    if error is None:
        return Outcome(OutboxState.SENT.value, message.attempt, now, None, parts, now, sent_at=now)
    if isinstance(error, DeliveryHeld):
        # not an attempt: the channel did not try; it waits for the citizen's next message
        return Outcome(OutboxState.HELD.value, max(0, message.attempt - 1), now, _describe(error), parts, now)
    retryable = error.retryable if isinstance(error, PetitionError) else True
    if not retryable or message.attempt >= policy.max_attempts:
        return Outcome(OutboxState.FAILED.value, message.attempt, now, _describe(error), parts, now)
    wait = policy.delay(message.attempt, rng)
    hint = error.retry_after if isinstance(error, DeliveryFailed) else None
    if hint is not None:
        wait = max(wait, min(float(hint), policy.max_seconds))
    return Outcome(OutboxState.PENDING.value, message.attempt, now + timedelta(seconds=wait), _describe(error),
                   parts, now)


def claim_query(now: datetime, limit: int) -> Select:
    """Due messages, oldest first, none with an earlier undelivered message to the same recipient."""
    earlier = aliased(OutboxMessage)
    waiting_before = exists().where(
        earlier.channel == OutboxMessage.channel,
        earlier.recipient == OutboxMessage.recipient,
        earlier.id < OutboxMessage.id,
        earlier.state.in_([OutboxState.PENDING.value, OutboxState.SENDING.value]),
    )
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.state.in_([OutboxState.PENDING.value, OutboxState.SENDING.value]),
            OutboxMessage.next_attempt_at <= now,
            ~waiting_before,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


# ---- database steps (synchronous; the dispatcher runs them in a thread) ---------------------------
def _fail_audit(session: Any, row: OutboxMessage, at: datetime, error: str | None) -> None:
    if row.case_id is not None:
        session.add(CaseEvent(case_id=row.case_id, at=at, actor="outbox", action="message_failed",
                              note=f"outbox #{row.id} ({row.kind}, {row.channel}): {error or ''}"[:2000]))


def claim_due(
    session_factory: sessionmaker, now: datetime, limit: int, policy: RetryPolicy,
) -> list[OutgoingMessage]:
    """Claim up to ``limit`` due messages for this dispatcher (see the module docstring)."""
    at = to_utc(now)
    with transaction(session_factory, write=True) as session:
        rows = list(session.execute(claim_query(at, limit)).scalars())
        claimed: list[OutboxMessage] = []
        for row in rows:
            if row.state == OutboxState.SENDING.value and row.attempts >= policy.max_attempts:
                row.state = OutboxState.FAILED.value
                row.last_error = LEASE_LOST_ERROR
                row.updated_at = at
                _fail_audit(session, row, at, LEASE_LOST_ERROR)
                log.warning("outbox #%s failed: %s", row.id, LEASE_LOST_ERROR)
                continue
            row.state = OutboxState.SENDING.value
            row.attempts += 1
            row.next_attempt_at = at + timedelta(seconds=policy.lease_seconds)
            row.updated_at = at
            claimed.append(row)
        windows: dict[tuple[str, str], datetime] = {}
        pairs = {(row.channel, row.recipient) for row in claimed}
        if pairs:
            for channel, sender_id, last in session.execute(
                select(Contact.channel, Contact.sender_id, Contact.last_inbound_at).where(
                    or_(*(and_(Contact.channel == c, Contact.sender_id == s) for c, s in pairs))
                )
            ):
                windows[(channel, sender_id)] = last
        return [
            OutgoingMessage(
                id=row.id, channel=row.channel, recipient=row.recipient, text=row.text,
                buttons=tuple(dict(b) for b in row.buttons or ()), kind=row.kind, case_id=row.case_id,
                attempt=row.attempts, parts_sent=row.parts_sent or 0,
                last_inbound_at=windows.get((row.channel, row.recipient)), now=at,
            )
            for row in claimed
        ]


def finish(session_factory: sessionmaker, message: OutgoingMessage, outcome: Outcome) -> bool:
    """Write an attempt's outcome; False when the claim is no longer ours (lease expired and reclaimed)."""
    with transaction(session_factory, write=True) as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.id == message.id).with_for_update()
        ).scalar_one_or_none()
        if row is None or row.state != OutboxState.SENDING.value or row.attempts != message.attempt:
            return False
        row.state = outcome.state
        row.attempts = outcome.attempts
        row.next_attempt_at = outcome.next_attempt_at
        row.last_error = outcome.last_error
        row.parts_sent = outcome.parts_sent
        row.updated_at = outcome.at
        if outcome.sent_at is not None:
            row.sent_at = outcome.sent_at
        if outcome.state == OutboxState.FAILED.value:
            _fail_audit(session, row, outcome.at, outcome.last_error)
        return True


# ---- the dispatcher ----------------------------------------------------------------------------
@dataclass
class DispatchReport:
    """Counts of one :meth:`Dispatcher.run_once`."""

    sent: int = 0
    held: int = 0
    retried: int = 0
    failed: int = 0
    #: outcomes not written because another dispatcher had reclaimed the message
    lost: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.held + self.retried + self.failed + self.lost


class Dispatcher:
    """Claims and delivers due outbox messages; see the module docstring."""

    def __init__(
        self,
        session_factory: sessionmaker,
        senders: Mapping[str, Sender],
        policy: RetryPolicy | None = None,
        *,
        batch_size: int = 20,
        max_rounds: int = 50,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.session_factory = session_factory
        self.senders = dict(senders)
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.max_rounds = max_rounds
        self.clock = clock
        self.rng = rng or random.Random()

    @classmethod
    def from_settings(
        cls, settings: Settings, session_factory: sessionmaker, senders: Mapping[str, Sender],
    ) -> Dispatcher:
        return cls(session_factory, senders, RetryPolicy.from_settings(settings),
                   batch_size=settings.outbox_batch_size)

    async def run_once(self, now: datetime | None = None) -> DispatchReport:
        """Deliver everything due at ``now`` (default: the clock), round after round."""
        report = DispatchReport()
        for _ in range(self.max_rounds):
            at = to_utc(now) if now is not None else self.clock()
            batch = await asyncio.to_thread(claim_due, self.session_factory, at, self.batch_size, self.policy)
            if not batch:
                break
            await asyncio.gather(*(self._deliver(message, now, report) for message in batch))
        return report

    async def _deliver(self, message: OutgoingMessage, now: datetime | None, report: DispatchReport) -> None:
        error: BaseException | None = None
        sender = self.senders.get(message.channel)
        try:
            if sender is None:
                raise DeliveryHeld(f"no sender for channel {message.channel!r} in this process")
            await asyncio.wait_for(sender.send(message), timeout=self.policy.send_timeout)
        except asyncio.TimeoutError:
            error = DeliveryFailed(f"the channel did not answer within {self.policy.send_timeout:.0f} s")
        except PetitionError as exc:
            error = exc
        except Exception as exc:  # a sender bug or an unexpected library error: retry, but say so
            log.exception("outbox #%s: unexpected error from the %s sender", message.id, message.channel)
            error = exc
        at = to_utc(now) if now is not None else self.clock()
        outcome = decide(self.policy, message, error, at, self.rng)
        try:
            written = await asyncio.to_thread(finish, self.session_factory, message, outcome)
        except Exception:
            log.exception("outbox #%s: could not record the outcome %s", message.id, outcome.state)
            return
        if not written:
            report.lost += 1
            log.warning("outbox #%s: claim lost before the outcome %s was written", message.id, outcome.state)
            return
        if outcome.state == OutboxState.SENT.value:
            report.sent += 1
            log.info("outbox #%s sent to %s:%s", message.id, message.channel, message.recipient)
        elif outcome.state == OutboxState.HELD.value:
            report.held += 1
            log.info("outbox #%s held: %s", message.id, outcome.last_error)
        elif outcome.state == OutboxState.PENDING.value:
            report.retried += 1
            log.warning("outbox #%s attempt %d failed, next at %s: %s", message.id, message.attempt,
                        outcome.next_attempt_at.isoformat(), outcome.last_error)
        else:
            report.failed += 1
            log.error("outbox #%s failed after %d attempt(s): %s", message.id, message.attempt, outcome.last_error)

    async def run_forever(self, stop_event: asyncio.Event, interval: float = 2.0) -> None:
        """Deliver until ``stop_event`` is set, looking for due messages every ``interval`` seconds."""
        while not stop_event.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except StorageUnavailable as exc:  # database down: say so briefly, keep going
                log.warning("outbox round skipped, %s; trying again in %.1f s", exc.detail, interval)
            except Exception:
                log.warning("outbox round failed; trying again in %.1f s", interval, exc_info=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=interval)

    async def aclose(self) -> None:
        """Close the senders that hold connections."""
        for sender in self.senders.values():
            close = getattr(sender, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:
                    log.warning("outbox: closing a sender failed", exc_info=True)
