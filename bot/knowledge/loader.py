"""Load and validate the policy FAQ (``bot/knowledge/faq.yml``).

``load_faq()`` is cached per file; every rule the FAQ must satisfy is checked on load and a
broken file raises ``ValueError`` naming the topic and the problem.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.model import ARTICLE_RE, LAW_RE, RETRIEVAL_INTENT, Citation, FaqTopic

DEFAULT_FAQ_PATH = Path(__file__).resolve().with_name("faq.yml")
SUPPORTED_VERSION = 1
MIN_EXAMPLES = 8
MIN_HELDOUT = 3

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Punctuation and spaces ignored when comparing phrases: "信访要收费吗？" equals "信访要收费吗".
_PHRASE_NOISE = re.compile(r"[\s，。！？、,.!?;；:：~～…]+")


def normalize_phrase(text: str) -> str:
    """The form two training phrases are compared in (case, spaces and punctuation ignored)."""
    return _PHRASE_NOISE.sub("", text).lower()


def load_faq(path: str | Path | None = None) -> list[FaqTopic]:
    """All FAQ topics of ``path`` (default: the packaged ``faq.yml``), validated, in file order."""
    resolved = Path(path).resolve() if path is not None else DEFAULT_FAQ_PATH
    return list(_load_cached(str(resolved)))


def clear_cache() -> None:
    """Forget loaded files (tests, or after editing the YAML in a running process)."""
    _load_cached.cache_clear()


def get_topic(topic_id: str) -> FaqTopic:
    """The topic with this id from the default FAQ; ``KeyError`` when there is none."""
    try:
        return _index(str(DEFAULT_FAQ_PATH))[topic_id]
    except KeyError:
        raise KeyError(f"unknown FAQ topic: {topic_id!r}") from None


def topic_for_intent(intent: str) -> FaqTopic:
    """The topic of a retrieval intent such as ``faq/how_to_petition`` (the
    ``full_retrieval_intent_name`` Rasa reports); ``KeyError`` for anything else."""
    prefix = f"{RETRIEVAL_INTENT}/"
    if not intent.startswith(prefix):
        raise KeyError(f"not an FAQ retrieval intent: {intent!r}")
    return get_topic(intent[len(prefix) :])


@functools.lru_cache(maxsize=8)
def _load_cached(path: str) -> tuple[FaqTopic, ...]:
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{file}: cannot read the FAQ file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{file}: invalid YAML: {exc}") from exc
    return tuple(parse_faq(raw, source=str(file)))


@functools.lru_cache(maxsize=8)
def _index(path: str) -> dict[str, FaqTopic]:
    return {t.id: t for t in _load_cached(path)}


def parse_faq(raw: Any, source: str = "faq.yml") -> list[FaqTopic]:
    """Validate the parsed YAML document and build the topics (``ValueError`` when invalid)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: the FAQ must be a mapping with 'version' and 'topics'")
    if raw.get("version") != SUPPORTED_VERSION:
        raise ValueError(
            f"{source}: unsupported version {raw.get('version')!r}, expected {SUPPORTED_VERSION}"
        )
    items = raw.get("topics")
    if not isinstance(items, list) or not items:
        raise ValueError(f"{source}: 'topics' must be a non-empty list")

    topics = [_parse_topic(item, i, source) for i, item in enumerate(items)]

    seen_ids: dict[str, int] = {}
    for i, topic in enumerate(topics):
        if topic.id in seen_ids:
            raise ValueError(
                f"{source}: duplicate topic id {topic.id!r} (topics #{seen_ids[topic.id]} and #{i})"
            )
        seen_ids[topic.id] = i

    # Each phrase belongs to exactly one topic and one role (training or held-out).
    owner: dict[str, tuple[str, str, str]] = {}
    for topic in topics:
        for role, phrases in (("examples", topic.examples), ("heldout", topic.heldout)):
            for phrase in phrases:
                key = normalize_phrase(phrase)
                if not key:
                    raise ValueError(f"{source}: topic {topic.id!r}: empty phrase in {role}")
                if key in owner:
                    other_id, other_role, other_phrase = owner[key]
                    where = "twice in topic" if other_id == topic.id else "shared between topics"
                    raise ValueError(
                        f"{source}: phrase {phrase!r} is {where} {other_id!r} ({other_role}: {other_phrase!r})"
                        f" and {topic.id!r} ({role}); every phrase must appear once"
                    )
                owner[key] = (topic.id, role, phrase)
    return topics


def _parse_topic(item: Any, index: int, source: str) -> FaqTopic:
    if not isinstance(item, dict):
        raise ValueError(f"{source}: topic #{index} must be a mapping")
    topic_id = item.get("id")
    if not isinstance(topic_id, str) or not _ID_RE.match(topic_id):
        raise ValueError(f"{source}: topic #{index}: id {topic_id!r} must be snake_case ASCII")
    where = f"{source}: topic {topic_id!r}"

    unknown = set(item) - {"id", "title", "answer", "citations", "examples", "heldout"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("title", "answer"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: '{key}' must be a non-empty string")

    citations_raw = item.get("citations")
    if not isinstance(citations_raw, list) or not citations_raw:
        raise ValueError(f"{where}: 'citations' must be a non-empty list of {{law, article}}")
    citations = []
    for c in citations_raw:
        if not isinstance(c, dict) or set(c) != {"law", "article"}:
            raise ValueError(f"{where}: citation {c!r} must have exactly 'law' and 'article'")
        law, article = str(c["law"]).strip(), str(c["article"]).strip()
        if not LAW_RE.match(law):
            raise ValueError(f"{where}: law {law!r} must be a name in 《》")
        if not ARTICLE_RE.match(article):
            raise ValueError(f"{where}: article {article!r} must be Chinese numbering like 第二十二条")
        citations.append(Citation(law=law, article=article))
    if len(set(citations)) != len(citations):
        raise ValueError(f"{where}: duplicate citation")

    examples = _phrases(item.get("examples"), "examples", MIN_EXAMPLES, where)
    heldout = _phrases(item.get("heldout"), "heldout", MIN_HELDOUT, where)
    return FaqTopic(
        id=topic_id,
        title=item["title"].strip(),
        answer=item["answer"].strip(),
        citations=tuple(citations),
        examples=examples,
        heldout=heldout,
    )


def _phrases(value: Any, key: str, minimum: int, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: '{key}' must be a list of strings")
    phrases = tuple(v.strip() for v in value)
    if len(phrases) < minimum:
        raise ValueError(f"{where}: needs at least {minimum} {key}, has {len(phrases)}")
    for p in phrases:
        if "\n" in p:
            raise ValueError(f"{where}: {key} phrase {p!r} must be one line")
    return phrases
