"""Cross-validation of the NLU classifiers on the TRAINING data only (``nlu_data/``).

    python -m bot.training.nlu_cv                    # the configured model (config.yml)
    python -m bot.training.nlu_cv --grid intent      # search the intent classifier's grid
    python -m bot.training.nlu_cv --grid faq         # search the FAQ selector's grid
    python -m bot.training.nlu_cv --grid concepts    # weight of the concept block (bot.nlu.concepts)
    python -m bot.training.nlu_cv --folds 5 --seed 1

Messages go through the same pre-processing as in the Rasa pipeline (traditional →
simplified, jieba with ``nlu_data/jieba``), then stratified k-fold CV (stratified on the fine
label, ``faq/<topic>`` for FAQ questions) scores, per configuration:

- ``f1``: intent macro-F1 over all intents, with the FallbackClassifier rule applied
  (top confidence below the threshold or top-2 gap below the ambiguity threshold →
  ``nlu_fallback``, a miss);
- ``faq``: FAQ end-to-end accuracy (intent ``faq`` *and* the right topic from the selector);
- ``fb``: share of in-domain messages that fall back;
- ``nll``: mean negative log-likelihood of the true intent (calibration);
- ``junk``: share of gibberish (random strings of characters seen in training, keyboard
  mashes) that ends as ``nlu_fallback`` or ``out_of_scope``.

The held-out sets in ``bench/data`` are never read here: hyper-parameters are chosen on these
numbers, and the benchmark only reports the result.
"""
from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.nlu.linear import Example, TextClassifier, TextModelConfig
from bot.settings import PROJECT_ROOT

FAQ = "faq"
FALLBACK = "nlu_fallback"
KEYBOARD_JUNK = ("asdfgh", "qwerty", "jjjjjj", "哈哈哈哈哈哈", "。。。。", "123", "啊啊啊", "zxcvb", "？？？", "嗯嗯嗯嗯")


@dataclass(frozen=True)
class Labelled:
    example: Example
    intent: str
    key: str  # faq/<topic> for FAQ questions, else the intent


def load_labelled(root: Path = PROJECT_ROOT) -> tuple[list[Labelled], dict[str, str]]:
    """Training messages pre-processed like the pipeline, and each FAQ topic's answer text."""
    import tempfile

    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT

    from bot.nlu.t2s import TraditionalToSimplified

    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(root / "domain.yml"), training_data_paths=[str(root / "nlu_data")]
    )
    data = importer.get_nlu_data(language="zh")
    data = TraditionalToSimplified().process_training_data(data)
    with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
        config = {**JiebaTokenizer.get_default_config(), "dictionary_path": str(root / "nlu_data" / "jieba")}
        tokenizer = JiebaTokenizer.create(
            config, LocalModelStorage(Path(tmp)), Resource("jieba"), ExecutionContext(GraphSchema({}), "cv")
        )
        data = tokenizer.process_training_data(data)
    out = []
    for message in data.intent_examples:
        tokens = [t.text for t in message.get("text_tokens") or []]
        intent = str(message.get(INTENT))
        out.append(Labelled(Example(str(message.get(TEXT)), tokens), intent,
                            str(message.get(INTENT_RESPONSE_KEY) or intent)))
    answers = {}
    for name, variants in data.responses.items():
        if name.startswith("utter_faq/"):
            answers["faq/" + name.split("/", 1)[1]] = " ".join(str(v.get("text", "")) for v in variants)
    return out, answers


