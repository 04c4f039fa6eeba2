"""Is a new petition the same matter as an earlier one? (pure; character n-grams).

Chinese has no spaces and citizens retell a matter in other words, so texts are compared
as bags of characters and character bigrams (numbers in Chinese numerals or with 万 read as
digits first, so 三万二千元 and 3.2万元 agree), weighted (a TF-IDF in spirit, with the
"document frequency" fixed by hand): function characters count nothing, single characters
half, bigrams made of words found in nearly every petition (要求, 问题, 反映 …) a fifth,
other bigrams fully; term counts are damped (1 + log tf) and the vectors compared by cosine.

A matter is what happened (facts) and about whom (respondent); the demand is left out, its
wording is too alike across petitions ("请求依法处理").
When both petitions name a respondent, they must name the same one (compared without
generic endings like 有限公司 or 村委会): a petition against another company is another
matter however alike the story; naming the same one adds a small bonus to the facts score.
Same petitioner is checked by the caller; this only compares the matters.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

#: score at or above which two petitions of the same petitioner are the same matter
REPEAT_THRESHOLD = 0.33
#: respondents that are less alike than this make two different matters
RESPONDENT_MIN = 0.5
#: added to the facts score when both petitions name the same respondent
RESPONDENT_BONUS = 0.1

_STOP_CHARS = frozenset("的了我在是有和就不人都一个上也很到说要去你会着没看好自己这他她们为与及或等被把对从向给让啊吧呢吗")
_COMMON_WORDS = frozenset(
    ["我们", "要求", "反映", "问题", "情况", "希望", "请求", "政府", "相关", "部门", "有关", "没有", "一直", "至今", "多次", "处理", "解决", "他们", "已经", "但是", "因为", "所以", "这个", "那个", "进行", "工作", "依法", "时间", "今年", "去年", "现在", "一个", "无果", "公司", "单位", "领导"]
)
_GENERIC_ENDINGS = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|分公司|公司|集团|村民委员会|居民委员会|村委会|居委会|委员会|"
    r"人民政府|政府|办事处|管理局|局|厂|学校|医院|中心)$"
)
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_WAN_DECIMAL = re.compile(r"(\d+(?:\.\d+)?)万")


def _cn_to_int(text: str) -> int | None:
    """一万二千 -> 12000, 三十五 -> 35, 二〇二六 -> 2026; None when it is not a number."""
    if all(ch in _CN_DIGITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text)) if len(text) > 1 else _CN_DIGITS[text]
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
    return total + section + (digit or 0)


def _numbers_to_digits(text: str) -> str:
    """Amounts and dates written in Chinese numerals or with 万 become plain digits
    (三万二千元 and 3.2万元 both read 32000元), so retellings agree on them."""
    def cn(match: re.Match[str]) -> str:
        word = match.group(0)
        if (len(word) == 1 and word in "一两十") or word[0] in "万千百":  # 一直, 两人, 万一: words
            return word
        value = _cn_to_int(word)
        return word if value is None else str(value)

    text = _CN_NUMBER.sub(cn, text)
    return _WAN_DECIMAL.sub(lambda m: str(round(float(m.group(1)) * 10000)), text)


def normalize(text: str | None) -> str:
    """Full-width to half-width (NFKC), lower case, numbers as digits, punctuation and spaces removed."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return _DROP.sub("", _numbers_to_digits(folded))


def grams(text: str | None) -> Counter[str]:
    """Characters and character bigrams of the normalised text, with counts."""
    clean = normalize(text)
    found: Counter[str] = Counter(clean)
    found.update(clean[i:i + 2] for i in range(len(clean) - 1))
    return found


def weight(gram: str) -> float:
    if len(gram) == 1:
        return 0.0 if gram in _STOP_CHARS else 0.5
    if gram in _COMMON_WORDS:
        return 0.2
    return 1.0


def cosine(a: Counter[str], b: Counter[str]) -> float:
    wa = {g: (1 + math.log(c)) * weight(g) for g, c in a.items()}
    wb = {g: (1 + math.log(c)) * weight(g) for g, c in b.items()}
    dot = sum(w * wb[g] for g, w in wa.items() if g in wb)
    norm = math.sqrt(sum(w * w for w in wa.values())) * math.sqrt(sum(w * w for w in wb.values()))
    return dot / norm if norm else 0.0


def similarity(a: str | None, b: str | None) -> float:
    """Cosine (0..1) of two texts' weighted characters and bigrams."""
    return cosine(grams(a), grams(b))


def _core_name(name: str) -> str:
    clean = normalize(name).replace("某", "")  # 某某公司: "某" stands for a name left out
    for _ in range(3):  # 某某集团有限公司 -> 某某
        stripped = _GENERIC_ENDINGS.sub("", clean)
        if stripped == clean or not stripped:
            break
        clean = stripped
    return clean


def respondent_similarity(a: str | None, b: str | None) -> float | None:
    """How alike two respondents are (None when either is not named)."""
    if not normalize(a) or not normalize(b):
        return None
    core_a, core_b = _core_name(a or ""), _core_name(b or "")
    if core_a == core_b:
        return 1.0
    if core_a and core_b and (core_a in core_b or core_b in core_a):
        return 0.9
    return similarity(core_a, core_b)


def matter_similarity(
    facts_a: str | None, respondent_a: str | None, facts_b: str | None, respondent_b: str | None
) -> float:
    """0..1: how likely two petitions (facts, respondent) are the same matter."""
    facts = similarity(facts_a, facts_b)
    who = respondent_similarity(respondent_a, respondent_b)
    if who is None:
        return facts
    if who < RESPONDENT_MIN:
        return 0.0
    return min(1.0, facts + RESPONDENT_BONUS * who)


def is_same_matter(
    facts_a: str | None, respondent_a: str | None, facts_b: str | None, respondent_b: str | None,
    threshold: float = REPEAT_THRESHOLD,
) -> bool:
    return matter_similarity(facts_a, respondent_a, facts_b, respondent_b) >= threshold
