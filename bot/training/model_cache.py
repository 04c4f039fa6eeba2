"""Content-addressed cache of trained Rasa models.

A model is named after a hash of everything that goes into training (``nlu_data/**``,
``domain.yml``, ``config.yml`` and the custom NLU components in ``bot/nlu/*.py``), so
``models/<hash>.tar.gz`` exists exactly when the current training data has been trained.
``ensure_model()`` trains only when that file is missing; a file lock makes parallel callers
(``make run`` + a test session, or several pytest workers) train once, and training writes to a
temporary name that is renamed into place, so a half-written model is never picked up.

CLI::

    python -m bot.training.model_cache               # train if needed, log the path
    python -m bot.training.model_cache --print-path  # print only the path on stdout (for scripts)
    python -m bot.training.model_cache --force       # retrain even if the model exists
    python -m bot.training.model_cache --hash        # print the data hash and exit

Each trained model gets a sidecar ``<name>.train.json`` with the training seconds
(:func:`training_seconds` reads it; the load benchmark reports it). Another configuration (the
stock baseline in ``bench/stock/config.yml``) is cached the same way with ``config=`` and a
name ``prefix``; its hash covers ``nlu_data/**``, ``domain.yml`` and that configuration file.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bot.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

HASH_LENGTH = 12
LOCK_NAME = ".train.lock"
DEFAULT_CONFIG = "config.yml"
META_SUFFIX = ".train.json"


class TrainingError(RuntimeError):
    """`rasa train` failed or produced no model."""


def _training_inputs(root: Path, config: str = DEFAULT_CONFIG) -> list[Path]:
    """Every file whose content affects the trained model, sorted by relative path.

    ``config`` is relative to ``root``. The custom components in ``bot/nlu`` count for the
    product's configuration, and for another one only when it names them.
    """
    files: list[Path] = []
    nlu = root / "nlu_data"
    if nlu.is_dir():
        files.extend(
            p for p in nlu.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
        )
    for name in ("domain.yml", config):
        if (root / name).is_file():
            files.append(root / name)
    components = root / "bot" / "nlu"
    uses_components = config == DEFAULT_CONFIG or (
        (root / config).is_file() and "bot.nlu" in (root / config).read_text(encoding="utf-8")
    )
    if components.is_dir() and uses_components:
        files.extend(p for p in components.glob("*.py") if p.is_file())
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def data_hash(root: Path, config: str = DEFAULT_CONFIG) -> str:
    """First 12 hex chars of sha256 over (relative path, content) of all training inputs."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in _training_inputs(root, config):
        rel = path.relative_to(root).as_posix().encode("utf-8")
        content = path.read_bytes()
        # Length-prefix both parts so (path, content) boundaries cannot be shifted.
        digest.update(len(rel).to_bytes(8, "big") + rel)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()[:HASH_LENGTH]


def default_models_dir(root: Path = PROJECT_ROOT) -> Path:
    return Path(root) / "models"


def model_path(
    root: Path, models_dir: Path | None = None, *, config: str = DEFAULT_CONFIG, prefix: str = ""
) -> Path:
    """Where the model for the current training data lives (whether or not it exists yet)."""
    models_dir = default_models_dir(root) if models_dir is None else Path(models_dir)
    return models_dir / f"{prefix}{data_hash(root, config)}.tar.gz"


def meta_path(model: Path) -> Path:
    """The sidecar of ``<name>.tar.gz``: ``<name>.train.json``."""
    return model.with_name(model.name.removesuffix(".tar.gz") + META_SUFFIX)


