"""The real Rasa commands of a training run on a tiny project with a fast pipeline (no DIET):
``rasa data validate``, training through the model cache, the prediction subprocess and
``rasa test nlu --cross-validation`` — the output formats the run depends on."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.training.model_cache import data_hash
from bot.training.toolchain import RasaToolchain, ToolError

pytestmark = pytest.mark.rasa

CONFIG = """recipe: default.v1
language: en
assistant_id: toolchain-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 3
  - name: LogisticRegressionClassifier
policies:
  - name: RulePolicy
"""
DOMAIN = """version: "3.1"
intents: [greet, goodbye, thank]
responses:
  utter_greet:
    - text: hello
"""
EXAMPLES = {
    "greet": ["hello", "hi", "hey there", "good morning", "hello friend", "hi hi"],
    "goodbye": ["bye", "goodbye", "see you", "see you later", "bye bye", "farewell"],
    "thank": ["thanks", "thank you", "many thanks", "thanks a lot", "thank you so much", "cheers thanks"],
}


def make_tiny_project(root: Path) -> Path:
    (root / "nlu_data").mkdir(parents=True)
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in EXAMPLES.items():
        lines += [f"- intent: {intent}", "  examples: |", *[f"    - {t}" for t in texts]]
    (root / "nlu_data" / "nlu.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    (root / "config.yml").write_text(CONFIG, encoding="utf-8")
    return root


@pytest.mark.timeout(900)
def test_validate_train_predict_cross_validate(tmp_path: Path) -> None:
    project = make_tiny_project(tmp_path / "project")
    toolchain = RasaToolchain(cache_dir=tmp_path / "cache")
    lines: list[str] = []
    toolchain.validate(project, lines.append)
    model = toolchain.train(project, tmp_path / "models", lines.append)
    assert model == tmp_path / "models" / f"{data_hash(project)}.tar.gz" and model.is_file()
    assert any("Finished training component" in line for line in lines)

    predictions = toolchain.predict([model], ["hello there", "thank you very much"], lines.append)[str(model)]
    assert [p.intent for p in predictions] == ["greet", "thank"]
    assert all(p.confidence is not None and 0 < p.confidence <= 1 for p in predictions)

    pairs = toolchain.cross_validate(project, 2, lines.append)
    assert len(pairs) == sum(len(t) for t in EXAMPLES.values())
    assert {e.intent for e, _ in pairs} == set(EXAMPLES)
    assert sum(e.intent == p.intent for e, p in pairs) >= len(pairs) // 2

    (project / "domain.yml").write_text("intents: [greet\n", encoding="utf-8")  # broken YAML
    with pytest.raises(ToolError) as info:
        toolchain.validate(project, lines.append)
    assert info.value.tail
