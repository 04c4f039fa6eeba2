"""Intent metrics, changed predictions and the promotion gate."""
from __future__ import annotations

import random

import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from bot.training.metrics import (
    Example,
    IntentDelta,
    Prediction,
    build_comparison,
    changed_predictions,
    compare,
    confusion,
    deltas_from_list,
    deltas_to_list,
    gate,
    intent_level,
    report,
)


def test_intent_level() -> None:
    assert intent_level("faq/hotlines") == "faq"
    assert intent_level("greet") == "greet"
    assert intent_level(None) == ""


def test_report_small_example_by_hand() -> None:
    gold = ["a", "a", "b", "b", "c"]
    pred = ["a", "b", "b", "b", "a"]
    r = report(gold, pred)
    assert r.scores["a"].precision == 0.5 and r.scores["a"].recall == 0.5 and r.scores["a"].f1 == 0.5
    assert r.scores["b"].precision == pytest.approx(2 / 3) and r.scores["b"].recall == 1.0
    assert r.scores["b"].f1 == pytest.approx(0.8)
    assert r.scores["c"].f1 == 0.0 and r.scores["c"].support == 1
    assert r.accuracy == pytest.approx(0.6)
    assert r.macro_f1 == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert r.weighted_f1 == pytest.approx((0.5 * 2 + 0.8 * 2) / 5)


@pytest.mark.parametrize("seed", range(5))
def test_report_and_confusion_agree_with_sklearn(seed: int) -> None:
    rng = random.Random(seed)
    labels = ["greet", "faq", "inform", "check_status", "nlu_fallback"]
    gold = [rng.choice(labels[:4]) for _ in range(200)]
    pred = [g if rng.random() < 0.7 else rng.choice(labels) for g in gold]
    r = report(gold, pred)
    names = sorted(set(gold) | set(pred))
    p, rc, f, s = precision_recall_fscore_support(gold, pred, labels=names, zero_division=0)
    for i, name in enumerate(names):
        assert r.scores[name].precision == pytest.approx(p[i])
        assert r.scores[name].recall == pytest.approx(rc[i])
        assert r.scores[name].f1 == pytest.approx(f[i])
        assert r.scores[name].support == s[i]
    gold_names = sorted(set(gold))
    _, _, f_gold, _ = precision_recall_fscore_support(gold, pred, labels=gold_names, average="macro", zero_division=0)
    assert r.macro_f1 == pytest.approx(f_gold)
    got_labels, matrix = confusion(gold, pred)
    assert got_labels == names
    assert matrix == confusion_matrix(gold, pred, labels=names).tolist()


def test_report_rejects_length_mismatch_and_handles_empty() -> None:
    with pytest.raises(ValueError):
        report(["a"], [])
    empty = report([], [])
    assert empty.accuracy == 0.0 and empty.macro_f1 == 0.0 and empty.total == 0


def test_retrieval_intents_count_at_intent_level() -> None:
    r = report(["faq/hotlines", "faq/legal_aid"], ["faq", "faq"])
    assert r.scores["faq"].f1 == 1.0 and set(r.scores) == {"faq"}


def test_confusion_with_given_labels_ignores_unknown() -> None:
    labels, matrix = confusion(["a", "b", "x"], ["a", "a", "a"], labels=["a", "b"])
    assert labels == ["a", "b"] and matrix == [[1, 0], [1, 0]]


def test_changed_predictions_kinds_and_order() -> None:
    examples = [Example("1", "a"), Example("2", "b"), Example("3", "c"), Example("4", "d")]
    live = [Prediction("a", 0.9), Prediction("x", 0.4), Prediction("y"), Prediction("d")]
    cand = [Prediction("z", 0.8), Prediction("b", 0.7), Prediction("w"), Prediction("d")]
    changes = changed_predictions(examples, live, cand)
    assert [(c.text, c.kind) for c in changes] == [("1", "broken"), ("2", "fixed"), ("3", "changed")]
    assert changes[1].live == "x" and changes[1].candidate == "b" and changes[1].candidate_confidence == 0.7


def delta(intent: str, live: float, cand: float) -> IntentDelta:
    return IntentDelta(intent, 5, live, cand, live, cand, live, cand)


def test_gate_allows_drops_up_to_the_margin() -> None:
    ok = gate([delta("a", 0.90, 0.88), delta("b", 0.5, 0.9)], max_drop=0.02)
    assert ok.passed and ok.violations == ()
    assert "可以上线" in ok.describe()
    bad = gate([delta("a", 0.90, 0.87), delta("b", 0.5, 0.9)], max_drop=0.02)
    assert not bad.passed and [v.intent for v in bad.violations] == ["a"]
    assert "a（0.90→0.87）" in bad.describe()
    assert gate([delta("a", 0.9, 0.5)], max_drop=0.5).passed


def test_compare_covers_gold_intents_only() -> None:
    live = report(["a", "a", "b"], ["a", "b", "b"])
    cand = report(["a", "a", "b"], ["a", "a", "c"])
    rows = {d.intent: d for d in compare(live, cand)}
    assert set(rows) == {"a", "b"}
    assert rows["a"].candidate_f1 == 1.0 and rows["b"].candidate_f1 == 0.0
    assert rows["b"].delta == pytest.approx(-rows["b"].live_f1)


def test_deltas_round_trip() -> None:
    rows = [delta("a", 0.9, 0.8)]
    data = deltas_to_list(rows)
    assert data[0]["delta"] == pytest.approx(-0.1)
    assert deltas_from_list(data) == rows


def test_build_comparison() -> None:
    regression = [Example("r1", "greet"), Example("r2", "faq/hotlines"), Example("r3", "thank")]
    inbox = [Example("i1", "check_status")]
    live = [Prediction("greet"), Prediction("faq"), Prediction("thank"), Prediction("faq", 0.3)]
    cand = [Prediction("greet"), Prediction("faq"), Prediction("greet"), Prediction("check_status", 0.9)]
    result = build_comparison(regression, inbox, live, cand, max_drop=0.02)
    assert result["regression"]["size"] == 3
    # thank is lost (recall) and greet gets a false positive (precision)
    assert result["gate"]["passed"] is False and result["gate"]["violations"] == ["greet", "thank"]
    assert result["inbox"] == {"size": 1, "live_correct": 0, "candidate_correct": 1}
    kinds = [(c["text"], c["kind"], c["source"]) for c in result["changes"]]
    assert kinds == [("r3", "broken", "regression"), ("i1", "fixed", "inbox")]
    labels = result["regression"]["confusion"]["labels"]
    assert labels == ["faq", "greet", "thank"]
    assert result["regression"]["confusion"]["candidate"][labels.index("thank")][labels.index("greet")] == 1
    with pytest.raises(ValueError):
        build_comparison(regression, inbox, live[:2], cand, max_drop=0.02)
