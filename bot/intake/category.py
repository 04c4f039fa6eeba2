"""Problem categories: suggest one from the narrative, or recognise the one the citizen names."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from bot.intake._text import halfwidth, to_number
from bot.intake.fields import CATEGORY_LABELS

LEXICON_FILE = Path(__file__).with_name("category_keywords.yml")

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


def suggest_category(text: str) -> str | None:
    """The best-scoring category code for a narrative, or None when no keyword matches."""
    scores = category_scores(text)
    if not scores:
        return None
    order = list(load_lexicon())
    return max(scores, key=lambda code: (scores[code], -order.index(code)))


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
