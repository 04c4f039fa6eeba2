"""Run the benchmarks and print (optionally write) the results. A report, not a test: exit 0.

    python -m bench.run [--only nlu,faq,triage,category,channels] [--model PATH] [--train] [--write-docs]

Without ``--model`` the NLU/FAQ benchmarks use the product's model for the current training
data (``bot.training.model_cache.ensure_model``, which trains it when missing). ``--write-docs``
replaces the sections of ``docs/benchmarks.md`` that were run and keeps the others.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from pathlib import Path

from bench.common import REPO_ROOT, Model, Result, file_digest, table

ALL = ("nlu", "faq", "triage", "category", "channels")
NEEDS_MODEL = {"nlu", "faq"}
DOCS = REPO_ROOT / "docs" / "benchmarks.md"

HEADER = """# Benchmarks

Measurements of the product on held-out and real-world data, written by
`python -m bench.run --write-docs` (code in `bench/`). Each section records when and on which
machine it was measured; a section is replaced only when its benchmark is run again.

Reproduce: `make bench` (prints only), or
`.venv/bin/python -m bench.run [--only nlu,faq,triage,category,channels] [--model PATH] [--train] --write-docs`.
Held-out sets live in `bench/data/` (never training data). The real-world sets are read from
`../shared/benchmarks/` (or `$BENCHMARKS_DIR`), never copied into the project; their benchmarks
are skipped when the folder is absent, and only aggregates appear here. Nothing in `bot/` or
`nlu_data/` is tuned to these sets: a number is what it is.
"""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def model_description(path: Path) -> str:
    from bot.training.model_cache import data_hash

    current = data_hash(REPO_ROOT)
    stem = path.name.removesuffix(".tar.gz")
    relation = (
        "trained from this checkout's training data"
        if stem == current
        else f"name is not this checkout's training-data hash `{current}`: may be older data"
    )
    try:
        rasa = metadata.version("rasa")
    except metadata.PackageNotFoundError:
        rasa = "?"
    return f"model `{path.name}` (sha256 `{file_digest(path)}`; {relation}), Rasa {rasa}"


def resolve_model(arg: str | None) -> Path:
    if arg:
        path = Path(arg).expanduser().resolve()
        if not path.is_file():
            raise SystemExit(f"bench: model not found: {path}")
        return path
    from bot.training.model_cache import ensure_model

    return ensure_model()


def run_selected(names: list[str], model_arg: str | None, train: bool) -> tuple[list[Result], dict[str, str]]:
    """Run each benchmark; returns results and a per-benchmark "run" line for the docs."""
    model: Model | None = None
    model_text = ""
    if NEEDS_MODEL & set(names):
        from bench.common import load_model

        path = resolve_model(model_arg)
        print(f"[bench] loading {path} ...", file=sys.stderr)
        model = load_model(path)
        model_text = model_description(path)
    stamp = f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine()}"
    results: list[Result] = []
    lines: dict[str, str] = {}
    for name in names:
        start = time.perf_counter()
        result = _runner(name, model, train)()
        elapsed = time.perf_counter() - start
        result.numbers.setdefault("elapsed_s", round(elapsed, 1))
        lines[name] = f"Run {stamp}; took {elapsed:.1f} s" + (f"; {model_text}" if name in NEEDS_MODEL else "")
        results.append(result)
        print_result(result)
    return results, lines


def _runner(name: str, model: Model | None, train: bool) -> Callable[[], Result]:
    if name == "nlu":
        from bench import nlu

        assert model is not None
        return lambda: nlu.run(model, train=train)
    if name == "faq":
        from bench import faq

        assert model is not None
        return lambda: faq.run(model)
    if name == "triage":
        from bench import triage

        return triage.run
    if name == "category":
        from bench import category

        return category.run
    from bench import channels

    return channels.run


def print_result(result: Result) -> None:
    print(f"\n== {result.name}: {result.title} [{result.verdict}]" + (f" goal: {result.goal}" if result.goal else ""))
    if result.skipped:
        print(f"   skipped: {result.skipped}")
        return
    print(table(["metric", "value"], list(result.numbers.items())))


def section(result: Result, run_line: str) -> str:
    body = f"skipped: {result.skipped}" if result.skipped else result.markdown
    goal = f"Goal: {result.goal} — **{result.verdict}**.\n\n" if result.goal else ""
    return (f"<!-- bench:{result.name} -->\n## {result.title} (`--only {result.name}`)\n\n"
            f"{run_line}.\n\n{goal}{body}\n<!-- /bench:{result.name} -->")


NOTES = re.compile(r"<!-- notes -->.*?<!-- /notes -->", re.S)


def write_docs(results: list[Result], lines: dict[str, str], path: Path = DOCS) -> None:
    """Replace the sections of the benchmarks that ran; keep the others, in the order of ALL.

    Hand-written notes between ``<!-- notes -->`` and ``<!-- /notes -->`` stay, after the header.
    """
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    notes = NOTES.search(old)
    sections = {
        m["name"]: m[0]
        for m in re.finditer(r"<!-- bench:(?P<name>\w+) -->.*?<!-- /bench:(?P=name) -->", old, re.S)
    }
    for result in results:
        if result.skipped and result.name in sections:
            continue  # keep the last real measurement rather than a "skipped" note
        sections[result.name] = section(result, lines[result.name])
    parts = [HEADER.rstrip(), *([notes[0]] if notes else [])] + [sections[name] for name in ALL if name in sections]
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    print(f"[bench] wrote {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--model", help="Rasa model .tar.gz (default: models/<data-hash>.tar.gz)")
    parser.add_argument("--train", action="store_true", help="also time a cold `rasa train` (minutes)")
    parser.add_argument("--write-docs", action="store_true", help="write results into docs/benchmarks.md")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}")
    names = [n for n in ALL if n in names]
    start = time.perf_counter()
    results, lines = run_selected(names, args.model, args.train)
    print("\n" + table(
        ["benchmark", "verdict", "goal"], [(r.name, r.verdict, r.goal or "-") for r in results]
    ))
    print(f"[bench] total {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.write_docs:
        write_docs(results, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