def load_pipeline_config(root: Path = PROJECT_ROOT) -> dict[str, dict[str, Any]]:
    """The config.yml entries of our classifier, selector and the FallbackClassifier, by name."""
    raw = yaml.safe_load((root / "config.yml").read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for item in raw.get("pipeline") or []:
        out[str(item["name"]).rsplit(".", 1)[-1]] = dict(item)
    return out


# --------------------------------------------------------------------------- folds and metrics


def stratified_folds(keys: Sequence[str], folds: int, seed: int) -> Iterator[tuple[list[int], list[int]]]:
    """Stratified k-fold over ``keys`` (each label's members are dealt round-robin)."""
    rng = random.Random(seed)
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    assignment = [0] * len(keys)
    offset = 0
    for key in sorted(by_key):
        members = by_key[key]
        rng.shuffle(members)
        for j, i in enumerate(members):
            assignment[i] = (offset + j) % folds
        offset += len(members)
    for k in range(folds):
        test = [i for i, a in enumerate(assignment) if a == k]
        train = [i for i, a in enumerate(assignment) if a != k]
        yield train, test


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def decide(ranking: Sequence[tuple[str, float]], threshold: float, ambiguity: float) -> str:
    """The FallbackClassifier's rule on an intent ranking."""
    top, conf = ranking[0]
    if conf < threshold:
        return FALLBACK
    if len(ranking) > 1 and conf - ranking[1][1] < ambiguity:
        return FALLBACK
    return top


def intent_ranking(labels: Sequence[str], proba: np.ndarray) -> list[tuple[str, float]]:
    """Fine labels (``faq/<topic>``) summed into their intent; sorted, most probable first."""
    totals: dict[str, float] = {}
    for label, p in zip(labels, proba, strict=True):
        intent = label.split("/", 1)[0]
        totals[intent] = totals.get(intent, 0.0) + float(p)
    return sorted(totals.items(), key=lambda kv: -kv[1])


def gibberish(alphabet: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """``count`` random strings of 3-12 characters drawn uniformly from ``alphabet``."""
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 12))) for _ in range(count)]


@dataclass
class Scores:
    f1: float
    faq: float
    fallback: float
    nll: float
    junk: float
    seconds: float

    def row(self) -> str:
        return (f"f1={self.f1:.4f} faq={self.faq:.4f} fb={self.fallback:.3f} nll={self.nll:.3f} "
                f"junk={self.junk:.2f} ({self.seconds:.0f}s)")


@dataclass(frozen=True)
class Setup:
    intent: TextModelConfig
    faq: TextModelConfig
    fine_labels: bool  # train the intent classifier on faq/<topic> and sum them into faq
    answer_weight: float  # weight of each topic's answer text as an extra selector example
    threshold: float
    ambiguity: float


def evaluate(data: Sequence[Labelled], answers: dict[str, str], setup: Setup,
             folds: int = 5, seed: int = 1) -> Scores:
    start = time.perf_counter()
    rng = random.Random(seed)
    alphabet = sorted({ch for d in data for ch in d.example.text if not ch.isspace()})
    gold: list[str] = []
    pred: list[str] = []
    faq_total = faq_ok = junk_total = junk_ok = 0
    nll = 0.0
    for train, test in stratified_folds([d.key for d in data], folds, seed):
        clf = TextClassifier(setup.intent).fit(
            [data[i].example for i in train],
            [data[i].key if setup.fine_labels else data[i].intent for i in train],
        )
        faq_train = [i for i in train if data[i].intent == FAQ]
        selector_examples = [data[i].example for i in faq_train]
        selector_labels = [data[i].key for i in faq_train]
        weights = [1.0] * len(faq_train)
        if setup.answer_weight > 0:
            for key, text in sorted(answers.items()):
                selector_examples.append(Example(text, ()))
                selector_labels.append(key)
                weights.append(setup.answer_weight)
        selector = TextClassifier(setup.faq).fit(selector_examples, selector_labels, weights)

        tests = [data[i] for i in test]
        probas = clf.predict_proba([d.example for d in tests])
        topics = selector.predict_proba([d.example for d in tests if d.intent == FAQ])
        topic_iter = iter(topics)
        for d, proba in zip(tests, probas, strict=True):
            ranking = intent_ranking(clf.labels, proba)
            label = decide(ranking, setup.threshold, setup.ambiguity)
            gold.append(d.intent)
            pred.append(label)
            nll -= math.log(max(dict(ranking).get(d.intent, 0.0), 1e-12))
            if d.intent == FAQ:
                faq_total += 1
                topic = selector.labels[int(np.argmax(next(topic_iter)))]
                faq_ok += label == FAQ and topic == d.key
        junk = [Example(t) for t in [*gibberish(alphabet, 40, rng), *KEYBOARD_JUNK]]
        for proba in clf.predict_proba(junk):
            label = decide(intent_ranking(clf.labels, proba), setup.threshold, setup.ambiguity)
            junk_total += 1
            junk_ok += label in (FALLBACK, "out_of_scope")
    return Scores(
        f1=macro_f1(gold, pred),
        faq=faq_ok / faq_total if faq_total else 0.0,
        fallback=pred.count(FALLBACK) / len(pred),
        nll=nll / len(pred),
        junk=junk_ok / junk_total if junk_total else 0.0,
        seconds=time.perf_counter() - start,
    )


