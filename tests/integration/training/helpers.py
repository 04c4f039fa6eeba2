"""A small training project, a regression set and a fake toolchain for the run/promotion tests."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.training.metrics import Example, Prediction
from bot.training.model_cache import data_hash
from bot.training.nlu_files import parse_nlu_examples
from bot.training.toolchain import LineSink, ToolError

DOMAIN = """version: "3.1"
intents:
  - greet
  - thank
  - check_status
  - nlu_fallback
responses:
  utter_greet:
    - text: 您好
"""
CONFIG = """language: zh
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
policies:
  - name: RulePolicy
"""
REGRESSION = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - 您好呀
    - 早上好
- intent: thank
  examples: |
    - 多谢了
    - 谢谢您
- intent: check_status
  examples: |
    - 我的事办到哪了
"""


def make_project(root: Path) -> Path:
    (root / "nlu_data" / "nlu").mkdir(parents=True)
    (root / "nlu_data" / "nlu" / "greet.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n', encoding="utf-8")
    (root / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    (root / "config.yml").write_text(CONFIG, encoding="utf-8")
    (root / "regression.yml").write_text(REGRESSION, encoding="utf-8")
    return root


def gold(project: Path) -> dict[str, str]:
    return {e.text: e.intent for e in parse_nlu_examples((project / "regression.yml").read_text(encoding="utf-8"))}


class FakeToolchain:
    """Trains by writing ``<hash>.tar.gz``; predicts from ``answers[model file][text]``, else the gold label."""

    def __init__(self, truth: Mapping[str, str], answers: Mapping[str, Mapping[str, str]] | None = None,
                 fail_step: str | None = None) -> None:
        self.truth = dict(truth)
        self.answers = {k: dict(v) for k, v in (answers or {}).items()}
        self.fail_step = fail_step
        self.calls: list[str] = []

    def _maybe_fail(self, step: str, log: LineSink) -> None:
        self.calls.append(step)
        if self.fail_step == step:
            log("Error: domain.yml has a problem")
            raise ToolError(f"{step} failed (exit 1)", "Error: domain.yml has a problem")

    def validate(self, project: Path, log: LineSink) -> None:
        self._maybe_fail("validate", log)
        log("validation ok")

    def train(self, project: Path, models_dir: Path, log: LineSink) -> Path:
        self._maybe_fail("train", log)
        for name in ("WhitespaceTokenizer", "KeywordIntentClassifier", "RulePolicy"):
            log(f"Starting to train component '{name}'.")
            log(f"Finished training component '{name}'.")
        models_dir.mkdir(parents=True, exist_ok=True)
        target = models_dir / f"{data_hash(project)}.tar.gz"
        target.write_bytes(b"candidate")
        return target

    def predict(self, models: Sequence[Path], texts: Sequence[str], log: LineSink) -> dict[str, list[Prediction]]:
        self._maybe_fail("predict", log)
        out = {}
        for model in models:
            answers = self.answers.get(model.name, {})
            out[str(model)] = [Prediction(answers.get(t, self.truth.get(t, "greet")), 0.9) for t in texts]
        return out

    def cross_validate(self, project: Path, folds: int, log: LineSink) -> list[tuple[Example, Prediction]]:
        self._maybe_fail("cross_validate", log)
        return [(Example("你好", "greet"), Prediction("greet", 0.9)), (Example("谢谢", "thank"), Prediction("greet", 0.5))]
