"""Ports for test and benchmark servers stay out of the kernel's ephemeral range.

A CI run failed when Rasa, seconds after its port was chosen with ``bind(0)``, found the port
taken by some outgoing connection's local end. These tests pin the rule that prevents it.
"""
from __future__ import annotations

import pytest

from bench import stack


def test_candidates_lie_below_the_ephemeral_range() -> None:
    candidates = stack.port_candidates((32768, 60999))
    assert candidates.start == 20000
    assert candidates.stop == 32768  # exclusive: 32767 is the last candidate


def test_candidates_lie_above_when_nothing_fits_below() -> None:
    candidates = stack.port_candidates((1024, 40000))
    assert candidates.start == 40001
    assert candidates.stop == 65536


def test_ephemeral_range_read_from_the_kernel_file(tmp_path) -> None:
    path = tmp_path / "range"
    path.write_text("40000\t50000\n")
    assert stack.ephemeral_range(str(path)) == (40000, 50000)


@pytest.mark.parametrize("content", ["", "garbage", "1"])
def test_ephemeral_range_falls_back_when_unreadable(tmp_path, content: str) -> None:
    path = tmp_path / "range"
    path.write_text(content)
    assert stack.ephemeral_range(str(path)) == (32768, 60999)
    assert stack.ephemeral_range(str(tmp_path / "missing")) == (32768, 60999)
