"""The classifier's feature matrix is built straight from arrays (bot/nlu/linear.py); it must be
exactly the TF-IDF blocks side by side that scipy's COO route and hstack would build."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import scipy.sparse as sp

from bot.nlu.linear import Example, TextClassifier, TextModelConfig, TfidfBlock

TEXTS = ["我要反映工资问题", "信访期限是多久？", "复查和复核有什么区别", "你好", "", "ｘｙｚ123 abc", "工资工资工资"]


def reference_block(block: TfidfBlock, docs: list[list[str]]) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for r, grams in enumerate(docs):
        counts = Counter(block.vocabulary[g] for g in grams if g in block.vocabulary)
        if not counts:
            continue
        idx = list(counts)
        weights = np.array([(1.0 + math.log(counts[i])) * block.idf[i] for i in idx])
        weights /= np.linalg.norm(weights)
        rows += [r] * len(idx)
        cols += idx
        vals += weights.tolist()
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(block.vocabulary)))


def test_features_equal_the_stacked_reference_blocks() -> None:
    config = TextModelConfig(char_min=1, char_max=3, word_max=2, concept_weight=0.2, word_weight=0.5)
    train = [Example(t, tuple(t)) for t in TEXTS[:4] * 3]
    model = TextClassifier(config).fit(train, ["a", "b", "c", "d"] * 3)
    examples = [Example(t, tuple(t)) for t in TEXTS]
    got = model.features(examples)
    expected = sp.hstack([
        reference_block(model.char_block, model._char_docs(examples)),
        reference_block(model.word_block, model._word_docs(examples)) * config.word_weight,
        reference_block(model.concept_block, model._concept_docs(examples)) * config.concept_weight,
    ], format="csr")
    assert got.shape == expected.shape
    assert np.allclose(got.toarray(), expected.toarray(), rtol=0, atol=1e-12)
    assert got.getrow(4).nnz == 0  # an empty message has no features
    probabilities = model.predict_proba(examples)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
