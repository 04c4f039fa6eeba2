"""Masking of ID and phone numbers for display to unprivileged roles and for logs."""
from __future__ import annotations

import re

_ID_RUN = re.compile(r"(?<![0-9０-９])[0-9０-９]{17}[0-9０-９XxＸｘ](?![0-9０-９A-Za-z])")
# 7 or more digits, possibly with single spaces/hyphens inside (phone numbers, bank cards, ...).
_DIGIT_RUN = re.compile(r"(?<![0-9０-９])\+?[0-9０-９](?:[ \-]?[0-9０-９]){6,}(?![0-9０-９])")
_TWO_DIGIT_AREA = ("010", "02")


def mask_id_number(value: str) -> str:
    """'11010519491231002X' → '110105********002X': the first 6 and the last 4 characters stay."""
    s = (value or "").strip()
    if len(s) >= 14:
        return s[:6] + "*" * (len(s) - 10) + s[-4:]
    if len(s) > 2:
        return "*" * (len(s) - 2) + s[-2:]
    return "*" * len(s)


def mask_phone(value: str) -> str:
    """Mobile '13812345678' → '138****5678'; landline '01012345678' → '010******78' (area code + last 2)."""
    s = (value or "").strip()
    if len(s) == 11 and s.startswith("1"):
        return s[:3] + "****" + s[-4:]
    if s.startswith("0") and len(s) >= 9:
        area = 3 if s.startswith(_TWO_DIGIT_AREA) else 4
        return s[:area] + "*" * (len(s) - area - 2) + s[-2:]
    if len(s) > 2:
        return "*" * (len(s) - 2) + s[-2:]
    return "*" * len(s)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = re.sub(r"[^0-9０-９]", "", run)
    plain = digits.translate({cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)})
    if plain.startswith("86") and run.startswith("+"):
        return "+86" + mask_phone(plain[2:])
    return mask_phone(plain)


def mask_pii_in_text(text: str) -> str:
    """Free text with every ID-looking and phone-looking number masked (for logs)."""
    if not text:
        return text
    masked = _ID_RUN.sub(lambda m: mask_id_number(m.group(0)), text)
    return _DIGIT_RUN.sub(_mask_run, masked)
