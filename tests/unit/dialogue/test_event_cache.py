"""The in-process cache of decrypted tracker events (bot/dialogue/event_cache.py): pure logic."""
from __future__ import annotations

from bot.dialogue.event_cache import EventCache


def test_first_load_misses_everything_then_only_new_rows() -> None:
    cache = EventCache(10)
    assert cache.missing("a", [1, 2, 3]) == [1, 2, 3]
    assert cache.assemble("a", [1, 2, 3], {1: "e1", 2: "e2", 3: "e3"}) == ["e1", "e2", "e3"]
    assert cache.missing("a", [1, 2, 3, 7]) == [7]
    assert cache.assemble("a", [1, 2, 3, 7], {7: "e7"}) == ["e1", "e2", "e3", "e7"]


def test_ids_the_database_no_longer_lists_are_forgotten() -> None:
    cache = EventCache(10)
    cache.assemble("a", [1, 2, 3], {1: "e1", 2: "e2", 3: "e3"})
    # a new session: the store lists only the rows since it started
    assert cache.assemble("a", [3], {}) == ["e3"]
    assert cache.missing("a", [1, 2, 3]) == [1, 2]
    # retention deleted the whole conversation: nothing is returned from memory
    assert cache.assemble("a", [], {}) == []
    assert cache.missing("a", [3]) == [3]


def test_rows_written_here_are_added_only_for_conversations_held_here() -> None:
    cache = EventCache(10)
    cache.add("stranger", [(5, "e5")])
    assert cache.missing("stranger", [5]) == [5]
    cache.assemble("a", [], {})
    cache.add("a", [(4, "e4"), (5, "e5")])
    assert cache.missing("a", [4, 5, 6]) == [6]


def test_least_recently_used_conversations_are_dropped() -> None:
    cache = EventCache(2)
    cache.assemble("a", [1], {1: "a1"})
    cache.assemble("b", [2], {2: "b2"})
    cache.assemble("a", [1], {})  # a used again
    cache.assemble("c", [3], {3: "c3"})
    assert len(cache) == 2
    assert cache.missing("b", [2]) == [2] and cache.missing("a", [1]) == [] and cache.missing("c", [3]) == []


def test_size_zero_keeps_nothing() -> None:
    cache = EventCache(0)
    assert cache.assemble("a", [1], {1: "x"}) == ["x"]
    assert len(cache) == 0 and cache.missing("a", [1]) == [1]
