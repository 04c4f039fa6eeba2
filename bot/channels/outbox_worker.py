"""Running the outbox dispatcher with the configured channel senders (composition root).

Used by the back-office lifespan (``OUTBOX_DISPATCH``, default on) and by ``python -m bot.outbox``
for a separate worker. Several dispatchers may run at once (replicas, a worker beside the
back-office): claims are exclusive, see :mod:`bot.outbox.dispatcher`.

Beside the dispatcher runs the drainer of the submission spool (:mod:`bot.cases.spool`):
petitions kept while the case database was down are stored, and their closing message is
queued for this dispatcher. Several drainers on one spool are safe (idempotent by key).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from sqlalchemy.orm import sessionmaker

from bot.cases.spool import SpoolDrainer
from bot.channels.senders import make_senders
from bot.outbox.dispatcher import Dispatcher, Sender
from bot.settings import Settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def running_dispatcher(
    settings: Settings, session_factory: sessionmaker, senders: Mapping[str, Sender] | None = None,
) -> AsyncIterator[Dispatcher]:
    """A dispatcher polling every ``OUTBOX_POLL_SECONDS`` in a task until the block ends, and the
    spool drainer every ``SUBMIT_SPOOL_POLL_SECONDS`` in another."""
    dispatcher = Dispatcher.from_settings(
        settings, session_factory, senders if senders is not None else make_senders(settings, session_factory),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run_forever(stop, settings.outbox_poll_seconds), name="outbox-dispatcher")
    drainer = SpoolDrainer.from_settings(settings, session_factory)
    drain_task = asyncio.create_task(drainer.run_forever(stop, settings.submit_spool_poll_seconds),
                                     name="submission-spool-drainer")
    log.info("outbox dispatcher started for channels %s", ", ".join(sorted(dispatcher.senders)))
    try:
        yield dispatcher
    finally:
        stop.set()
        try:  # a drain round in flight finishes its entry (the database calls are bounded)
            await asyncio.wait_for(drain_task, timeout=dispatcher.policy.send_timeout + 5)
        except asyncio.TimeoutError:
            drain_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain_task
        try:  # let a send in flight finish (bounded by the send timeout)
            await asyncio.wait_for(task, timeout=dispatcher.policy.send_timeout + 5)
        except asyncio.TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await dispatcher.aclose()
        log.info("outbox dispatcher stopped")


@asynccontextmanager
async def outbox_dispatch(settings: Settings, session_factory: sessionmaker) -> AsyncIterator[Dispatcher | None]:
    """The back-office hook: a running dispatcher when ``settings.outbox_dispatch``, else nothing."""
    if not settings.outbox_dispatch:
        yield None
        return
    async with running_dispatcher(settings, session_factory) as dispatcher:
        yield dispatcher
