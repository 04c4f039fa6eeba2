"""``python -m bot.backoffice``: migrate the case store, then serve the back-office.

Listens on ``BACKOFFICE_HOST``:``BACKOFFICE_PORT`` (default 127.0.0.1:8000); the database
is ``DATABASE_URL`` (default SQLite ``var/cases.db``).
"""
from __future__ import annotations

import logging
import sys

from bot.backoffice.app import create_app
from bot.cases.db import make_engine, make_session_factory, migrate
from bot.errors import StorageUnavailable
from bot.security.startup import prepare_process
from bot.settings import get_settings


def main() -> int:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    settings = get_settings()
    prepare_process("backoffice", settings)  # masks ID/phone numbers in logs; exits without PII_KEYS
    if not settings.backoffice_token:
        logging.warning("BACKOFFICE_TOKEN is empty: every /api request will be refused (401)")
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    except StorageUnavailable as exc:
        print(f"数据库不可用 / database unavailable: {exc.detail}", file=sys.stderr)
        return 1
    app = create_app(settings, make_session_factory(engine))
    try:
        # ws="none": no websockets here, and Rasa pins a websockets too old for uvicorn's auto-detection
        uvicorn.run(app, host=settings.backoffice_host, port=settings.backoffice_port, ws="none", proxy_headers=True)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
