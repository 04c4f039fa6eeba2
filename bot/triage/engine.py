"""The pure triage engine: facts + today + decision table -> :class:`TriageResult`.

``evaluate`` has no I/O (the table is passed in, or loaded once and cached);
``triage`` reads the facts out of a free text and explicit answers first.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from bot.errors import InvalidField
from bot.triage.deadlines import Period, add_period, parse_period
from bot.triage.facts import TriageFacts, apply_answers, extract_facts
from bot.triage.model import Question, Rule, RuleTable, TriageResult, load_table
from bot.triage.questions import MAX_QUESTIONS, QUESTIONS

__all__ = ["compute_deadline", "evaluate", "match_rule", "matches", "triage"]


# --------------------------------------------------------------------------- conditions


def _since_known(cond: Mapping[str, Any], facts: TriageFacts, today: date) -> bool:
    if facts.known_date is None:
        return bool(cond.get("missing", False))
    kd = facts.known_date
    for op, raw in cond.items():
        if op == "missing":
            continue
        limit = add_period(kd, parse_period(raw))  # last day of the period
        # "elapsed <= period"  <=>  today is on or before the period's last day
        ok = {
            "lte": today <= limit,
            "lt": today < limit,
            "gt": today > limit,
            "gte": today >= limit,
        }[op]
        if not ok:
            return False
    return True


def _match_value(cond: Any, value: Any) -> bool:
    if isinstance(cond, dict):
        if "not" in cond and value == cond["not"]:
            return False
        if "in" in cond and value not in cond["in"]:
            return False
        return not ("not_in" in cond and value in cond["not_in"])
    if isinstance(cond, list):
        return value in cond
    if isinstance(cond, bool):
        return value is cond
    return bool(value == cond)


def matches(when: Mapping[str, Any], facts: TriageFacts, today: date) -> bool:
    """True when every condition of ``when`` holds for ``facts`` on ``today``."""
    for key, cond in when.items():
        if key == "since_known":
            if not _since_known(cond, facts, today):
                return False
        elif not _match_value(cond, getattr(facts, key)):
            return False
    return True


def match_rule(facts: TriageFacts, today: date, table: RuleTable) -> Rule:
    for rule in table.rules:
        if matches(rule.when, facts, today):
            return rule
    return table.rules[-1]  # pragma: no cover - the last rule is unconditional (validated)


# --------------------------------------------------------------------------- deadline


def _start_date(rule: Rule, facts: TriageFacts) -> date | None:
    if (
        rule.deadline.from_ == "employment_end"
        and facts.wages_unpaid_during_employment
        and facts.employment_end is not None
    ):
        return facts.employment_end
    return facts.known_date


def compute_deadline(rule: Rule, facts: TriageFacts, today: date, table: RuleTable) -> dict[str, Any]:
    """The ``deadline`` object of the result: label, due_date (ISO), days_left, warning."""
    spec = rule.deadline
    out: dict[str, Any] = {
        "label": spec.label,
        "due_date": None,
        "days_left": None,
        "warning": None,
        "kind": spec.kind,
        "amount": spec.amount,
        "from": spec.from_,
    }
    if spec.kind == "none" or spec.amount is None:
        return out
    start = _start_date(rule, facts)
    if start is None:
        return out
    if facts.known_date_approx and start == facts.known_date:
        out["warning"] = "您给的是大概的时间，无法算出准确的截止日，请按确切的日期尽快办理。"
        return out
    period = Period(spec.kind, spec.amount)
    due = add_period(start, period)
    days_left = (due - today).days
    total = max((due - start).days, 1)
    out["due_date"] = due.isoformat()
    out["days_left"] = days_left
    latest = facts.known_date_latest if start == facts.known_date else None
    due_latest = add_period(latest, period) if latest is not None and latest > start else None
    if due_latest is not None:
        out["due_date_latest"] = due_latest.isoformat()
    if days_left < 0 and due_latest is not None and due_latest >= today:
        out["warning"] = (
            f"您说的时间比较笼统：按最早的可能日期算，期限已经过了；按最晚的可能日期算，截止日是"
            f"{due_latest.isoformat()}。请尽快核对确切日期并抓紧办理。"
        )
    elif days_left < 0:
        out["warning"] = table.expired_advice or "按您说的时间，这个期限可能已经过了，建议尽快拨打12348咨询。"
    elif days_left == 0:
        out["warning"] = "今天就是最后一天，请务必抓紧在今天办理。"
    elif days_left * 4 < total:
        out["warning"] = f"距离截止日只剩{days_left}天了，请尽快办理，以免错过期限。"
    return out


# --------------------------------------------------------------------------- questions


def _outcome(facts: TriageFacts, today: date, table: RuleTable) -> str:
    return match_rule(facts, today, table).id


def _pending_questions(facts: TriageFacts, today: date, table: RuleTable, rule: Rule) -> list[Question]:
    asked: list[Question] = []
    current = rule.id
    for spec in QUESTIONS:
        if len(asked) >= MAX_QUESTIONS:
            break
        if spec.id in facts.unsure or spec.fact in facts.unsure:
            continue
        if getattr(facts, spec.fact) is not None or not spec.applies(facts):
            continue
        needs_date = spec.fact == "known_date" and rule.deadline.kind != "none"
        changes = False
        for value in spec.values():
            try:
                alt = apply_answers(facts, {spec.id: value}, today)
            except InvalidField:  # pragma: no cover - our own option values are valid
                continue
            if _outcome(alt, today, table) != current:
                changes = True
                break
        if changes or needs_date:
            asked.append(spec.question)
    return asked


# --------------------------------------------------------------------------- entry points


def evaluate(facts: TriageFacts, today: date, table: RuleTable | None = None) -> TriageResult:
    """Apply the decision table to ``facts``. Pure: same input, same result."""
    table = table or load_table()
    rule = match_rule(facts, today, table)
    explanation = rule.explanation
    citations = [c.to_dict() for c in rule.citations]
    where = rule.where
    addenda: list[str] = []
    for add in table.addenda:
        if matches(add.when, facts, today):
            addenda.append(add.id)
            explanation = f"{explanation}{add.text}"
            for c in add.citations:
                if c.to_dict() not in citations:
                    citations.append(c.to_dict())
            if add.where and add.where not in where:
                where = f"{where}；{add.where}" if where else add.where
    return TriageResult(
        legal_channel=rule.legal_channel,
        legal_channel_alternatives=list(rule.alternatives),
        questions=_pending_questions(facts, today, table, rule),
        explanation=explanation,
        citations=citations,
        deadline=compute_deadline(rule, facts, today, table),
        where=where,
        rule_id=rule.id,
        table_version=table.version,
        disclaimer=table.disclaimer,
        addenda=addenda,
        headline=rule.headline,
    )


def triage(
    text: str,
    answers: Mapping[str, Any] | None = None,
    today: date | None = None,
    *,
    table: RuleTable | None = None,
) -> TriageResult:
    """Legal channel for a citizen's story (``text``) plus answers to earlier questions.

    Raises :class:`bot.errors.InvalidField` for an answer that cannot be read
    (e.g. an unparseable date or an option code that does not exist).
    """
    today = today or date.today()
    facts = extract_facts(text, answers, today)
    return evaluate(facts, today, table)


def with_facts(facts: TriageFacts, **changes: Any) -> TriageFacts:
    """Convenience for callers and tests: a copy of ``facts`` with some fields changed."""
    return replace(facts, **changes)
