"""Problem categories: suggest one from the narrative, or recognise the one the citizen names.

``suggest_category`` combines two experts (docs/cases.md, "Category suggestion"):

- a statistical classifier — TF-IDF character 1–2-grams → logistic regression — trained on
  our own example messages in ``category_examples.yml`` the first time it is needed (1–2 s
  with the import of scikit-learn) and cached in-process. It reuses ``bot.nlu.linear``, a
  pure numpy/scikit-learn module (no Rasa) that the NLU components wrap as well;
- the keyword lexicon ``category_keywords.yml`` (hand-weighted keywords per category).

The classifier's probabilities are multiplied by a softmax of the lexicon scores
(``exp(score / LEXICON_TEMPERATURE)``), so a strong keyword hit outweighs a weak statistical
preference but one stray keyword does not overrule the whole text. The classifier also knows
messages that name no matter (``no_category``: greetings, form answers, identity data); the
share it gives them is taken from every category. Below ``MIN_CONFIDENCE`` there is no
suggestion: the form then asks the citizen to choose, which beats a confident wrong guess.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.intake._text import halfwidth, to_number
from bot.intake.fields import CATEGORY_LABELS

if TYPE_CHECKING:
    from bot.nlu.linear import TextClassifier, TextModelConfig

LEXICON_FILE = Path(__file__).with_name("category_keywords.yml")
EXAMPLES_FILE = Path(__file__).with_name("category_examples.yml")

OTHER = "other"
#: Pseudo-label of the examples that name no matter (greetings, form answers, identity data):
#: probability mass the classifier gives it is taken from every category.
NO_CATEGORY = "no_category"
#: Every LEXICON_TEMPERATURE points of keyword score multiply a category's odds by e
#: (chosen with ``python -m bot.training.category_cv --grid``, like the classifier's C).
LEXICON_TEMPERATURE = 4.0
#: Below this combined probability of the best category there is no suggestion: in
#: cross-validation a best code under 0.3 is right less than half the time.
MIN_CONFIDENCE = 0.3

# Short names citizens use for a category when they name it themselves.
ALIASES: dict[str, str] = {
    "征地": "land_expropriation",
    "拆迁": "housing_demolition",
    "劳动": "labor_social_security",
    "社保": "labor_social_security",
    "劳动社保": "labor_social_security",
    "环保": "environment",
    "环境": "environment",
    "改制": "enterprise_restructuring",
    "医疗": "healthcare",
    "卫生": "healthcare",
    "住房": "housing",
    "物业": "housing",
    "城管": "urban_management",
    "交通": "transport",
    "农业": "agriculture_rural",
    "农村": "agriculture_rural",
    "三农": "agriculture_rural",
    "政法": "law_enforcement_judicial",
    "公安": "law_enforcement_judicial",
    "司法": "law_enforcement_judicial",
    "法院": "law_enforcement_judicial",
    "纪检": "discipline",
    "纪委": "discipline",
    "监察": "discipline",
    "干部作风": "discipline",
    "市场": "commerce_consumer",
    "消费": "commerce_consumer",
    "其它": "other",
    "别的": "other",
}


@lru_cache(maxsize=1)
def load_lexicon() -> dict[str, dict[str, float]]:
    """Category code → {keyword: weight}, read once from ``category_keywords.yml``."""
    raw = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8")) or {}
    lexicon: dict[str, dict[str, float]] = {}
    for code, words in raw.items():
        if code not in CATEGORY_LABELS:
            raise ValueError(f"unknown category code in {LEXICON_FILE.name}: {code}")
        lexicon[code] = {str(w): float(len(str(w)) if weight is None else weight) for w, weight in (words or {}).items()}
    return lexicon


def category_scores(text: str) -> dict[str, float]:
    """Score of every category with at least one keyword in the text."""
    plain = halfwidth(text or "")
    scores: dict[str, float] = {}
    for code, words in load_lexicon().items():
        score = sum(weight for word, weight in words.items() if word in plain)
        if score > 0:
            scores[code] = score
    return scores


def model_config() -> TextModelConfig:
    """Hyper-parameters of the category classifier (cross-validated: ``bot.training.category_cv``)."""
    from bot.nlu.linear import TextModelConfig

    return TextModelConfig(char_min=1, char_max=2, word_max=0, c=30.0, balance=1.0)


@lru_cache(maxsize=1)
def load_examples() -> dict[str, tuple[str, ...]]:
    """Label → our own example messages (category codes and ``no_category``), read once."""
    raw = yaml.safe_load(EXAMPLES_FILE.read_text(encoding="utf-8")) or {}
    examples: dict[str, tuple[str, ...]] = {}
    for code, texts in raw.items():
        if code not in CATEGORY_LABELS and code != NO_CATEGORY:
            raise ValueError(f"unknown category code in {EXAMPLES_FILE.name}: {code}")
        examples[code] = tuple(str(t).strip() for t in texts or () if str(t).strip())
    return examples


def train_classifier(
    examples: dict[str, tuple[str, ...]] | dict[str, list[str]], config: TextModelConfig | None = None
) -> TextClassifier:
    """A classifier fitted on ``examples`` (code → texts)."""
    from bot.nlu.linear import Example, TextClassifier

    texts = [t for ts in examples.values() for t in ts]
    labels = [code for code, ts in examples.items() for _ in ts]
    return TextClassifier(config or model_config()).fit([Example(t) for t in texts], labels)


@lru_cache(maxsize=1)
def category_classifier() -> TextClassifier:
    """The classifier trained on ``category_examples.yml``, trained at first use and kept."""
    return train_classifier(load_examples())


def combine(classifier_proba: dict[str, float], lexicon: dict[str, float]) -> dict[str, float]:
    """Classifier probabilities × softmax(lexicon score / T), renormalised (a product of experts)."""
    top = max(lexicon.values(), default=0.0)
    weighted = {
        code: p * math.exp((lexicon.get(code, 0.0) - top) / LEXICON_TEMPERATURE)
        for code, p in classifier_proba.items()
    }
    total = sum(weighted.values()) or 1.0
    return {code: w / total for code, w in weighted.items()}


def category_probabilities(text: str, classifier: TextClassifier | None = None) -> dict[str, float]:
    """Every category code with its combined probability for ``text`` (empty for an empty text).

    The probabilities sum to 1 minus the share the classifier gives to ``no_category``.
    """
    from bot.nlu.linear import Example

    plain = halfwidth(text or "").strip()
    if not plain:
        return {}
    model = classifier or category_classifier()
    proba = model.predict_proba([Example(plain)])[0]
    return only_categories(combine(dict(zip(model.labels, (float(p) for p in proba), strict=True)), category_scores(plain)))


def only_categories(probabilities: dict[str, float]) -> dict[str, float]:
    """Drop the ``no_category`` pseudo-label (its share stays missing from the sum)."""
    return {code: p for code, p in probabilities.items() if code in CATEGORY_LABELS}


def decide(probabilities: dict[str, float]) -> str | None:
    """The most probable code when it is probable enough, else None."""
    if not probabilities:
        return None
    best = max(probabilities, key=lambda code: probabilities[code])
    return best if probabilities[best] >= MIN_CONFIDENCE else None


def suggest_category(text: str) -> str | None:
    """The category code a narrative most likely belongs to, or None when the evidence is too weak."""
    return decide(category_probabilities(text))


_NUMBER = re.compile(r"^(?:第\s*)?(?P<n>[0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*(?:个|项|类|号)?\s*[.。、)）]?$")
_FILLER = re.compile(r"^(?:我选|选|是|属于|应该是|算是|就是)|(?:类|问题|方面|的|吧|。|！)+$")


def match_category(text: str) -> str | None:
    """The category the citizen names: its code, its label or part of it, an alias, or 1-15."""
    plain = halfwidth(text or "").strip().strip("“”\"'")
    if not plain:
        return None
    if plain.lower() in CATEGORY_LABELS:
        return plain.lower()
    number = _NUMBER.match(plain)
    if number:
        value = to_number(number["n"])
        codes = list(CATEGORY_LABELS)
        return codes[value - 1] if value is not None and 1 <= value <= len(codes) else None
    core = _FILLER.sub("", plain).strip() or plain
    for code, label in CATEGORY_LABELS.items():
        if core == label or label in plain:
            return code
    if core in ALIASES:
        return ALIASES[core]
    if len(core) >= 2:
        hits = [code for code, label in CATEGORY_LABELS.items() if core in label]
        if len(hits) == 1:
            return hits[0]
    if len(plain) <= 12:
        named = {code for alias, code in ALIASES.items() if alias in plain}
        if len(named) == 1:
            return named.pop()
    return None
