"""free_port() against the machine's real sockets (see tests/unit/bench/test_free_port.py)."""
from __future__ import annotations

import socket

from bench import stack


def test_free_port_is_outside_the_range_bindable_and_never_repeated() -> None:
    low, high = stack.ephemeral_range()
    ports = [stack.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    for port in ports:
        assert not low <= port <= high
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_free_port_skips_a_port_in_use(monkeypatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        free = 20123 if taken != 20123 else 20124
        picks = iter([taken, free])
        monkeypatch.setattr(stack.random, "choice", lambda _candidates: next(picks))
        monkeypatch.setattr(stack, "_handed_out", set())
        assert stack.free_port() == free
