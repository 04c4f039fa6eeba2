"""Training runs: validate, train a candidate, evaluate it against the live model.

A run works on a snapshot of the training project (``nlu_data/``, ``domain.yml``,
``config.yml``, ``bot/nlu/*.py``) so labelling during a run cannot change what it trains on.
Steps and their share of the progress bar:

    snapshot 0-5 · validate 5-12 (rasa data validate) · train 12-60 (model cache) ·
    evaluate 60-75 (live + candidate on the frozen regression set and the labelled inbox) ·
    cross_validate 75-97 (k folds of the candidate's data; skipped when TRAINING_CV_FOLDS < 2) ·
    compare 97-100

Progress, the step and the last lines of output are written to ``training_runs`` every few
seconds, so the console shows them while the run is going. In the back-office a run executes
in a background thread (:class:`TrainingWorker`); ``bot train`` runs it in the foreground.
"""
from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.errors import Conflict, NotFound
from bot.settings import Settings
from bot.training import audit
from bot.training.inbox import labelled_examples
from bot.training.metrics import Example, Report, build_comparison, report
from bot.training.model_cache import data_hash
from bot.training.models import ModelRecord, RunState, TrainingRun
from bot.training.nlu_files import parse_nlu_examples
from bot.training.rasa_client import RasaClient
from bot.training.toolchain import RasaToolchain, Toolchain, ToolError

log = logging.getLogger(__name__)

STEPS = {
    "snapshot": (0, 5), "validate": (5, 12), "train": (12, 60), "evaluate": (60, 75),
    "cross_validate": (75, 97), "compare": (97, 100),
}
STEP_LABELS = {
    "snapshot": "准备数据", "validate": "校验数据", "train": "训练候选模型", "evaluate": "评估（回归集）",
    "cross_validate": "交叉验证", "compare": "生成对比",
}
LOG_LINES = 60
WRITE_EVERY_SECONDS = 2.0
ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)
HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(minutes=2)
_EPOCHS = re.compile(r"Epochs:\s*(\d{1,3})%")
_STARTED = re.compile(r"Starting to train component")
_FINISHED = re.compile(r"Finished training component")


# ---- requesting and reading --------------------------------------------------------------------
def _fail_stale(session: Session, at: datetime) -> int:
    """Fail runs whose executing process stopped sending heartbeats (a restart, a crash)."""
    stale = list(session.execute(
        select(TrainingRun).where(
            TrainingRun.state.in_(ACTIVE),
            or_(TrainingRun.heartbeat_at.is_(None), TrainingRun.heartbeat_at < at - STALE_AFTER),
        )
    ).scalars())
    for run in stale:
        run.state, run.finished_at = RunState.FAILED.value, at
        run.error = "训练进程中断（例如后台服务重启），请重新开始。"
        audit.record(session, "system", "train_failed", at=at, run_id=run.id, note="no heartbeat: interrupted")
    return len(stale)


def do_request_training(session_factory: sessionmaker, *, by: str, now: datetime | None = None) -> TrainingRun:
    """Queue a run; :class:`Conflict` while another run is queued or running (runs without a
    heartbeat for :data:`STALE_AFTER` count as interrupted and are failed first)."""
    at = now or utcnow()
    with transaction(session_factory, write=True) as session:
        _fail_stale(session, at)
        active = session.execute(
            select(TrainingRun).where(TrainingRun.state.in_(ACTIVE)).order_by(TrainingRun.id).limit(1)
        ).scalar_one_or_none()
        if active is not None:
            raise Conflict(f"run {active.id} is {active.state}",
                           user_message=f"第 {active.id} 次训练还在进行中，请等它结束后再开始新的训练。")
        run = TrainingRun(state=RunState.QUEUED.value, progress=0, requested_by=by, created_at=at, heartbeat_at=at)
        session.add(run)
        session.flush()
        audit.record(session, by, "train_requested", at=at, run_id=run.id)
        return run


def get_run(session_factory: sessionmaker, run_id: int) -> TrainingRun:
    with transaction(session_factory) as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise NotFound(f"training run {run_id}", user_message=f"没有找到第 {run_id} 次训练。")
        return run


def list_runs(session_factory: sessionmaker, limit: int = 50) -> list[TrainingRun]:
    with transaction(session_factory) as session:
        return list(session.execute(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)).scalars())


def recover_interrupted_runs(session_factory: sessionmaker, now: datetime | None = None) -> int:
    """Fail queued/running runs without a recent heartbeat; how many."""
    with transaction(session_factory, write=True) as session:
        return _fail_stale(session, now or utcnow())


def do_fail_run(session_factory: sessionmaker, run_id: int, reason: str) -> None:
    """End a queued or running run as failed (it could not be started)."""
    with transaction(session_factory, write=True) as session:
        run = session.get(TrainingRun, run_id)
        if run is not None and run.state in ACTIVE:
            run.state, run.finished_at, run.error = RunState.FAILED.value, utcnow(), reason
            audit.record(session, "system", "train_failed", run_id=run_id, note=reason)


