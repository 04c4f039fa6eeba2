"""Metric helpers of bench/ against values computed by hand (no model, no data files)."""
from __future__ import annotations

import pytest

from bench.common import macro_f1, mean, per_label_prf, percentile, recall_by_label, table

# gold a a a b b c ; pred a a b b c c
#   a: tp 2 fp 0 fn 1 -> P 1,   R 2/3, F1 0.8
#   b: tp 1 fp 1 fn 1 -> P 1/2, R 1/2, F1 0.5
#   c: tp 1 fp 1 fn 0 -> P 1/2, R 1,   F1 2/3
GOLD = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]


def test_per_label_prf_by_hand() -> None:
    prf = per_label_prf(GOLD, PRED)
    assert list(prf) == ["a", "b", "c"]
    assert (prf["a"].precision, prf["a"].recall, prf["a"].support) == (1.0, pytest.approx(2 / 3), 3)
    assert prf["a"].f1 == pytest.approx(0.8)
    assert prf["b"].f1 == pytest.approx(0.5)
    assert (prf["c"].precision, prf["c"].recall) == (0.5, 1.0)
    assert prf["c"].f1 == pytest.approx(2 / 3)


def test_macro_f1_by_hand() -> None:
    assert macro_f1(GOLD, PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_prediction_outside_gold_labels_is_a_miss_without_a_row() -> None:
    # a: tp 1 fn 1 -> P 1, R 1/2, F1 2/3 ; b: tp 1 -> F1 1 ; nlu_fallback gets no row
    prf = per_label_prf(["a", "a", "b"], ["a", "nlu_fallback", "b"])
    assert set(prf) == {"a", "b"}
    assert macro_f1(["a", "a", "b"], ["a", "nlu_fallback", "b"]) == pytest.approx((2 / 3 + 1) / 2)


def test_label_never_predicted_scores_zero_not_error() -> None:
    prf = per_label_prf(["a", "b"], ["a", "a"])
    assert (prf["b"].precision, prf["b"].recall, prf["b"].f1) == (0.0, 0.0, 0.0)
    assert prf["a"].f1 == pytest.approx(2 / 3)  # P 1/2, R 1


def test_explicit_labels_and_length_mismatch() -> None:
    assert macro_f1(["a"], ["a"], labels=["a", "z"]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        per_label_prf(["a"], [])


def test_recall_by_label_and_macro() -> None:
    recalls = recall_by_label([("x", True), ("x", False), ("x", True), ("x", True), ("y", False)])
    assert recalls == {"x": (0.75, 4), "y": (0.0, 1)}
    assert mean(r for r, _ in recalls.values()) == pytest.approx(0.375)
    assert mean([]) == 0.0


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([10.0, 20.0, 30.0, 40.0], 50, 25.0),  # rank 1.5 -> 20 + 0.5*10
        ([10.0, 20.0, 30.0, 40.0], 95, 38.5),  # rank 2.85 -> 30 + 0.85*10
        ([40.0, 10.0, 30.0, 20.0], 0, 10.0),  # unsorted input
        ([40.0, 10.0, 30.0, 20.0], 100, 40.0),
        ([7.0], 95, 7.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0),
    ],
)
def test_percentile_by_hand(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_table_markdown() -> None:
    assert table(["k", "v"], [("f1", 0.5), ("ms", 12.34), ("n", 3)]).splitlines() == [
        "| k | v |", "|---|---|", "| f1 | 0.500 |", "| ms | 12.3 |", "| n | 3 |",
    ]
