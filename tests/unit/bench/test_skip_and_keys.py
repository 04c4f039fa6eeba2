"""Real-world benchmarks skip cleanly without their data; the FAQ key is read from Rasa 3.6 output."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench import category, channels
from bench.common import benchmarks_dir
from bench.faq import selected_key


def test_missing_benchmarks_folder_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHMARKS_DIR", str(tmp_path / "absent"))
    assert benchmarks_dir() is None
    for result in (category.run(), channels.run()):
        assert result.skipped and result.verdict == "SKIPPED"


def test_empty_folder_skips(tmp_path: Path) -> None:
    assert category.run(tmp_path).skipped
    assert channels.run(tmp_path).skipped


def test_selected_key_from_parse_data() -> None:
    parsed = {"response_selector": {"all_retrieval_intents": ["faq"], "faq": {
        "response": {"intent_response_key": "faq/how_to_petition", "confidence": 0.4}}}}
    assert selected_key(parsed) == "faq/how_to_petition"
    assert selected_key({"intent": {"name": "greet"}}) is None
