"""The frozen regression set: valid, outside the training data, about the domain's intents."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.settings import PROJECT_ROOT, Settings
from bot.training.inbox import label_choices
from bot.training.nlu_files import parse_nlu_examples

REGRESSION = Path(Settings().training_regression_set)


def test_default_setting_points_at_the_file_outside_nlu_data() -> None:
    assert REGRESSION.is_file()
    assert (PROJECT_ROOT / "nlu_data") not in REGRESSION.parents


def test_regression_set_is_valid_rasa_nlu_yaml() -> None:
    data = RasaYAMLReader().reads(REGRESSION.read_text(encoding="utf-8"))
    assert len(data.intent_examples) >= 100


def test_no_regression_message_is_a_training_example() -> None:
    training = {
        e.text for path in (PROJECT_ROOT / "nlu_data").rglob("*.yml")
        for e in parse_nlu_examples(path.read_text(encoding="utf-8"))
    }
    overlap = [e.text for e in parse_nlu_examples(REGRESSION.read_text(encoding="utf-8")) if e.text in training]
    assert overlap == []


def test_every_contract_intent_is_covered_with_known_labels() -> None:
    examples = parse_nlu_examples(REGRESSION.read_text(encoding="utf-8"))
    choices = set(label_choices(PROJECT_ROOT))
    assert {e.intent for e in examples} <= choices
    per_intent = Counter(e.intent.split("/")[0] for e in examples)
    contract = {"greet", "goodbye", "affirm", "deny", "thank", "start_petition", "ask_legal_channel", "faq",
                "check_status", "request_human", "inform", "correct_info", "cancel", "out_of_scope",
                "bot_challenge", "help"}
    assert contract <= set(per_intent)
    assert min(per_intent[i] for i in contract) >= 5
