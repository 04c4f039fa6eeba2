"""Category suggestion on real citizens' messages (``citizen-messages-2020.csv``, split=test).

``bot.intake.category.suggest_category(subject + "。" + detail)`` is correct when the code is in
the label's code set (the data's README); ``None`` (no confident suggestion) is a miss. Only
aggregates are printed: the messages stay in the shared folder.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from bench.common import Result, benchmarks_dir, mean, pct, recall_by_label, table

FILE = "citizen-messages-2020.csv"
GOAL = 0.85

#: Board label → the product's category codes that count as correct (benchmarks README).
LABEL_CODES: dict[str, frozenset[str]] = {
    "城乡建设": frozenset(
        {"housing", "urban_management", "housing_demolition", "land_expropriation", "agriculture_rural"}
    ),
    "环境保护": frozenset({"environment"}),
    "交通运输": frozenset({"transport"}),
    "教育文体": frozenset({"education"}),
    "劳动和社会保障": frozenset({"labor_social_security"}),
    "商贸旅游": frozenset({"commerce_consumer"}),
    "卫生计生": frozenset({"healthcare"}),
}


def run(folder: Path | None = None) -> Result:
    folder = folder or benchmarks_dir()
    if folder is None or not (folder / FILE).is_file():
        return Result(name="category", title="Category suggestion", goal=f"macro recall ≥ {GOAL}",
                      skipped=f"{FILE} not found (set BENCHMARKS_DIR or provide ../shared/benchmarks)")
    from bot.intake.category import suggest_category

    with open(folder / FILE, encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "test"]
    outcomes: list[tuple[str, bool]] = []
    predicted: Counter[tuple[str, str]] = Counter()
    for row in rows:
        code = suggest_category(f"{row['subject']}。{row['detail']}")
        outcomes.append((row["label"], code in LABEL_CODES.get(row["label"], frozenset())))
        predicted[(row["label"], code or "(none)")] += 1
    recalls = recall_by_label(outcomes)
    macro = mean(r for r, _ in recalls.values())
    micro = sum(ok for _, ok in outcomes) / len(outcomes) if outcomes else 0.0
    none_count = sum(n for (_, code), n in predicted.items() if code == "(none)")
    numbers: dict[str, float | int] = {
        "messages": len(rows),
        "macro_recall": round(macro, 4),
        "accuracy": round(micro, 4),
        "no_suggestion": none_count,
        **{f"recall[{label}]": round(r, 4) for label, (r, _) in recalls.items()},
    }
    codes = sorted({code for _, code in predicted})
    confusion = table(
        ["label \\ suggested", *codes],
        [(label, *(predicted[(label, c)] or "" for c in codes)) for label in recalls],
    )
    markdown = "\n\n".join([
        f"`{FILE}` rows with split=test: {len(rows)} messages (subject + detail). "
        "A suggestion is right when it is in the label's code set (benchmarks README). "
        "How the suggestion is made, and why it misses where it does: docs/cases.md, \"Category suggestion\".",
        table(["label", "recall", "n"], [(label, r, n) for label, (r, n) in recalls.items()]),
        table(["metric", "value"], [
            ("macro recall", macro), ("accuracy (all messages)", micro),
            ("no suggestion (below the confidence threshold)", f"{none_count} ({pct(none_count / len(rows) if rows else 0)})"),
        ]),
        "Suggested codes per label (counts):\n\n" + confusion,
    ])
    return Result(
        name="category", title="Category suggestion", numbers=numbers,
        goal=f"macro recall ≥ {GOAL}", passed=macro >= GOAL, markdown=markdown,
    )
