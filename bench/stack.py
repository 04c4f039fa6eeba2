"""Start the product's processes on free ports for a measurement or a multi-process test.

:class:`StackSpec` says what to run: a model, how many Rasa servers, the tracker store and lock
store entries of ``endpoints.yml``, the case database, extra environment. :func:`start` starts
the action server, the back-office and the Rasa servers (each in its own process group, output
into log files in ``workdir``), waits until every one answers and records how long each took
to become ready. Nothing here is imported by the product; ``bench.load`` and
``tests/e2e/test_two_rasa.py`` use it.

Resident memory is read from ``/proc/<pid>/status`` (``VmRSS``) over a process and its
descendants, so it also counts Sanic worker processes.
"""
from __future__ import annotations

import base64
import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.common import REPO_ROOT

READY_TIMEOUT = 240.0
RASA_TOKEN = "bench-rasa-token"
BACKOFFICE_TOKEN = "bench-backoffice-token"


#: The action server (Sanic) closes a new connection it has not read for KEEP_ALIVE_TIMEOUT
#: seconds (default 5) as idle; when its loop is busy that long (a burst of filings on SQLite),
#: Rasa's calls fail with "Cannot write to closing transport". Same value as `make run`.
ACTIONS_ENV = {"SANIC_KEEP_ALIVE_TIMEOUT": "75"}


class StackError(RuntimeError):
    """A process did not start, or exited while starting."""


#: Where :func:`free_port` looks when the kernel does not say its ephemeral range.
_DEFAULT_EPHEMERAL = (32768, 60999)
#: The lowest port :func:`free_port` hands out (above the registered services' usual ports).
_LOWEST_PORT = 20000
_handed_out: set[int] = set()


def ephemeral_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    """The range the kernel takes the local ports of outgoing connections from."""
    try:
        low, high = (int(part) for part in Path(path).read_text().split()[:2])
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL
    return low, high


def port_candidates(ephemeral: tuple[int, int]) -> range:
    """Ports a server may be given: below the ephemeral range (or above it if none is below)."""
    low, high = ephemeral
    if low - _LOWEST_PORT >= 1000:
        return range(_LOWEST_PORT, low)
    return range(high + 1, 65536)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago and is outside the ephemeral range.

    A server started from this number binds seconds later (Rasa loads its model first). A port
    from the kernel's ephemeral range (``bind(0)``) could meanwhile become the local end of any
    outgoing connection on the machine, and the server then fails with "address already in
    use". Ports below that range are never picked for outgoing connections; a process never
    gets the same one twice.
    """
    candidates = port_candidates(ephemeral_range())
    for _ in range(200):
        port = random.choice(candidates)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise StackError("no free TCP port found outside the ephemeral range")


def venv_bin(name: str) -> str:
    """An executable of the running interpreter's venv (falls back to <repo>/.venv/bin, then PATH)."""
    for cand in (Path(sys.executable).parent / name, REPO_ROOT / ".venv" / "bin" / name):
        if cand.is_file():
            return str(cand)
    return name


# --------------------------------------------------------------------------- memory


def _children() -> dict[int, list[int]]:
    """ppid -> pids of every process visible in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name (field 2) is in parentheses and may contain spaces
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants."""
    tree = _children()
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current not in out:
            out.append(current)
            todo.extend(tree.get(current, []))
    return out


def tree_rss_kib(pid: int) -> int:
    """VmRSS of a process plus all its descendants, in KiB."""
    return sum(rss_kib(p) for p in tree_pids(pid))


