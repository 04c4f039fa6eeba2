"""A small, fast text classifier: TF-IDF n-grams + multinomial logistic regression.

Pure Python + numpy/scipy/scikit-learn, no Rasa: the Rasa components in this package
(``intent_classifier``, ``faq_selector``) wrap it, and ``bot.training.nlu_cv`` cross-validates
it on the training data. Up to three feature blocks, each TF-IDF weighted and L2-normalised:

- character n-grams of the normalised text (robust to jieba's segmentation, typos, new words);
- word n-grams of the tokens the pipeline's tokenizer produced (jieba with the domain dictionary);
- domain concepts and their pairs (``bot.nlu.concepts``: many synonyms, one feature), scaled
  by ``concept_weight`` (0: off). The concept table is saved with the model.

Normalisation maps every digit to ``0`` so that "a phone number", "an ID number", "a date"
become shapes the model can generalise from. Training uses scikit-learn's
``LogisticRegression``; prediction needs only numpy/scipy (a sparse dot product and a softmax),
so loading a model is a JSON file and one ``.npz`` (no pickle, nothing executable).
``temperature`` divides the logits before the softmax: > 1 spreads the probabilities, which
makes the confidences usable for the FallbackClassifier when C is large.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
FORMAT_VERSION = 1

_DIGIT = re.compile(r"\d")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Feature text: NFKC (full-width → ASCII), lower case, digits → 0, single spaces."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _DIGIT.sub("0", text)
    return _SPACES.sub(" ", text).strip()


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams of ``text`` padded with a space on each side (start/end markers)."""
    padded = f" {text} "
    out: list[str] = []
    for n in range(low, high + 1):
        out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return [g for g in out if g.strip()]  # a lone pad carries no information


def word_ngrams(tokens: Sequence[str], low: int, high: int) -> list[str]:
    """Word n-grams (joined by a space); tokens are normalised, blanks dropped."""
    words = [w for w in (normalise(t) for t in tokens) if w]
    out: list[str] = []
    for n in range(low, high + 1):
        out.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return out


