"""Intent classification on held-out messages: macro-F1, per-intent P/R/F1, parse latency.

Macro-F1 is averaged over the intents of the held-out set; a prediction outside them
(``nlu_fallback`` from the FallbackClassifier, ``faq``) is a miss for its gold intent. The
predicted intent is ``parse['intent']['name']``, i.e. what the dialogue policies see.

Training time: ``bot.training.model_cache`` writes no timing file (it only logs), so it is
measured only with ``--train``: a cold ``rasa train`` (empty Rasa cache) into a temp dir.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import (
    DATA_DIR,
    REPO_ROOT,
    Model,
    Result,
    macro_f1,
    per_label_prf,
    percentile,
    read_nlu_examples,
    table,
)

HELDOUT = DATA_DIR / "nlu_heldout.yml"
GOAL = 0.95
FALLBACK = "nlu_fallback"


def time_training() -> float:
    """Seconds of one cold `rasa train` of the current project (product code path) into a temp dir."""
    from bot.training.model_cache import train

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        previous = os.environ.get("RASA_CACHE_DIRECTORY")
        os.environ["RASA_CACHE_DIRECTORY"] = str(Path(tmp) / "cache")  # cold: no cached components
        try:
            start = time.perf_counter()
            train(REPO_ROOT, Path(tmp) / "models", "bench")
            return time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("RASA_CACHE_DIRECTORY", None)
            else:
                os.environ["RASA_CACHE_DIRECTORY"] = previous


def run(model: Model, *, train: bool = False) -> Result:
    examples = read_nlu_examples(HELDOUT)
    texts = [text for text, _ in examples]
    gold = [label for _, label in examples]
    model.parse_all(texts[:1])  # warm-up: first call builds lazy graph parts
    parsed = model.parse_all(texts)
    pred = [str((p.get("intent") or {}).get("name")) for p, _ in parsed]
    latencies = [ms for _, ms in parsed]

    labels = sorted(set(gold))
    prf = per_label_prf(gold, pred, labels)
    score = macro_f1(gold, pred, labels)
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    confusions = Counter((g, p) for g, p in zip(gold, pred, strict=True) if g != p)
    numbers: dict[str, float | int | str] = {
        "messages": len(gold),
        "intents": len(labels),
        "macro_f1": round(score, 4),
        "accuracy": round(accuracy, 4),
        "fallbacks": pred.count(FALLBACK),
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p95_ms": round(percentile(latencies, 95), 1),
        "model_load_s": round(model.load_seconds, 1),
    }
    if train:
        numbers["train_s"] = round(time_training(), 1)

    per_intent = table(
        ["intent", "precision", "recall", "F1", "n"],
        [(name, p.precision, p.recall, p.f1, p.support) for name, p in prf.items()],
    )
    top = table(["gold", "predicted", "count"], [(g, p, n) for (g, p), n in confusions.most_common(10)])
    train_line = (
        f"Training (cold `rasa train`, empty Rasa cache): **{numbers['train_s']} s**."
        if train
        else "Training time: not measured in this run (`bot.training.model_cache` writes no timing "
        "file; pass `--train` to time a cold `rasa train` into a temp dir)."
    )
    markdown = "\n\n".join([
        f"Held-out set `bench/data/nlu_heldout.yml`: {len(gold)} messages, {len(labels)} intents "
        f"(never trained on). Macro-F1 over those intents; `nlu_fallback` counts as a miss.",
        table(["metric", "value"], [
            ("macro-F1", score), ("accuracy", accuracy), ("nlu_fallback predictions", numbers["fallbacks"]),
            ("parse latency p50 (ms)", numbers["latency_p50_ms"]),
            ("parse latency p95 (ms)", numbers["latency_p95_ms"]),
            ("model load (s)", numbers["model_load_s"]),
        ]),
        train_line,
        per_intent,
        "Most frequent confusions:\n\n" + (top if confusions else "(none)"),
    ])
    return Result(
        name="nlu", title="NLU intent classification", numbers=numbers,
        goal=f"macro-F1 ≥ {GOAL}", passed=score >= GOAL, markdown=markdown,
    )
