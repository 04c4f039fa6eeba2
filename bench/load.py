"""Load benchmark: our configuration against Rasa's stock one, on the same data, in one run.

    python -m bench.load [--users 50] [--conversations N] [--think S] [--rounds 2]
                         [--capacity-rounds 1] [--capacity-conversations N] [--rasa-servers 2] [--routing least-conn|sticky] [--only ours|stock] [--train]
                         [--profile DIR] [--write-docs]
    python -m bench.load --url https://bot.example.org [--users ...]   # a running deployment

N simulated citizens (asyncio + aiohttp) each run whole petition conversations through the REST
webhook, one message after the other: the next one a pause after the reply, drawn uniformly from
0.5–1.5 × ``--think`` (people do not type in step), and each citizen's first message at a random
moment of the first ``--think`` seconds (no synchronized burst at the start); the draws are
seeded, so both configurations see the same pacing.

For each configuration a fresh stack is started: the action server, the back-office, empty
SQLite case and tracker stores and ``--rasa-servers`` Rasa servers (2 by default, as in the
production topology of ``docker/``) sharing the tracker file and a Redis lock store
(``REDIS_URL``, default ``redis://127.0.0.1:6379``). Each message goes to the server with the
fewest requests in flight, as nginx's ``least_conn`` in ``docker/nginx.conf``; ``--routing sticky``
keeps a citizen on the server their sender id hashes to. The same for both configurations. Runs
alternate ours, stock, ours, stock; then come ``--capacity-rounds`` alternations in which the
citizens do not pause at all. Paced citizens offer a bounded load (50 citizens with 1 s of
thinking: at most ~45 messages/s), so the paced runs give the latency a citizen sees and the
capacity runs the throughput each configuration can reach, the figure the ratio compares.

Measured: messages per second, latency percentiles (overall and per message of the script),
errors (non-200, no reply text, no case number at the end, timeouts), CPU seconds and peak
resident memory of each process, Rasa's time from process start to ``/status`` naming the loaded
model. Training seconds come from the model cache's sidecar (``--train`` retrains both cold, in
this run); intent macro-F1 on the held-out split comes from ``bench.nlu`` (run in a child process
per model).

The stock configuration is ``bench/stock/config.yml`` (what ``rasa init`` writes, with
JiebaTokenizer), cached as ``models/stock-<hash>.tar.gz``. ``--write-docs`` replaces the
"Load" section of ``docs/performance.md`` and keeps everything else.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, percentile, table

STOCK_CONFIG = "bench/stock/config.yml"
STOCK_PREFIX = "stock-"
DOCS = REPO_ROOT / "docs" / "performance.md"
CASE_NO = re.compile(r"XF\d{8}-\d{4}")
VALID_ID = "11010519491231002X"
REQUEST_TIMEOUT = 60.0

#: Targets of issue 7 (2 cores, 50 concurrent conversations).
TARGET_RATIO = 4.0
TARGET_P95_MS = 300.0
TARGET_READY_S = 15.0
TARGET_TRAIN_S = 90.0

#: One whole petition (the happy path of tests/e2e/test_petition_rest.py without corrections):
#: opening, consent, the form's questions, a policy question in between, the 诉访分离 choice,
#: the summary confirmed. The reply to the last message must carry the case number.
#: :func:`conversation` gives each simulated citizen an ID and phone number of their own (the
#: same person filing the same matter twice is a repeat petition, not a new case).
PACING_SEED = 20261123  # the citizens' pauses: the same sequence for every run and configuration

CONVERSATION: tuple[str, ...] = (
    "我要投诉，公司拖欠我工资",
    "同意",
    "我叫王建国",
    VALID_ID,
    "13812345678",
    "浙江省杭州市西湖区文三路8号",
    "与住址相同",
    "信访事项一般多长时间能办完？",
    "杭州某某建筑公司",
    "去年三月",
    "从去年三月开始公司就一直拖欠我们工资，一共三个月，老板一直说没钱",
    "是的",
    "要求补发拖欠的工资",
    "三十多人",
    "没有",
    "仍然提交信访",
    "确认提交",
)


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def resident_id(index: int) -> str:
    """A checksum-valid (GB 11643) resident ID, different for each index below 365 000."""
    day = date(1960, 1, 1) + timedelta(days=index // 1000)
    body = f"110105{day:%Y%m%d}{index % 1000:03d}"
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def conversation(index: int) -> tuple[str, ...]:
    """The petition of citizen ``index``: :data:`CONVERSATION` with their own ID and phone."""
    phone = f"139{index % 100_000_000:08d}"
    return tuple(resident_id(index) if m == VALID_ID else phone if m == "13812345678" else m for m in CONVERSATION)


# --------------------------------------------------------------------------- measurement


@dataclass
class RunStats:
    """One load run against one stack."""

    config: str  # "ours" | "stock" | "url"
    users: int
    think: float = 1.0  # mean pause between a reply and the next message; 0 = capacity (no pause)
    conversations: int = 0
    completed: int = 0  # conversations that ended with a case number
    latencies_ms: list[float] = field(default_factory=list)
    step_ms: dict[int, list[float]] = field(default_factory=dict)  # latencies by message number
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    ready_s: float | None = None
    rss_mib: dict[str, float] = field(default_factory=dict)  # peak per process
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during the load

    @property
    def messages(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


#: The capacity runs of ours and of stock merged (stock None with ``--only ours``).
Phase = tuple[RunStats, "RunStats | None"]


def reply_texts(payload: Any) -> list[str]:
    """Texts of a REST webhook answer (a list of messages); [] for anything else."""
    if not isinstance(payload, list):
        return []
    return [str(m["text"]) for m in payload if isinstance(m, dict) and m.get("text")]


def server_for(sender: str, urls: Sequence[str]) -> str:
    """The Rasa server of a conversation: the same one for every message of a sender."""
    return urls[zlib.crc32(sender.encode("utf-8")) % len(urls)]


ROUTINGS = ("least-conn", "sticky")


class Router:
    """Which Rasa server takes a message.

    ``least-conn``: the server with the fewest requests in flight, ties taken in turn — what
    nginx's ``least_conn`` in docker/nginx.conf does (any server can take any message: trackers
    are shared, the lock store orders each conversation). ``sticky``: every message of a sender
    on the server its id hashes to (:func:`server_for`), a balancer with conversation affinity.
    """

    def __init__(self, urls: Sequence[str], routing: str = "least-conn") -> None:
        if routing not in ROUTINGS:
            raise ValueError(f"routing must be one of {ROUTINGS}")
        self.urls = list(urls)
        self.routing = routing
        self.in_flight = [0] * len(self.urls)
        self._turn = 0

    def pick(self, sender: str) -> int:
        if self.routing == "sticky" or len(self.urls) == 1:
            return self.urls.index(server_for(sender, self.urls))
        fewest = min(self.in_flight)
        idle = [i for i, n in enumerate(self.in_flight) if n == fewest]
        self._turn += 1
        return idle[self._turn % len(idle)]

    @contextmanager
    def route(self, sender: str) -> Iterator[str]:
        """The URL to send ``sender``'s message to, counted in flight until the block ends."""
        index = self.pick(sender)
        self.in_flight[index] += 1
        try:
            yield self.urls[index]
        finally:
            self.in_flight[index] -= 1


