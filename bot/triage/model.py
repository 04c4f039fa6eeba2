"""Data shapes of the triage: the decision table as loaded from ``rules.yml`` and the result.

The table is read once, lazily, and validated on load: an unknown channel code,
a rule without citations or a malformed condition is a :class:`TriageTableError`
at start-up, never a wrong answer to a citizen.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import PetitionError
from bot.triage.deadlines import parse_period

__all__ = [
    "CHANNELS",
    "DEADLINE_FROM",
    "DEADLINE_KINDS",
    "DISPUTES",
    "RULES_PATH",
    "Addendum",
    "Citation",
    "DeadlineSpec",
    "Question",
    "Rule",
    "RuleTable",
    "TriageResult",
    "TriageTableError",
    "load_table",
    "parse_table",
]

#: Contract codes of ``legal_channel`` (DESIGN.md, "Contract: dialogue").
CHANNELS: tuple[str, ...] = (
    "labor_arbitration",
    "administrative_review",
    "administrative_litigation",
    "civil_litigation",
    "rural_land_arbitration",
    "commercial_arbitration",
    "mediation",
    "existing_procedure",
    "retrial",
    "police",
    "discipline_inspection",
    "regulator_report",
    "petition",
    "petition_review",
)

DISPUTES: tuple[str, ...] = (
    "labour",
    "admin_act",
    "civil",
    "consumer",
    "family",
    "rural_land",
    "crime",
    "official_misconduct",
    "suggestion",
    "medical",
    "environment",
    "petition_reply",
    "other",
)

DEADLINE_KINDS = ("days", "months", "years", "none")
DEADLINE_FROM = ("known_date", "review_decision", "reply_date", "employment_end")

RULES_PATH = Path(__file__).with_name("rules.yml")

#: Facts a ``when:`` clause may test (TriageFacts fields plus derived ``since_known``).
CONDITION_KEYS = frozenset(
    {
        "dispute",
        "admin_act",
        "admin_inaction",
        "review_mandatory",
        "arbitration_agreement",
        "procedure_pending",
        "effective_judgment",
        "retrial_refused",
        "judgment_unperformed",
        "filing_refused",
        "has_review_decision",
        "petition_reply_received",
        "petition_stage",
        "already_accepted",
        "wages_unpaid_during_employment",
        "work_injury",
        "employment_ended",
        "hardship",
        "real_property",
        "since_known",
    }
)
_OPS = frozenset({"not", "in", "not_in", "lte", "lt", "gt", "gte", "missing"})


class TriageTableError(PetitionError):
    """The decision table (rules.yml) is malformed. A deployment error, not the citizen's."""

    code = "triage_table_invalid"
    http_status = 500


@dataclass(frozen=True)
class Citation:
    law: str
    article: str

    def to_dict(self) -> dict[str, str]:
        return {"law": self.law, "article": self.article}


@dataclass(frozen=True)
class DeadlineSpec:
    kind: str  # days | months | years | none
    amount: int | None
    from_: str  # known_date | review_decision | reply_date | employment_end
    label: str


@dataclass(frozen=True)
class Rule:
    id: str
    when: Mapping[str, Any]
    legal_channel: str
    alternatives: tuple[str, ...]
    explanation: str
    citations: tuple[Citation, ...]
    deadline: DeadlineSpec
    where: str
    table_no: tuple[int, ...] = ()
    #: the recommendation in the citizen's words when the channel's own name says too little
    #: ("向人社部门申请工伤认定" rather than "向主管部门投诉举报"); empty: the channel's name
    headline: str = ""


@dataclass(frozen=True)
class Addendum:
    """Extra advice appended when its condition holds (legal aid, rule 25)."""

    id: str
    when: Mapping[str, Any]
    text: str
    citations: tuple[Citation, ...]
    where: str


@dataclass(frozen=True)
class RuleTable:
    version: str
    effective_from: str
    rules: tuple[Rule, ...]
    addenda: tuple[Addendum, ...] = ()
    disclaimer: str = ""
    expired_advice: str = ""

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


@dataclass(frozen=True)
class Question:
    """A closed question about one missing fact; ``options`` are (value, label) pairs."""

    id: str
    text: str
    options: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "options": [{"value": v, "label": label} for v, label in self.options],
        }


