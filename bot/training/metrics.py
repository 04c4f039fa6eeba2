"""Evaluation of intent predictions and the promotion gate (pure).

- :func:`report`: per-intent precision, recall, F1 and support, accuracy, macro and weighted
  F1 (averages over the intents that occur in the gold labels).
- :func:`confusion`: confusion matrix, rows = gold intent, columns = predicted intent.
- :func:`changed_predictions`: the messages the candidate answers differently from the live model.
- :func:`compare` / :func:`gate`: per-intent F1 side by side; a candidate may be promoted only
  when no intent's F1 drops by more than the margin (``PROMOTE_MAX_F1_DROP``).

Retrieval intents are compared at the intent level (``faq/<topic>`` counts as ``faq``): the
response selector's topic choice is shown, not gated.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

EPSILON = 1e-9


def intent_level(name: str | None) -> str:
    """'faq/petition_deadline' → 'faq'; None → '' (no prediction)."""
    return (name or "").split("/", 1)[0]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str  # gold label (may be a retrieval intent faq/<topic>)


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float | None = None
    #: intent with the response selector's topic ("faq/<topic>"), when there is one
    full_intent: str | None = None


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    scores: Mapping[str, IntentScore]
    accuracy: float
    macro_f1: float
    weighted_f1: float
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy, "macro_f1": self.macro_f1, "weighted_f1": self.weighted_f1,
            "total": self.total, "intents": {k: asdict(v) for k, v in sorted(self.scores.items())},
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def report(gold: Sequence[str], predicted: Sequence[str]) -> Report:
    """Scores of ``predicted`` against ``gold`` (same length, intent level)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    gold = [intent_level(g) for g in gold]
    predicted = [intent_level(p) for p in predicted]
    support = Counter(gold)
    predicted_count = Counter(predicted)
    true_pos = Counter(g for g, p in zip(gold, predicted, strict=True) if g == p)
    scores: dict[str, IntentScore] = {}
    for label in sorted(set(gold) | set(predicted)):
        precision = _ratio(true_pos[label], predicted_count[label])
        recall = _ratio(true_pos[label], support[label])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = IntentScore(label, precision, recall, f1, support[label])
    gold_labels = [s for s in scores.values() if s.support]
    total = len(gold)
    return Report(
        scores=scores,
        accuracy=_ratio(sum(true_pos.values()), total),
        macro_f1=sum(s.f1 for s in gold_labels) / len(gold_labels) if gold_labels else 0.0,
        weighted_f1=sum(s.f1 * s.support for s in gold_labels) / total if total else 0.0,
        total=total,
    )


