"""Rasa component: normalise message text (traditional → simplified) before jieba.

Citizens in Hong Kong, Macao, Taiwan and overseas write traditional characters;
the training data is simplified. Converting first lets one model serve both.
"""
from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.intake.normalize import normalize_text


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class TraditionalToSimplified(GraphComponent):
    """Rewrites the ``text`` attribute of every message in simplified Chinese."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TraditionalToSimplified:
        return cls()

    @staticmethod
    def required_packages() -> list[str]:
        return []  # opencc-python-reimplemented, imported lazily by bot.intake.normalize

    def _convert(self, message: Message) -> None:
        text: str | None = message.get(TEXT)
        if text and not text.startswith("/"):
            message.set(TEXT, normalize_text(text))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._convert(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._convert(example)
        return training_data
