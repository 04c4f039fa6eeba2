"""bench.load: simulated citizens, the report and the docs section (no processes started)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.load import (
    CONVERSATION,
    Model,
    RunStats,
    conversation,
    merge,
    reply_texts,
    report,
    resident_id,
    verdicts,
    write_section,
)
from bench.stack import stack_endpoints
from bot.intake.idcard import is_valid_id_number


def test_every_citizen_is_a_person_of_their_own() -> None:
    people = [conversation(i) for i in range(0, 300_000, 1499)]
    ids = [c[CONVERSATION.index("11010519491231002X")] for c in people]
    phones = [c[CONVERSATION.index("13812345678")] for c in people]
    assert len(set(ids)) == len(ids) and len(set(phones)) == len(phones)
    assert all(is_valid_id_number(i) for i in ids)
    assert all(len(p) == 11 and p.startswith("1") for p in phones)
    assert people[0][:3] == CONVERSATION[:3] and people[0][-1] == CONVERSATION[-1]
    assert resident_id(7) != resident_id(8)


def test_reply_texts() -> None:
    assert reply_texts([{"text": "a"}, {"image": "x"}, {"text": ""}, {"text": "b"}]) == ["a", "b"]
    assert reply_texts({"text": "a"}) == []


def stats(config: str, ms: list[float], seconds: float, errors: int = 0, think: float = 1.0) -> RunStats:
    run = RunStats(config=config, users=50, conversations=2, completed=2 - errors, latencies_ms=ms, seconds=seconds,
                   think=think)
    for _ in range(errors):
        run.error("no case number")
    return run


def test_merge_adds_time_and_keeps_worst_ready_and_memory() -> None:
    a, b = stats("ours", [100.0] * 10, 1.0), stats("ours", [200.0] * 10, 3.0)
    a.ready_s, b.ready_s = 9.0, 12.0
    a.rss_mib, b.rss_mib = {"rasa": 500.0}, {"rasa": 700.0}
    total = merge([a, b])
    assert total.messages == 20 and total.throughput == pytest.approx(5.0)
    assert total.ready_s == 12.0 and total.rss_mib == {"rasa": 700.0}


def test_verdicts_compare_with_stock() -> None:
    models = {"ours": Model("ours", Path("o.tar.gz"), 60.0, True)}
    ours, stock = stats("ours", [100.0] * 100, 1.0), stats("stock", [900.0] * 25, 1.0)
    ours.ready_s = 10.0
    result = dict(verdicts(ours, stock, models, {"ours": 0.95, "stock": 0.93}))
    assert result == {
        "throughput ≥ 4× stock": True, "p95 ≤ 300 ms": True, "zero errors": True,
        "macro-F1 not lower than stock": True, "Rasa ready ≤ 15 s": True, "full retrain ≤ 90 s": True,
    }
    slow = stats("ours", [400.0] * 30, 1.0, errors=1)
    result = dict(verdicts(slow, stock, models, {"ours": 0.90, "stock": 0.93}))
    assert not result["throughput ≥ 4× stock"] and not result["p95 ≤ 300 ms"]
    assert not result["zero errors"] and not result["macro-F1 not lower than stock"]
    assert result["Rasa ready ≤ 15 s"] is None  # not measured


def test_report_prints_the_ratio() -> None:
    args = argparse.Namespace(users=50, conversations=100, think=1.0, rasa_servers=1)
    runs = [stats("ours", [100.0] * 100, 1.0), stats("stock", [900.0] * 20, 1.0)]
    text = report(runs, {}, {}, args, "now")
    assert "| throughput (messages/s) | 100.0 | 20.0 | 5.00× |" in text


def capacity_args() -> argparse.Namespace:
    return argparse.Namespace(users=50, conversations=100, think=1.0, rasa_servers=1, capacity_conversations=200)


def test_the_throughput_target_is_read_from_the_capacity_runs_when_there_are_some() -> None:
    # Paced: both serve what 50 citizens offer (ratio ~1); without pauses ours does 5x stock.
    runs = [stats("ours", [30.0] * 45, 1.0), stats("stock", [500.0] * 40, 1.0),
            stats("ours", [300.0] * 150, 1.0, think=0.0), stats("stock", [1500.0] * 30, 1.0, think=0.0)]
    text = report(runs, {}, {}, capacity_args(), "now")
    assert "| throughput, paced (messages/s) | 45.0 | 40.0 | 1.12× |  |" in text
    assert "| throughput at capacity, no pauses (messages/s) | 150.0 | 30.0 | 5.00× | ≥ 4× stock |" in text
    assert "throughput ≥ 4× stock (at capacity) — **PASS**" in text
    assert "| latency p95 (ms) | 30 | 500 |" in text  # the latency target stays with the paced runs
    assert "p95 ≤ 300 ms — **PASS**" in text
    assert "| messages | 195 | 70 |" in text  # both phases counted
    # A capacity run that falls short fails the target although the paced ratio is the same.
    runs[2] = stats("ours", [300.0] * 100, 1.0, think=0.0)
    assert "throughput ≥ 4× stock (at capacity) — **FAIL**" in report(runs, {}, {}, capacity_args(), "now")


def test_an_error_in_a_capacity_run_fails_zero_errors() -> None:
    runs = [stats("ours", [30.0] * 45, 1.0), stats("ours", [300.0] * 150, 1.0, errors=1, think=0.0)]
    text = report(runs, {}, {}, capacity_args(), "now")
    assert "zero errors — **FAIL**" in text
    assert "| conversations with a case number | 3/4 |" in text


def test_runs_all_without_pauses_are_both_the_paced_and_the_capacity_figures() -> None:
    args = argparse.Namespace(users=50, conversations=100, think=0.0, rasa_servers=1, capacity_conversations=200)
    runs = [stats("ours", [300.0] * 150, 1.0, think=0.0), stats("stock", [1500.0] * 30, 1.0, think=0.0)]
    text = report(runs, {}, {}, args, "now")
    assert "| throughput (messages/s) | 150.0 | 30.0 | 5.00× | ≥ 4× stock |" in text
    assert "capacity" not in text


def test_capacity_options() -> None:
    from bench.load import parse_args

    assert parse_args([]).capacity_rounds == 1 and parse_args([]).capacity_conversations == 200
    assert parse_args(["--think", "0"]).capacity_rounds == 0  # those runs are the capacity already
    assert parse_args(["--capacity-rounds", "0"]).capacity_rounds == 0
    with pytest.raises(SystemExit):
        parse_args(["--capacity-rounds", "-1"])


def test_write_section_replaces_only_the_load_section(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## NLU training and start-up\n\nkeep me\n", encoding="utf-8")
    write_section("first", doc)
    write_section("second", doc)
    text = doc.read_text(encoding="utf-8")
    assert "keep me" in text and "second" in text and "first" not in text
    assert text.count("## Load") == 1


def test_stack_endpoints_keep_the_project_store_type_and_replace_addresses(tmp_path: Path) -> None:
    data = stack_endpoints(tmp_path, "http://127.0.0.1:1234", None, None)
    assert data["action_endpoint"]["url"] == "http://127.0.0.1:1234/webhook"
    assert data["tracker_store"]["db"] == str(tmp_path / "tracker.db")
    assert data["tracker_store"]["type"]
    assert "lock_store" not in data
    pg = stack_endpoints(tmp_path, "http://a", {"dialect": "postgresql", "db": "x"}, {"type": "redis"})
    assert pg["tracker_store"]["dialect"] == "postgresql" and pg["lock_store"] == {"type": "redis"}
    assert pg["tracker_store"]["type"] == data["tracker_store"]["type"]


def test_each_conversation_stays_on_one_server_and_servers_share_the_load() -> None:
    from bench.load import server_for

    urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    senders = [f"load-ours-{i:04d}" for i in range(400)]
    chosen = [server_for(s, urls) for s in senders]
    assert chosen == [server_for(s, urls) for s in senders]  # stable for a sender
    assert 120 < chosen.count(urls[0]) < 280  # both servers get a fair share
    assert server_for("anyone", urls[:1]) == urls[0]


def test_least_conn_routing_takes_the_server_with_fewest_requests_in_flight() -> None:
    from bench.load import Router

    router = Router(["http://a", "http://b"], "least-conn")
    with router.route("x") as first:
        with router.route("x") as second:
            assert {first, second} == {"http://a", "http://b"}  # the busy one is skipped
            with router.route("y") as third:
                assert router.in_flight == [2, 1] if third == "http://a" else [1, 2]
        with router.route("z") as fourth:
            assert fourth == second  # only the first is still busy
    assert router.in_flight == [0, 0]
    taken = []
    for _ in range(4):  # all idle: taken in turn
        with router.route("x") as url:
            taken.append(url)
    assert taken.count("http://a") == taken.count("http://b") == 2


def test_sticky_routing_keeps_a_sender_on_its_server() -> None:
    from bench.load import Router, server_for

    urls = ["http://a", "http://b", "http://c"]
    router = Router(urls, "sticky")
    for sender in ("s1", "s2", "s3", "s4"):
        with router.route(sender) as url, router.route(sender) as again:
            assert url == again == server_for(sender, urls)


def test_rasa_servers_option() -> None:
    from bench.load import parse_args

    assert parse_args([]).rasa_servers == 2  # as in production (docker/)
    assert parse_args([]).routing == "least-conn"  # as nginx in docker/
    assert parse_args(["--routing", "sticky"]).routing == "sticky"
    assert parse_args(["--rasa-servers", "1"]).rasa_servers == 1
    with pytest.raises(SystemExit):
        parse_args(["--rasa-servers", "0"])


def test_report_shows_latency_by_message_for_both_configurations() -> None:
    args = argparse.Namespace(users=50, conversations=100, think=1.0, rasa_servers=2, routing="least-conn")
    ours = stats("ours", [100.0] * 4, 1.0)
    ours.step_ms = {0: [10.0, 30.0], 16: [200.0, 400.0]}
    stock = stats("stock", [900.0] * 2, 1.0)
    stock.step_ms = {0: [900.0, 900.0]}
    text = report([ours, stock], {}, {}, args, "now")
    assert "2 Rasa servers sharing a Redis lock store" in text
    assert "fewest requests in flight" in text
    first = next(line for line in text.splitlines() if line.startswith("| 1 | 我要投诉"))
    assert first.rstrip(" |").split(" | ")[2:6] == ["20", "29", "900", "900"]
    last = next(line for line in text.splitlines() if line.startswith("| 17 | 确认提交"))
    assert last.rstrip(" |").split(" | ")[2:6] == ["300", "390", "—", "—"]


def test_pauses_average_the_think_time_and_repeat_per_seed() -> None:
    import random

    from bench.load import pause

    draws = [pause(random.Random(7), 1.0) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]  # same seed, same pacing for every configuration
    rng = random.Random(1)
    many = [pause(rng, 1.0) for _ in range(5000)]
    assert min(many) >= 0.5 and max(many) <= 1.5
    assert abs(sum(many) / len(many) - 1.0) < 0.02
    assert pause(rng, 0.0) == 0.0