def pause(rng: random.Random, think: float) -> float:
    """A citizen's pause before the next message: uniform in 0.5–1.5 × ``think`` (mean ``think``)."""
    return rng.uniform(0.5 * think, 1.5 * think) if think > 0 else 0.0


async def _conversation(session: Any, router: Router, stats: RunStats, think: float, tag: str,
                        number: int, rng: random.Random) -> None:
    import aiohttp

    sender = f"load-{tag}-{uuid.uuid4().hex[:12]}"
    messages = conversation(number)
    last = len(messages) - 1
    for index, text in enumerate(messages):
        if index and think:
            await asyncio.sleep(pause(rng, think))
        start = time.perf_counter()
        try:
            with router.route(sender) as url:
                async with session.post(f"{url}/webhooks/rest/webhook",
                                        json={"sender": sender, "message": text}) as resp:
                    body = await resp.read()
                    status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError):
            stats.latencies_ms.append((time.perf_counter() - start) * 1000)
            stats.error("timeout or connection")
            return
        elapsed = (time.perf_counter() - start) * 1000
        stats.latencies_ms.append(elapsed)
        stats.step_ms.setdefault(index, []).append(elapsed)
        if status != 200:
            stats.error(f"HTTP {status}")
            return
        try:
            texts = reply_texts(json.loads(body))
        except ValueError:
            texts = []
        if not texts:
            stats.error("empty reply")
            return
        if index == last:
            if any(CASE_NO.search(t) for t in texts):
                stats.completed += 1
            else:
                stats.error("no case number")