class _Heartbeat:
    """Refreshes ``heartbeat_at`` of a run every few seconds from a daemon thread."""

    def __init__(self, session_factory: sessionmaker, run_id: int) -> None:
        self.session_factory = session_factory
        self.run_id = run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"training-heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with transaction(self.session_factory, write=True) as session:
                    run = session.get(TrainingRun, self.run_id)
                    if run is not None:
                        run.heartbeat_at = utcnow()
            except Exception:  # a busy database: the next beat tries again
                log.debug("heartbeat of run %s failed", self.run_id, exc_info=True)


# ---- progress ----------------------------------------------------------------------------------
def expected_components(config_path: Path) -> int:
    """How many "Finished training component" lines a training prints (pipeline + policies)."""
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return 10
    return max(1, len(data.get("pipeline") or []) + len(data.get("policies") or []))


class Progress:
    """Collects output lines and progress of one run; writes them at most every few seconds."""

    def __init__(self, session_factory: sessionmaker, run_id: int, echo: Callable[[str], None] | None = None) -> None:
        self.session_factory = session_factory
        self.run_id = run_id
        self.echo = echo
        self.step = "snapshot"
        self.percent = 0
        self.lines: deque[str] = deque(maxlen=LOG_LINES)
        self._last_write = 0.0
        self._components = 10
        self._finished = 0
        self._epochs = 0.0

    def enter(self, step: str, *, components: int | None = None) -> None:
        self.step = step
        self.percent = STEPS[step][0]
        if components:
            self._components, self._finished, self._epochs = components, 0, 0.0
        self.line(f"== {STEP_LABELS[step]} ==")
        self.write(force=True)

    def fraction(self, value: float) -> None:
        low, high = STEPS[self.step]
        self.percent = max(self.percent, min(high, int(low + (high - low) * max(0.0, min(1.0, value)))))

    def line(self, text: str) -> None:
        text = text[:500]
        self.lines.append(text)
        if self.echo is not None:
            self.echo(text)
        if self.step == "train":
            if _FINISHED.search(text):
                self._finished += 1
                self._epochs = 0.0
            elif _STARTED.search(text):
                self._epochs = 0.0
            else:
                match = _EPOCHS.search(text)
                if match:
                    self._epochs = int(match.group(1)) / 100
            self.fraction(min(0.98, (self._finished + self._epochs) / self._components))
        self.write()

    def write(self, *, force: bool = False, **fields: Any) -> None:
        now = time.monotonic()
        if not force and not fields and now - self._last_write < WRITE_EVERY_SECONDS:
            return
        self._last_write = now
        with transaction(self.session_factory, write=True) as session:
            run = session.get(TrainingRun, self.run_id)
            if run is None:
                return
            run.step = self.step
            run.progress = self.percent
            run.log_tail = "\n".join(self.lines)
            for key, value in fields.items():
                setattr(run, key, value)


