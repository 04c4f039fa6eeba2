"""Subprocess plumbing of a training run: output streaming, failures, Rasa's result files, snapshots."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.training.metrics import Example, Prediction
from bot.training.model_cache import data_hash
from bot.training.runs import expected_components, snapshot_project
from bot.training.toolchain import RasaToolchain, ToolError, read_rasa_intent_results
from tests.integration.training.helpers import make_project


def test_run_streams_stderr_lines_and_returns_stdout(tmp_path: Path) -> None:
    lines: list[str] = []
    code = ("import sys; sys.stderr.write('Epochs:  10%\\rEpochs:  50%\\rEpochs: 100%\\nsecond line\\n'); "
            "sys.stderr.flush(); print('/the/path')")
    out = RasaToolchain()._run([sys.executable, "-c", code], tmp_path, lines.append, "demo")
    assert out.strip() == "/the/path"
    assert lines == ["Epochs:  10%", "Epochs:  50%", "Epochs: 100%", "second line"]


def test_run_failure_carries_the_tail(tmp_path: Path) -> None:
    code = "import sys; [sys.stderr.write(f'line {i}\\n') for i in range(100)]; sys.exit(3)"
    with pytest.raises(ToolError) as info:
        RasaToolchain()._run([sys.executable, "-c", code], tmp_path, lambda _l: None, "demo")
    assert "demo failed (exit 3)" in str(info.value)
    assert info.value.tail.splitlines()[-1] == "line 99" and len(info.value.tail.splitlines()) == 40


def test_read_rasa_intent_results(tmp_path: Path) -> None:
    (tmp_path / "intent_successes.json").write_text(json.dumps([
        {"text": "你好", "intent": "greet", "intent_prediction": {"name": "greet", "confidence": 0.9}}]), encoding="utf-8")
    (tmp_path / "intent_errors.json").write_text(json.dumps([
        {"text": "谢谢", "intent": "thank", "intent_prediction": {"name": "greet", "confidence": 0.4}}]), encoding="utf-8")
    assert read_rasa_intent_results(tmp_path) == [
        (Example("你好", "greet"), Prediction("greet", 0.9)), (Example("谢谢", "thank"), Prediction("greet", 0.4))]
    (tmp_path / "intent_errors.json").unlink()  # everything right: Rasa writes no errors file
    assert len(read_rasa_intent_results(tmp_path)) == 1


def test_snapshot_has_the_same_data_hash(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    (project / "bot" / "nlu").mkdir(parents=True)
    (project / "bot" / "nlu" / "t2s.py").write_text("X = 1\n", encoding="utf-8")
    (project / "nlu_data" / "__pycache__").mkdir()
    (project / "nlu_data" / "__pycache__" / "junk.pyc").write_bytes(b"\x00")
    (project / "README.md").write_text("not training data", encoding="utf-8")
    snapshot = snapshot_project(project, tmp_path / "snap")
    assert data_hash(snapshot) == data_hash(project)
    assert not (snapshot / "README.md").exists() and not (snapshot / "nlu_data" / "__pycache__").exists()
    assert expected_components(snapshot / "config.yml") == 3
    assert expected_components(tmp_path / "missing.yml") == 10
