"""Which legal channel the triage recommends for real legal questions, per dispute topic.

Runs ``bot.triage.triage(question, None, today)`` on every row of ``legal-consultations.csv``
and counts ``legal_channel`` per topic. No goal: the topic tags are noisy, this is a map of
behaviour, not an accuracy. Aggregates only.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from bench.common import BENCH_TODAY, Result, benchmarks_dir, pct, table

FILE = "legal-consultations.csv"
ERROR = "(error)"
CATCH_ALL = "R22_catch_all"  # rules.yml: no more specific rule matched


def run(folder: Path | None = None) -> Result:
    folder = folder or benchmarks_dir()
    if folder is None or not (folder / FILE).is_file():
        return Result(name="channels", title="Legal channel per topic",
                      skipped=f"{FILE} not found (set BENCHMARKS_DIR or provide ../shared/benchmarks)")
    from bot.triage import CHANNELS, triage

    with open(folder / FILE, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    counts: Counter[tuple[str, str]] = Counter()
    totals: Counter[str] = Counter()
    catch_all = 0
    for row in rows:
        try:
            result = triage(row["question"], None, BENCH_TODAY)
            channel = result.legal_channel
            catch_all += result.rule_id == CATCH_ALL
        except Exception:  # a crash is a finding, not a reason to stop the benchmark
            channel = ERROR
        counts[(row["topic"], channel)] += 1
        totals[channel] += 1
    topics = sorted({topic for topic, _ in counts})
    used = [c for c in (*CHANNELS, ERROR) if totals[c]]
    grid = table(
        ["topic", *used, "n"],
        [(t, *(counts[(t, c)] or "" for c in used), sum(counts[(t, c)] for c in used)) for t in topics]
        + [("**all**", *(totals[c] for c in used), len(rows))],
    )
    numbers: dict[str, float | int] = {
        "questions": len(rows),
        "topics": len(topics),
        "errors": totals[ERROR],
        "catch_all": catch_all,
        **{f"share[{c}]": round(totals[c] / len(rows), 4) for c in used},
    }
    markdown = "\n\n".join([
        f"`{FILE}`: {len(rows)} questions, {len(topics)} topics (noisy tags), today = "
        f"{BENCH_TODAY.isoformat()}. Recommended `legal_channel` counts; "
        f"no specific rule matched (catch-all `{CATCH_ALL}` → `petition`) for {catch_all} "
        f"({pct(catch_all / len(rows) if rows else 0)}).",
        grid,
    ])
    return Result(name="channels", title="Legal channel per topic", numbers=numbers, markdown=markdown)
