"""Legal-channel triage on held-out stories (``bench/data/triage_heldout.yml``).

An item passes when ``bot.triage.triage(text, answers, today)`` returns its
``expected_channel`` or one of its ``also_ok`` codes, and — when the item states a
``deadline: {kind, amount}`` — the result's deadline period matches. ``today`` is the file's
(2026-11-23) unless the item gives its own.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bench.common import BENCH_TODAY, DATA_DIR, Result, table

HELDOUT = DATA_DIR / "triage_heldout.yml"


def _as_date(value: Any, default: date) -> date:
    if value is None:
        return default
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def check(item: dict[str, Any], today: date) -> dict[str, Any]:
    """Run one item; returns what it got and whether channel / deadline are right."""
    from bot.triage import triage

    result = triage(str(item["text"]), item.get("answers"), _as_date(item.get("today"), today))
    accepted = {item["expected_channel"], *(item.get("also_ok") or [])}
    expected_deadline = item.get("deadline")
    got_deadline = (result.deadline.get("kind"), result.deadline.get("amount"))
    deadline_ok = None
    if expected_deadline:
        deadline_ok = got_deadline == (expected_deadline["kind"], expected_deadline.get("amount"))
    channel_ok = result.legal_channel in accepted
    return {
        "id": item["id"],
        "channel": result.legal_channel,
        "expected": item["expected_channel"],
        "strict": result.legal_channel == item["expected_channel"],
        "channel_ok": channel_ok,
        "deadline_ok": deadline_ok,
        "deadline": got_deadline,
        "passed": channel_ok and deadline_ok is not False,
        "table_version": result.table_version,
    }


def run(path: Path = HELDOUT) -> Result:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    today = _as_date(data.get("today"), BENCH_TODAY)
    rows = [check(item, today) for item in data["scenarios"]]
    total = len(rows)
    passed = sum(r["passed"] for r in rows)
    with_deadline = [r for r in rows if r["deadline_ok"] is not None]
    misses = [r for r in rows if not r["passed"]]
    versions = sorted({r["table_version"] for r in rows})
    numbers: dict[str, Any] = {
        "items": total,
        "accuracy": round(passed / total, 4) if total else 0.0,
        "channel_accuracy": round(sum(r["channel_ok"] for r in rows) / total, 4) if total else 0.0,
        "strict_channel_accuracy": round(sum(r["strict"] for r in rows) / total, 4) if total else 0.0,
        "deadline_accuracy": round(sum(r["deadline_ok"] for r in with_deadline) / len(with_deadline), 4)
        if with_deadline else None,
        "misses": [r["id"] for r in misses],
    }
    version_note = ", ".join(f"`{v}`" for v in versions)
    if data.get("table_version") and versions != [data["table_version"]]:
        version_note += f" (the set was written against `{data['table_version']}`)"
    miss_table = table(
        ["id", "got", "expected", "deadline got", "deadline ok"],
        [(r["id"], r["channel"], r["expected"], "-" if r["deadline"][0] == "none" else f"{r['deadline'][1]} {r['deadline'][0]}",
          "-" if r["deadline_ok"] is None else r["deadline_ok"]) for r in misses],
    )
    markdown = "\n\n".join([
        f"Held-out set `bench/data/triage_heldout.yml`: {total} stories, today = {today.isoformat()}; "
        f"rule table {version_note}.",
        table(["metric", "value"], [
            ("pass (channel accepted and deadline right)", f"{passed}/{total}"),
            ("channel in expected ∪ also_ok", numbers["channel_accuracy"]),
            ("channel = expected exactly", numbers["strict_channel_accuracy"]),
            ("deadline period right (items that state one)",
             f"{sum(r['deadline_ok'] for r in with_deadline)}/{len(with_deadline)}"),
        ]),
        "Misses:\n\n" + (miss_table if misses else "(none)"),
    ])
    return Result(
        name="triage", title="Legal-channel triage", numbers=numbers,
        goal="100 % of items", passed=passed == total, markdown=markdown,
    )
