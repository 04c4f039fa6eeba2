"""Petitions kept on disk while the case database is down, and the drainer that stores them later.

When ``do_submit_petition`` raises :class:`bot.errors.StorageUnavailable` the chat must not lose
the petition the citizen just confirmed. The submit action writes the whole
:class:`~bot.cases.service.PetitionSubmission` into this spool and tells the citizen the number
follows; a drainer stores it when the database answers again and sends the number through the
outbox (docs/operations.md "Database down at submit").

**Storage** (:class:`SubmissionSpool`): one file per idempotency key in ``SUBMIT_SPOOL_DIR``,
named ``<sha256 of the key>.spool`` (so a retried or double-clicked submit finds the same file),
holding a small JSON document::

    {"format": 1, "key_hash": "<sha256>", "spooled_at": "<UTC ISO>", "attempts": 0,
     "next_attempt_at": "<UTC ISO>", "last_error": null, "payload": "pii1:<kid>:..."}

``payload`` is the submission as JSON, encrypted with the PII key ring (AES-256-GCM,
:mod:`bot.security.crypto`): ID and phone numbers, names and the transcript never touch the disk
in clear. The clear fields say only when and how often. Every write goes to a temporary file in
the same directory, is fsynced, then linked (a new entry: fails when the key already has one, so
the first copy wins) or renamed (an update) into place, and the directory is fsynced.
Files are created 0600 in a 0700 directory.

**Drain** (:func:`drain_spool`), due entries oldest first:

1. ``do_submit_petition`` with the time the citizen submitted; idempotent by key, so a second run
   returns the stored case;
2. the citizen's pending attachments are linked to the case (best effort, as after a normal submit);
3. the closing message with the case number is queued in the outbox with the dedupe key
   ``spooled_submit:<key hash>`` (a second enqueue returns the first message);
4. the file is deleted.

A crash between any two steps repeats the earlier ones without effect: one case, one message.
Several drainers (back-office, action server, hosts sharing the directory) may work on the same
entry at once for the same reason. While the database is down an entry waits
``base * 2**(attempts-1)`` seconds (capped, ±20 % jitter) between attempts, and a round stops at
the first "unavailable" instead of trying every entry. Entries that cannot be decrypted (another
key ring) are left alone and reported once.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.cases.models import Case
from bot.cases.service import PetitionSubmission, SubmitResult, do_submit_petition
from bot.cases.submission import closing_message
from bot.errors import InvalidInput, PetitionError, StorageUnavailable
from bot.security.crypto import KeyRing, PiiKeyError, active_key_ring, is_encrypted, key_id_of
from bot.settings import Settings

log = logging.getLogger(__name__)

FORMAT = 1
SUFFIX = ".spool"
TEMP_PREFIX = ".tmp-"
SET_ASIDE_DIR = "failed"
#: a temporary file older than this was left by a crash and is removed
STALE_TEMP_SECONDS = 3600.0
MAX_ERROR_CHARS = 500
DEDUPE_PREFIX = "spooled_submit:"

STORED_LATER_HEAD = "让您久等了："
ATTACHMENTS_NOTE = "您之前发来的{count}个文件/图片也已附在这件信访事项中，工作人员办理时会一并查看。"
NOT_STORED = (
    "很抱歉，您之前提交的信访事项没能自动登记成功。"
    "请您发送“我要反映问题”重新登记一次；给您添麻烦了，敬请谅解。"
)


class SpoolError(PetitionError):
    """A spool file that cannot be read (damaged, or written for another key)."""

    code = "spool_error"


def key_hash(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return to_utc(moment).isoformat()


def _parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise SpoolError(f"spool entry without {name}")
    try:
        return to_utc(datetime.fromisoformat(value))
    except ValueError:
        raise SpoolError(f"spool entry with a bad {name}") from None


def submission_to_json(sub: PetitionSubmission) -> str:
    return json.dumps(asdict(sub), ensure_ascii=False, separators=(",", ":"))


def submission_from_json(text: str) -> PetitionSubmission:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise SpoolError("spooled submission is not an object")
    names = {f.name for f in fields(PetitionSubmission)}
    return PetitionSubmission(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled submission as found on disk (the submission itself stays encrypted)."""

    path: Path
    key_hash: str
    spooled_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    payload: str

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key_hash": self.key_hash,
            "spooled_at": _iso(self.spooled_at),
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "last_error": self.last_error,
            "payload": self.payload,
        }


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory: the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomic(directory: Path, final: Path, data: bytes, *, exclusive: bool) -> bool:
    """Write ``final`` all at once. ``exclusive``: only if it does not exist (False when it did)."""
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)  # mode 0600
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(temp, final)
            except FileExistsError:
                return False
            except OSError as exc:  # a file system without hard links
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                if final.exists():
                    return False
                os.replace(temp, final)
        else:
            os.replace(temp, final)
        _fsync_dir(directory)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


