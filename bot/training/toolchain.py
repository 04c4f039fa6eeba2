"""The Rasa commands a training run needs, each in a subprocess with its output streamed.

- :meth:`RasaToolchain.validate`: ``rasa data validate`` (errors fail the run; warnings do not)
- :meth:`RasaToolchain.train`: the model cache (``python -m bot.training.model_cache``), so the
  candidate is ``<MODELS_DIR>/<data hash>.tar.gz`` exactly like ``make train`` names it
- :meth:`RasaToolchain.predict`: ``python -m bot.training.predict`` for one or more models
- :meth:`RasaToolchain.cross_validate`: ``rasa test nlu --cross-validation``; its per-message
  successes and errors are read back so the scores are computed by :mod:`bot.training.metrics`

Every line of output goes to the ``log`` callback (progress and the run's log tail).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from bot.settings import PROJECT_ROOT
from bot.training.metrics import Example, Prediction

LineSink = Callable[[str], None]
_LINE_BREAK = re.compile(r"[\r\n]+")


class ToolError(RuntimeError):
    """A Rasa command failed; ``tail`` holds its last output lines."""

    def __init__(self, message: str, tail: str = "") -> None:
        super().__init__(message)
        self.tail = tail


class Toolchain(Protocol):
    def validate(self, project: Path, log: LineSink) -> None: ...

    def train(self, project: Path, models_dir: Path, log: LineSink) -> Path: ...

    def predict(self, models: Sequence[Path], texts: Sequence[str], log: LineSink) -> dict[str, list[Prediction]]: ...

    def cross_validate(self, project: Path, folds: int, log: LineSink) -> list[tuple[Example, Prediction]]: ...


def _bin(name: str) -> str:
    for cand in (Path(sys.executable).parent / name, PROJECT_ROOT / ".venv" / "bin" / name):
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return name


class RasaToolchain:
    """Runs the commands with this interpreter's venv; ``cache_dir`` keeps Rasa's training
    cache warm across runs (each run trains in a fresh copy of the project)."""

    def __init__(self, cache_dir: Path | None = None, code_root: Path = PROJECT_ROOT) -> None:
        self.cache_dir = cache_dir
        self.code_root = code_root

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        path = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = str(self.code_root) + (os.pathsep + path if path else "")
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
        env["PYTHONUNBUFFERED"] = "1"
        if self.cache_dir is not None:
            env["RASA_CACHE_DIRECTORY"] = str(self.cache_dir)
        return env

    def _run(self, cmd: Sequence[str], cwd: Path, log: LineSink, what: str) -> str:
        """Run ``cmd``; stderr lines go to ``log``; returns stdout. ToolError on failure."""
        tail: deque[str] = deque(maxlen=40)
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(list(cmd), cwd=cwd, env=self._env(), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.PIPE)
            assert proc.stderr is not None
            pending = b""
            while True:
                chunk = proc.stderr.read1(4096) if hasattr(proc.stderr, "read1") else proc.stderr.read(4096)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = re.split(rb"[\r\n]", pending)
                for raw in lines:
                    line = raw.decode("utf-8", "replace").rstrip()
                    if line:
                        tail.append(line)
                        log(line)
            if pending.strip():
                line = pending.decode("utf-8", "replace").rstrip()
                tail.append(line)
                log(line)
            code = proc.wait()
            out.seek(0)
            stdout = out.read().decode("utf-8", "replace")
        if code != 0:
            raise ToolError(f"{what} failed (exit {code})", "\n".join(tail))
        return stdout

    def validate(self, project: Path, log: LineSink) -> None:
        self._run([_bin("rasa"), "data", "validate", "--data", "nlu_data", "--domain", "domain.yml",
                   "--config", "config.yml"], project, log, "rasa data validate")

    def train(self, project: Path, models_dir: Path, log: LineSink) -> Path:
        out = self._run([sys.executable, "-m", "bot.training.model_cache", "--print-path", "--root", str(project),
                         "--models-dir", str(models_dir)], project, log, "rasa train")
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        if not lines or not Path(lines[-1]).is_file():
            raise ToolError("training wrote no model", out[-2000:])
        return Path(lines[-1])

    def predict(self, models: Sequence[Path], texts: Sequence[str], log: LineSink) -> dict[str, list[Prediction]]:
        with tempfile.TemporaryDirectory(prefix="xinfang-predict-") as tmp:
            src, dst = Path(tmp) / "texts.json", Path(tmp) / "predictions.json"
            src.write_text(json.dumps({"texts": list(texts)}, ensure_ascii=False), encoding="utf-8")
            cmd = [sys.executable, "-m", "bot.training.predict", "--input", str(src), "--output", str(dst)]
            for model in models:
                cmd += ["--model", str(model)]
            self._run(cmd, self.code_root, log, "prediction")
            raw = json.loads(dst.read_text(encoding="utf-8"))
        return {
            str(model): [Prediction(p.get("intent") or "", p.get("confidence"), p.get("full_intent"))
                         for p in raw[str(model)]]
            for model in models
        }

    def cross_validate(self, project: Path, folds: int, log: LineSink) -> list[tuple[Example, Prediction]]:
        with tempfile.TemporaryDirectory(prefix="xinfang-cv-") as tmp:
            self._run([_bin("rasa"), "test", "nlu", "--cross-validation", "--folds", str(folds), "--nlu", "nlu_data",
                       "--config", "config.yml", "--domain", "domain.yml", "--out", tmp, "--successes", "--no-plot"],
                      project, log, "cross-validation")
            return read_rasa_intent_results(Path(tmp))


def read_rasa_intent_results(out_dir: Path) -> list[tuple[Example, Prediction]]:
    """(gold example, prediction) pairs from ``intent_successes.json`` + ``intent_errors.json``."""
    pairs = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out_dir / name
        if not path.is_file():
            continue
        for row in json.loads(path.read_text(encoding="utf-8")):
            predicted = row.get("intent_prediction") or {}
            pairs.append((Example(str(row.get("text", "")), str(row.get("intent") or "")),
                          Prediction(str(predicted.get("name") or ""), predicted.get("confidence"))))
    return pairs