async def drive(urls: Sequence[str], stats: RunStats, conversations: int, think: float, tag: str,
                first: int = 0, routing: str = "least-conn") -> None:
    """``stats.users`` citizens share ``conversations`` whole conversations; fills ``stats``."""
    import aiohttp

    remaining = conversations
    router = Router(urls, routing)

    async def citizen(seat: int) -> None:
        nonlocal remaining
        rng = random.Random(PACING_SEED + seat)
        if think > 0:
            await asyncio.sleep(rng.uniform(0.0, think))  # arrivals spread, not one burst
        while remaining > 0:
            remaining -= 1
            number = first + stats.conversations
            stats.conversations += 1
            await _conversation(session, router, stats, think, tag, number, rng)

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(citizen(seat) for seat in range(stats.users)))
        stats.seconds = time.perf_counter() - start


def load(url: str | Sequence[str], config: str, users: int, conversations: int, think: float,
         sample: Any = None, routing: str = "least-conn") -> RunStats:
    """One measured run (after one unmeasured warm-up conversation per server). ``sample()`` is
    called every 0.5 s from a thread while the load runs (memory sampling)."""
    urls = [url] if isinstance(url, str) else list(url)
    stats = RunStats(config=config, users=users, think=think)
    # Citizens of a run are numbered from a random start: runs against one deployment (--url)
    # do not repeat each other's petitions.
    first = secrets.randbelow(300_000)
    for server in urls:
        asyncio.run(drive([server], RunStats(config=config, users=1), 1, 0.0, "warmup", first))
    stop = threading.Event()

    def sampler() -> None:
        while not stop.wait(0.5):
            sample()

    thread = threading.Thread(target=sampler, daemon=True) if sample else None
    if thread:
        thread.start()
    try:
        asyncio.run(drive(urls, stats, conversations, think, config, first + 1, routing))
    finally:
        stop.set()
        if thread:
            thread.join()
    return stats


# --------------------------------------------------------------------------- the stacks


@dataclass
class Model:
    config: str
    path: Path
    train_s: float | None
    cold: bool | None
    launcher: str = "ours"


