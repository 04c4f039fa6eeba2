"""Cross-validation of the category suggestion on OUR OWN examples (``bot/intake/category_examples.yml``).

    python -m bot.training.category_cv                 # the configured model and thresholds
    python -m bot.training.category_cv --grid          # also search C, lexicon temperature, threshold
    python -m bot.training.category_cv --folds 5 --seed 1

Stratified k-fold: the classifier is trained on k-1 folds and ``suggest_category``'s decision
(classifier × lexicon, confidence threshold) is applied to the held-out fold.
Reported per configuration:

- ``macro``: macro recall over the 15 codes (no suggestion counts as a miss) and
  ``no_category`` (messages naming no matter: right when there is no suggestion);
- ``acc``: accuracy of the top code before any threshold (classifier + lexicon), over the
  messages that name a matter;
- ``clf`` / ``lex``: the same for the classifier alone and the lexicon alone;
- ``prec``: share of the suggestions made for those messages that are right (a wrong
  suggestion costs the citizen a correction, so this is what the threshold protects);
- ``none``: share of those messages left without a suggestion;
- ``quiet``: share of the ``no_category`` messages (greetings, form answers) left without one;
- per confidence band of the top code: how often it is right there. The threshold is
  set where a suggestion stops being more often right than wrong (band precision < 0.5).

The real-world benchmark (``bench/category.py``) is never read here.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

import numpy as np

from bot.intake import category as cat
from bot.nlu.linear import Example, TextModelConfig


@dataclass(frozen=True)
class Setting:
    config: TextModelConfig
    temperature: float
    min_confidence: float


@dataclass
class Scores:
    macro: float
    acc: float
    clf: float
    lex: float
    prec: float
    none: float
    quiet: float
    recall: dict[str, float]


def folds(labels: list[str], k: int, seed: int) -> list[list[int]]:
    """Stratified folds: each label's indices shuffled and dealt round-robin."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    out: list[list[int]] = [[] for _ in range(k)]
    for label in sorted(by_label):
        idx = list(rng.permutation(by_label[label]))
        for j, i in enumerate(idx):
            out[j % k].append(int(i))
    return out