# --------------------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    cmd: list[str]
    log_path: Path
    ready_url: str
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_s: float | None = None  # seconds from start to the first good answer of ready_url
    peak_rss_kib: int = 0

    def start(self, env: Mapping[str, str]) -> None:
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.started_at = time.monotonic()
            self.popen = subprocess.Popen(
                self.cmd, cwd=REPO_ROOT, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def rss_kib(self) -> int:
        """Current resident memory of the process tree; also updates the peak."""
        if not self.alive():
            return 0
        value = tree_rss_kib(self.pid)
        self.peak_rss_kib = max(self.peak_rss_kib, value)
        return value

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the process and its (living) descendants."""
        return sum(cpu_seconds(p) for p in tree_pids(self.pid)) if self.alive() else 0.0

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

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class StackSpec:
    """What to start. ``tracker_store`` / ``lock_store`` are ``endpoints.yml`` entries."""

    model: Path
    workdir: Path
    rasa_servers: int = 1
    tracker_store: dict[str, Any] | None = None  # default: SQLite file in workdir
    lock_store: dict[str, Any] | None = None  # default: Rasa's in-memory lock store
    database_url: str | None = None  # cases; default: SQLite file in workdir
    rasa_env: dict[str, str] = field(default_factory=dict)  # extra env of the Rasa servers only
    env: dict[str, str] = field(default_factory=dict)  # extra env of every process
    #: "ours": ``python -m bot.dialogue.serve`` (Rasa with bot.dialogue.speedups), "rasa": plain ``rasa``
    launcher: str = "ours"
    profile_to: Path | None = None  # run the Rasa servers under cProfile, writing this file (one server)
    backoffice: bool = True


@dataclass
class Stack:
    spec: StackSpec
    rasa_urls: list[str]
    actions_url: str
    backoffice_url: str
    database_url: str
    procs: list[Proc] = field(default_factory=list)
    rasa_token: str = RASA_TOKEN
    backoffice_token: str = BACKOFFICE_TOKEN

    @property
    def rasa(self) -> list[Proc]:
        return [p for p in self.procs if p.name.startswith("rasa")]

    def proc(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)

    def sample_rss(self) -> dict[str, int]:
        return {p.name: p.rss_kib() for p in self.procs}

    def cpu(self) -> dict[str, float]:
        return {p.name: p.cpu_seconds() for p in self.procs}

    def logs(self, lines: int = 60) -> str:
        parts = []
        for proc in self.procs:
            state = "running" if proc.alive() else f"exited {proc.popen.returncode if proc.popen else '-'}"
            parts.append(f"----- {proc.name} ({state}) {proc.log_path} -----\n{proc.tail(lines)}")
        return "\n".join(parts)

    def stop(self) -> None:
        # Rasa first (it calls the action server), the back-office last.
        for proc in self.rasa:
            proc.stop()
        for proc in self.procs:
            proc.stop()


def project_endpoints(path: Path = REPO_ROOT / "endpoints.yml") -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return data if isinstance(data, dict) else {}


def stack_endpoints(workdir: Path, actions_url: str, tracker_store: dict[str, Any] | None,
                    lock_store: dict[str, Any] | None) -> dict[str, Any]:
    """The project's ``endpoints.yml`` with this stack's addresses and files.

    Kept: the tracker store's type and options, the action endpoint's options, the event broker.
    Replaced: the action server URL; the SQLite tracker file (a file in ``workdir``), or the
    whole tracker store entry when ``tracker_store`` is given (same type unless it names one).
    """
    endpoints = project_endpoints()
    action = dict(endpoints.get("action_endpoint") or {})
    action["url"] = f"{actions_url}/webhook"
    endpoints["action_endpoint"] = action
    project_store = dict(endpoints.get("tracker_store") or {"type": "SQL"})
    if tracker_store is not None:
        store = {"type": project_store.get("type", "SQL"), **tracker_store}
    else:
        store = {**project_store, "dialect": "sqlite", "db": str(workdir / "tracker.db")}
    endpoints["tracker_store"] = store
    if lock_store:
        endpoints["lock_store"] = lock_store
    else:
        endpoints.pop("lock_store", None)
    return endpoints


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):  # no real channel credentials leak into measurements
        if name.startswith(("TELEGRAM_", "WECHAT_")):
            del env[name]
    pythonpath = env.get("PYTHONPATH", "")
    env.update(
        PYTHONPATH=str(REPO_ROOT) + (os.pathsep + pythonpath if pythonpath else ""),
        PYTHONUNBUFFERED="1",
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    # Throw-away data: a fresh key for the personal-data encryption unless one is given.
    env.setdefault("PII_KEYS", f"bench:{base64.b64encode(secrets.token_bytes(32)).decode('ascii')}")
    env.update(extra or {})
    return env


def _migrate(database_url: str, env: Mapping[str, str]) -> None:
    code = "import sys; from bot.cases.db import migrate; migrate(sys.argv[1])"
    result = subprocess.run(
        [sys.executable, "-c", code, database_url], cwd=REPO_ROOT, env=dict(env),
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise StackError(f"migrate({database_url}) failed:\n{result.stdout}\n{result.stderr}")


def _answers(proc: Proc, token: str) -> bool:
    try:
        resp = httpx.get(proc.ready_url, params={"token": token} if "/status" in proc.ready_url else None, timeout=2)
    except httpx.HTTPError:
        return False
    if resp.status_code != 200:
        return False
    if proc.ready_url.endswith("/status"):
        return bool(resp.json().get("model_file"))
    return True


def start(spec: StackSpec, timeout: float = READY_TIMEOUT) -> Stack:
    """Start every process, wait until all answer (recording each one's ready time)."""
    spec.workdir.mkdir(parents=True, exist_ok=True)
    actions_port, bo_port = free_port(), free_port()
    rasa_ports = [free_port() for _ in range(spec.rasa_servers)]
    database_url = spec.database_url or f"sqlite:///{spec.workdir / 'cases.db'}"
    stack = Stack(
        spec=spec,
        rasa_urls=[f"http://127.0.0.1:{port}" for port in rasa_ports],
        actions_url=f"http://127.0.0.1:{actions_port}",
        backoffice_url=f"http://127.0.0.1:{bo_port}",
        database_url=database_url,
    )
    env = base_env({
        "DATABASE_URL": database_url,
        "RASA_URL": stack.rasa_urls[0],
        "RASA_TOKEN": RASA_TOKEN,
        "BACKOFFICE_TOKEN": BACKOFFICE_TOKEN,
        "BACKOFFICE_HOST": "127.0.0.1",
        "BACKOFFICE_PORT": str(bo_port),
        **spec.env,
    })
    _migrate(database_url, env)
    endpoints = spec.workdir / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump(
        stack_endpoints(spec.workdir, stack.actions_url, spec.tracker_store, spec.lock_store),
        allow_unicode=True, sort_keys=False,
    ), encoding="utf-8")
    rasa = venv_bin("rasa")
    if spec.launcher == "ours":
        serve = ["-m", "bot.dialogue.serve"]
    elif spec.launcher == "rasa":
        serve = [rasa]
    else:
        raise ValueError(f"unknown launcher {spec.launcher!r}")
    profile = ["-m", "cProfile", "-o", str(spec.profile_to)] if spec.profile_to else []
    procs = [
        Proc("actions", [rasa, "run", "actions", "--port", str(actions_port), "--actions", "actions"],
             spec.workdir / "actions.log", f"{stack.actions_url}/health"),
    ]
    if spec.backoffice:
        procs.append(Proc("backoffice", [sys.executable, "-m", "bot.backoffice"], spec.workdir / "backoffice.log",
                          f"{stack.backoffice_url}/healthz"))
    for index, (port, url) in enumerate(zip(rasa_ports, stack.rasa_urls, strict=True)):
        name = "rasa" if spec.rasa_servers == 1 else f"rasa{index + 1}"
        procs.append(Proc(name, [
            sys.executable, *profile, *serve, "run", "--enable-api", "--auth-token", RASA_TOKEN,
            "--model", str(spec.model), "--port", str(port), "--interface", "127.0.0.1",
            "--credentials", str(REPO_ROOT / "credentials.yml"), "--endpoints", str(endpoints),
        ], spec.workdir / f"{name}.log", f"{url}/status"))
    stack.procs = procs
    try:
        # The action server and back-office first, then the Rasa servers: a Rasa server's ready
        # time is then its own start-up, not shared with the others' imports.
        deadline = time.monotonic() + timeout
        helpers = [p for p in procs if not p.name.startswith("rasa")]
        for proc in helpers:
            proc.start({**env, **ACTIONS_ENV} if proc.name == "actions" else env)
        _wait(helpers, deadline, timeout)
        for proc in stack.rasa:
            proc.start({**env, **spec.rasa_env})
        _wait(procs, deadline, timeout)
        return stack
    except BaseException as exc:
        logs = stack.logs(80)
        stack.stop()
        if isinstance(exc, StackError):
            raise StackError(f"{exc}\n{logs}") from None
        raise


def _wait(procs: list[Proc], deadline: float, timeout: float) -> None:
    while True:
        dead = [p.name for p in procs if not p.alive()]
        if dead:
            raise StackError(f"{', '.join(dead)} exited during startup")
        for proc in procs:
            if proc.ready_s is None and _answers(proc, RASA_TOKEN):
                proc.ready_s = time.monotonic() - proc.started_at
        if all(p.ready_s is not None for p in procs):
            return
        if time.monotonic() > deadline:
            names = ", ".join(p.name for p in procs if p.ready_s is None)
            raise StackError(f"not ready after {timeout:.0f}s: {names}")
        time.sleep(0.2)
