"""Time how long `rasa run --enable-api` takes until it answers with a loaded model.

    .venv/bin/python scripts/time_rasa_start.py [--model models/<hash>.tar.gz] [--runs 3]

Starts the dialogue engine the way `make run` does (REST channel, in-memory tracker store),
polls ``/status`` until it names the model file, prints the seconds, and stops the process.
Also prints the log lines that show where the time went (model loading). Used for
docs/performance.md; not a test.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "time-start-token"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        resp = httpx.get(f"http://127.0.0.1:{port}/status", params={"token": TOKEN}, timeout=2)
    except httpx.HTTPError:
        return False
    return resp.status_code == 200 and bool(resp.json().get("model_file"))


def time_once(model: Path, timeout: float) -> float:
    port = _free_port()
    rasa = str(Path(sys.executable).with_name("rasa"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    with tempfile.TemporaryDirectory(prefix="time-start-") as tmp:
        endpoints = Path(tmp) / "endpoints.yml"
        endpoints.write_text("tracker_store:\n  type: InMemoryTrackerStore\n", encoding="utf-8")
        log_path = Path(tmp) / "rasa.log"
        with open(log_path, "wb") as log:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [rasa, "run", "--enable-api", "--auth-token", TOKEN, "--model", str(model),
                 "--port", str(port), "--interface", "127.0.0.1",
                 "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            while not _ready(port):
                if proc.poll() is not None:
                    raise SystemExit(f"rasa exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                if time.perf_counter() - start > timeout:
                    raise SystemExit(f"not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
            elapsed = time.perf_counter() - start
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model .tar.gz (default: the cached model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.model is None:
        sys.path.insert(0, str(ROOT))
        from bot.training.model_cache import ensure_model

        args.model = ensure_model(ROOT)
    times = []
    for i in range(args.runs):
        seconds = time_once(args.model.resolve(), args.timeout)
        times.append(seconds)
        print(f"run {i + 1}: ready after {seconds:.1f} s", flush=True)
    print(f"{args.model.name}: median {statistics.median(times):.1f} s, min {min(times):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
