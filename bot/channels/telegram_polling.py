"""Long polling (``getUpdates``) for the Telegram channel: development without a public URL.

Runs inside the Rasa process when ``TELEGRAM_TOKEN`` is set and ``TELEGRAM_WEBHOOK_URL`` is not
(:class:`bot.channels.telegram.TelegramInput` starts it on server start and stops it on
shutdown). Every update goes through the same ``accept`` function as a webhook request
(de-duplication, mapping, per-chat ordering).

* ``deleteWebhook`` first: Telegram refuses ``getUpdates`` while a webhook is set.
* The next offset is saved to ``TELEGRAM_OFFSET_FILE`` after each batch, so a restart neither
  replays handled updates nor loses confirmed ones (the file records the bot id and is ignored
  for another bot).
* Network errors and Telegram errors back off (1 s doubling to 30 s; ``retry_after`` on 429);
  a rejected token (401/404) stops polling with an error in the log.

The raw JSON is read with httpx rather than ``Bot.get_updates`` so that one update the
library cannot parse does not block the whole batch (it is logged and skipped, as on the webhook).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bot.settings import Settings

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates request open
MAX_BACKOFF = 30.0

Accept = Callable[[Any], Awaitable[Any]]


class OffsetStore:
    """The next update offset of one bot in a small JSON file (written atomically)."""

    def __init__(self, path: Path | str, bot_id: str) -> None:
        self.path = Path(path)
        self.bot_id = bot_id

    def load(self) -> int | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("telegram: offset file %s unreadable (%s), starting from Telegram's", self.path, exc)
            return None
        offset = data.get("offset") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("bot_id") != self.bot_id or not isinstance(offset, int):
            return None
        return offset

    def save(self, offset: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"bot_id": self.bot_id, "offset": offset}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # polling goes on; Telegram itself also remembers confirmed updates
            log.warning("telegram: could not save offset to %s: %s", self.path, exc)


class TelegramApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after


class TelegramPoller:
    """``getUpdates`` in a loop; each raw update is handed to ``accept``."""

    def __init__(
        self,
        settings: Settings,
        accept: Accept,
        *,
        poll_timeout: int = POLL_TIMEOUT,
        store: OffsetStore | None = None,
        client: httpx.AsyncClient | None = None,
        initial_backoff: float = 1.0,
    ) -> None:
        self.settings = settings
        self.accept = accept
        self.poll_timeout = poll_timeout
        self.initial_backoff = initial_backoff
        bot_id = settings.telegram_token.split(":", 1)[0]
        self.store = store if store is not None else OffsetStore(settings.telegram_offset_file, bot_id)
        self._client = client
        self._own_client = client is None
        self._task: asyncio.Task[None] | None = None
        self.offset: int | None = None
        self.batches = 0  # getUpdates answers handled (for health checks and tests)

    # ---- Bot API ------------------------------------------------------------------------------
    def _url(self, method: str) -> str:
        return f"{self.settings.telegram_api_base}{self.settings.telegram_token}/{method}"

    async def _call(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        if self._client is None:
            self._client = httpx.AsyncClient()
        resp = await self._client.post(self._url(method), json=params, timeout=timeout)
        try:
            body = resp.json()
        except ValueError:
            raise TelegramApiError(resp.status_code, "answer is not JSON") from None
        if not isinstance(body, dict) or not body.get("ok"):
            body = body if isinstance(body, dict) else {}
            retry = (body.get("parameters") or {}).get("retry_after")
            raise TelegramApiError(int(body.get("error_code") or resp.status_code),
                                   str(body.get("description") or "error"),
                                   float(retry) if isinstance(retry, (int, float)) else None)
        return body.get("result")

    # ---- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        self.offset = self.store.load()
        delay = self.initial_backoff
        webhook_removed = False
        log.info("telegram: long polling started (offset %s)", self.offset)
        while True:
            try:
                if not webhook_removed:
                    await self._call("deleteWebhook", {"drop_pending_updates": False}, timeout=15)
                    webhook_removed = True
                await self.poll_once()
                delay = self.initial_backoff
                await asyncio.sleep(0)  # let other tasks run even if the answers come at once
            except asyncio.CancelledError:
                raise
            except TelegramApiError as exc:
                if exc.status in (401, 404):
                    log.error("telegram: token refused (%s); long polling stopped", exc)
                    return
                if exc.status == 409:  # a webhook is set again, or another process polls
                    log.warning("telegram: getUpdates conflict (%s); is another instance polling?", exc)
                    webhook_removed = False
                else:
                    log.warning("telegram: getUpdates failed: %s", exc)
                await asyncio.sleep(exc.retry_after if exc.retry_after else delay)
                delay = min(delay * 2, MAX_BACKOFF)
            except (httpx.HTTPError, OSError) as exc:
                log.warning("telegram: getUpdates network error: %s; retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    async def poll_once(self) -> int:
        """One getUpdates request; hands every update to ``accept``; the number received."""
        params: dict[str, Any] = {"timeout": self.poll_timeout, "allowed_updates": ALLOWED_UPDATES}
        if self.offset is not None:
            params["offset"] = self.offset
        result = await self._call("getUpdates", params, timeout=self.poll_timeout + 10)
        updates = result if isinstance(result, list) else []
        next_offset = self.offset
        for raw in updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                next_offset = max(next_offset or 0, update_id + 1)
            try:
                await self.accept(raw)
            except Exception:
                log.exception("telegram: update %s could not be handed over", update_id)
        if next_offset != self.offset and next_offset is not None:
            self.offset = next_offset
            self.store.save(next_offset)
        self.batches += 1
        return len(updates)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="telegram-polling")
        return self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Cancel the pending getUpdates and end the loop; closes the HTTP client."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None
        log.info("telegram: long polling stopped (offset %s)", self.offset)