def read_meta(model: Path) -> dict[str, object]:
    """The sidecar of a model ({} when there is none or it is unreadable)."""
    try:
        data = json.loads(meta_path(Path(model)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def training_seconds(model: Path) -> float | None:
    """Seconds `rasa train` took for this model, when it was trained by :func:`train`."""
    try:
        return float(read_meta(model)["train_seconds"])  # type: ignore[arg-type]
    except (KeyError, ValueError, TypeError):
        return None


def _rasa_cache_empty(root: Path, env: dict[str, str]) -> bool:
    """Whether Rasa's training cache is empty, i.e. the next training is a cold one."""
    cache = Path(env.get("RASA_CACHE_DIRECTORY") or Path(root) / ".rasa" / "cache")
    if not cache.is_absolute():
        cache = Path(root) / cache
    return not cache.is_dir() or not any(cache.iterdir())


def _rasa_executable(root: Path) -> str:
    """`rasa` of the running interpreter's venv, else <root>/.venv, else PATH."""
    candidates = [Path(sys.executable).parent / "rasa", Path(root) / ".venv" / "bin" / "rasa"]
    for cand in candidates:
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    found = shutil.which("rasa")
    if found:
        return found
    raise TrainingError("cannot find the `rasa` executable; run `make venv` first")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        start = time.monotonic()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another process is training; waiting for %s", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
            log.info("lock acquired after %.0fs", time.monotonic() - start)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _train_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    pythonpath = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(root) + (os.pathsep + pythonpath if pythonpath else "")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    return env


def train(root: Path, models_dir: Path, name: str, config: str = DEFAULT_CONFIG) -> Path:
    """Run `rasa train` into ``models_dir/<name>.tar.gz`` via a temporary name. No locking.

    Writes the training seconds into the sidecar ``<name>.train.json``.
    """
    root = Path(root)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp_name = f".tmp-{name}-{os.getpid()}"
    tmp_path = models_dir / f"{tmp_name}.tar.gz"
    target = models_dir / f"{name}.tar.gz"
    cmd = [
        _rasa_executable(root), "train",
        "--data", "nlu_data",
        "--domain", "domain.yml",
        "--config", config,
        "--out", str(models_dir),
        "--fixed-model-name", tmp_name,
    ]
    log.info("training model %s: %s", name, " ".join(cmd))
    env = _train_env(root)
    cold = _rasa_cache_empty(root, env)
    start = time.monotonic()
    try:
        # Rasa's output goes to stderr so that `--print-path` keeps stdout clean.
        result = subprocess.run(
            cmd, cwd=root, env=env, stdout=sys.stderr, stderr=sys.stderr,
            stdin=subprocess.DEVNULL, check=False,
        )
        if result.returncode != 0:
            raise TrainingError(f"`rasa train` exited with {result.returncode}")
        if not tmp_path.is_file():
            raise TrainingError(f"`rasa train` succeeded but {tmp_path} was not written")
        seconds = time.monotonic() - start
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
    meta = {"train_seconds": round(seconds, 1), "cold": cold, "config": config, "trained_at": time.time()}
    meta_path(target).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    log.info("trained %s in %.1fs", target, seconds)
    return target


def ensure_model(
    root: Path = PROJECT_ROOT,
    models_dir: Path | None = None,
    *,
    force: bool = False,
    config: str = DEFAULT_CONFIG,
    prefix: str = "",
) -> Path:
    """Path of the model for the current training data, training it first when missing.

    ``config`` (relative to ``root``) and ``prefix`` select another configuration's cache entry
    (``models/<prefix><hash>.tar.gz``), e.g. the stock baseline of the load benchmark.
    """
    root = Path(root)
    models_dir = default_models_dir(root) if models_dir is None else Path(models_dir)
    target = model_path(root, models_dir, config=config, prefix=prefix)
    if target.is_file() and not force:
        log.debug("model cache hit: %s", target)
        return target
    # Another configuration has its own lock: training it never blocks the product's model.
    lock = LOCK_NAME if not prefix else f".train-{prefix.strip('-')}.lock"
    with _file_lock(models_dir / lock):
        # Someone else may have trained it while we waited for the lock.
        target = model_path(root, models_dir, config=config, prefix=prefix)
        if target.is_file() and not force:
            log.info("model trained by another process: %s", target)
            return target
        name = target.name.removesuffix(".tar.gz")
        if config == DEFAULT_CONFIG:
            return train(root, models_dir, name)
        return train(root, models_dir, name, config)


#: the model an admin promoted or rolled back to (bot.training.promotion), with the data hash of
#: the project at that moment; a restart serves it while the training data is unchanged
LIVE_POINTER = "live.json"


def write_live_pointer(root: Path, models_dir: Path, model: Path, *, by: str) -> Path:
    """Record ``model`` as the live model for the current training data (atomic replace)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    pointer = models_dir / LIVE_POINTER
    record = {"model": model.name, "data_hash": data_hash(root), "by": by, "at": time.time()}
    tmp = pointer.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, pointer)
    return pointer


def live_model(root: Path, models_dir: Path) -> Path | None:
    """The promoted / rolled-back model to serve, when it was chosen for this very training data
    and is still on disk; None otherwise (then the data's own cached model is served)."""
    pointer = models_dir / LIVE_POINTER
    try:
        record = json.loads(pointer.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("data_hash") != data_hash(root):
        return None
    name = str(record.get("model") or "")
    candidate = models_dir / name
    if not name or Path(name).name != name or not candidate.is_file():
        return None
    return candidate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.training.model_cache",
        description="Train the Rasa model for the current training data unless it is cached.",
    )
    parser.add_argument("--print-path", action="store_true",
                        help="print only the model path on stdout")
    parser.add_argument("--force", action="store_true", help="retrain even if the model exists")
    parser.add_argument("--hash", action="store_true", help="print the training-data hash and exit")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="where models live (default: <repo>/models)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[model_cache] %(message)s", stream=sys.stderr)
    if args.hash:
        print(data_hash(args.root))
        return 0
    models_dir = default_models_dir(args.root) if args.models_dir is None else args.models_dir
    chosen = None if args.force else live_model(args.root, models_dir)
    if chosen is not None:
        log.info("serving the model an admin made live for this training data: %s", chosen.name)
    try:
        path = chosen or ensure_model(args.root, args.models_dir, force=args.force)
    except TrainingError as exc:
        log.error("%s", exc)
        return 1
    if args.print_path:
        print(path)
    else:
        log.info("model: %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
