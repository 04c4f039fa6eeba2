"""The retention period applied by the back-office itself, so that no deployment depends on
someone remembering a cron line: every ``RETENTION_EVERY_HOURS`` (default 24; 0 turns it off)
cases closed more than ``RETENTION_DAYS`` ago are anonymised (``do_anonymise_closed_cases``,
idempotent, one audit row per case). The first run happens shortly after start.

Several back-office replicas may run it at the same time: the second finds nothing left to do.
The Rasa tracker database is not the back-office's: its conversations are purged by
``python -m bot.security anonymise`` (docs/security.md).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.orm import sessionmaker

from bot.cases.privacy import AnonymiseReport, do_anonymise_closed_cases
from bot.errors import PetitionError
from bot.settings import Settings

log = logging.getLogger(__name__)

FIRST_RUN_DELAY_S = 30.0


def run_retention_once(settings: Settings, session_factory: sessionmaker) -> AnonymiseReport:
    report = do_anonymise_closed_cases(session_factory, settings.retention_days, actor="system:retention")
    if report.anonymised:
        log.info("retention: anonymised %d case(s) closed more than %d days ago",
                 len(report.anonymised), settings.retention_days)
    return report


async def _loop(stop: asyncio.Event, every_s: float, first_delay_s: float, job: Callable[[], object]) -> None:
    delay = first_delay_s
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            return
        try:
            await asyncio.to_thread(job)
        except PetitionError as exc:  # e.g. the database is down: try again next time
            log.warning("retention run failed: %s", exc.code)
        except Exception:
            log.exception("retention run failed")
        delay = every_s


@asynccontextmanager
async def retention_schedule(
    settings: Settings, session_factory: sessionmaker, *, first_delay_s: float = FIRST_RUN_DELAY_S,
) -> AsyncIterator[None]:
    if settings.retention_every_hours <= 0:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(
        _loop(stop, settings.retention_every_hours * 3600, first_delay_s,
              lambda: run_retention_once(settings, session_factory)),
        name="retention",
    )
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=30)
        except asyncio.TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