def confusion(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> tuple[list[str], list[list[int]]]:
    """(labels, matrix): ``matrix[i][j]`` counts messages of gold ``labels[i]`` predicted as ``labels[j]``."""
    gold = [intent_level(g) for g in gold]
    predicted = [intent_level(p) for p in predicted]
    names = list(labels) if labels is not None else sorted(set(gold) | set(predicted))
    index = {name: i for i, name in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for g, p in zip(gold, predicted, strict=True):
        if g in index and p in index:
            matrix[index[g]][index[p]] += 1
    return names, matrix


@dataclass(frozen=True)
class Change:
    text: str
    gold: str
    live: str
    candidate: str
    live_confidence: float | None
    candidate_confidence: float | None
    #: fixed (candidate right, live wrong) | broken (the reverse) | changed (both wrong, differently)
    kind: str
    source: str = "regression"


def changed_predictions(
    examples: Sequence[Example], live: Sequence[Prediction], candidate: Sequence[Prediction],
    source: str = "regression",
) -> list[Change]:
    """Every example whose intent-level prediction differs between the two models;
    broken ones first, then fixed, then changed."""
    changes = []
    for ex, lp, cp in zip(examples, live, candidate, strict=True):
        gold, lv, cv = intent_level(ex.intent), intent_level(lp.intent), intent_level(cp.intent)
        if lv == cv:
            continue
        kind = "fixed" if cv == gold else "broken" if lv == gold else "changed"
        changes.append(Change(ex.text, ex.intent, lp.intent, cp.intent, lp.confidence, cp.confidence, kind, source))
    order = {"broken": 0, "fixed": 1, "changed": 2}
    return sorted(changes, key=lambda c: order[c.kind])


@dataclass(frozen=True)
class IntentDelta:
    intent: str
    support: int
    live_f1: float
    candidate_f1: float
    live_precision: float
    candidate_precision: float
    live_recall: float
    candidate_recall: float

    @property
    def delta(self) -> float:
        return self.candidate_f1 - self.live_f1


def compare(live: Report, candidate: Report) -> list[IntentDelta]:
    """Per-intent scores side by side, for every intent of the gold labels (same test set)."""
    zero = IntentScore("", 0.0, 0.0, 0.0, 0)
    names = sorted({k for k, s in live.scores.items() if s.support} | {k for k, s in candidate.scores.items() if s.support})
    rows = []
    for name in names:
        lv, cv = live.scores.get(name, zero), candidate.scores.get(name, zero)
        rows.append(IntentDelta(name, max(lv.support, cv.support), lv.f1, cv.f1, lv.precision, cv.precision,
                                lv.recall, cv.recall))
    return rows


@dataclass(frozen=True)
class Gate:
    passed: bool
    max_drop: float
    violations: tuple[IntentDelta, ...]

    def describe(self) -> str:
        if self.passed:
            return f"没有任何意图的 F1 下降超过 {self.max_drop:.2f}，可以上线。"
        worst = ", ".join(f"{v.intent}（{v.live_f1:.2f}→{v.candidate_f1:.2f}）" for v in self.violations)
        return f"以下意图的 F1 下降超过 {self.max_drop:.2f}，不能上线：{worst}"


def gate(deltas: Sequence[IntentDelta], max_drop: float) -> Gate:
    """Passed when no intent's F1 drops by more than ``max_drop``."""
    violations = tuple(d for d in deltas if d.live_f1 - d.candidate_f1 > max_drop + EPSILON)
    return Gate(not violations, max_drop, violations)


# ---- serialisation (stored in training_runs.metrics) -------------------------------------------
def deltas_to_list(deltas: Sequence[IntentDelta]) -> list[dict[str, Any]]:
    return [{**asdict(d), "delta": d.delta} for d in deltas]


def deltas_from_list(rows: Sequence[Mapping[str, Any]]) -> list[IntentDelta]:
    fields = ("intent", "support", "live_f1", "candidate_f1", "live_precision", "candidate_precision",
              "live_recall", "candidate_recall")
    return [IntentDelta(**{f: row[f] for f in fields}) for row in rows]


def change_to_dict(change: Change) -> dict[str, Any]:
    return asdict(change)


def build_comparison(
    regression: Sequence[Example], inbox: Sequence[Example], live: Sequence[Prediction],
    candidate: Sequence[Prediction], max_drop: float,
) -> dict[str, Any]:
    """Everything the compare page shows, as JSON: scores of both models on the regression set
    side by side, confusion matrices, the gate, and the messages whose prediction changed
    (regression set first, then the labelled inbox messages). ``live`` / ``candidate`` hold one
    prediction per example of ``regression`` followed by ``inbox``."""
    n = len(regression)
    if len(live) != n + len(inbox) or len(candidate) != n + len(inbox):
        raise ValueError("one prediction per example expected")
    gold = [e.intent for e in regression]
    live_report = report(gold, [p.intent for p in live[:n]])
    cand_report = report(gold, [p.intent for p in candidate[:n]])
    deltas = compare(live_report, cand_report)
    verdict = gate(deltas, max_drop)
    labels = sorted({intent_level(x) for x in gold} | {intent_level(p.intent) for p in [*live[:n], *candidate[:n]]})
    _, live_matrix = confusion(gold, [p.intent for p in live[:n]], labels)
    _, cand_matrix = confusion(gold, [p.intent for p in candidate[:n]], labels)
    changes = changed_predictions(regression, live[:n], candidate[:n]) + changed_predictions(
        inbox, live[n:], candidate[n:], source="inbox"
    )

    def correct(preds: Sequence[Prediction]) -> int:
        return sum(intent_level(p.intent) == intent_level(e.intent) for e, p in zip(inbox, preds, strict=True))

    return {
        "regression": {
            "size": n,
            "live": live_report.to_dict(),
            "candidate": cand_report.to_dict(),
            "intents": deltas_to_list(deltas),
            "confusion": {"labels": labels, "live": live_matrix, "candidate": cand_matrix},
        },
        "gate": {
            "passed": verdict.passed, "max_drop": max_drop,
            "violations": [v.intent for v in verdict.violations], "message": verdict.describe(),
        },
        "inbox": {"size": len(inbox), "live_correct": correct(live[n:]), "candidate_correct": correct(candidate[n:])},
        "changes": [change_to_dict(c) for c in changes],
    }
