"""ID and phone numbers never reach a log line in clear."""
from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.security.logmask import (
    PiiMaskingFilter,
    install_pii_log_masking,
    mask_log_text,
    uninstall_pii_log_masking,
)

ID_NUMBER = "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"id={ID_NUMBER}", "id=110105********002X"),
        ("id=110105194912310021 done", "id=110105********0021 done"),
        ("身份证号码11010519491231002x。", "身份证号码110105********002X。"),
        ("电话13812345678", "电话138****5678"),
        ("tel: 138 1234 5678", "tel: 138****5678"),
        ("tel: 138-1234-5678,", "tel: 138****5678,"),
        ("+86 13812345678", "+86138****5678"),
        ("８６１３８１２３４５６７８", "+86138****5678"),
        ("座机010-12345678", "座机010******78"),
        ("座机0571 87654321", "座机0571******21"),
        ("{'phone': '13912345678', 'id_number': '110105194912310021'}",
         "{'phone': '139****5678', 'id_number': '110105********0021'}"),
    ],
)
def test_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_log_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "case XF20261123-0001 accepted",
        "update 123456789 from chat 5551234567",
        "timestamp 1700000000.123456",
        "msg:23456789012345678901",
        "2026-11-23 02:30:00",
        "took 0.0123456789 s",
        "",
    ],
)
def test_other_numbers_stay_readable(text: str) -> None:
    assert mask_log_text(text) == text


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad phone 13812345678 for {ID_NUMBER}")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args or None, exc_info)


def test_filter_masks_message_args_and_traceback() -> None:
    record = _record("citizen %s phone %s count %d", ID_NUMBER, "13812345678", 3)
    assert PiiMaskingFilter().filter(record) is True
    assert record.getMessage() == "citizen 110105********002X phone 138****5678 count 3"

    with_exc = _record("failed", exc=True)
    PiiMaskingFilter().filter(with_exc)
    assert with_exc.exc_text and "13812345678" not in with_exc.exc_text and ID_NUMBER not in with_exc.exc_text
    assert "138****5678" in with_exc.exc_text


def test_filter_leaves_clean_records_alone() -> None:
    record = _record("case %s status %s", "XF20261123-0001", "accepted")
    PiiMaskingFilter().filter(record)
    assert record.msg == "case %s status %s" and record.args == ("XF20261123-0001", "accepted")


def test_filter_survives_a_bad_format_string() -> None:
    record = _record("%d items", "not a number")
    assert PiiMaskingFilter().filter(record) is True


@pytest.fixture
def masked_logging() -> Iterator[None]:
    install_pii_log_masking()
    try:
        yield
    finally:
        uninstall_pii_log_masking()


def test_installed_masking_covers_handlers_added_later(masked_logging: None) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # configured after the install, like uvicorn's
    logger = logging.getLogger("tests.security.later")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("submit by %s, phone %s", ID_NUMBER, "13812345678")
        try:
            raise RuntimeError(f"lookup {ID_NUMBER}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "110105********002X" in output and "138****5678" in output
    assert ID_NUMBER not in output and "13812345678" not in output


def test_install_is_idempotent_and_uninstall_restores(masked_logging: None) -> None:
    assert install_pii_log_masking() is install_pii_log_masking()
    uninstall_pii_log_masking()
    record = logging.getLogger("tests.security.raw").makeRecord("x", logging.INFO, "f", 1, "13812345678", None, None)
    assert record.getMessage() == "13812345678"
