"""Training files written by the admin loop: markup, inbox files, domain intents.

Rendered files are read back with Rasa's own YAML reader (no files, no training)."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.errors import InvalidInput
from bot.training.nlu_files import (
    Entity,
    LabelledExample,
    add_intent_to_domain,
    domain_intents,
    inbox_file_name,
    merge_examples,
    parse_entities,
    parse_nlu_examples,
    read_inbox_file,
    render_inbox_file,
    render_markup,
    strip_markup,
)


def test_inbox_file_name() -> None:
    assert inbox_file_name("rest") == "inbox_rest.yml"
    assert inbox_file_name("Tele gram/../x") == "inbox_tele_gram_x.yml"
    assert inbox_file_name("") == "inbox_inbox.yml"


def test_render_markup_and_strip() -> None:
    text = "我住北京市朝阳区，电话138****5678"
    markup = render_markup(text, [Entity(2, 5, "region"), Entity(5, 8, "region", "朝阳区")])
    assert markup == "我住[北京市](region)[朝阳区](region)，电话138****5678"
    assert strip_markup(markup) == text
    assert render_markup("[括号](x)") == "［括号］(x)"  # plain brackets cannot become markup
    assert render_markup("北京", [Entity(0, 2, "region", "北京市")]) == "[北京](region:北京市)"


@pytest.mark.parametrize("spans", [[Entity(0, 9, "region")], [Entity(0, 2, "a"), Entity(1, 3, "b")],
                                   [Entity(2, 2, "a")], [Entity(0, 1, "Bad-Name")]])
def test_render_markup_rejects_bad_spans(spans: list[Entity]) -> None:
    with pytest.raises(InvalidInput):
        render_markup("北京朝阳", spans)


def test_parse_entities() -> None:
    assert parse_entities([{"start": "1", "end": 2, "entity": " region ", "value": ""}]) == [Entity(1, 2, "region")]
    with pytest.raises(InvalidInput):
        parse_entities([{"start": 1}])


def example(text: str, intent: str, inbox_id: int, by: str = "admin") -> LabelledExample:
    return LabelledExample(text, intent, {"inbox_id": inbox_id, "captured": "2026-11-20", "reason": "corrected",
                                          "predicted": "faq", "confidence": 0.31, "labelled_by": by,
                                          "labelled_at": "2026-11-21"})


def test_render_inbox_file_is_valid_rasa_yaml_with_provenance() -> None:
    examples = [example("我那个事儿现在咋样了", "check_status", 7),
                example('含"引号"和: 冒号 # 井号', "check_status", 8),
                example("我住[北京市](region)", "inform", 9, by='admin:王"敏')]
    content = render_inbox_file("rest", examples)
    assert "# inbox #7 · captured 2026-11-20, corrected, predicted faq · labelled 2026-11-21 by admin" in content
    assert content.index("intent: check_status") < content.index("intent: inform")
    data = RasaYAMLReader().reads(content)
    got = sorted((m.get("text"), m.get("intent")) for m in data.intent_examples)
    assert got == sorted([("我那个事儿现在咋样了", "check_status"), ('含"引号"和: 冒号 # 井号', "check_status"),
                          ("我住北京市", "inform")])
    entity = next(m for m in data.intent_examples if m.get("intent") == "inform").get("entities")
    assert entity[0]["entity"] == "region" and entity[0]["value"] == "北京市"
    meta = next(m for m in data.intent_examples if m.get("text") == "我那个事儿现在咋样了").get("metadata")
    assert meta["example"]["inbox_id"] == 7 and meta["example"]["labelled_by"] == "admin"


def test_read_merge_and_rerender_round_trip() -> None:
    first = render_inbox_file("rest", [example("甲", "greet", 1), example("乙", "thank", 2)])
    existing = read_inbox_file(first)
    assert [(e.text, e.intent, e.inbox_id) for e in existing] == [("甲", "greet", 1), ("乙", "thank", 2)]
    # relabelling message 1 and a new message with the same text as message 2 replace the old entries
    merged = merge_examples(existing, [example("甲", "affirm", 1), example("乙", "deny", 3)])
    assert [(e.text, e.intent, e.inbox_id) for e in merged] == [("甲", "affirm", 1), ("乙", "deny", 3)]
    assert read_inbox_file(render_inbox_file("rest", merged)) == merged
    assert read_inbox_file(None) == [] and read_inbox_file("  \n") == []


def test_parse_nlu_examples_reads_both_example_styles() -> None:
    content = (
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n    - 您[好](x)\n'
        "- intent: faq/hotlines\n  examples:\n  - text: 热线是多少\n- synonym: a\n  examples: |\n    - b\n"
    )
    assert [(e.text, e.intent) for e in parse_nlu_examples(content)] == [
        ("你好", "greet"), ("您好", "greet"), ("热线是多少", "faq/hotlines")]


DOMAIN = """version: "3.1"

# comment
intents:
  - greet
  - faq:
      is_retrieval_intent: true
  - nlu_fallback

entities:
  - phone
"""


def test_domain_intents() -> None:
    assert domain_intents(DOMAIN) == ["greet", "faq", "nlu_fallback"]


def test_add_intent_to_domain_keeps_layout() -> None:
    updated = add_intent_to_domain(DOMAIN, "report_noise")
    assert domain_intents(updated) == ["greet", "faq", "nlu_fallback", "report_noise"]
    assert updated.replace("  - report_noise\n", "") == DOMAIN
    assert add_intent_to_domain(updated, "report_noise") == updated


def test_add_intent_to_domain_other_layouts() -> None:
    flat = "intents:\n- greet\nslots: {}\n"
    assert add_intent_to_domain(flat, "x_y") == "intents:\n- greet\n- x_y\nslots: {}\n"
    assert domain_intents(add_intent_to_domain("version: '3.1'", "new_one")) == ["new_one"]
    with pytest.raises(InvalidInput):
        add_intent_to_domain(DOMAIN, "Bad Name")
    with pytest.raises(InvalidInput):
        add_intent_to_domain(DOMAIN, "faq/x")


def test_entities_from_markup() -> None:
    from bot.training.nlu_files import entities_from_markup

    text = "我住北京市，电话138****5678"
    assert entities_from_markup(text, text) == []
    marked = "我住[北京市](region:北京)，电话[138****5678](phone)"
    found = entities_from_markup(text, marked)
    assert found == [Entity(2, 5, "region", "北京"), Entity(8, 19, "phone")]
    assert render_markup(text, found) == marked
    with pytest.raises(InvalidInput):
        entities_from_markup(text, "我住[北京](region)市，电话")