class SubmissionSpool:
    """The spool directory (module docstring). ``ring``: the PII key ring (default: the process's)."""

    def __init__(self, directory: Path | str, ring: KeyRing | None = None) -> None:
        self.directory = Path(directory)
        self._ring = ring
        self._reported: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings, ring: KeyRing | None = None) -> SubmissionSpool:
        return cls(settings.submit_spool_dir, ring)

    @property
    def ring(self) -> KeyRing:
        return self._ring if self._ring is not None else active_key_ring()

    def path_for(self, idempotency_key: str) -> Path:
        return self.directory / f"{key_hash(idempotency_key)}{SUFFIX}"

    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    # ---- writing -------------------------------------------------------------------------
    def put(self, sub: PetitionSubmission, now: datetime | None = None) -> bool:
        """Keep ``sub`` (it needs an idempotency key). False: this key is already spooled (kept as it was)."""
        if not sub.idempotency_key:
            raise InvalidInput("a spooled submission needs an idempotency key")
        at = to_utc(now) if now is not None else utcnow()
        entry = SpoolEntry(
            path=self.path_for(sub.idempotency_key), key_hash=key_hash(sub.idempotency_key), spooled_at=at,
            attempts=0, next_attempt_at=at, last_error=None, payload=self.ring.encrypt(submission_to_json(sub)),
        )
        self._ensure_dir()
        return _write_atomic(self.directory, entry.path, self._encode(entry), exclusive=True)

    def reschedule(self, entry: SpoolEntry, *, error: str, next_attempt_at: datetime) -> SpoolEntry:
        """Count a failed attempt and set the next one; the payload moves to the current key."""
        payload = entry.payload
        ring = self.ring
        if not ring.is_current(payload):
            payload = ring.encrypt(ring.decrypt(payload))
        updated = replace(entry, attempts=entry.attempts + 1, next_attempt_at=to_utc(next_attempt_at),
                          last_error=error[:MAX_ERROR_CHARS], payload=payload)
        if entry.path.exists():  # another drainer may have finished it meanwhile
            _write_atomic(self.directory, entry.path, self._encode(updated), exclusive=False)
        return updated

    def remove(self, entry: SpoolEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
            _fsync_dir(self.directory)

    def set_aside(self, entry: SpoolEntry, reason: str) -> Path:
        """Move an entry that can never be stored to ``failed/`` (kept for staff, no longer retried)."""
        target_dir = self.directory / SET_ASIDE_DIR
        target_dir.mkdir(mode=0o700, exist_ok=True)
        target = target_dir / entry.path.name
        updated = replace(entry, last_error=reason[:MAX_ERROR_CHARS])
        _write_atomic(target_dir, target, self._encode(updated), exclusive=False)
        self.remove(entry)
        return target

    @staticmethod
    def _encode(entry: SpoolEntry) -> bytes:
        return json.dumps(entry.document(), ensure_ascii=False, indent=1).encode("utf-8")

    # ---- reading -------------------------------------------------------------------------
    def _files(self) -> Iterator[Path]:
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return
        for name in names:
            if name.endswith(SUFFIX) and not name.startswith("."):
                yield self.directory / name

    def read(self, path: Path) -> SpoolEntry:
        """The entry in ``path``; :class:`SpoolError` when it is not a spool file of ours."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SpoolError(f"unreadable spool file {path.name}: {exc.__class__.__name__}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SpoolError(f"spool file {path.name} has an unknown format")
        payload, digest, attempts = data.get("payload"), data.get("key_hash"), data.get("attempts")
        if not is_encrypted(payload) or not isinstance(digest, str) or path.name != f"{digest}{SUFFIX}":
            raise SpoolError(f"spool file {path.name} is not a spool entry")
        if not isinstance(attempts, int) or attempts < 0:
            raise SpoolError(f"spool file {path.name} has a bad attempt count")
        error = data.get("last_error")
        return SpoolEntry(
            path=path, key_hash=digest, spooled_at=_parse_time(data.get("spooled_at"), "spooled_at"),
            attempts=attempts, next_attempt_at=_parse_time(data.get("next_attempt_at"), "next_attempt_at"),
            last_error=error if isinstance(error, str) else None, payload=str(payload),
        )

    def entries(self) -> list[SpoolEntry]:
        """Every readable entry, oldest first. Files that are not readable are reported once and left alone."""
        found = []
        for path in self._files():
            try:
                found.append(self.read(path))
            except FileNotFoundError:
                continue
            except SpoolError as exc:
                self.report_once(path, exc.detail)
        return sorted(found, key=lambda e: (e.spooled_at, e.path.name))

    def get(self, idempotency_key: str) -> SpoolEntry | None:
        path = self.path_for(idempotency_key)
        return self.read(path) if path.exists() else None

    def __len__(self) -> int:
        return sum(1 for _ in self._files())

    def submission(self, entry: SpoolEntry) -> PetitionSubmission:
        """Decrypt the entry's submission; :class:`SpoolError` when it cannot be (another key ring)."""
        try:
            sub = submission_from_json(self.ring.decrypt(entry.payload))
        except PiiKeyError as exc:
            raise SpoolError(f"spool file {entry.path.name}: {exc.detail}") from None
        except (ValueError, TypeError) as exc:
            raise SpoolError(f"spool file {entry.path.name}: bad submission ({exc.__class__.__name__})") from None
        if not sub.idempotency_key or key_hash(sub.idempotency_key) != entry.key_hash:
            raise SpoolError(f"spool file {entry.path.name} holds another key's submission")
        return sub

    def report_once(self, path: Path, detail: str) -> None:
        if path.name not in self._reported:
            self._reported.add(path.name)
            log.error("submission spool: %s (left in place)", detail)

    def remove_stale_temp_files(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Temporary files a crash left behind (never an entry: those are renamed into place)."""
        removed = 0
        cutoff = time.time() - older_than
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return 0
        for name in names:
            path = self.directory / name
            if name.startswith(TEMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        return removed

    # ---- keys ----------------------------------------------------------------------------
    def key_ids(self) -> Counter[str]:
        """How many entries each key id encrypts (for ``python -m bot.security status``)."""
        return Counter(key_id_of(entry.payload) or "(plaintext)" for entry in self.entries())

    def rotate(self, ring: KeyRing | None = None) -> int:
        """Re-encrypt every entry not under the current key; returns how many were rewritten."""
        ring = ring or self.ring
        rotated = 0
        for entry in self.entries():
            if ring.is_current(entry.payload):
                continue
            try:
                updated = replace(entry, payload=ring.encrypt(ring.decrypt(entry.payload)))
            except PiiKeyError as exc:  # a key no longer in the ring: leave it for an operator
                self.report_once(entry.path, exc.detail)
                continue
            if entry.path.exists():
                _write_atomic(self.directory, entry.path, self._encode(updated), exclusive=False)
                rotated += 1
        return rotated


# --------------------------------------------------------------------------- draining


@dataclass(frozen=True)
class SpoolRetry:
    """Wait after failed attempt n: ``base * 2**(n-1)`` seconds, capped at ``max``, ±``jitter``."""

    base_seconds: float = 5.0
    max_seconds: float = 300.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base_seconds < 0 or self.max_seconds < self.base_seconds:
            raise ValueError("need 0 <= base_seconds <= max_seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    @classmethod
    def from_settings(cls, settings: Settings) -> SpoolRetry:
        return cls(base_seconds=settings.submit_spool_retry_base_seconds,
                   max_seconds=settings.submit_spool_retry_max_seconds)

    def delay(self, attempt: int, rng: random.Random) -> float:
        raw = min(self.max_seconds, self.base_seconds * (2.0 ** min(max(attempt, 1) - 1, 62)))
        spread = raw * self.jitter
        return min(self.max_seconds, max(0.0, rng.uniform(raw - spread, raw + spread)))


@dataclass
class DrainReport:
    """What one round did."""

    #: case numbers stored (or found already stored) and announced
    stored: list[str] = field(default_factory=list)
    #: attempts that failed and are scheduled again
    postponed: int = 0
    #: entries whose next attempt is not due yet
    waiting: int = 0
    #: entries that cannot be decrypted or parsed (left in place)
    unreadable: int = 0
    #: entries that can never be stored (moved to ``failed/``)
    set_aside: int = 0
    #: the round stopped because the database is unavailable
    database_down: bool = False


def stored_later_message(result: SubmitResult, attachments: int = 0) -> str:
    """The message that brings the case number after the database came back."""
    text = STORED_LATER_HEAD + closing_message(
        result.case_no, result.due_at, created=True, duplicate_of=result.duplicate_of,
        linked_to=result.linked_to, status=result.status.value,
    )
    if attachments:
        text += "\n" + ATTACHMENTS_NOTE.format(count=attachments)
    return text


def _link_attachments(session_factory: sessionmaker, case_no: str, sub: PetitionSubmission) -> int:
    from bot.cases.attachments import link_pending_attachments

    if not sub.sender_id:
        return 0
    try:
        return link_pending_attachments(session_factory, case_no, channel=sub.channel, sender_id=sub.sender_id)
    except StorageUnavailable:
        raise
    except Exception:  # the case is stored: attachments must not keep it in the spool
        log.exception("submission spool: linking attachments to %s failed", case_no)
        return 0


def _enqueue_once(session_factory: sessionmaker, sub: PetitionSubmission, dedupe: str, text: str,
                  case_no: str | None = None) -> None:
    """Queue ``text`` for the citizen once (dedupe key); a concurrent drainer's copy counts as ours."""
    from bot.outbox.service import enqueue

    if not sub.sender_id:
        return
    try:
        with transaction(session_factory, write=True) as session:
            case_id = None
            if case_no is not None:
                case_id = session.execute(select(Case.id).where(Case.case_no == case_no)).scalar_one_or_none()
            enqueue(session, channel=sub.channel, recipient=sub.sender_id, text=text, case_id=case_id,
                    kind="notice", dedupe_key=dedupe)
    except IntegrityError:  # another drainer queued the same message a moment ago
        log.info("submission spool: message %s already queued", dedupe)


def store_spooled(session_factory: sessionmaker, sub: PetitionSubmission, spooled_at: datetime) -> SubmitResult:
    """Steps 1–3 of the drain (module docstring); each is safe to repeat."""
    result = do_submit_petition(session_factory, sub, now=spooled_at)
    linked = _link_attachments(session_factory, result.case_no, sub)
    dedupe = DEDUPE_PREFIX + key_hash(sub.idempotency_key or "")
    _enqueue_once(session_factory, sub, dedupe, stored_later_message(result, linked), result.case_no)
    return result


def drain_spool(
    spool: SubmissionSpool,
    session_factory: sessionmaker,
    *,
    retry: SpoolRetry | None = None,
    now: datetime | None = None,
    limit: int | None = None,
    rng: random.Random | None = None,
    ignore_schedule: bool = False,
) -> DrainReport:
    """Store the due entries (at most ``limit``), oldest first; see the module docstring.

    ``ignore_schedule``: try entries whose next attempt is not due yet, too (the action server
    before a new submit: it is about to use the database anyway).
    """
    retry = retry or SpoolRetry()
    rng = rng or random.Random()
    at = to_utc(now) if now is not None else utcnow()
    report = DrainReport()
    tried = 0
    spool.remove_stale_temp_files()
    for entry in spool.entries():
        if entry.next_attempt_at > at and not ignore_schedule:
            report.waiting += 1
            continue
        if limit is not None and tried >= limit:
            break
        try:
            sub = spool.submission(entry)
        except SpoolError as exc:
            spool.report_once(entry.path, exc.detail)
            report.unreadable += 1
            continue
        tried += 1
        tag = entry.key_hash[:12]
        try:
            result = store_spooled(session_factory, sub, entry.spooled_at)
        except StorageUnavailable as exc:
            wait = retry.delay(entry.attempts + 1, rng)
            spool.reschedule(entry, error=exc.detail, next_attempt_at=at + timedelta(seconds=wait))
            log.warning("submission spool: database still unavailable (entry %s, attempt %d); next try in %.0f s",
                        tag, entry.attempts + 1, wait)
            report.postponed += 1
            report.database_down = True
            break
        except InvalidInput as exc:  # the stored rules refuse it: retrying cannot help
            target = spool.set_aside(entry, f"{exc.code}: {exc.detail}")
            log.error("submission spool: entry %s can never be stored (%s); moved to %s", tag, exc.detail, target)
            report.set_aside += 1
            try:
                _enqueue_once(session_factory, sub, DEDUPE_PREFIX + entry.key_hash, NOT_STORED)
            except Exception:
                log.exception("submission spool: could not tell the citizen of entry %s", tag)
        except Exception as exc:  # a conflict or a bug: try again later, and say so
            wait = retry.delay(entry.attempts + 1, rng)
            spool.reschedule(entry, error=f"{exc.__class__.__name__}: {exc}",
                             next_attempt_at=at + timedelta(seconds=wait))
            log.exception("submission spool: storing entry %s failed; next try in %.0f s", tag, wait)
            report.postponed += 1
        else:
            spool.remove(entry)
            log.info("submission spool: entry %s stored as %s", tag, result.case_no)
            report.stored.append(result.case_no)
    return report


@dataclass
class SpoolDrainer:
    """Drains the spool every ``poll_seconds`` (run where the outbox dispatcher runs)."""

    spool: SubmissionSpool
    session_factory: sessionmaker
    retry: SpoolRetry = field(default_factory=SpoolRetry)

    @classmethod
    def from_settings(cls, settings: Settings, session_factory: sessionmaker) -> SpoolDrainer:
        return cls(SubmissionSpool.from_settings(settings), session_factory, SpoolRetry.from_settings(settings))

    def run_once(self) -> DrainReport:
        return drain_spool(self.spool, self.session_factory, retry=self.retry)

    async def run_forever(self, stop: asyncio.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # never let the loop die: the spool holds petitions
                log.exception("submission spool: drain round failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
