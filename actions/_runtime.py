"""Process-wide resources of the action server, created on first use (never at import)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.settings import get_settings


@lru_cache(maxsize=1)
def session_factory() -> Any:
    from bot.cases.db import make_engine, make_session_factory, migrate

    url = get_settings().database_url
    engine = make_engine(url)
    migrate(engine)
    return make_session_factory(engine)
