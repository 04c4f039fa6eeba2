"""Runs the conversation test stories with `rasa test core` against the trained model.

Each story gives citizens' messages in their own words; the real NLU must read the
intent and the policies must predict every action. Any wrong intent or action fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.rasa]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STORY_FILES = sorted(HERE.glob("*_stories.yml"))


@pytest.mark.parametrize("stories", STORY_FILES, ids=[p.stem for p in STORY_FILES])
def test_stories_pass(stories: Path, trained_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    rasa = Path(sys.executable).with_name("rasa")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    proc = subprocess.run(
        [str(rasa), "test", "core", "--model", str(trained_model), "--stories", str(stories),
         "--out", str(out), "--no-plot"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    failed_file = out / "failed_test_stories.yml"
    assert failed_file.exists(), f"rasa test wrote no results\n{proc.stderr[-3000:]}"
    failed = yaml.safe_load(failed_file.read_text(encoding="utf-8")) or {}
    assert not failed.get("stories"), "failed stories:\n" + failed_file.read_text(encoding="utf-8")
    total = len(yaml.safe_load(stories.read_text(encoding="utf-8"))["stories"])
    assert total >= 1
