"""Rasa training files of the admin loop: reading examples, writing labelled ones (pure).

Labelled inbox messages go to ``nlu_data/nlu/inbox_<source>.yml`` (one file per source, e.g.
per channel). The file is regenerated from its own content plus the new examples, so it stays
valid Rasa YAML, sorted by intent, one example per inbox message, each with its provenance as
a comment and as example ``metadata`` (inbox id, capture date, reason, labeller, date).
Entities are written in Rasa markup: ``[北京市](region)``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.errors import InvalidInput
from bot.training.metrics import Example

INBOX_PREFIX = "inbox_"
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
RETRIEVAL_INTENT = re.compile(r"^[a-z][a-z0-9_]{1,62}/[a-z0-9_]{1,80}$")
ENTITY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SOURCE_CLEAN = re.compile(r"[^a-z0-9_]+")
# [text](entity) / [text](entity:value) / [text]{"entity": ...}
_MARKUP = re.compile(r"\[(?P<text>[^\]]+?)\](?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<json>[^}]+?)\})")
_METADATA_ORDER = ("inbox_id", "captured", "reason", "predicted", "confidence", "labelled_by", "labelled_at")
_HEADER = (
    "# Training examples labelled in the admin console from the NLU inbox (source: {source}).\n"
    "# Written by bot.training (docs/admin.md): one example per inbox message; the comment and the\n"
    "# metadata say where it came from. Review in git like any other training file.\n"
)


def inbox_file_name(source: str) -> str:
    """'rest' → 'inbox_rest.yml'; anything unusual is reduced to [a-z0-9_]."""
    clean = _SOURCE_CLEAN.sub("_", (source or "").lower()).strip("_")[:40] or "inbox"
    return f"{INBOX_PREFIX}{clean}.yml"


def strip_markup(text: str) -> str:
    """Rasa entity markup removed: '我住[北京市](region)' → '我住北京市'."""
    return _MARKUP.sub(lambda m: m.group("text"), text)


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    entity: str
    value: str | None = None


def parse_entities(raw: Iterable[Mapping[str, Any]] | None) -> list[Entity]:
    entities = []
    for item in raw or []:
        try:
            ent = Entity(int(item["start"]), int(item["end"]), str(item["entity"]).strip(),
                         (str(item["value"]).strip() or None) if item.get("value") not in (None, "") else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"bad entity {item!r}", user_message="实体标注不完整，请重新选择。") from exc
        entities.append(ent)
    return entities


def render_markup(text: str, entities: Sequence[Entity] = ()) -> str:
    """``text`` with ``entities`` (character offsets) in Rasa markup. Square brackets of the plain
    text become full-width so they cannot be read as markup."""
    spans = sorted(entities, key=lambda e: e.start)
    previous_end = 0
    for ent in spans:
        if not (0 <= ent.start < ent.end <= len(text)) or ent.start < previous_end:
            raise InvalidInput(f"entity span {ent.start}-{ent.end} invalid", user_message="实体位置不对（越界或重叠），请重新选择。")
        if not ENTITY_NAME.match(ent.entity):
            raise InvalidInput(f"entity name {ent.entity!r}", user_message="实体名称只能用小写英文字母、数字和下划线。")
        previous_end = ent.end

    def plain(part: str) -> str:
        return part.replace("[", "［").replace("]", "］")

    out, pos = [], 0
    for ent in spans:
        out.append(plain(text[pos:ent.start]))
        value = f":{ent.value}" if ent.value and ent.value != text[ent.start:ent.end] else ""
        out.append(f"[{plain(text[ent.start:ent.end])}]({ent.entity}{value})")
        pos = ent.end
    out.append(plain(text[pos:]))
    return "".join(out)


_SIMPLE_MARKUP = re.compile(r"\[(?P<text>[^\[\]]+)\]\((?P<entity>[^():]+?)(?::(?P<value>[^()]+))?\)")


def entities_from_markup(original: str, marked: str) -> list[Entity]:
    """Entities an admin marked by writing ``[文字](实体名)`` into the message; the text without
    the marks must be the message unchanged."""
    entities, plain, pos = [], [], 0
    for match in _SIMPLE_MARKUP.finditer(marked):
        plain.append(marked[pos:match.start()])
        start = sum(len(p) for p in plain)
        text = match.group("text")
        plain.append(text)
        value = (match.group("value") or "").strip() or None
        entities.append(Entity(start, start + len(text), match.group("entity").strip(), value))
        pos = match.end()
    plain.append(marked[pos:])
    if "".join(plain) != original:
        raise InvalidInput("markup changes the text",
                           user_message="标注实体时只能加上 [文字](实体名) 标记，不能改动原文。")
    return entities


def _examples_of(item: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    raw = item.get("examples")
    if isinstance(raw, str):
        return [(line.strip()[2:].strip(), {}) for line in raw.splitlines() if line.strip().startswith("- ")]
    if isinstance(raw, list):
        result = []
        for ex in raw:
            if isinstance(ex, Mapping) and isinstance(ex.get("text"), str):
                meta = ex.get("metadata")
                result.append((ex["text"], dict(meta) if isinstance(meta, Mapping) else {}))
        return result
    return []


def parse_nlu_examples(content: str) -> list[Example]:
    """Every intent example of a Rasa NLU YAML text (markup stripped)."""
    data = yaml.safe_load(content) or {}
    examples = []
    for item in data.get("nlu") or []:
        if isinstance(item, Mapping) and isinstance(item.get("intent"), str):
            for text, _meta in _examples_of(item):
                if text:
                    examples.append(Example(strip_markup(text), item["intent"]))
    return examples


# ---- inbox files -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledExample:
    text: str  # with entity markup
    intent: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def inbox_id(self) -> Any:
        return self.metadata.get("inbox_id")


def read_inbox_file(content: str | None) -> list[LabelledExample]:
    """The examples of an existing inbox file (empty for None / empty text)."""
    if not content or not content.strip():
        return []
    data = yaml.safe_load(content) or {}
    result = []
    for item in data.get("nlu") or []:
        if isinstance(item, Mapping) and isinstance(item.get("intent"), str):
            for text, meta in _examples_of(item):
                if text:
                    result.append(LabelledExample(text, item["intent"], meta))
    return result


def merge_examples(existing: Sequence[LabelledExample], new: Sequence[LabelledExample]) -> list[LabelledExample]:
    """``existing`` plus ``new``; a new example replaces an old one with the same inbox id or the
    same text (the latest label wins)."""
    merged = list(existing)
    for ex in new:
        merged = [
            old for old in merged
            if not ((ex.inbox_id is not None and old.inbox_id == ex.inbox_id) or old.text == ex.text)
        ]
        merged.append(ex)
    return merged


def _comment(meta: Mapping[str, Any]) -> str:
    parts = []
    if meta.get("inbox_id") is not None:
        parts.append(f"inbox #{meta['inbox_id']}")
    if meta.get("captured"):
        reason = f", {meta['reason']}" if meta.get("reason") else ""
        predicted = f", predicted {meta['predicted']}" if meta.get("predicted") else ""
        parts.append(f"captured {meta['captured']}{reason}{predicted}")
    if meta.get("labelled_by") or meta.get("labelled_at"):
        parts.append(f"labelled {meta.get('labelled_at', '')} by {meta.get('labelled_by', '?')}".replace("  ", " "))
    return " · ".join(parts).replace("\n", " ")


def render_inbox_file(source: str, examples: Sequence[LabelledExample]) -> str:
    """The whole inbox file: header, then intents in name order, examples in the given order."""
    by_intent: dict[str, list[LabelledExample]] = {}
    for ex in examples:
        by_intent.setdefault(ex.intent, []).append(ex)
    lines = [_HEADER.format(source=source).rstrip("\n"), 'version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples:")
        for ex in by_intent[intent]:
            comment = _comment(ex.metadata)
            if comment:
                lines.append(f"  # {comment}")
            lines.append(f"  - text: {json.dumps(ex.text, ensure_ascii=False)}")
            if ex.metadata:
                ordered = {k: ex.metadata[k] for k in _METADATA_ORDER if k in ex.metadata}
                ordered.update({k: v for k, v in ex.metadata.items() if k not in ordered})
                lines.append(f"    metadata: {json.dumps(ordered, ensure_ascii=False, default=str)}")
    return "\n".join(lines) + "\n"


# ---- domain ------------------------------------------------------------------------------------
def domain_intents(content: str) -> list[str]:
    """Intent names of a domain file (retrieval intents by their base name)."""
    data = yaml.safe_load(content) or {}
    names = []
    for item in data.get("intents") or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping):
            names.extend(str(k) for k in item)
    return names


def add_intent_to_domain(content: str, intent: str) -> str:
    """``content`` with ``intent`` appended to its ``intents:`` list (comments and layout kept).
    Unchanged when the intent is already there."""
    if not INTENT_NAME.match(intent):
        raise InvalidInput(f"intent name {intent!r}", user_message="新意图的名称只能用小写英文字母、数字和下划线，以字母开头。")
    if intent in domain_intents(content):
        return content
    lines = content.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^intents:\s*(#.*)?$", line.rstrip("\n"))), None)
    if start is None:
        sep = "" if not content or content.endswith("\n") else "\n"
        return f"{content}{sep}\nintents:\n  - {intent}\n"
    last_item, indent = start, "  "
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not lines[i].startswith((" ", "\t", "-")):
            break
        if stripped.startswith("- ") and last_item == start:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        last_item = i
    if not lines[last_item].endswith("\n"):
        lines[last_item] += "\n"
    lines.insert(last_item + 1, f"{indent}- {intent}\n")
    return "".join(lines)