# ---- executing ---------------------------------------------------------------------------------
def snapshot_project(project: Path, target: Path) -> Path:
    """Copy the training inputs of ``project`` to ``target`` (same relative paths, same data hash)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(project / "nlu_data", target / "nlu_data", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(project / name, target / name)
    components = project / "bot" / "nlu"
    if components.is_dir():
        (target / "bot" / "nlu").mkdir(parents=True)
        for path in components.glob("*.py"):
            shutil.copy2(path, target / "bot" / "nlu" / path.name)
    return target


def _register_model(session_factory: sessionmaker, path: Path, *, run_id: int | None, data_hash: str | None) -> None:
    with transaction(session_factory, write=True) as session:
        existing = session.execute(select(ModelRecord).where(ModelRecord.file_name == path.name)).scalar_one_or_none()
        if existing is None:
            session.add(ModelRecord(file_name=path.name, path=str(path), data_hash=data_hash, run_id=run_id,
                                    created_at=utcnow()))
        elif run_id is not None and existing.run_id is None:
            existing.run_id = run_id


def resolve_model_file(session_factory: sessionmaker, models_dir: Path, file_name: str) -> Path:
    """Path of a model file the Rasa server names (it reports only the file name)."""
    candidate = models_dir / file_name
    if candidate.is_file():
        return candidate
    with transaction(session_factory) as session:
        record = session.execute(select(ModelRecord).where(ModelRecord.file_name == file_name)).scalar_one_or_none()
    if record is not None and Path(record.path).is_file():
        return Path(record.path)
    raise ToolError(f"the live model {file_name} is neither in {models_dir} nor in the model registry")


def execute_run(
    session_factory: sessionmaker, settings: Settings, run_id: int, *, toolchain: Toolchain | None = None,
    rasa: RasaClient | None = None, echo: Callable[[str], None] | None = None,
) -> TrainingRun:
    """Run every step of a queued run; the run ends ``done`` (with metrics) or ``failed``."""
    project = Path(settings.training_project_dir)
    models_dir = settings.models_path
    toolchain = toolchain or RasaToolchain(cache_dir=project / ".rasa" / "cache")
    rasa = rasa or RasaClient(settings.rasa_url, settings.rasa_token)
    with transaction(session_factory, write=True) as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise NotFound(f"training run {run_id}")
        if run.state != RunState.QUEUED.value:
            raise Conflict(f"run {run_id} is {run.state}", user_message="这次训练已经开始或结束了。")
        run.state, run.started_at = RunState.RUNNING.value, utcnow()
        run.heartbeat_at = run.started_at
        requested_by = run.requested_by
    progress = Progress(session_factory, run_id, echo)
    try:
        with _Heartbeat(session_factory, run_id), tempfile.TemporaryDirectory(prefix=f"xinfang-run-{run_id}-") as tmp:
            progress.enter("snapshot")
            snapshot = snapshot_project(project, Path(tmp) / "project")
            digest = data_hash(snapshot)
            progress.write(force=True, data_hash=digest)

            progress.enter("validate")
            toolchain.validate(snapshot, progress.line)

            progress.enter("train", components=expected_components(snapshot / "config.yml"))
            candidate = toolchain.train(snapshot, models_dir, progress.line)
            _register_model(session_factory, candidate, run_id=run_id, data_hash=digest)
            progress.write(force=True, model_path=str(candidate))

            progress.enter("evaluate")
            live = rasa.status()
            live_path = resolve_model_file(session_factory, models_dir, live.model_file)
            _register_model(session_factory, live_path, run_id=None, data_hash=None)
            progress.line(f"live model: {live.model_file}; candidate: {candidate.name}")
            regression = parse_nlu_examples(Path(settings.training_regression_set).read_text(encoding="utf-8"))
            inbox = labelled_examples(session_factory)
            texts = [e.text for e in regression] + [e.text for e in inbox]
            models = [live_path] if live_path == candidate else [live_path, candidate]
            predictions = toolchain.predict(models, texts, progress.line)
            live_preds, cand_preds = predictions[str(live_path)], predictions[str(candidate)]
            progress.fraction(1.0)
            progress.write(force=True, live_model=live.model_file)

            cv: dict[str, Any] | None = None
            if settings.training_cv_folds >= 2:
                progress.enter("cross_validate")
                pairs = toolchain.cross_validate(snapshot, settings.training_cv_folds, progress.line)
                cv_report: Report = report([e.intent for e, _ in pairs], [p.intent for _, p in pairs])
                cv = {"folds": settings.training_cv_folds, "report": cv_report.to_dict()}

            progress.enter("compare")
            metrics = build_comparison(regression, inbox, live_preds, cand_preds, settings.promote_max_f1_drop)
            metrics.update(cross_validation=cv, live_model=live.model_file, candidate_model=candidate.name,
                           regression_set=Path(settings.training_regression_set).name)
    except Exception as exc:  # the run records every failure; nothing else depends on it
        detail = f"{exc}" + (f"\n{exc.tail}" if isinstance(exc, ToolError) and exc.tail else "")
        log.warning("training run %s failed: %s", run_id, exc, exc_info=not isinstance(exc, ToolError))
        progress.line(f"失败：{exc}")
        with transaction(session_factory, write=True) as session:
            run = session.get(TrainingRun, run_id)
            run.state, run.finished_at = RunState.FAILED.value, utcnow()
            run.error = detail[-4000:]
            run.step, run.log_tail = progress.step, "\n".join(progress.lines)
            audit.record(session, requested_by, "train_failed", run_id=run_id, note=str(exc)[:1000])
        return get_run(session_factory, run_id)
    progress.percent = 100
    progress.line("完成。")
    with transaction(session_factory, write=True) as session:
        run = session.get(TrainingRun, run_id)
        run.state, run.finished_at, run.progress = RunState.DONE.value, utcnow(), 100
        run.metrics = metrics
        run.step, run.log_tail = "compare", "\n".join(progress.lines)
        audit.record(session, requested_by, "train_done", run_id=run_id, model_file=candidate.name,
                     note={"gate_passed": metrics["gate"]["passed"], "live_model": live.model_file})
    return get_run(session_factory, run_id)


class TrainingWorker:
    """Runs training runs in background threads of the back-office, one at a time."""

    def __init__(self, session_factory: sessionmaker, settings: Settings,
                 toolchain_factory: Callable[[], Toolchain] | None = None) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.toolchain_factory = toolchain_factory
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, run_id: int) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise Conflict("a run is executing", user_message="已有训练在进行中，请等它结束。")
            toolchain = self.toolchain_factory() if self.toolchain_factory else None
            self._thread = threading.Thread(
                target=self._execute, args=(run_id, toolchain), name=f"training-run-{run_id}", daemon=True
            )
            self._thread.start()

    def _execute(self, run_id: int, toolchain: Toolchain | None) -> None:
        try:
            execute_run(self.session_factory, self.settings, run_id, toolchain=toolchain)
        except Exception:
            log.exception("training run %s crashed", run_id)

    def join(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True


def regression_examples(settings: Settings) -> list[Example]:
    return parse_nlu_examples(Path(settings.training_regression_set).read_text(encoding="utf-8"))
