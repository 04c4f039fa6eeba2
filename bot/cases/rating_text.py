"""Reading a 1–5 satisfaction rating from a citizen's words or a button payload (pure)."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_NUMBER = re.compile(r"(?<![\d])([1-5一二两三四五])\s*(?:分|星|颗星|颗)")
_BARE = re.compile(r"^\s*([1-5])\s*$")
# longest phrases first: "非常不满意" must not be read as "满意"
_WORDS: tuple[tuple[str, int], ...] = (
    ("非常不满意", 1), ("很不满意", 1), ("极不满意", 1), ("差评", 1),
    ("不太满意", 2), ("不满意", 2),
    ("一般般", 3), ("基本满意", 3), ("还算满意", 3), ("一般", 3),
    ("非常满意", 5), ("很满意", 5), ("五星好评", 5), ("好评", 5), ("满意", 4),
)


def _digit(value: Any) -> int | None:
    text = str(value).strip()
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    if text.isdigit() and 1 <= int(text) <= 5:
        return int(text)
    return None


def parse_rating(text: str, entities: Iterable[Mapping[str, Any]] = ()) -> int | None:
    """The rating (1–5) the citizen gave, or ``None`` when the message holds none."""
    for entity in entities:
        if entity.get("entity") == "rating":
            found = _digit(entity.get("value"))
            if found is not None:
                return found
    text = text or ""
    match = _NUMBER.search(text) or _BARE.match(text)
    if match:
        return _digit(match.group(1))
    for phrase, score in _WORDS:
        if phrase in text:
            return score
    return None
