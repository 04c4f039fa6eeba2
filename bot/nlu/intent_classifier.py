"""Rasa component: intent classification with ``bot.nlu.linear`` (seconds to train, no TensorFlow).

Writes ``intent`` ({"name", "confidence"}) and ``intent_ranking`` (top ``ranking_length``,
most probable first) exactly like Rasa's own classifiers, so the FallbackClassifier, the
policies and ``rasa test`` read it unchanged. Confidences are the model's softmax
probabilities (temperature chosen by cross-validation, ``python -m bot.training.nlu_cv``).

With ``split_retrieval_intents: true`` the classifier learns ``faq/<topic>`` as separate
classes and reports their summed probability as ``faq`` (cross-validation decides whether
that helps; it is off in config.yml).
"""
from __future__ import annotations

import logging
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

from bot.nlu.linear import Example, TextClassifier, TextModelConfig

log = logging.getLogger(__name__)

TOKENS = "text_tokens"  # rasa.nlu.constants.TOKENS_NAMES[TEXT]


def example_of(message: Message) -> Example:
    """What the classifiers read of a message: its text and its tokenizer's tokens."""
    tokens = message.get(TOKENS) or []
    return Example(str(message.get(TEXT) or ""), [t.text for t in tokens])


def ranked(labels: list[str], proba: Any, length: int, merge_retrieval: bool) -> list[tuple[str, float]]:
    """(label, probability), most probable first; ``faq/<topic>`` summed into ``faq`` if asked."""
    totals: dict[str, float] = {}
    for label, p in zip(labels, proba, strict=True):
        name = label.split("/", 1)[0] if merge_retrieval else label
        totals[name] = totals.get(name, 0.0) + float(p)
    ranking = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranking[:length] if length > 0 else ranking


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """TF-IDF character n-grams + logistic regression intent classifier."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **asdict(TextModelConfig()),
            "split_retrieval_intents": False,
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
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        split = bool(self._config["split_retrieval_intents"])
        labels = [str((m.get(INTENT_RESPONSE_KEY) if split else None) or m.get(INTENT)) for m in examples]
        if len(set(labels)) < 2:
            log.warning("LinearIntentClassifier: fewer than two intents in the training data; not trained")
            return self._resource
        model = TextClassifier(TextModelConfig.from_dict(self._config))
        model.fit([example_of(m) for m in examples], labels)
        self._model = model
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent: dict[str, Any] = {"name": None, "confidence": 0.0}
            ranking: list[dict[str, Any]] = []
            if self._model is not None and self._model.trained and message.get(TEXT):
                proba = self._model.predict_proba([example_of(message)])[0]
                pairs = ranked(self._model.labels, proba, int(self._config["ranking_length"]), True)
                intent = {"name": pairs[0][0], "confidence": pairs[0][1]}
                ranking = [{"name": name, "confidence": conf} for name, conf in pairs]
            message.set(INTENT, intent, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        if self._model is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(directory)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                model = TextClassifier.load(directory)
        except (ValueError, FileNotFoundError):
            log.debug("LinearIntentClassifier: no trained model in resource %s", resource.name)
            model = None
        return cls(config, model_storage, resource, model)
