"""Rasa event broker that fills the NLU inbox (configured in ``endpoints.yml``)::

    event_broker:
      type: bot.training.broker.InboxEventBroker
      confidence_threshold: 0.5     # optional; default INBOX_CONFIDENCE_THRESHOLD

Rasa hands every tracker event to :meth:`InboxEventBroker.publish` on its event loop; the
broker only queues it. One worker thread per process decides what to capture
(:class:`bot.training.capture.CaptureTracker`), masks ID numbers, phone numbers and names, and
stores the message (``bot.training.inbox.do_capture``) in ``DATABASE_URL``. A chat never waits
for the inbox: when the queue is full or the database is down, events are dropped with a
warning. Rasa builds a new broker each time a model is loaded (``PUT /model``), so instances
with the same configuration share one worker.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from asyncio import AbstractEventLoop
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.settings import Settings
from bot.training.capture import is_read

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
_STOP: dict[str, Any] = {"event": "__stop__"}
WARN_EVERY_SECONDS = 60.0


class _Worker:
    """The queue and thread shared by every broker instance of one configuration."""

    def __init__(self, database_url: str, threshold: float, hash_key: str) -> None:
        from bot.training.capture import CaptureTracker

        self.database_url = database_url
        self.hash_key = hash_key
        self.tracker = CaptureTracker(threshold)
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0
        self._last_warning = 0.0
        self._factory: Any = None

    def submit(self, event: dict[str, Any]) -> None:
        self._ensure_started()
        with self._idle:
            self._pending += 1
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self._done()
            self._warn("NLU inbox queue full; dropping an event")

    def wait_idle(self, timeout: float) -> bool:
        """Block until every submitted event has been handled (or ``timeout``)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def _warn(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning(message, *args)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nlu-inbox", daemon=True)
                self._thread.start()

    def _session_factory(self) -> Any:
        if self._factory is None:
            from bot.cases.db import make_engine, make_session_factory

            self._factory = make_session_factory(make_engine(self.database_url))
        return self._factory

    def stop(self, timeout: float = 10.0) -> None:
        """Handle what is queued, end the thread, release the database connections."""
        thread = self._thread
        if thread is not None:
            self.queue.put(_STOP)
            thread.join(timeout)
            self._thread = None
        if self._factory is not None:
            self._factory.kw["bind"].dispose()
            self._factory = None

    def _run(self) -> None:
        while True:
            event = self.queue.get()
            if event is _STOP:
                return
            try:
                self.handle(event)
            except Exception as exc:  # never let one event stop the worker
                self._warn("NLU inbox: could not store an event (%s: %s)", exc.__class__.__name__, exc)
                log.debug("NLU inbox failure", exc_info=True)
            finally:
                self._done()

    def handle(self, event: dict[str, Any]) -> None:
        from bot.training.capture import Capture, NamesLearned
        from bot.training.inbox import do_capture, do_remask_names

        for action in self.tracker.feed(event):
            if isinstance(action, Capture):
                do_capture(self._session_factory(), action, hash_key=self.hash_key)
            elif isinstance(action, NamesLearned):
                do_remask_names(self._session_factory(), action.channel, action.sender_id, action.names,
                                hash_key=self.hash_key)


_workers: dict[tuple[str, float, str], _Worker] = {}
_workers_lock = threading.Lock()


def _shared_worker(database_url: str, threshold: float, hash_key: str) -> _Worker:
    key = (database_url, threshold, hash_key)
    with _workers_lock:
        worker = _workers.get(key)
        if worker is None:
            worker = _workers[key] = _Worker(database_url, threshold, hash_key)
        return worker


def inbox_hash_key(settings: Settings) -> str:
    """The key of the sender hash: INBOX_HASH_KEY, else RASA_TOKEN (a secret every Rasa has)."""
    return settings.inbox_hash_key or settings.rasa_token


class InboxEventBroker(EventBroker):
    """Captures misunderstood user messages into the NLU inbox (see module docstring)."""

    def __init__(self, database_url: str, threshold: float, hash_key: str) -> None:
        self.threshold = threshold
        self._worker = _shared_worker(database_url, threshold, hash_key)

    @classmethod
    def from_settings(cls, settings: Settings, threshold: float | None = None) -> InboxEventBroker:
        return cls(settings.database_url,
                   settings.inbox_confidence_threshold if threshold is None else float(threshold),
                   inbox_hash_key(settings))

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: AbstractEventLoop | None = None
    ) -> InboxEventBroker:
        options = dict(getattr(broker_config, "kwargs", {}) or {})
        threshold = options.get("confidence_threshold")
        broker = cls.from_settings(Settings.from_env(), None if threshold in (None, "") else float(threshold))
        log.info("NLU inbox broker: capturing messages below confidence %.2f", broker.threshold)
        return broker

    def publish(self, event: dict[str, Any]) -> None:
        if is_read(event):  # the rest would only wake the worker thread for nothing
            self._worker.submit(dict(event))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every published event is stored (tests, shutdown)."""
        return self._worker.wait_idle(timeout)

    def is_ready(self) -> bool:
        return True

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the shared worker of this configuration (tests; Rasa itself only calls close())."""
        with _workers_lock:
            for key, worker in list(_workers.items()):
                if worker is self._worker:
                    del _workers[key]
        self._worker.stop(timeout)

    async def close(self) -> None:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(None, self.flush, 5.0)
