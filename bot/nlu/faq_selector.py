"""Rasa component: picks the ``faq/<topic>`` answer with ``bot.nlu.linear`` (replaces ResponseSelector).

Trained on the examples of one retrieval intent (``faq``), labelled by their
``intent_response_key``; each topic's answer text can be added as one more, down-weighted
example (``answer_weight``). The output is what Rasa 3.6's ``ResponseSelector`` writes, so
``utter_faq`` (ActionRetrieveResponse), ``rasa test`` and ``bench/faq.py`` read it unchanged::

    message.data["response_selector"] = {
        "all_retrieval_intents": ["faq"],
        "faq": {
            "response": {"responses": [{"text": ...}], "confidence": 0.93,
                         "intent_response_key": "faq/how_to_petition",
                         "utter_action": "utter_faq/how_to_petition"},
            "ranking": [{"confidence": 0.93, "intent_response_key": "faq/how_to_petition"}, ...],
        },
    }
"""
from __future__ import annotations

import json
import logging
import warnings
from dataclasses import asdict
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_classifier import example_of, ranked
from bot.nlu.linear import Example, TextClassifier, TextModelConfig

log = logging.getLogger(__name__)

RESPONSE_SELECTOR = "response_selector"
RESPONSES_FILE = "responses.json"

# Rasa's recipe validator only knows its own ResponseSelector class and would warn on every
# training that the FAQ examples are unused; this component is the one that uses them.
warnings.filterwarnings(
    "ignore", message=r"You have defined training data with examples for training a response selector"
)


def utter_action(intent_response_key: str) -> str:
    """``faq/how_to_petition`` → ``utter_faq/how_to_petition`` (Rasa's naming)."""
    return f"utter_{intent_response_key}"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(GraphComponent, IntentClassifier):
    """Chooses the answer of a retrieval intent with a linear text classifier."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **asdict(TextModelConfig()),
            "retrieval_intent": "faq",
            "answer_weight": 1.0,  # 0: do not learn from the answer texts
            "ranking_length": 10,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "scipy", "numpy"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: TextClassifier | None = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
        all_retrieval_intents: list[str] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._responses = responses or {}
        self._all_retrieval_intents = all_retrieval_intents or []

    @property
    def retrieval_intent(self) -> str:
        return str(self._config["retrieval_intent"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FaqResponseSelector:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self._all_retrieval_intents = sorted(training_data.retrieval_intents)
        prefix = f"utter_{self.retrieval_intent}/"
        self._responses = {
            name: list(variants) for name, variants in training_data.responses.items() if name.startswith(prefix)
        }
        chosen = [
            m for m in training_data.intent_examples
            if m.get(INTENT) == self.retrieval_intent and m.get(INTENT_RESPONSE_KEY) and m.get(TEXT)
        ]
        examples = [example_of(m) for m in chosen]
        labels = [str(m.get(INTENT_RESPONSE_KEY)) for m in chosen]
        weights = [1.0] * len(examples)
        answer_weight = float(self._config["answer_weight"])
        if answer_weight > 0:
            known = set(labels)
            for name in sorted(self._responses):
                key = name.removeprefix("utter_")
                if key in known:
                    text = " ".join(str(v.get(TEXT) or "") for v in self._responses[name])
                    examples.append(Example(text))
                    labels.append(key)
                    weights.append(answer_weight)
        if len(set(labels)) < 2:
            log.warning("FaqResponseSelector: fewer than two '%s' topics; not trained", self.retrieval_intent)
            return self._resource
        model = TextClassifier(TextModelConfig.from_dict(self._config))
        model.fit(examples, labels, weights)
        self._model = model
        self.persist()
        return self._resource

    def _prediction(self, message: Message) -> dict[str, Any] | None:
        if self._model is None or not self._model.trained or not message.get(TEXT):
            return None
        proba = self._model.predict_proba([example_of(message)])[0]
        pairs = ranked(self._model.labels, proba, int(self._config["ranking_length"]), False)
        key, confidence = pairs[0]
        responses = self._responses.get(utter_action(key)) or [{TEXT: key}]
        return {
            "response": {
                "responses": responses,
                "confidence": confidence,
                INTENT_RESPONSE_KEY: key,
                "utter_action": utter_action(key),
            },
            "ranking": [{"confidence": conf, INTENT_RESPONSE_KEY: name} for name, conf in pairs],
        }

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            prediction = self._prediction(message)
            if prediction is None:
                continue
            properties = dict(message.get(RESPONSE_SELECTOR) or {})
            properties["all_retrieval_intents"] = list(self._all_retrieval_intents)
            properties[self.retrieval_intent] = prediction
            message.set(RESPONSE_SELECTOR, properties, add_to_output=True)
        return messages

    def persist(self) -> None:
        if self._model is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(directory)
            meta = {"responses": self._responses, "all_retrieval_intents": self._all_retrieval_intents}
            (directory / RESPONSES_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FaqResponseSelector:
        try:
            with model_storage.read_from(resource) as directory:
                model = TextClassifier.load(directory)
                meta = json.loads((directory / RESPONSES_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            log.debug("FaqResponseSelector: no trained model in resource %s", resource.name)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model, meta["responses"], meta["all_retrieval_intents"])
