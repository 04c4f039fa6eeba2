"""Shared pieces of the benchmarks: metric helpers, the result shape, tables, paths, the model.

The metric helpers are pure (unit-tested in ``tests/unit/bench``); Rasa is imported only by
:func:`load_model`, so the triage / category / channels benchmarks never pay for it.
"""
from __future__ import annotations

import asyncio
import hashlib
import math
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "bench" / "data"
#: The fixed "today" of the triage benchmarks (the date the held-out set was written for).
BENCH_TODAY = date(2026, 11, 23)

Number = int | float


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    support: int


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def per_label_prf(
    gold: Sequence[str], pred: Sequence[str], labels: Iterable[str] | None = None
) -> dict[str, PRF]:
    """Precision / recall / F1 / support per label (0.0 where undefined, as sklearn's zero_division=0).

    ``labels`` defaults to the labels present in ``gold``: a prediction outside them (e.g.
    ``nlu_fallback``) is a miss for its gold label but gets no row of its own.
    """
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    names = sorted(set(gold)) if labels is None else list(labels)
    out: dict[str, PRF] = {}
    for name in names:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == name and p == name)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != name and p == name)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == name and p != name)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[name] = PRF(precision, recall, f1, tp + fn)
    return out


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Iterable[str] | None = None) -> float:
    """Unweighted mean of the per-label F1 over ``labels`` (default: the gold labels)."""
    return mean(p.f1 for p in per_label_prf(gold, pred, labels).values())


def recall_by_label(outcomes: Iterable[tuple[str, bool]]) -> dict[str, tuple[float, int]]:
    """``(label, correct)`` pairs → label: (recall, support), labels sorted."""
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for label, correct in outcomes:
        totals[label] += 1
        hits[label] += int(correct)
    return {label: (hits[label] / totals[label], totals[label]) for label in sorted(totals)}


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --------------------------------------------------------------------------- results and tables


@dataclass
class Result:
    """One benchmark's outcome: headline numbers, a goal verdict, and markdown for the docs."""

    name: str
    title: str
    numbers: dict[str, Any] = field(default_factory=dict)
    goal: str = ""
    passed: bool | None = None  # None: no goal, or skipped
    markdown: str = ""  # tables / notes for docs/benchmarks.md (aggregates only)
    skipped: str | None = None  # reason, when the benchmark could not run

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "SKIPPED"
        if self.passed is None:
            return "-"
        return "PASS" if self.passed else "FAIL"


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table (also readable in a terminal)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(fmt(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


# --------------------------------------------------------------------------- paths


def benchmarks_dir() -> Path | None:
    """The shared real-world data (``$BENCHMARKS_DIR`` or ``../shared/benchmarks``), None when absent."""
    raw = os.environ.get("BENCHMARKS_DIR")
    path = Path(raw) if raw else REPO_ROOT.parent / "shared" / "benchmarks"
    return path if path.is_dir() else None


def file_digest(path: Path, length: int = 12) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


# --------------------------------------------------------------------------- the Rasa model


@dataclass
class Model:
    """A loaded Rasa agent plus what the docs say about it."""

    path: Path
    agent: Any
    load_seconds: float

    def parse_all(self, texts: Sequence[str]) -> list[tuple[dict[str, Any], float]]:
        """Parse each text in-process; returns (parse data, latency in ms) per text."""

        async def _run() -> list[tuple[dict[str, Any], float]]:
            out = []
            for text in texts:
                start = time.perf_counter()
                parsed = await self.agent.parse_message(text)
                out.append((parsed, (time.perf_counter() - start) * 1000))
            return out

        return asyncio.run(_run())


def load_model(path: Path) -> Model:
    """``Agent.load`` with Rasa's logging turned down to warnings (no per-message debug lines)."""
    import logging

    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    try:  # jieba sets its logger to DEBUG on import: import it first, then quiet it
        import jieba

        jieba.setLogLevel(logging.WARNING)
    except ImportError:
        pass
    start = time.perf_counter()
    agent = Agent.load(str(path))
    return Model(path=path, agent=agent, load_seconds=time.perf_counter() - start)


def read_nlu_examples(path: Path) -> list[tuple[str, str]]:
    """(text, label) of a Rasa NLU YAML file, read by Rasa's own reader.

    The label is the full retrieval intent (``faq/<id>``) where there is one, else the intent.
    """
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().read(str(path))
    out = []
    for message in data.intent_examples:
        label = message.get("intent_response_key") or message.get("intent")
        out.append((str(message.get("text")), str(label)))
    return out
