"""Shared fixtures for tests that need Rasa: a trained model and the full running stack.

Import them from a conftest.py (tests/e2e, tests/conversations)::

    from tests.rasa_fixtures import free_port, stack, trained_model  # noqa: F401

``stack`` starts the real three processes (``rasa run``, ``rasa run actions``,
``python -m bot.backoffice``) on free ports with a throw-away SQLite database and tracker
store, once per test session even when several conftest files import it, and stops them at
the end. Process output goes to log files; ``stack.logs()`` returns their tails for assertion
messages, and they are printed at the end of a session with failures.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.stack import free_port, venv_bin
from bot.settings import PROJECT_ROOT
from bot.training.model_cache import ensure_model
from tests.channel_standins import ChannelStandIns, start_channel_standins
from tests.pii_keys import TEST_PII_KEYS

READY_TIMEOUT = 180.0
TEST_RASA_TOKEN = "test-rasa-token"
TEST_BACKOFFICE_TOKEN = "test-backoffice-token"


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class _Proc:
    name: str
    cmd: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.popen = subprocess.Popen(
                self.cmd, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


@dataclass
class Stack:
    """The running stack. URLs have no trailing slash."""

    rasa_url: str
    actions_url: str
    backoffice_url: str
    rasa_token: str
    backoffice_token: str
    workdir: Path
    database_url: str
    model: Path
    procs: list[_Proc] = field(default_factory=list)
    #: Telegram / WeChat stand-ins the channels talk to (tests/channel_standins.py), when enabled
    channels: ChannelStandIns | None = None
    #: the environment the processes were started with (for restarting one of them)
    env: dict[str, str] = field(default_factory=dict)

    # ---- talking to it -------------------------------------------------------------------
    def send(self, sender: str, text: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
        """One user message through the REST channel; the bot's replies."""
        resp = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=timeout,
        )
        assert resp.status_code == 200, f"REST webhook: {resp.status_code} {resp.text}\n{self.logs()}"
        data = resp.json()
        assert isinstance(data, list), data
        return data

    def texts(self, sender: str, text: str) -> list[str]:
        """Like send(), only the text of each reply."""
        return [m["text"] for m in self.send(sender, text) if m.get("text")]

    def tracker(self, sender: str) -> dict[str, Any]:
        resp = httpx.get(
            f"{self.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.rasa_token}, timeout=30,
        )
        resp.raise_for_status()
        result: dict[str, Any] = resp.json()
        return result

    def auth(self, token: str | None = None) -> dict[str, str]:
        """Authorization header for the back-office (admin token by default)."""
        return {"Authorization": f"Bearer {token or self.backoffice_token}"}

    def api(self, method: str, path: str, *, token: str | None = "", **kwargs: Any) -> httpx.Response:
        """Back-office request. token="" -> admin token, token=None -> unauthenticated."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers.update(self.auth(token or None))
        kwargs.setdefault("timeout", 30)
        return httpx.request(method, f"{self.backoffice_url}{path}", headers=headers, **kwargs)

    # ---- faults ----------------------------------------------------------------------------
    def proc(self, name: str) -> _Proc:
        return next(p for p in self.procs if p.name == name)

    def stop_process(self, name: str) -> None:
        """Stop one process (e.g. "actions") to inject a fault; ``start_process`` brings it back."""
        self.proc(name).stop()

    def start_process(self, name: str, timeout: float = READY_TIMEOUT) -> None:
        """Start a stopped process again and wait until the whole stack answers."""
        proc = self.proc(name)
        if not proc.alive():
            proc.start(self.env)
        deadline = time.monotonic() + timeout
        while not all(_ready(self).values()):
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come back\n{self.logs()}")
            time.sleep(0.5)

    # ---- diagnostics ---------------------------------------------------------------------
    def logs(self, lines: int = 60) -> str:
        """Tail of every process log, for assertion messages."""
        parts = []
        for proc in self.procs:
            state = "running" if proc.alive() else f"exited {proc.popen.returncode if proc.popen else '-'}"
            parts.append(f"----- {proc.name} ({state}) {proc.log_path} -----\n{_tail(proc.log_path, lines)}")
        return "\n".join(parts)

    def stop(self) -> None:
        # Rasa first (it calls the action server), the back-office last.
        for proc in self.procs:
            proc.stop()


def _write_endpoints(workdir: Path, actions_port: int) -> Path:
    path = workdir / "endpoints.yml"
    path.write_text(
        "action_endpoint:\n"
        f"  url: http://127.0.0.1:{actions_port}/webhook\n"
        "tracker_store:\n"
        "  type: bot.dialogue.tracker_store.EncryptedSQLTrackerStore\n"
        "  dialect: sqlite\n"
        f"  db: {workdir / 'tracker.db'}\n",
        encoding="utf-8",
    )
    return path


def _migrate(database_url: str, env: dict[str, str]) -> None:
    """Create the case tables in a fresh process (the same code path as `make run`)."""
    code = "import sys; from bot.cases.db import migrate; migrate(sys.argv[1])"
    result = subprocess.run(
        [sys.executable, "-c", code, database_url], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"migrate({database_url}) failed:\n{result.stdout}\n{result.stderr}")


def _ready(stack: Stack) -> dict[str, bool]:
    def ok(url: str, **params: str) -> bool:
        try:
            resp = httpx.get(url, params=params, timeout=3)
        except httpx.HTTPError:
            return False
        if resp.status_code != 200:
            return False
        if url.endswith("/status"):
            return bool(resp.json().get("model_file"))
        return True

    return {
        "rasa": ok(f"{stack.rasa_url}/status", token=stack.rasa_token),
        "actions": ok(f"{stack.actions_url}/health"),
        "backoffice": ok(f"{stack.backoffice_url}/healthz"),
    }


class _PortTaken(RuntimeError):
    """A server of a starting stack found its port taken (another program bound it meanwhile)."""


def start_stack(model: Path, workdir: Path, timeout: float = READY_TIMEOUT,
                channels: ChannelStandIns | None = None, *, database_url: str | None = None,
                extra_env: dict[str, str] | None = None) -> Stack:
    """Start the three processes and wait until all of them answer. Stops them on failure.

    ``database_url``: the case database (default a SQLite file in ``workdir``); ``extra_env``:
    settings for every process (e.g. shorter retry intervals for a fault test). A start that
    fails only because a port was taken meanwhile is tried once more on other ports.
    """
    try:
        return _start_stack_once(model, workdir, timeout, channels, database_url, extra_env, retry=True)
    except _PortTaken:
        return _start_stack_once(model, workdir, timeout, channels, database_url, extra_env, retry=False)


def _start_stack_once(model: Path, workdir: Path, timeout: float, channels: ChannelStandIns | None,
                      database_url: str | None, extra_env: dict[str, str] | None, *,
                      retry: bool) -> Stack:
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port, bo_port = free_port(), free_port(), free_port()
    database_url = database_url or f"sqlite:///{workdir / 'cases.db'}"
    stack = Stack(
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        actions_url=f"http://127.0.0.1:{actions_port}",
        backoffice_url=f"http://127.0.0.1:{bo_port}",
        rasa_token=TEST_RASA_TOKEN,
        backoffice_token=TEST_BACKOFFICE_TOKEN,
        workdir=workdir,
        database_url=database_url,
        model=model,
    )
    env = dict(os.environ)
    for name in list(env):  # no real channel credentials leak into tests
        if name.startswith(("TELEGRAM_", "WECHAT_")):
            del env[name]
    pythonpath = env.get("PYTHONPATH", "")
    env.update(
        PYTHONPATH=str(PROJECT_ROOT) + (os.pathsep + pythonpath if pythonpath else ""),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url,
        RASA_URL=stack.rasa_url,
        RASA_TOKEN=TEST_RASA_TOKEN,
        BACKOFFICE_TOKEN=TEST_BACKOFFICE_TOKEN,
        PII_KEYS=TEST_PII_KEYS,
        BACKOFFICE_HOST="127.0.0.1",
        BACKOFFICE_PORT=str(bo_port),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        SANIC_KEEP_ALIVE_TIMEOUT="75",  # action server: as `make run` (docs/performance.md)
        SUBMIT_SPOOL_DIR=str(workdir / "spool"),  # never the repository's var/spool
    )
    env.update(extra_env or {})
    if channels is not None:  # Telegram + WeChat enabled against the stand-ins
        env.update(channels.env(stack.rasa_url, workdir))
        stack.channels = channels
    _migrate(database_url, env)
    stack.env = env
    endpoints = _write_endpoints(workdir, actions_port)
    rasa = venv_bin("rasa")
    stack.procs = [
        _Proc("rasa", [  # Rasa with bot.dialogue.speedups, as `make run` starts it
            sys.executable, "-m", "bot.dialogue.serve", "run", "--enable-api", "--auth-token", TEST_RASA_TOKEN,
            "--model", str(model),
            "--port", str(rasa_port), "--interface", "127.0.0.1",
            "--credentials", str(PROJECT_ROOT / "credentials.yml"), "--endpoints", str(endpoints),
        ], workdir / "rasa.log"),
        _Proc("actions", [
            rasa, "run", "actions", "--port", str(actions_port), "--actions", "actions",
        ], workdir / "actions.log"),
        _Proc("backoffice", [sys.executable, "-m", "bot.backoffice"], workdir / "backoffice.log"),
    ]
    try:
        for proc in stack.procs:
            proc.start(env)
        deadline = time.monotonic() + timeout
        while True:
            dead = [p for p in stack.procs if not p.alive()]
            if dead:
                raise RuntimeError(f"{', '.join(p.name for p in dead)} exited during startup")
            state = _ready(stack)
            if all(state.values()):
                return stack
            if time.monotonic() > deadline:
                waiting = [name for name, ok in state.items() if not ok]
                raise RuntimeError(f"not ready after {timeout:.0f}s: {', '.join(waiting)}")
            time.sleep(1)
    except BaseException as exc:
        logs = stack.logs(120)
        stack.stop()
        if retry and isinstance(exc, RuntimeError) and "address already in use" in logs:
            raise _PortTaken(str(exc)) from exc
        if isinstance(exc, RuntimeError):
            pytest.fail(f"stack did not start: {exc}\n{logs}", pytrace=False)
        raise


# ---- fixtures ------------------------------------------------------------------------------
# The stack lives on the pytest config object so that one session shares one stack even
# when the fixture is imported into several conftest files (each import is its own fixture
# definition, which would otherwise give one session-scoped instance per directory).
_STACK_KEY = pytest.StashKey["Stack | BaseException"]()
_MODEL_KEY = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def trained_model(request: pytest.FixtureRequest) -> Path:
    """Path of the model for the current training data (trained on first use, then cached).

    ``E2E_MODEL=<model.tar.gz>`` uses that model instead (a quick local run while the training
    data is being changed; CI leaves it unset).
    """
    config = request.config
    if _MODEL_KEY not in config.stash:
        override = os.environ.get("E2E_MODEL", "").strip()
        config.stash[_MODEL_KEY] = Path(override) if override else ensure_model()
    return config.stash[_MODEL_KEY]


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, trained_model: Path) -> Iterator[Stack]:
    """The running stack (rasa + action server + back-office), shared by the whole session."""
    config = request.config
    cached = config.stash.get(_STACK_KEY, None)
    if isinstance(cached, BaseException):  # failed once: do not retry for every test
        pytest.fail(f"stack did not start earlier in this session: {cached}", pytrace=False)
    if cached is None:
        workdir = Path(tempfile.mkdtemp(prefix="xinfang-stack-"))
        channels = start_channel_standins()
        try:
            cached = start_stack(trained_model, workdir, channels=channels)
        except BaseException as exc:
            channels.stop()
            config.stash[_STACK_KEY] = exc
            raise
        config.stash[_STACK_KEY] = cached
        session = request.session
        started = cached

        def teardown() -> None:
            started.stop()
            channels.stop()
            if session.testsfailed:
                sys.stderr.write(f"\n===== stack logs (workdir {started.workdir}) =====\n")
                sys.stderr.write(started.logs(200) + "\n")
            else:
                shutil.rmtree(started.workdir, ignore_errors=True)

        config.add_cleanup(teardown)
    yield cached