def ensure_models(which: Sequence[str], *, train: bool, ours: str | None, stock: str | None,
                  stock_launcher: str = "rasa") -> dict[str, Model]:
    from bot.training import model_cache

    out: dict[str, Model] = {}
    for name in which:
        given = ours if name == "ours" else stock
        if given:
            path = Path(given).resolve()
        else:
            kwargs: dict[str, Any] = {} if name == "ours" else {"config": STOCK_CONFIG, "prefix": STOCK_PREFIX}
            if train:
                print(f"[load] training {name} (cold: empty Rasa cache) ...", file=sys.stderr)
                with tempfile.TemporaryDirectory(prefix="bench-load-cache-") as cache:
                    previous = os.environ.get("RASA_CACHE_DIRECTORY")
                    os.environ["RASA_CACHE_DIRECTORY"] = cache
                    try:
                        path = model_cache.ensure_model(force=True, **kwargs)
                    finally:
                        if previous is None:
                            os.environ.pop("RASA_CACHE_DIRECTORY", None)
                        else:
                            os.environ["RASA_CACHE_DIRECTORY"] = previous
            else:
                path = model_cache.ensure_model(**kwargs)
        meta = model_cache.read_meta(path)
        cold = meta.get("cold")
        out[name] = Model(name, path, model_cache.training_seconds(path), cold if isinstance(cold, bool) else None,
                          launcher="ours" if name == "ours" else stock_launcher)
    return out


def shared_lock_store(prefix: str) -> dict[str, Any]:
    """The Redis lock store of several Rasa servers (``REDIS_URL``), keys under ``prefix``."""
    from urllib.parse import urlsplit

    url = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")
    return {"type": "bot.dialogue.lock_store.AtomicRedisLockStore", "url": url.hostname or "127.0.0.1",
            "port": url.port or 6379, "db": 1, "key_prefix": prefix}


