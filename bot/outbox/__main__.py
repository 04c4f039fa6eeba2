"""``python -m bot.outbox``: a separate outbox worker (the back-office runs one too unless
``OUTBOX_DISPATCH=0``). Migrates the case database, then delivers until SIGINT / SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.cases.db import make_engine, make_session_factory, migrate
from bot.errors import StorageUnavailable
from bot.settings import Settings, get_settings


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    from bot.channels.outbox_worker import running_dispatcher  # the wiring lives with the channels

    engine = make_engine(settings.database_url)
    try:
        await asyncio.to_thread(migrate, engine)
        async with running_dispatcher(settings, make_session_factory(engine)):
            await stop.wait()
    finally:
        engine.dispose()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = get_settings()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    try:
        asyncio.run(run())
    except StorageUnavailable as exc:
        print(f"数据库不可用 / database unavailable: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
