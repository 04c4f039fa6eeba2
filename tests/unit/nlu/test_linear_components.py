"""bot.nlu.linear and the Rasa components around it, on a tiny dataset (no Rasa server, no TF)."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.faq_selector import FaqResponseSelector
from bot.nlu.intent_classifier import LinearIntentClassifier
from bot.nlu.linear import Example, TextClassifier, TextModelConfig, char_ngrams, normalise

DATA = {
    "greet": ["你好", "您好", "早上好", "嗨你好", "你好啊"],
    "thank": ["谢谢", "多谢", "谢谢你", "非常感谢", "感谢帮忙"],
    "faq/deadline": ["信访多久答复", "多少天内答复", "答复期限是多久", "几天能有答复", "办理期限多长"],
    "faq/anonymous": ["可以匿名信访吗", "匿名反映可以吗", "不留名字可以吗", "能不能匿名举报", "匿名行不行"],
}
RESPONSES = {
    "utter_faq/deadline": [{"text": "一般60日内办结。"}],
    "utter_faq/anonymous": [{"text": "可以匿名，但无法回复您。"}],
}


def training_data() -> TrainingData:
    examples = []
    for key, texts in DATA.items():
        intent = key.split("/", 1)[0]
        for text in texts:
            data = {"text": text, "intent": intent}
            if "/" in key:
                data["intent_response_key"] = key
            examples.append(Message(data=data))
    return TrainingData(training_examples=examples, responses=RESPONSES)


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir()
    return LocalModelStorage(tmp_path / "storage")


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


TINY = {"c": 30.0, "char_min": 1, "char_max": 2, "word_max": 0}


# ----------------------------------------------------------------------- pure model


def test_normalise_maps_digits_width_and_case() -> None:
    assert normalise(" ＡＢ１３８ 1234 ") == "ab000 0000"


def test_char_ngrams_pad_and_skip_blank_grams() -> None:
    assert char_ngrams("你好", 1, 2) == ["你", "好", " 你", "你好", "好 "]


def test_classifier_learns_and_ranks() -> None:
    examples = [Example(t) for texts in DATA.values() for t in texts]
    labels = [k for k, texts in DATA.items() for _ in texts]
    model = TextClassifier(TextModelConfig(**TINY)).fit(examples, labels)
    proba = model.predict_proba([Example("谢谢您"), Example("可以匿名吗")])
    assert proba.shape == (2, 4)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.ranking(Example("谢谢您"))[0][0] == "thank"
    assert model.ranking(Example("可以匿名吗"))[0][0] == "faq/anonymous"


def test_temperature_spreads_probabilities() -> None:
    examples = [Example(t) for texts in DATA.values() for t in texts]
    labels = [k for k, texts in DATA.items() for _ in texts]
    sharp = TextClassifier(TextModelConfig(**TINY, temperature=0.5)).fit(examples, labels)
    soft = TextClassifier(TextModelConfig(**TINY, temperature=2.0)).fit(examples, labels)
    assert sharp.ranking(Example("谢谢"))[0][1] > soft.ranking(Example("谢谢"))[0][1]


def test_unknown_text_is_not_confident() -> None:
    examples = [Example(t) for texts in DATA.values() for t in texts]
    labels = [k for k, texts in DATA.items() for _ in texts]
    model = TextClassifier(TextModelConfig(**TINY)).fit(examples, labels)
    assert model.ranking(Example("qzxv"))[0][1] < 0.5  # no known n-gram: close to the prior


def test_two_labels_and_too_few_labels() -> None:
    model = TextClassifier(TextModelConfig(**TINY)).fit(
        [Example("你好"), Example("您好"), Example("谢谢"), Example("多谢")], ["greet", "greet", "thank", "thank"]
    )
    assert model.ranking(Example("谢谢你"))[0][0] == "thank"
    with pytest.raises(ValueError):
        TextClassifier().fit([Example("你好")], ["greet"])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    examples = [Example(t, list(t)) for texts in DATA.values() for t in texts]
    labels = [k for k, texts in DATA.items() for _ in texts]
    model = TextClassifier(TextModelConfig(char_min=1, char_max=3, word_max=1)).fit(examples, labels)
    model.save(tmp_path / "m")
    loaded = TextClassifier.load(tmp_path / "m")
    probe = [Example("谢谢你呀", list("谢谢你呀")), Example("匿名可以吗", list("匿名可以吗"))]
    assert loaded.labels == model.labels
    assert np.allclose(loaded.predict_proba(probe), model.predict_proba(probe))


# ----------------------------------------------------------------------- Rasa components


def test_intent_classifier_writes_intent_and_ranking(storage: LocalModelStorage) -> None:
    resource = Resource("intent")
    component = LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), **TINY}, storage, resource, context()
    )
    assert component.train(training_data()) == resource
    message = Message(data={"text": "非常谢谢"})
    component.process([message])
    assert message.get("intent")["name"] == "thank"
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "thank"
    assert {r["name"] for r in ranking} == {"greet", "thank", "faq"}  # faq is one intent here
    assert ranking[0]["confidence"] == message.get("intent")["confidence"]
    assert all(a["confidence"] >= b["confidence"] for a, b in itertools.pairwise(ranking))

    loaded = LinearIntentClassifier.load(
        {**LinearIntentClassifier.get_default_config(), **TINY}, storage, resource, context()
    )
    again = Message(data={"text": "非常谢谢"})
    loaded.process([again])
    assert again.get("intent") == message.get("intent")


def test_split_retrieval_intents_sums_topics_into_faq(storage: LocalModelStorage) -> None:
    config = {**LinearIntentClassifier.get_default_config(), **TINY, "split_retrieval_intents": True}
    component = LinearIntentClassifier.create(config, storage, Resource("split"), context())
    component.train(training_data())
    message = Message(data={"text": "多久能答复"})
    component.process([message])
    assert message.get("intent")["name"] == "faq"
    assert sum(r["confidence"] for r in message.get("intent_ranking")) == pytest.approx(1.0)


def test_untrained_classifier_sets_no_intent(storage: LocalModelStorage) -> None:
    component = LinearIntentClassifier.load(
        LinearIntentClassifier.get_default_config(), storage, Resource("missing"), context()
    )
    message = Message(data={"text": "你好"})
    component.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    assert message.get("intent_ranking") == []


def test_fallback_classifier_reads_our_confidences(storage: LocalModelStorage) -> None:
    component = LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), **TINY}, storage, Resource("fb"), context()
    )
    component.train(training_data())
    fallback = FallbackClassifier.create(
        {**FallbackClassifier.get_default_config(), "threshold": 0.6}, storage, Resource("f"), context()
    )
    known, junk = Message(data={"text": "谢谢你"}), Message(data={"text": "qzxv"})
    fallback.process(component.process([known, junk]))
    assert known.get("intent")["name"] == "thank"
    assert junk.get("intent")["name"] == "nlu_fallback"


def test_selector_output_has_rasa_response_selector_shape(storage: LocalModelStorage) -> None:
    resource = Resource("faq")
    config = {**FaqResponseSelector.get_default_config(), **TINY}
    component = FaqResponseSelector.create(config, storage, resource, context())
    component.train(training_data())
    message = Message(data={"text": "匿名举报可以吗"})
    component.process([message])
    selector = message.get("response_selector")
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/anonymous"
    assert response["utter_action"] == "utter_faq/anonymous"
    assert response["responses"] == RESPONSES["utter_faq/anonymous"]
    assert 0.5 < response["confidence"] <= 1.0
    ranking = selector["faq"]["ranking"]
    assert [set(r) for r in ranking] == [{"confidence", "intent_response_key"}] * 2
    assert ranking[0] == {"confidence": response["confidence"], "intent_response_key": "faq/anonymous"}
    assert "response_selector" in message.as_dict_nlu()  # added to the parse output

    loaded = FaqResponseSelector.load(config, storage, resource, context())
    again = Message(data={"text": "匿名举报可以吗"})
    loaded.process([again])
    assert again.get("response_selector") == selector


def test_selector_without_model_leaves_message_alone(storage: LocalModelStorage) -> None:
    component = FaqResponseSelector.load(
        FaqResponseSelector.get_default_config(), storage, Resource("none"), context()
    )
    message = Message(data={"text": "你好"})
    component.process([message])
    assert message.get("response_selector") is None