def held_out_probabilities(
    texts: list[str], labels: list[str], config: TextModelConfig, k: int, seed: int
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Per message: classifier probabilities (trained without its fold) and lexicon scores."""
    clf: list[dict[str, float]] = [{} for _ in texts]
    for fold in folds(labels, k, seed):
        held = set(fold)
        train: dict[str, list[str]] = defaultdict(list)
        for i, (t, label) in enumerate(zip(texts, labels, strict=True)):
            if i not in held:
                train[label].append(t)
        model = cat.train_classifier(dict(train), config)
        proba = model.predict_proba([Example(texts[i]) for i in fold])
        for row, i in zip(proba, fold, strict=True):
            clf[i] = dict(zip(model.labels, (float(p) for p in row), strict=True))
    lexicon = [cat.category_scores(t) for t in texts]
    return clf, lexicon


def score(labels: list[str], clf: list[dict[str, float]], lexicon: list[dict[str, float]], s: Setting) -> Scores:
    saved = (cat.LEXICON_TEMPERATURE, cat.MIN_CONFIDENCE)
    cat.LEXICON_TEMPERATURE, cat.MIN_CONFIDENCE = s.temperature, s.min_confidence
    try:
        combined = [cat.only_categories(cat.combine(p, lx)) for p, lx in zip(clf, lexicon, strict=True)]
        decided = [cat.decide(p) or cat.NO_CATEGORY for p in combined]
    finally:
        cat.LEXICON_TEMPERATURE, cat.MIN_CONFIDENCE = saved
    order = list(cat.load_lexicon())
    lex_top = [max(lx, key=lambda c: (lx[c], -order.index(c))) if lx else None for lx in lexicon]
    hits: Counter[str] = Counter(label for label, d in zip(labels, decided, strict=True) if d == label)
    sizes = Counter(labels)
    recall = {label: hits[label] / sizes[label] for label in sorted(sizes)}
    matters = [i for i, label in enumerate(labels) if label != cat.NO_CATEGORY]
    quiet = [i for i, label in enumerate(labels) if label == cat.NO_CATEGORY]
    made = [i for i in matters if decided[i] != cat.NO_CATEGORY]

    def top(p: dict[str, float]) -> str:
        return max(p, key=lambda c: p[c]) if p else ""

    def share(hit: list[bool]) -> float:
        return sum(hit) / len(hit) if hit else 0.0

    return Scores(
        macro=float(np.mean(list(recall.values()))),
        acc=share([top(combined[i]) == labels[i] for i in matters]),
        clf=share([top(cat.only_categories(clf[i])) == labels[i] for i in matters]),
        lex=share([lex_top[i] == labels[i] for i in matters]),
        prec=share([decided[i] == labels[i] for i in made]),
        none=1 - len(made) / len(matters) if matters else 0.0,
        quiet=share([decided[i] == cat.NO_CATEGORY for i in quiet]),
        recall=recall,
    )


def bands(labels: list[str], clf: list[dict[str, float]], lexicon: list[dict[str, float]], s: Setting) -> str:
    """How often the top code is right, per band of its combined probability (specific codes, ``other``)."""
    saved = cat.LEXICON_TEMPERATURE
    cat.LEXICON_TEMPERATURE = s.temperature
    try:
        combined = [cat.only_categories(cat.combine(p, lx)) for p, lx in zip(clf, lexicon, strict=True)]
    finally:
        cat.LEXICON_TEMPERATURE = saved
    edges = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.01)
    out = []
    tops = [(label, max(p, key=lambda c: p[c]), p) for label, p in zip(labels, combined, strict=True) if label != cat.NO_CATEGORY]
    for name in ("specific", "other"):
        cells = []
        for lo, hi in itertools.pairwise(edges):
            band = [(label, top) for label, top, p in tops
                    if (top == cat.OTHER) == (name == "other") and lo <= p[top] < hi]
            if band:
                cells.append(f"[{lo:.1f},{min(hi, 1.0):.1f}) {sum(a == b for a, b in band) / len(band):.2f} (n={len(band)})")
        out.append(f"{name:8s} " + "  ".join(cells))
    return "\n".join(out)


def current() -> Setting:
    return Setting(cat.model_config(), cat.LEXICON_TEMPERATURE, cat.MIN_CONFIDENCE)


def line(name: str, sc: Scores) -> str:
    return (f"{name:44s} macro={sc.macro:.3f} acc={sc.acc:.3f} clf={sc.clf:.3f} lex={sc.lex:.3f} "
            f"prec={sc.prec:.3f} none={sc.none:.3f} quiet={sc.quiet:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.training.category_cv", description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", action="store_true", help="search C, lexicon temperature and threshold")
    args = parser.parse_args(argv)
    examples = cat.load_examples()
    texts = [t for ts in examples.values() for t in ts]
    labels = [code for code, ts in examples.items() for _ in ts]
    print(f"{len(texts)} examples, {len(examples)} categories, {args.folds}-fold CV (seed {args.seed})")
    base = current()
    clf, lexicon = held_out_probabilities(texts, labels, base.config, args.folds, args.seed)
    sc = score(labels, clf, lexicon, base)
    print(line("configured", sc))
    print("recall per category: " + ", ".join(f"{c} {r:.2f}" for c, r in sc.recall.items()))
    print("precision per confidence band:\n" + bands(labels, clf, lexicon, base))
    if not args.grid:
        return 0
    for c in (10.0, 30.0, 100.0):
        config = replace(base.config, c=c)
        clf, lexicon = held_out_probabilities(texts, labels, config, args.folds, args.seed)
        for temperature, threshold in itertools.product((2.0, 4.0, 8.0, 1e9), (0.0, 0.2, 0.3, 0.4)):
            s = Setting(config, temperature, threshold)
            print(line(f"C={c:g} T={temperature:g} min={threshold:g}", score(labels, clf, lexicon, s)))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
