"""Attachments: files a citizen sends in the chat, kept as material of their case.

* Only pictures and common documents are accepted, recognised by their content (magic bytes),
  not by the name or the type the sender declares: JPEG, PNG, GIF, WEBP, PDF, Word (.doc,
  .docx) and plain text. The size limit is ``Settings.attachments_max_bytes``.
* The bytes are written under ``Settings.attachments_dir`` (``YYYY/MM/<random>.<ext>``) and a
  row of ``attachments`` records them. A file that arrives before the citizen's case exists is
  *pending* (no case) for that channel + sender; :func:`link_pending_attachments` attaches every
  pending file of the case's sender when the petition is submitted (one transaction + a
  ``CaseEvent`` audit row).
* Sending the same file again before submitting stores it once.

Refusals are :class:`AttachmentRejected` errors whose ``user_message`` is the polite sentence
the chat shows.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.attachment_models import Attachment, AttachmentKind
from bot.cases.case_no import normalize_case_no
from bot.cases.channel import Channel
from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.cases.models import Case, CaseEvent
from bot.errors import InvalidInput, NotFound, StorageUnavailable
from bot.settings import Settings

log = logging.getLogger(__name__)

#: accepted content types -> the extension a stored file gets (first) and the names it may carry
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "text/plain": (".txt",),
}
_EXTENSIONS = {ext: ctype for ctype, exts in ALLOWED_TYPES.items() for ext in exts}
ALLOWED_LABEL = "图片（JPG、PNG、GIF、WEBP）和文档（PDF、Word、TXT）"
MAX_FILENAME_CHARS = 120
DEFAULT_NAMES = {AttachmentKind.PHOTO: "照片", AttachmentKind.DOCUMENT: "文件", AttachmentKind.IMAGE: "图片"}


# --------------------------------------------------------------------------- errors
class AttachmentRejected(InvalidInput):
    """A file the case store does not accept; ``user_message`` says why, politely."""

    code = "attachment_rejected"
    user_message = "抱歉，这个文件没能保存，请您换一个文件再试。"


class AttachmentTooLarge(AttachmentRejected):
    code = "attachment_too_large"
    http_status = 413


class AttachmentTypeNotAllowed(AttachmentRejected):
    code = "attachment_type_not_allowed"
    http_status = 415
    user_message = f"抱歉，目前只能接收{ALLOWED_LABEL}，这个文件没有保存。您也可以用文字说明其中的内容。"


def _too_large(max_bytes: int) -> AttachmentTooLarge:
    limit = human_size(max_bytes)
    return AttachmentTooLarge(
        f"attachment larger than {max_bytes} bytes",
        user_message=f"抱歉，文件超过了{limit}的大小限制，没有保存。请您压缩或分成几份后重新发送。",
    )


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        value = size / (1024 * 1024)
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    if size >= 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size} 字节"



# --------------------------------------------------------------------------- policy
@dataclass(frozen=True)
class AttachmentPolicy:
    """Where files go and how large they may be (from ``Settings``)."""

    storage_dir: Path
    max_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AttachmentPolicy:
        return cls(storage_dir=Path(settings.attachments_dir), max_bytes=settings.attachments_max_bytes)


# --------------------------------------------------------------------------- content checks
def _extension(filename: str | None) -> str:
    return PurePosixPath((filename or "").replace("\\", "/")).suffix.lower()


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t\f")
        return controls <= max(2, len(text) // 100)
    return False


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def sniff_content_type(data: bytes, filename: str | None = None, declared_type: str | None = None) -> str | None:
    """The accepted content type ``data`` really is, or None.

    Binary formats are recognised by their signature; Word 97 (an OLE container, like Excel)
    and plain text also need the name (or the declared type) to say so.
    """
    ext = _extension(filename)
    declared = (declared_type or "").split(";")[0].strip().lower()
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/msword" if ext == ".doc" or declared == "application/msword" else None
    if data.startswith(b"PK\x03\x04"):
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document" if _is_docx(data) else None
    if (ext == ".txt" or (not ext and declared == "text/plain")) and _looks_like_text(data):
        return "text/plain"
    return None


def precheck(filename: str | None, declared_type: str | None, size: int | None, max_bytes: int) -> None:
    """Refuse before downloading what is certainly too large or of a type we never accept.

    Unknown facts (no size, no name) pass: the content is checked after the download.
    """
    if size is not None and size > max_bytes:
        raise _too_large(max_bytes)
    ext = _extension(filename)
    declared = (declared_type or "").split(";")[0].strip().lower()
    if ext and ext not in _EXTENSIONS:
        raise AttachmentTypeNotAllowed(f"extension {ext!r} not accepted")
    if declared and declared not in ALLOWED_TYPES and declared != "application/octet-stream":
        raise AttachmentTypeNotAllowed(f"declared type {declared!r} not accepted")


def validate_content(data: bytes, filename: str | None, declared_type: str | None, max_bytes: int) -> str:
    """The content type of an acceptable file; :class:`AttachmentRejected` otherwise."""
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    if not data:
        raise AttachmentRejected("empty file", user_message="抱歉，收到的文件是空的，请您重新发送。")
    content_type = sniff_content_type(data, filename, declared_type)
    if content_type is None:
        raise AttachmentTypeNotAllowed(f"content of {filename or 'file'!r} not recognised as an accepted type")
    return content_type


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_filename(filename: str | None, content_type: str, kind: AttachmentKind) -> str:
    """A display name without paths or control characters whose extension matches the content."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", name)).strip(" ._")
    exts = ALLOWED_TYPES[content_type]
    stem, ext = os.path.splitext(name)
    if ext.lower() not in exts:
        stem, ext = name, exts[0]
    stem = (stem or DEFAULT_NAMES[kind])[: MAX_FILENAME_CHARS - len(ext)]
    return f"{stem}{ext}"


