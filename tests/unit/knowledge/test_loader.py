"""Validation rules of bot.knowledge.loader on small hand-made FAQ files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.knowledge import clear_cache, get_topic, load_faq, topic_for_intent
from bot.knowledge.loader import DEFAULT_FAQ_PATH, MIN_EXAMPLES, MIN_HELDOUT


def _topic(topic_id: str, n_examples: int = MIN_EXAMPLES, n_heldout: int = MIN_HELDOUT) -> dict:
    return {
        "id": topic_id,
        "title": f"标题{topic_id}",
        "answer": "第一句（《信访工作条例》第十七条）。第二句。",
        "citations": [{"law": "《信访工作条例》", "article": "第十七条"}],
        "examples": [f"{topic_id}训练问法{i}" for i in range(n_examples)],
        "heldout": [f"{topic_id}测量问法{i}" for i in range(n_heldout)],
    }


def _write(tmp_path: Path, topics: list[dict], version: int = 1) -> Path:
    path = tmp_path / "faq.yml"
    path.write_text(
        yaml.safe_dump({"version": version, "topics": topics}, allow_unicode=True), encoding="utf-8"
    )
    clear_cache()
    return path


def test_good_file_loads_in_order(tmp_path: Path) -> None:
    path = _write(tmp_path, [_topic("alpha"), _topic("beta", n_examples=12)])
    topics = load_faq(path)
    assert [t.id for t in topics] == ["alpha", "beta"]
    alpha = topics[0]
    assert alpha.intent == "faq/alpha"
    assert alpha.response_name == "utter_faq/alpha"
    assert alpha.citations[0].text == "《信访工作条例》第十七条"
    assert len(topics[1].examples) == 12
    assert isinstance(alpha.examples, tuple)


def test_load_is_cached_and_returns_fresh_lists(tmp_path: Path) -> None:
    path = _write(tmp_path, [_topic("alpha")])
    first, second = load_faq(path), load_faq(path)
    assert first == second and first is not second
    first.clear()
    assert len(load_faq(path)) == 1


def test_duplicate_id_rejected(tmp_path: Path) -> None:
    other = _topic("alpha")
    other["examples"] = [f"别的问法{i}" for i in range(MIN_EXAMPLES)]
    other["heldout"] = [f"别的测量{i}" for i in range(MIN_HELDOUT)]
    path = _write(tmp_path, [_topic("alpha"), other])
    with pytest.raises(ValueError, match="duplicate topic id 'alpha'"):
        load_faq(path)


def test_too_few_examples_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, [_topic("alpha", n_examples=MIN_EXAMPLES - 1)])
    with pytest.raises(ValueError, match=f"at least {MIN_EXAMPLES} examples"):
        load_faq(path)


def test_too_few_heldout_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, [_topic("alpha", n_heldout=MIN_HELDOUT - 1)])
    with pytest.raises(ValueError, match=f"at least {MIN_HELDOUT} heldout"):
        load_faq(path)


def test_empty_citations_rejected(tmp_path: Path) -> None:
    bad = _topic("alpha")
    bad["citations"] = []
    with pytest.raises(ValueError, match="citations"):
        load_faq(_write(tmp_path, [bad]))


@pytest.mark.parametrize(
    ("law", "article"),
    [("信访工作条例", "第十七条"), ("《信访工作条例》", "第17条"), ("《信访工作条例》", "十七条")],
)
def test_citation_format_enforced(tmp_path: Path, law: str, article: str) -> None:
    bad = _topic("alpha")
    bad["citations"] = [{"law": law, "article": article}]
    with pytest.raises(ValueError, match=r"law|article"):
        load_faq(_write(tmp_path, [bad]))


def test_example_shared_between_topics_rejected(tmp_path: Path) -> None:
    a, b = _topic("alpha"), _topic("beta")
    b["examples"][0] = a["examples"][3] + "？"  # punctuation does not make a phrase new
    with pytest.raises(ValueError, match="shared between topics"):
        load_faq(_write(tmp_path, [a, b]))


def test_example_also_in_heldout_rejected(tmp_path: Path) -> None:
    a = _topic("alpha")
    a["heldout"][0] = a["examples"][0]
    with pytest.raises(ValueError, match=r"twice in topic 'alpha'.*heldout"):
        load_faq(_write(tmp_path, [a]))


def test_bad_id_and_version_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="snake_case"):
        load_faq(_write(tmp_path, [_topic("Bad-Id")]))
    with pytest.raises(ValueError, match="version"):
        load_faq(_write(tmp_path, [_topic("alpha")], version=2))


def test_missing_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_faq(tmp_path / "nope.yml")


def test_lookup_by_id_and_intent() -> None:
    clear_cache()
    topic = get_topic("how_to_petition")
    assert topic_for_intent("faq/how_to_petition") is topic
    with pytest.raises(KeyError):
        get_topic("no_such_topic")
    with pytest.raises(KeyError):
        topic_for_intent("greet")
    with pytest.raises(KeyError):
        topic_for_intent("faq/no_such_topic")


def test_default_path_is_packaged_file() -> None:
    assert DEFAULT_FAQ_PATH.name == "faq.yml"
    assert DEFAULT_FAQ_PATH.parent.name == "knowledge"