@dataclass(frozen=True)
class TriageResult:
    legal_channel: str
    legal_channel_alternatives: list[str]
    questions: list[Question]
    explanation: str
    citations: list[dict[str, str]]
    deadline: dict[str, Any]
    where: str
    rule_id: str
    table_version: str
    disclaimer: str
    addenda: list[str] = field(default_factory=list)
    #: the rule's own wording of the recommendation, if it has one (not part of the API body)
    headline: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The ``POST /api/triage`` body (DESIGN.md contract keys plus a few extras)."""
        return {
            "legal_channel": self.legal_channel,
            "legal_channel_alternatives": list(self.legal_channel_alternatives),
            "questions": [q.to_dict() for q in self.questions],
            "explanation": self.explanation,
            "citations": [dict(c) for c in self.citations],
            "deadline": dict(self.deadline),
            "rule_id": self.rule_id,
            "table_version": self.table_version,
            "where": self.where,
            "disclaimer": self.disclaimer,
        }


# --------------------------------------------------------------------------- loading


def _text(raw: Any) -> str:
    """Folded YAML joins lines with a space; Chinese prose wants no spaces at all."""
    return re.sub(r"\s+", "", str(raw or ""))


def _fail(where: str, msg: str) -> TriageTableError:
    return TriageTableError(f"rules.yml {where}: {msg}")


def _check_when(where: str, when: Any) -> dict[str, Any]:
    if when is None:
        return {}
    if not isinstance(when, dict):
        raise _fail(where, "'when' must be a mapping")
    for key, cond in when.items():
        if key not in CONDITION_KEYS:
            raise _fail(where, f"unknown fact {key!r} in 'when'")
        if isinstance(cond, dict):
            bad = set(cond) - _OPS
            if bad:
                raise _fail(where, f"unknown operator(s) {sorted(bad)} for {key!r}")
            for op in ("lte", "lt", "gt", "gte"):
                if op in cond:
                    if key != "since_known":
                        raise _fail(where, f"range operator on {key!r}; only since_known")
                    try:
                        parse_period(cond[op])
                    except ValueError as exc:
                        raise _fail(where, str(exc)) from exc
        if key == "dispute":
            values = cond.get("in", cond.get("not_in", [])) if isinstance(cond, dict) else cond
            values = values if isinstance(values, list) else [values]
            for v in values:
                if v is not None and v not in DISPUTES:
                    raise _fail(where, f"unknown dispute {v!r}")
    return dict(when)


def _citations(where: str, raw: Any, required: bool) -> tuple[Citation, ...]:
    if not raw:
        if required:
            raise _fail(where, "citations must not be empty")
        return ()
    out = []
    for c in raw:
        if not isinstance(c, dict) or not c.get("law") or not c.get("article"):
            raise _fail(where, f"bad citation {c!r}")
        out.append(Citation(str(c["law"]), str(c["article"])))
    return tuple(out)


def _deadline(where: str, raw: Any) -> DeadlineSpec:
    if not isinstance(raw, dict):
        raise _fail(where, "deadline must be a mapping")
    kind = raw.get("kind")
    if kind not in DEADLINE_KINDS:
        raise _fail(where, f"deadline kind {kind!r}")
    amount = raw.get("amount")
    if kind != "none" and (not isinstance(amount, int) or amount <= 0):
        raise _fail(where, "deadline amount must be a positive integer")
    frm = raw.get("from", "known_date")
    if frm not in DEADLINE_FROM:
        raise _fail(where, f"deadline from {frm!r}")
    label = raw.get("label")
    if not label:
        raise _fail(where, "deadline label missing")
    return DeadlineSpec(kind, amount if kind != "none" else None, frm, _text(label))


def parse_table(data: Mapping[str, Any]) -> RuleTable:
    """Validate a decoded ``rules.yml`` document and build the table."""
    if not isinstance(data, Mapping):
        raise _fail("top", "document must be a mapping")
    version = data.get("version")
    if not version:
        raise _fail("top", "version missing")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _fail("top", "rules must be a non-empty list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rid = raw.get("id") if isinstance(raw, dict) else None
        where = f"rule #{i} ({rid})"
        if not rid or rid in seen:
            raise _fail(where, "missing or duplicate id")
        seen.add(rid)
        channel = raw.get("legal_channel")
        if channel not in CHANNELS:
            raise _fail(where, f"unknown legal_channel {channel!r}")
        alts = tuple(raw.get("alternatives") or ())
        for a in alts:
            if a not in CHANNELS or a == channel:
                raise _fail(where, f"bad alternative {a!r}")
        explanation = _text(raw.get("explanation"))
        if not explanation:
            raise _fail(where, "explanation missing")
        rules.append(
            Rule(
                id=str(rid),
                when=_check_when(where, raw.get("when")),
                legal_channel=channel,
                alternatives=alts,
                explanation=explanation,
                citations=_citations(where, raw.get("citations"), required=True),
                deadline=_deadline(where, raw.get("deadline")),
                where=_text(raw.get("where")),
                table_no=tuple(int(n) for n in (raw.get("table_no") or ())),
                headline=_text(raw.get("headline")),
            )
        )
    if rules[-1].when:
        raise _fail("top", "the last rule must be an unconditional catch-all")
    addenda = []
    for i, raw in enumerate(data.get("addenda") or ()):
        where = f"addendum #{i}"
        addenda.append(
            Addendum(
                id=str(raw.get("id")),
                when=_check_when(where, raw.get("when")),
                text=_text(raw.get("text")),
                citations=_citations(where, raw.get("citations"), required=True),
                where=_text(raw.get("where")),
            )
        )
    return RuleTable(
        version=str(version),
        effective_from=str(data.get("effective_from") or ""),
        rules=tuple(rules),
        addenda=tuple(addenda),
        disclaimer=_text(data.get("disclaimer")),
        expired_advice=_text(data.get("expired_advice")),
    )


@lru_cache(maxsize=4)
def load_table(path: str | None = None) -> RuleTable:
    """The decision table; read and validated once per path."""
    p = Path(path) if path else RULES_PATH
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TriageTableError(f"cannot read {p}: {exc}") from exc
    return parse_table(data)