class TfidfBlock:
    """One TF-IDF feature block over n-gram lists (sublinear tf, smooth idf, L2 rows)."""

    def __init__(self, vocabulary: dict[str, int] | None = None, idf: np.ndarray | None = None) -> None:
        self.vocabulary: dict[str, int] = vocabulary or {}
        self.idf: np.ndarray = idf if idf is not None else np.zeros(0)

    def fit(self, docs: Sequence[Sequence[str]], min_df: int = 1) -> TfidfBlock:
        df: Counter[str] = Counter()
        for grams in docs:
            df.update(set(grams))
        terms = sorted(t for t, n in df.items() if n >= min_df)
        self.vocabulary = {t: i for i, t in enumerate(terms)}
        n_docs = len(docs)
        self.idf = np.array([math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms])
        return self

    def row(self, grams: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(column indices sorted, L2-normalised weights) of one document."""
        counts = Counter(self.vocabulary[g] for g in grams if g in self.vocabulary)
        if not counts:
            return _EMPTY_IDX, _EMPTY_VAL
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        order = np.argsort(idx)
        idx = idx[order]
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[order])
        weights = tf * self.idf[idx]
        weights /= math.sqrt(float(weights @ weights))
        return idx, weights

    def transform(self, docs: Sequence[Sequence[str]]) -> sp.csr_matrix:
        return rows_to_csr([[self.row(grams)] for grams in docs], [len(self.vocabulary)])


_EMPTY_IDX = np.zeros(0, dtype=np.int64)
_EMPTY_VAL = np.zeros(0, dtype=np.float64)


def rows_to_csr(rows: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]], widths: Sequence[int],
                scales: Sequence[float] | None = None) -> sp.csr_matrix:
    """One CSR matrix from per-row parts of side-by-side blocks (block b: ``widths[b]`` columns,
    weights times ``scales[b]``), built directly from its arrays: scipy's COO route and
    ``hstack`` cost more than the whole classification of one message."""
    offsets = np.concatenate(([0], np.cumsum(widths)[:-1])).astype(np.int64)
    factors = list(scales) if scales is not None else [1.0] * len(widths)
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for r, parts in enumerate(rows):
        n = 0
        for b, (idx, val) in enumerate(parts):
            if len(idx):
                indices.append(idx + offsets[b])
                data.append(val * factors[b] if factors[b] != 1.0 else val)
                n += len(idx)
        indptr[r + 1] = indptr[r] + n
    return sp.csr_matrix(
        (np.concatenate(data) if data else _EMPTY_VAL, np.concatenate(indices) if indices else _EMPTY_IDX, indptr),
        shape=(len(rows), int(sum(widths))),
    )


@dataclass(frozen=True)
class TextModelConfig:
    """Hyper-parameters (chosen by ``python -m bot.training.nlu_cv`` on the training data)."""

    char_min: int = 1
    char_max: int = 4
    word_min: int = 1
    word_max: int = 2  # 0: no word block
    word_weight: float = 1.0  # scale of the word block relative to the char block
    concept_weight: float = 0.0  # scale of the concept block (bot.nlu.concepts); 0: no block
    concept_pairs: bool = True  # also a feature for every pair of concepts in a message
    c: float = 10.0  # inverse L2 regularisation strength of the logistic regression
    balance: float = 1.0  # class weight ∝ size^-balance: 1 = "balanced", 0 = none
    temperature: float = 1.0
    min_df: int = 1
    max_iter: int = 1000
    tol: float = 1e-3

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TextModelConfig:
        """Known keys only (a Rasa component config carries other keys too)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


@dataclass
class Example:
    """What the classifier reads of one message: its text and the tokenizer's tokens."""

    text: str
    tokens: Sequence[str] = ()


class TextClassifier:
    """TF-IDF char (+ word) n-grams → multinomial logistic regression → softmax(z / T)."""

    def __init__(self, config: TextModelConfig | None = None) -> None:
        self.config = config or TextModelConfig()
        self.labels: list[str] = []
        self.char_block = TfidfBlock()
        self.word_block = TfidfBlock()
        self.concept_block = TfidfBlock()
        #: concept -> normalised surface words; fixed when the model is fitted, saved with it
        self.concepts: dict[str, tuple[str, ...]] = {}
        self._coef: np.ndarray = np.zeros((0, 0))
        #: coef transposed and C-contiguous: scipy's sparse @ dense copies a non-contiguous dense
        #: operand on every call (measured: ~2 ms per message for the FAQ selector)
        self._weights: np.ndarray = np.zeros((0, 0))
        self.intercept: np.ndarray = np.zeros(0)

    @property
    def coef(self) -> np.ndarray:
        """(classes × features) weights of the logistic regression."""
        return self._coef

    @coef.setter
    def coef(self, value: np.ndarray) -> None:
        self._coef = np.asarray(value, dtype=np.float64)
        self._weights = np.ascontiguousarray(self._coef.T)

    # ---------------------------------------------------------------- features
    def _char_docs(self, examples: Sequence[Example]) -> list[list[str]]:
        c = self.config
        return [char_ngrams(normalise(e.text), c.char_min, c.char_max) for e in examples]

    def _word_docs(self, examples: Sequence[Example]) -> list[list[str]]:
        c = self.config
        return [word_ngrams(e.tokens, c.word_min, c.word_max) for e in examples]

    def _concept_docs(self, examples: Sequence[Example]) -> list[list[str]]:
        from bot.nlu.concepts import concept_features

        return [concept_features(normalise(e.text), self.concepts, self.config.concept_pairs) for e in examples]

    def _uses_words(self) -> bool:
        return self.config.word_max > 0 and self.config.word_weight > 0

    def _uses_concepts(self) -> bool:
        return self.config.concept_weight > 0

    def fit_features(self, examples: Sequence[Example]) -> sp.csr_matrix:
        """Learn the vocabularies and idf on ``examples``; returns their feature matrix."""
        char_docs = self._char_docs(examples)
        self.char_block.fit(char_docs, self.config.min_df)
        if self._uses_words():
            self.word_block.fit(self._word_docs(examples), self.config.min_df)
        if self._uses_concepts():
            from bot.nlu.concepts import CONCEPTS

            self.concepts = {
                name: tuple(w for w in (normalise(word) for word in words) if w) for name, words in CONCEPTS.items()
            }
            self.concept_block.fit(self._concept_docs(examples), self.config.min_df)
        return self.features(examples)

    def features(self, examples: Sequence[Example]) -> sp.csr_matrix:
        blocks: list[tuple[TfidfBlock, list[list[str]], float]] = [(self.char_block, self._char_docs(examples), 1.0)]
        if self._uses_words():
            blocks.append((self.word_block, self._word_docs(examples), self.config.word_weight))
        if self._uses_concepts():
            blocks.append((self.concept_block, self._concept_docs(examples), self.config.concept_weight))
        rows = [[block.row(docs[i]) for block, docs, _ in blocks] for i in range(len(examples))]
        return rows_to_csr(rows, [len(b.vocabulary) for b, _, _ in blocks], [w for _, _, w in blocks])

    # ---------------------------------------------------------------- training
    def fit(
        self,
        examples: Sequence[Example],
        labels: Sequence[str],
        sample_weight: Sequence[float] | None = None,
    ) -> TextClassifier:
        if len(examples) != len(labels):
            raise ValueError("examples and labels differ in length")
        distinct = sorted(set(labels))
        if len(distinct) < 2:
            raise ValueError("need at least two labels to train a classifier")
        features = self.fit_features(examples)
        self.fit_matrix(features, labels, sample_weight)
        return self

    def fit_matrix(
        self, features: sp.csr_matrix, labels: Sequence[str], sample_weight: Sequence[float] | None = None
    ) -> None:
        """Fit the regression on ready-made features (the vocabularies must be fitted)."""
        from sklearn.linear_model import LogisticRegression

        self.labels = sorted(set(labels))
        index = {label: i for i, label in enumerate(self.labels)}
        y = np.array([index[label] for label in labels])
        model = LogisticRegression(
            C=self.config.c,
            class_weight=self._class_weights(y),
            max_iter=self.config.max_iter,
            tol=self.config.tol,
            solver="saga",  # lbfgs needs minutes on these wide sparse matrices; saga seconds
            random_state=0,
        )
        model.fit(features, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight))
        coef, intercept = model.coef_, model.intercept_
        if len(self.labels) == 2:  # binary: sklearn keeps one row; make it a two-way softmax
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)

    def _class_weights(self, y: np.ndarray) -> dict[int, float] | None:
        """size^-balance per class, scaled so that an average example weighs 1."""
        if self.config.balance == 0:
            return None
        counts = np.bincount(y, minlength=len(self.labels)).astype(np.float64)
        raw = counts ** -self.config.balance
        scale = len(y) / float((raw * counts).sum())
        return {i: float(w * scale) for i, w in enumerate(raw)}

    # ---------------------------------------------------------------- prediction
    @property
    def trained(self) -> bool:
        return bool(self.labels) and self.coef.size > 0

    def logits_of(self, features: sp.csr_matrix) -> np.ndarray:
        return np.asarray(features @ self._weights) + self.intercept

    def proba_of(self, features: sp.csr_matrix) -> np.ndarray:
        return softmax(self.logits_of(features) / self.config.temperature)

    def predict_proba(self, examples: Sequence[Example]) -> np.ndarray:
        """Row i: probability of each of ``self.labels`` for example i."""
        if not self.trained:
            raise RuntimeError("the classifier is not trained")
        return self.proba_of(self.features(examples))

    def ranking(self, example: Example, length: int = 10) -> list[tuple[str, float]]:
        """(label, probability) pairs, most probable first; ``length`` 0 means all."""
        proba = self.predict_proba([example])[0]
        order = np.argsort(-proba, kind="stable")
        if length > 0:
            order = order[:length]
        return [(self.labels[i], float(proba[i])) for i in order]

    # ---------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        """Write ``model.json`` (config, labels, vocabularies) and ``arrays.npz`` (numbers)."""
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "config": asdict(self.config),
            "labels": self.labels,
            "char_vocabulary": _terms(self.char_block.vocabulary),
            "word_vocabulary": _terms(self.word_block.vocabulary),
            "concept_vocabulary": _terms(self.concept_block.vocabulary),
            "concepts": {name: list(words) for name, words in self.concepts.items()},
        }
        (directory / MODEL_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez_compressed(
            directory / ARRAYS_FILE,
            char_idf=self.char_block.idf,
            word_idf=self.word_block.idf,
            concept_idf=self.concept_block.idf,
            coef=self.coef,
            intercept=self.intercept,
        )

    @classmethod
    def load(cls, directory: Path) -> TextClassifier:
        meta = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported model format {meta.get('format')!r} in {directory}")
        model = cls(TextModelConfig.from_dict(meta["config"]))
        model.labels = list(meta["labels"])
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            model.char_block = TfidfBlock(_index(meta["char_vocabulary"]), arrays["char_idf"])
            model.word_block = TfidfBlock(_index(meta["word_vocabulary"]), arrays["word_idf"])
            if "concept_idf" in arrays.files:  # models saved before the concept block have none
                model.concept_block = TfidfBlock(_index(meta.get("concept_vocabulary", [])), arrays["concept_idf"])
                model.concepts = {name: tuple(words) for name, words in (meta.get("concepts") or {}).items()}
            model.coef = arrays["coef"]
            model.intercept = arrays["intercept"]
        return model


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def _terms(vocabulary: dict[str, int]) -> list[str]:
    """Vocabulary as a list ordered by column index (its JSON form)."""
    terms = [""] * len(vocabulary)
    for term, i in vocabulary.items():
        terms[i] = term
    return terms


def _index(terms: Iterable[str]) -> dict[str, int]:
    return {t: i for i, t in enumerate(terms)}