def run_stack(model: Model, users: int, conversations: int, think: float, profile: Path | None,
              servers: int = 1, routing: str = "least-conn") -> RunStats:
    from bench import stack as stk

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-load-{model.config}-"))
    out = None
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
        out = profile / f"rasa-{model.config}-{int(time.time())}.prof"
    lock_store = shared_lock_store(f"bench-{uuid.uuid4().hex[:8]}") if servers > 1 else None
    spec = stk.StackSpec(model=model.path, workdir=workdir, launcher=model.launcher, profile_to=out,
                         rasa_servers=servers, lock_store=lock_store)
    print(f"[load] starting the stack with {model.path.name} in {workdir} ...", file=sys.stderr)
    running = stk.start(spec)
    try:
        before = {**running.cpu(), "load generator": _own_cpu()}
        stats = load(running.rasa_urls, model.config, users, conversations, think, running.sample_rss, routing)
        after = {**running.cpu(), "load generator": _own_cpu()}
        stats.cpu_s = {name: after[name] - before[name] for name in before}
        running.sample_rss()
        stats.ready_s = max(p.ready_s or 0.0 for p in running.rasa)
        stats.rss_mib = {p.name: p.peak_rss_kib / 1024 for p in running.procs}
    finally:
        running.stop()
    if stats.error_count:
        print(f"[load] {model.config}: errors {stats.errors}; logs kept in {workdir}", file=sys.stderr)
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return stats


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def macro_f1(model: Path) -> float | None:
    """Intent macro-F1 of a model on the held-out split (bench.nlu, in a child process)."""
    code = (
        "import json, sys; from pathlib import Path; from bench.common import load_model; from bench import nlu;"
        "r = nlu.run(load_model(Path(sys.argv[1]))); print(json.dumps(r.numbers))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(model)], cwd=REPO_ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    if result.returncode != 0:
        print(f"[load] macro-F1 of {model.name} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    return float(json.loads(result.stdout.strip().splitlines()[-1])["macro_f1"])


# --------------------------------------------------------------------------- report


def step_rows(ours: RunStats, stock: RunStats | None) -> str:
    """p50/p95 per message of the scripted conversation, ours beside stock."""
    rows = []
    for step, text in enumerate(CONVERSATION):
        label = text if len(text) <= 12 else text[:11] + "…"
        cells: list[Any] = [step + 1, label]
        for stats in (ours, stock):
            values = stats.step_ms.get(step) if stats else None
            cells += [_num(percentile(values, 50), 0), _num(percentile(values, 95), 0)] if values else ["—", "—"]
        rows.append(cells)
    return table(["#", "message", "ours p50 ms", "ours p95 ms", "stock p50 ms", "stock p95 ms"], rows)


def merge(runs: Sequence[RunStats]) -> RunStats:
    """The runs of one configuration taken together (throughput over the summed time)."""
    total = RunStats(config=runs[0].config, users=runs[0].users, think=runs[0].think)
    for run in runs:
        total.conversations += run.conversations
        total.completed += run.completed
        total.latencies_ms += run.latencies_ms
        total.seconds += run.seconds
        for step, values in run.step_ms.items():
            total.step_ms.setdefault(step, []).extend(values)
        for kind, count in run.errors.items():
            total.errors[kind] = total.errors.get(kind, 0) + count
        for name, mib in run.rss_mib.items():
            total.rss_mib[name] = max(total.rss_mib.get(name, 0.0), mib)
        for name, seconds in run.cpu_s.items():
            total.cpu_s[name] = total.cpu_s.get(name, 0.0) + seconds
    readies = [r.ready_s for r in runs if r.ready_s is not None]
    total.ready_s = max(readies) if readies else None
    return total


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or value != value else f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a is not None and b else "—"


def summary_rows(ours: RunStats, stock: RunStats | None, models: dict[str, Model],
                 f1: dict[str, float | None], capacity: Phase | None = None,
                 whole: Phase | None = None) -> list[tuple[str, str, str, str, str]]:
    """(metric, ours, stock, ours/stock, target) rows of the side-by-side table.

    ``ours``/``stock`` are the paced runs; ``capacity`` the runs without pauses, when they were
    made apart from the paced ones: the throughput target is then read from them. Messages,
    errors and case numbers count ``whole``, every run of each (default: the paced ones)."""
    s = stock
    paced = "throughput, paced (messages/s)" if capacity else "throughput (messages/s)"
    rows = [
        (paced, _num(ours.throughput), _num(s.throughput) if s else "—",
         _ratio(ours.throughput, s.throughput if s else None), "" if capacity else f"≥ {TARGET_RATIO:g}× stock"),
    ]
    if capacity:
        c_ours, c_stock = capacity
        rows.append(("throughput at capacity, no pauses (messages/s)", _num(c_ours.throughput),
                     _num(c_stock.throughput) if c_stock else "—",
                     _ratio(c_ours.throughput, c_stock.throughput if c_stock else None), f"≥ {TARGET_RATIO:g}× stock"))
    for q in (50, 95, 99):
        rows.append((f"latency p{q} (ms)", _num(ours.pct(q), 0), _num(s.pct(q), 0) if s else "—",
                     _ratio(ours.pct(q), s.pct(q) if s else None),
                     f"≤ {TARGET_P95_MS:g}" if q == 95 else ""))
    if capacity:
        c_ours, c_stock = capacity
        rows.append(("latency p95 at capacity (ms)", _num(c_ours.pct(95), 0),
                     _num(c_stock.pct(95), 0) if c_stock else "—",
                     _ratio(c_ours.pct(95), c_stock.pct(95) if c_stock else None), ""))
    every_ours, every_stock = whole or (ours, stock)
    rows += [
        ("messages", str(every_ours.messages), str(every_stock.messages) if every_stock else "—", "", ""),
        ("errors", str(every_ours.error_count), str(every_stock.error_count) if every_stock else "—", "", "0"),
        ("conversations with a case number", f"{every_ours.completed}/{every_ours.conversations}",
         f"{every_stock.completed}/{every_stock.conversations}" if every_stock else "—", "", "all"),
        ("Rasa ready after start (s, slowest run)", _num(ours.ready_s), _num(s.ready_s) if s else "—",
         _ratio(ours.ready_s, s.ready_s if s else None), f"≤ {TARGET_READY_S:g}"),
    ]
    train = {k: m.train_s for k, m in models.items()}
    rows.append(("full training (s)", _train_cell(models.get("ours")), _train_cell(models.get("stock")),
                 _ratio(train.get("ours"), train.get("stock")), f"≤ {TARGET_TRAIN_S:g}"))
    rows.append(("intent macro-F1 (held-out)", _num(f1.get("ours"), 3), _num(f1.get("stock"), 3), "",
                 "≥ stock"))
    for proc in sorted(set(ours.cpu_s) | set(s.cpu_s if s else {})):
        rows.append((f"CPU ms per message: {proc}", _per_message(ours, proc), _per_message(s, proc) if s else "—",
                     "", ""))
    for proc in sorted(set(ours.rss_mib) | set(s.rss_mib if s else {})):
        rows.append((f"peak RSS {proc} (MiB)", _num(ours.rss_mib.get(proc), 0),
                     _num(s.rss_mib.get(proc), 0) if s else "—", "", ""))
    return rows


def _per_message(stats: RunStats, proc: str) -> str:
    seconds = stats.cpu_s.get(proc)
    return _num(1000 * seconds / stats.messages, 1) if seconds is not None and stats.messages else "—"


def _train_cell(model: Model | None) -> str:
    if model is None or model.train_s is None:
        return "—"
    return f"{model.train_s:.1f}" + ("" if model.cold else " (warm cache)" if model.cold is False else "")


def verdicts(ours: RunStats, stock: RunStats | None, models: dict[str, Model],
             f1: dict[str, float | None], capacity: Phase | None = None,
             whole: Phase | None = None) -> list[tuple[str, bool | None]]:
    """Each target with PASS (True), FAIL (False) or not measured (None).

    Throughput is compared at capacity when runs without pauses were made (``capacity``): paced
    citizens offer a bounded load, which caps what any configuration can show above it. Errors
    count every run of ours (``whole``; default: the paced ones)."""
    fast, slow = capacity if capacity else (ours, stock)
    ratio = fast.throughput / slow.throughput if slow and slow.throughput else None
    train = models["ours"].train_s if "ours" in models else None
    f1_ours, f1_stock = f1.get("ours"), f1.get("stock")
    every_ours = (whole or (ours, stock))[0]
    clean = every_ours.error_count == 0 and every_ours.completed == every_ours.conversations
    return [
        (f"throughput ≥ {TARGET_RATIO:g}× stock" + (" (at capacity)" if capacity else ""),
         None if ratio is None else ratio >= TARGET_RATIO),
        (f"p95 ≤ {TARGET_P95_MS:g} ms", ours.pct(95) <= TARGET_P95_MS if ours.latencies_ms else None),
        ("zero errors", clean),
        ("macro-F1 not lower than stock",
         None if f1_ours is None or f1_stock is None else f1_ours >= f1_stock - 1e-9),
        (f"Rasa ready ≤ {TARGET_READY_S:g} s", None if ours.ready_s is None else ours.ready_s <= TARGET_READY_S),
        (f"full retrain ≤ {TARGET_TRAIN_S:g} s", None if train is None else train <= TARGET_TRAIN_S),
    ]


def run_rows(runs: Sequence[RunStats], first: int = 1) -> str:
    return table(
        ["run", "config", "think s", "messages", "seconds", "messages/s", "p50 ms", "p95 ms", "p99 ms", "errors",
         "ready s"],
        [(i, r.config, f"{r.think:g}", r.messages, _num(r.seconds), _num(r.throughput), _num(r.pct(50), 0),
          _num(r.pct(95), 0), _num(r.pct(99), 0), r.error_count, _num(r.ready_s))
         for i, r in enumerate(runs, start=first)],
    )


def phases(runs: Sequence[RunStats], users: int) -> tuple[RunStats, RunStats | None, Phase | None, Phase]:
    """The paced runs of ours and stock merged, the capacity runs (no pauses) merged when they
    were made beside paced ones (with ``--think 0`` the paced runs are the capacity), and every
    run of each merged."""
    def merged(which: Sequence[RunStats], config: str) -> RunStats | None:
        picked = [r for r in which if r.config == config or (config == "ours" and r.config == "url")]
        return merge(picked) if picked else None

    paced = [r for r in runs if r.think > 0] or list(runs)
    free = [r for r in runs if r.think == 0] if len(paced) < len(runs) else []
    ours = merged(paced, "ours") or RunStats(config="ours", users=users)
    capacity = (merged(free, "ours") or RunStats(config="ours", users=users, think=0.0),
                merged(free, "stock")) if free else None
    whole = (merged(runs, "ours") or ours, merged(runs, "stock"))
    return ours, merged(paced, "stock"), capacity, whole


def report(runs: Sequence[RunStats], models: dict[str, Model], f1: dict[str, float | None],
           args: argparse.Namespace, stamp: str) -> str:
    ours, stock, capacity, whole = phases(runs, args.users)
    checks = verdicts(ours, stock, models, f1, capacity, whole)
    lines = [
        f"Run {stamp}. {args.users} concurrent simulated citizens, {args.conversations} whole petition "
        f"conversations per run ({len(CONVERSATION)} messages each), think time {args.think:g} s on average between a "
        "reply and the next message (uniform 0.5–1.5×, seeded; first messages spread over the first "
        f"{args.think:g} s); runs alternate ours / stock on freshly started stacks ("
        + ("one Rasa server" if args.rasa_servers == 1 else
           f"{args.rasa_servers} Rasa servers sharing a Redis lock store and the tracker store, "
           + ("each message to the server with the fewest requests in flight, as nginx's least_conn"
              if args.routing == "least-conn" else "each citizen on one of them"))
        + ", the same action server and back-office, SQLite case and tracker stores)."
        + (f" Then the capacity runs: the same {args.users} citizens without any pause "
           f"({args.capacity_conversations} conversations per run), alternating likewise; the throughput "
           "target is read from these." if capacity else ""),
        "Models: " + "; ".join(
            f"{name} `{m.path.name}` served by "
            + ("`python -m bot.dialogue.serve` (Rasa with bot.dialogue.speedups)" if m.launcher == "ours"
               else "plain `rasa run`")
            for name, m in models.items()) + ".",
        table(["metric", "ours", "stock", "ours/stock", "target"], summary_rows(ours, stock, models, f1, capacity, whole)),
        "Targets: " + "; ".join(
            f"{name} — **{'PASS' if ok else 'FAIL' if ok is False else 'not measured'}**" for name, ok in checks
        ) + ".",
        "Each run:\n\n" + run_rows(runs),
        "Latency by message of the conversation (paced runs of a configuration):\n\n" + step_rows(ours, stock),
    ]
    errors = {k: v for r in runs for k, v in r.errors.items()}
    if errors:
        lines.append("Errors by kind: " + ", ".join(
            f"{r.config} run {i + 1}: {r.errors}" for i, r in enumerate(runs) if r.errors) + ".")
    return "\n\n".join(lines)


SECTION_START = "<!-- bench:load -->"
SECTION_END = "<!-- /bench:load -->"
DOC_HEADER = "# Performance\n"


def write_section(body: str, path: Path = DOCS) -> None:
    """Replace the "Load" section of docs/performance.md (markers included), keep the rest."""
    section = f"{SECTION_START}\n## Load (`make bench-load`)\n\n{body}\n{SECTION_END}"
    old = path.read_text(encoding="utf-8") if path.is_file() else DOC_HEADER
    if SECTION_START in old and SECTION_END in old:
        head, rest = old.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1]
        new = head + section + tail
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(new, encoding="utf-8")


# --------------------------------------------------------------------------- CLI


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated citizens (50)")
    parser.add_argument("--conversations", type=int, default=None,
                        help="whole conversations per run (default: 2 per citizen)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a citizen waits after a reply before the next message (1.0)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations ours/stock (2)")
    parser.add_argument("--capacity-rounds", type=int, default=1,
                        help="then alternations ours/stock without pauses, for the throughput at capacity "
                        "(1; 0 = none; ignored with --think 0, whose runs are already that)")
    parser.add_argument("--capacity-conversations", type=int, default=None,
                        help="whole conversations per capacity run (default: 4 per citizen)")
    parser.add_argument("--only", choices=["ours", "stock"], help="measure one configuration only")
    parser.add_argument("--rasa-servers", type=int, default=2,
                        help="Rasa server processes per stack, for both configurations (2, as in production)")
    parser.add_argument("--routing", choices=ROUTINGS, default="least-conn",
                        help="how messages are spread over the Rasa servers: least-conn (default, as nginx in "
                        "docker/) or sticky (a conversation stays on one server)")
    parser.add_argument("--train", action="store_true",
                        help="retrain the models cold in this run (else: training seconds from the cache)")
    parser.add_argument("--model", help="our model (default: the cached model of this checkout)")
    parser.add_argument("--stock-model", help="the stock model (default: models/stock-<hash>.tar.gz)")
    parser.add_argument("--stock-launcher", choices=["rasa", "ours"], default="rasa",
                        help="serve the stock model with plain `rasa run` (default, as shipped) or with our "
                        "launcher `python -m bot.dialogue.serve` (isolates the configuration's share)")
    parser.add_argument("--url", help="run the load against this running deployment instead of local stacks")
    parser.add_argument("--no-f1", action="store_true", help="skip the held-out macro-F1")
    parser.add_argument("--profile", type=Path, help="run Rasa under cProfile, write .prof files here")
    parser.add_argument("--write-docs", action="store_true", help="write the Load section of docs/performance.md")
    args = parser.parse_args(argv)
    if args.conversations is None:
        args.conversations = 2 * args.users
    if args.capacity_conversations is None:
        args.capacity_conversations = 4 * args.users
    if args.think == 0:
        args.capacity_rounds = 0
    if args.users < 1 or args.conversations < 1 or args.rounds < 1 or args.rasa_servers < 1:
        parser.error("--users, --conversations, --rounds and --rasa-servers must be at least 1")
    if args.capacity_rounds < 0 or args.capacity_conversations < 1 or args.think < 0:
        parser.error("--capacity-rounds must be at least 0, --capacity-conversations at least 1, --think not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from bench.run import machine

    stamp = f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine()}"
    runs: list[RunStats] = []
    models: dict[str, Model] = {}
    f1: dict[str, float | None] = {}
    schedule = [(args.think, args.conversations)] * args.rounds + [(0.0, args.capacity_conversations)] * args.capacity_rounds
    if args.url:
        for think, conversations in schedule:
            runs.append(load(args.url.rstrip("/"), "url", args.users, conversations, think))
            print(run_rows(runs[-1:], len(runs)), file=sys.stderr)
    else:
        which = [args.only] if args.only else ["ours", "stock"]
        models = ensure_models(which, train=args.train, ours=args.model, stock=args.stock_model,
                               stock_launcher=args.stock_launcher)
        for think, conversations in schedule:
            for name in which:
                runs.append(run_stack(models[name], args.users, conversations, think, args.profile,
                                      args.rasa_servers, args.routing))
                print(run_rows(runs[-1:], len(runs)), file=sys.stderr)
        if not args.no_f1:
            f1 = {name: macro_f1(model.path) for name, model in models.items()}
    text = report(runs, models, f1, args, stamp)
    print("\n" + text)
    if args.profile:
        print_profiles(args.profile)
    if args.write_docs:
        write_section(text)
        print(f"\n[load] wrote the Load section of {DOCS.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


def print_profiles(folder: Path, top: int = 30) -> None:
    import pstats

    for path in sorted(folder.glob("*.prof")):
        print(f"\n== profile {path} (cumulative, top {top}) ==")
        pstats.Stats(str(path)).sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    sys.exit(main())
