"""Attachment content checks: signatures, names, limits (no I/O)."""
from __future__ import annotations

import io
import zipfile

import pytest

from bot.cases.attachment_models import AttachmentKind
from bot.cases.attachments import (
    AttachmentRejected,
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    clean_filename,
    human_size,
    precheck,
    sniff_content_type,
    validate_content,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32


def zip_with(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(("data", "name", "expected"), [
    (JPEG, "a.jpg", "image/jpeg"),
    (JPEG, "no-extension", "image/jpeg"),
    (PNG, "photo.jpg", "image/png"),  # the content decides, not the name
    (GIF, None, "image/gif"),
    (WEBP, "x.webp", "image/webp"),
    (PDF, "材料.pdf", "application/pdf"),
    (OLE, "申请书.doc", "application/msword"),
    (OLE, "表格.xls", None),  # an OLE container that does not say it is Word
    (zip_with("[Content_Types].xml", "word/document.xml"), "诉求.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (zip_with("xl/workbook.xml"), "book.docx", None),  # a spreadsheet renamed .docx
    ("我要反映的情况如下：\n工资拖欠三个月。".encode(), "说明.txt", "text/plain"),
    ("我要反映的情况".encode("gb18030"), "说明.txt", "text/plain"),
    (b"plain words", "notes.md", None),
    (b"MZ\x90\x00\x03\x00\x00\x00", "setup.exe", None),
    (b"\x00\x01\x02binary", "a.txt", None),
])
def test_sniff_content_type(data: bytes, name: str | None, expected: str | None) -> None:
    assert sniff_content_type(data, name) == expected


def test_plain_text_without_name_needs_declared_type() -> None:
    assert sniff_content_type(b"hello", None) is None
    assert sniff_content_type(b"hello", None, "text/plain; charset=utf-8") == "text/plain"


def test_precheck_refuses_before_download() -> None:
    precheck("a.pdf", "application/pdf", 1000, 2000)
    precheck(None, None, None, 2000)  # nothing known yet: checked after download
    with pytest.raises(AttachmentTooLarge) as too_large:
        precheck("a.pdf", "application/pdf", 2001, 2000)
    assert too_large.value.http_status == 413
    with pytest.raises(AttachmentTypeNotAllowed):
        precheck("virus.exe", None, 10, 2000)
    with pytest.raises(AttachmentTypeNotAllowed):
        precheck(None, "video/mp4", 10, 2000)


def test_validate_content_messages_are_polite_chinese() -> None:
    assert validate_content(PDF, "a.pdf", None, 1000) == "application/pdf"
    with pytest.raises(AttachmentTooLarge) as big:
        validate_content(PDF + b"x" * 2000, "a.pdf", None, 1024)
    assert "抱歉" in big.value.user_message and "KB" in big.value.user_message
    with pytest.raises(AttachmentTypeNotAllowed) as wrong:
        validate_content(b"MZ\x90\x00", "a.exe", None, 1000)
    assert "PDF" in wrong.value.user_message and "您" in wrong.value.user_message
    with pytest.raises(AttachmentRejected) as empty:
        validate_content(b"", "a.pdf", None, 1000)
    assert "空" in empty.value.user_message


@pytest.mark.parametrize(("name", "ctype", "kind", "expected"), [
    ("../../etc/passwd", "text/plain", AttachmentKind.DOCUMENT, "passwd.txt"),
    ("C:\\Users\\x\\诉求.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document", AttachmentKind.DOCUMENT, "诉求.docx"),
    (None, "image/jpeg", AttachmentKind.PHOTO, "照片.jpg"),
    ("", "image/png", AttachmentKind.IMAGE, "图片.png"),
    ("报告.PDF", "application/pdf", AttachmentKind.DOCUMENT, "报告.PDF"),
    ("photo.jpg", "image/png", AttachmentKind.DOCUMENT, "photo.jpg.png"),
    ("a\x00b<c>.pdf", "application/pdf", AttachmentKind.DOCUMENT, "a_b_c_.pdf"),
])
def test_clean_filename(name: str | None, ctype: str, kind: AttachmentKind, expected: str) -> None:
    assert clean_filename(name, ctype, kind) == expected


def test_long_filenames_are_cut_keeping_the_extension() -> None:
    name = clean_filename("长" * 500 + ".pdf", "application/pdf", AttachmentKind.DOCUMENT)
    assert len(name) == 120 and name.endswith(".pdf")


def test_human_size() -> None:
    assert human_size(10 * 1024 * 1024) == "10 MB"
    assert human_size(1536 * 1024) == "1.5 MB"
    assert human_size(2048) == "2 KB"
    assert human_size(12) == "12 字节"