# --------------------------------------------------------------------------- writes
def _write_file(policy: AttachmentPolicy, data: bytes, ext: str, at: datetime) -> str:
    relative = f"{at:%Y}/{at:%m}/{uuid.uuid4().hex}{ext}"
    target = policy.storage_dir / relative
    tmp = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.error("attachment could not be written under %s: %s", policy.storage_dir, exc)
        raise StorageUnavailable(f"attachment storage unavailable: {exc}") from exc
    return relative


def do_store_attachment(
    session_factory: sessionmaker,
    policy: AttachmentPolicy,
    *,
    channel: str,
    sender_id: str,
    kind: AttachmentKind | str,
    data: bytes,
    filename: str | None = None,
    declared_type: str | None = None,
    now: datetime | None = None,
) -> Attachment:
    """Check and store one file as a pending attachment of ``channel``/``sender_id``.

    The same content already pending for that sender is returned instead of stored twice.
    """
    try:
        channel = Channel(channel).value
        kind = AttachmentKind(kind)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not sender_id:
        raise InvalidInput("an attachment needs a sender")
    content_type = validate_content(data, filename, declared_type, policy.max_bytes)
    name = clean_filename(filename, content_type, kind)
    digest = hashlib.sha256(data).hexdigest()
    at = to_utc(now) if now is not None else utcnow()

    with transaction(session_factory) as session:
        existing = session.execute(
            select(Attachment).where(
                Attachment.channel == channel, Attachment.sender_id == sender_id,
                Attachment.case_id.is_(None), Attachment.sha256 == digest,
            ).limit(1)
        ).scalar_one_or_none()
        if existing is not None:
            return existing

    relative = _write_file(policy, data, ALLOWED_TYPES[content_type][0], at)
    try:
        with transaction(session_factory, write=True) as session:
            row = Attachment(
                channel=channel, sender_id=sender_id, case_id=None, kind=kind.value, filename=name,
                content_type=content_type, size=len(data), sha256=digest, storage_path=relative,
                created_at=at,
            )
            session.add(row)
            session.flush()
            return row
    except BaseException:
        (policy.storage_dir / relative).unlink(missing_ok=True)
        raise


def link_pending_attachments(
    session_factory: sessionmaker, case_no: str, *, channel: str, sender_id: str, now: datetime | None = None,
) -> int:
    """Attach every pending file of ``channel``/``sender_id`` (the citizen who just submitted) to
    the case ``case_no`` — the new case, or the open case a repeat petition was recorded on.

    One transaction with a ``CaseEvent`` audit row; returns how many were linked (0: no row).
    """
    at = to_utc(now) if now is not None else utcnow()
    with transaction(session_factory, write=True) as session:
        case = session.execute(select(Case).where(Case.case_no == normalize_case_no(case_no))).scalar_one_or_none()
        if case is None:
            raise NotFound(f"case {case_no} not found")
        if not sender_id:
            return 0
        pending = list(
            session.execute(
                select(Attachment).where(
                    Attachment.channel == channel, Attachment.sender_id == sender_id,
                    Attachment.case_id.is_(None),
                ).order_by(Attachment.id).with_for_update()
            ).scalars()
        )
        if not pending:
            return 0
        for row in pending:
            row.case_id = case.id
        names = "、".join(row.filename for row in pending)
        session.add(CaseEvent(
            case_id=case.id, at=at, actor=f"citizen:{channel}:{sender_id}",
            action="attachments_linked", from_status=None, to_status=None,
            note=f"{len(pending)} 个附件：{names}"[:2000],
        ))
        return len(pending)


# --------------------------------------------------------------------------- reads
def pending_attachments(session_factory: sessionmaker, channel: str, sender_id: str) -> Sequence[Attachment]:
    with transaction(session_factory) as session:
        return list(session.execute(
            select(Attachment).where(
                Attachment.channel == channel, Attachment.sender_id == sender_id, Attachment.case_id.is_(None),
            ).order_by(Attachment.id)
        ).scalars())


def list_case_attachments(session_factory: sessionmaker, case_no: str) -> Sequence[Attachment]:
    """The attachments of a case, oldest first; :class:`NotFound` when the case does not exist."""
    with transaction(session_factory) as session:
        case_id = session.execute(
            select(Case.id).where(Case.case_no == normalize_case_no(case_no))
        ).scalar_one_or_none()
        if case_id is None:
            raise NotFound(f"case {case_no} not found")
        return list(session.execute(
            select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)
        ).scalars())


def get_attachment(session_factory: sessionmaker, attachment_id: int) -> tuple[Attachment, str | None]:
    """An attachment and the number of its case (None while pending)."""
    with transaction(session_factory) as session:
        row = session.execute(
            select(Attachment, Case.case_no).outerjoin(Case, Case.id == Attachment.case_id)
            .where(Attachment.id == attachment_id)
        ).first()
        if row is None:
            raise NotFound(f"attachment {attachment_id} not found",
                           user_message="没有找到这个附件，它可能已被删除。")
        return row[0], row[1]


def attachment_path(policy: AttachmentPolicy, attachment: Attachment) -> Path:
    """The stored file of ``attachment`` (inside the storage directory); NotFound if missing."""
    root = policy.storage_dir.resolve()
    path = (root / attachment.storage_path).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound(f"file of attachment {attachment.id} is missing",
                       user_message="附件文件暂时无法读取，请联系管理员。")
    return path
