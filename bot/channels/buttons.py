"""Rasa button lists -> a channel-neutral structure every chat channel can render."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChannelButton:
    """One choice: what the citizen sees (``title``) and what comes back to Rasa (``payload``)."""

    title: str
    payload: str


def normalize_buttons(buttons: Iterable[Mapping[str, Any]] | None) -> list[ChannelButton]:
    """Rasa's ``[{"title": ..., "payload": ...}, ...]`` as ChannelButtons.

    A missing payload falls back to the title and a missing title to the payload; entries
    with neither (or that are not mappings) are dropped instead of failing the whole reply.
    """
    result: list[ChannelButton] = []
    for raw in buttons or ():
        if not isinstance(raw, Mapping):
            continue
        title = str(raw.get("title") or "").strip()
        payload = str(raw.get("payload") or "").strip()
        if not title and not payload:
            continue
        result.append(ChannelButton(title=title or payload, payload=payload or title))
    return result