# --------------------------------------------------------------------------- configuration


def configured_setup(root: Path = PROJECT_ROOT) -> Setup:
    """The setup config.yml describes (defaults where it names no custom component)."""
    cfg = load_pipeline_config(root)
    intent = cfg.get("LinearIntentClassifier", {})
    faq = cfg.get("FaqResponseSelector", {})
    fallback = cfg.get("FallbackClassifier", {})
    return Setup(
        intent=TextModelConfig.from_dict(intent),
        faq=TextModelConfig.from_dict(faq),
        fine_labels=bool(intent.get("split_retrieval_intents", False)),
        answer_weight=float(faq.get("answer_weight", 0.0)),
        threshold=float(fallback.get("threshold", 0.35)),
        ambiguity=float(fallback.get("ambiguity_threshold", 0.05)),
    )


def grid(base: Setup, which: str) -> list[tuple[str, Setup]]:
    """Candidate setups around ``base`` for one part of the model."""
    out: list[tuple[str, Setup]] = []
    if which == "intent":
        for c, (lo, hi), words, fine, balance in itertools.product(
            (10.0, 30.0, 100.0), ((1, 2), (1, 3), (1, 4)), (0, 2), (False, True), (0.0, 0.5, 1.0)
        ):
            cfg = replace(base.intent, c=c, char_min=lo, char_max=hi, word_max=words, balance=balance)
            name = f"C={c:g} char={lo}-{hi} words={words} fine={fine} balance={balance:g}"
            out.append((name, replace(base, intent=cfg, fine_labels=fine)))
    elif which == "faq":
        for c, (lo, hi), words, answer in itertools.product(
            (10.0, 30.0, 100.0), ((1, 1), (1, 2), (1, 3), (1, 4)), (0, 2), (0.0, 0.5, 1.0)
        ):
            cfg = replace(base.faq, c=c, char_min=lo, char_max=hi, word_max=words)
            name = f"C={c:g} char={lo}-{hi} words={words} answer_weight={answer:g}"
            out.append((name, replace(base, faq=cfg, answer_weight=answer)))
    elif which == "concepts":
        for part, weight in itertools.product(("faq", "intent"), (0.0, 0.1, 0.2, 0.3)):
            cfg = replace(getattr(base, part), concept_weight=weight)
            out.append((f"{part} concept_weight={weight:g}", replace(base, **{part: cfg})))
    elif which == "temperature":
        for t in (0.5, 0.6, 0.7, 0.85, 1.0, 1.5):
            out.append((f"T={t:g}", replace(base, intent=replace(base.intent, temperature=t))))
    elif which == "fallback":
        for threshold, ambiguity in itertools.product((0.25, 0.3, 0.35, 0.4, 0.5), (0.0, 0.05, 0.1)):
            out.append((f"threshold={threshold:g} ambiguity={ambiguity:g}",
                        replace(base, threshold=threshold, ambiguity=ambiguity)))
    else:
        raise ValueError(f"unknown grid {which!r}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.training.nlu_cv", description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=("intent", "faq", "concepts", "temperature", "fallback"), default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--filter", default="", help="only grid entries whose name contains this text")
    args = parser.parse_args(argv)
    data, answers = load_labelled()
    print(f"{len(data)} training messages, {len({d.intent for d in data})} intents, "
          f"{len({d.key for d in data if d.intent == FAQ})} FAQ topics", flush=True)
    base = configured_setup()
    candidates = [("configured", base)] if args.grid is None else grid(base, args.grid)
    for name, setup in candidates:
        if args.filter and args.filter not in name:
            continue
        print(f"{name:60s} {evaluate(data, answers, setup, args.folds, args.seed).row()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
