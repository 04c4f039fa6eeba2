"""Files citizens send in a chat channel -> case attachments (shared by Telegram and WeChat).

The channel downloads the bytes; :class:`AttachmentSink` checks and stores them through
``bot.cases.attachments`` (in a worker thread: the store is synchronous) and returns the short
sentence the citizen gets back. The database is the channels' shared one
(:func:`bot.channels.runtime.shared_session_factory`, opened on first use from
``Settings.database_url``).
"""
from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from sqlalchemy.orm import sessionmaker

from bot.cases.attachment_models import AttachmentKind
from bot.cases.attachments import AttachmentPolicy, do_store_attachment, human_size, precheck
from bot.errors import PetitionError
from bot.settings import Settings

log = logging.getLogger(__name__)

MSG_DOWNLOAD_FAILED = "抱歉，这个文件没能接收成功，请您稍后重新发送一次。"
MSG_STORE_FAILED = "抱歉，系统暂时没能保存这个文件，请您稍后重新发送。"


def received_message(kind: AttachmentKind, filename: str, size: int) -> str:
    """The confirmation for a stored file: what arrived and what happens with it."""
    what = "图片" if kind in (AttachmentKind.PHOTO, AttachmentKind.IMAGE) else f"文件“{filename}”"
    return (f"已收到您发送的{what}（{human_size(size)}）。"
            "提交信访事项时，它会作为材料一并附上，供工作人员查看。")


class AttachmentSink:
    """Checks and stores downloaded files; every outcome is a sentence for the citizen."""

    def __init__(self, settings: Settings, session_factory: sessionmaker | None = None) -> None:
        self.settings = settings
        self.policy = AttachmentPolicy.from_settings(settings)
        self._factory = session_factory

    @property
    def max_bytes(self) -> int:
        return self.policy.max_bytes

    def session_factory(self) -> sessionmaker:
        if self._factory is not None:
            return self._factory
        from bot.channels.runtime import shared_session_factory

        return shared_session_factory(self.settings.database_url)

    def refusal(self, filename: str | None, content_type: str | None, size: int | None) -> str | None:
        """A refusal for what can be told before downloading (too large, wrong type), else None."""
        try:
            precheck(filename, content_type, size, self.policy.max_bytes)
        except PetitionError as exc:
            log.info("attachment refused before download: %s", exc.detail)
            return exc.user_message
        return None

    def _store(self, **kwargs: Any) -> str:
        row = do_store_attachment(self.session_factory(), self.policy, **kwargs)
        return received_message(AttachmentKind(row.kind), row.filename, row.size)

    async def save(self, *, channel: str, sender_id: str, kind: AttachmentKind, data: bytes,
                   filename: str | None = None, content_type: str | None = None) -> str:
        """Store one file; the sentence to send back (confirmation or polite refusal)."""
        call = functools.partial(self._store, channel=channel, sender_id=sender_id, kind=kind, data=data,
                                 filename=filename, declared_type=content_type)
        try:
            return await asyncio.get_running_loop().run_in_executor(None, call)
        except PetitionError as exc:
            log.info("attachment from %s:%s not stored: %s %s", channel, sender_id, exc.code, exc.detail)
            return exc.user_message
        except Exception:
            log.exception("attachment from %s:%s could not be stored", channel, sender_id)
            return MSG_STORE_FAILED
