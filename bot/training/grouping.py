"""Grouping of similar inbox messages, so an admin labels a whole group at once (pure).

Messages are compared on a normalised form (full-width → half-width, lower case, punctuation
and spaces removed, masked or plain digit runs → ``#``) by the Jaccard similarity of their
character bigrams (unigrams for one-character texts). A new message joins the most similar
existing group when the similarity reaches the threshold, else it starts a group of its own;
the group key is derived from the normalised text of the message that started the group.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_THRESHOLD = 0.6
KEY_LENGTH = 16

_DIGITS_OR_MASK = re.compile(r"[0-9*＊xX#]*[0-9*＊#][0-9*＊xX#]*")
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """The form messages are compared in: '您好！电话138****5678。' → '您好电话#'."""
    plain = unicodedata.normalize("NFKC", text or "").lower()
    plain = _DIGITS_OR_MASK.sub("#", plain)
    return "#".join(_DROP.sub("", part) for part in plain.split("#"))


def shingles(normalized: str) -> frozenset[str]:
    """Character bigrams of a normalised text (the text itself when shorter than 2)."""
    if len(normalized) < 2:
        return frozenset([normalized]) if normalized else frozenset()
    return frozenset(normalized[i:i + 2] for i in range(len(normalized) - 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the bigrams of two normalised texts, 0.0 … 1.0."""
    if a == b:
        return 1.0
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def key_for(normalized: str) -> str:
    """A stable group key for a group started by ``normalized``."""
    return hashlib.sha1(normalized.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def assign_group(
    normalized: str, leaders: Iterable[tuple[str, str]], threshold: float = DEFAULT_THRESHOLD
) -> str:
    """The key of the most similar group (``leaders``: (key, normalised text of its first
    message)) when it is at least ``threshold`` similar, else a new key for this text."""
    best_key, best = None, 0.0
    for key, leader in leaders:
        score = similarity(normalized, leader)
        if score > best or (score == best and best_key is not None and key < best_key):
            best_key, best = key, score
    if best_key is not None and best >= threshold:
        return best_key
    return key_for(normalized)


@dataclass(frozen=True)
class Group:
    key: str
    ids: tuple[int, ...]


def cluster(items: Sequence[tuple[int, str]], threshold: float = DEFAULT_THRESHOLD) -> list[Group]:
    """Group (id, text) pairs in order: each text joins the most similar earlier group."""
    leaders: list[tuple[str, str]] = []
    members: dict[str, list[int]] = {}
    for item_id, text in items:
        norm = normalize(text)
        key = assign_group(norm, leaders, threshold)
        if key not in members:
            leaders.append((key, norm))
            members[key] = []
        members[key].append(item_id)
    return [Group(key, tuple(ids)) for key, ids in members.items()]
