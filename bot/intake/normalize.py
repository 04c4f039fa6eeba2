"""Text normalisation shared by the NLU pipeline and the form's parsers.

Traditional characters become simplified (OpenCC tables, shipped in the
package), full-width ASCII becomes half-width (NFKC), and control characters
are dropped so junk never reaches a parser or the database.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

_KEEP_CONTROLS = {"\n", "\t"}


@lru_cache(maxsize=1)
def _converter() -> Any:
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, offline tables

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese to simplified; other text passes unchanged."""
    if not text:
        return text
    return str(_converter().convert(text))


def strip_controls(text: str) -> str:
    return "".join(
        ch for ch in text if ch in _KEEP_CONTROLS or unicodedata.category(ch)[0] != "C"
    )


# Full-width digits, Latin letters and the ideographic space become ASCII;
# Chinese punctuation (，。？！：；（）) is kept as the citizen wrote it.
_WIDTH_MAP = {cp: cp - 0xFEE0 for cp in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_WIDTH_MAP[0x3000] = 0x20
_WIDTH_MAP[0xFF0B] = ord("+")
_WIDTH_MAP[0xFF0D] = ord("-")


def to_halfwidth(text: str) -> str:
    return text.translate(_WIDTH_MAP)


def normalize_text(text: str) -> str:
    """The canonical form every parser sees: ASCII digits, no control characters, simplified."""
    if not text:
        return ""
    return to_simplified(strip_controls(to_halfwidth(text))).strip()
