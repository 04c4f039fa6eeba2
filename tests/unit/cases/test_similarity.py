"""Is it the same matter? Paraphrases of one matter match, other matters of the same person do not."""
from __future__ import annotations

import pytest

from bot.cases.similarity import (
    REPEAT_THRESHOLD,
    is_same_matter,
    matter_similarity,
    normalize,
    respondent_similarity,
    similarity,
)

# (facts, respondent) pairs told twice in other words
SAME = [
    (("我在该公司工地做工，2026年8月至10月的工资共计三万二千元至今未发。多次讨要无果。", "北京某建筑工程有限公司"),
     ("北京某建筑公司拖欠我8到10月工资3.2万元，一直不给，讨了好几次都没用。", "北京某建筑公司")),
    (("村里征收我家承包地5亩，补偿款一直没有发放到位。", "某某村委会"),
     ("我家5亩承包地被征收了，村委会到现在还没发补偿款。", "某某村村民委员会")),
    (("小区旁边的化工厂每天晚上排放刺鼻气体，居民头晕恶心。", "某化工厂"),
     ("化工厂夜里偷排废气，味道刺鼻，我们小区很多人头晕。", "某化工厂")),
    (("物业公司私自提高物业费，从每平米1.5元涨到2.5元，没有业主大会同意。", "阳光物业公司"),
     ("阳光物业未经业主大会同意，把物业费从1.5元涨到2.5元每平方米。", "阳光物业")),
    (("公司拖欠我三个月工资两万元，要求支付。", None),
     ("三个月工资两万元公司一直拖欠不发，请帮我讨回。", "甲公司")),
    (("我在该公司工地做工，工资三万二千元至今未发。", "北京某建筑工程有限公司"),
     ("我在该公司工地做工，工资三万二千元至今未发。", "北京某建筑工程有限公司")),
]
# the same person, another matter
DIFFERENT = [
    (("我在该公司工地做工，2026年8月至10月的工资共计三万二千元至今未发。", "北京某建筑工程有限公司"),
     ("小区旁边的化工厂每天晚上排放刺鼻气体，居民头晕恶心。", "某化工厂")),
    (("村里征收我家承包地5亩，补偿款一直没有发放到位。", None),
     ("孩子所在学校乱收补课费，每学期一千元。", None)),
    (("物业公司私自提高物业费，从每平米1.5元涨到2.5元。", "阳光物业公司"),
     ("物业公司不维修漏水的电梯，多次报修没人管。", "阳光物业公司")),
    (("公司拖欠我三个月工资两万元。", "甲公司"), ("公司不给我缴纳社会保险，已经两年了。", "甲公司")),
    (("公司拖欠我三个月工资两万元。", "甲公司"), ("公司拖欠我三个月工资两万元。", "乙公司")),
    (("道路施工噪音扰民，夜里十二点还在施工。", "市政工程公司"), ("小区门口的路灯坏了三个月没人修。", None)),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_matter(a: tuple[str, str | None], b: tuple[str, str | None]) -> None:
    assert matter_similarity(a[0], a[1], b[0], b[1]) >= REPEAT_THRESHOLD
    assert is_same_matter(a[0], a[1], b[0], b[1])
    assert is_same_matter(b[0], b[1], a[0], a[1])  # symmetric


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_matter(a: tuple[str, str | None], b: tuple[str, str | None]) -> None:
    assert matter_similarity(a[0], a[1], b[0], b[1]) < REPEAT_THRESHOLD
    assert not is_same_matter(a[0], a[1], b[0], b[1])


def test_identical_text_scores_one_and_empty_zero() -> None:
    assert similarity("拖欠工资", "拖欠工资") == pytest.approx(1.0)
    assert similarity("", "拖欠工资") == 0.0
    assert similarity(None, None) == 0.0


def test_normalize_drops_punctuation_and_folds_width() -> None:
    assert normalize("ＡＢＣ，拖欠 工资！123") == "abc拖欠工资123"


@pytest.mark.parametrize(("text", "expected"), [
    ("三万二千元", "32000元"), ("3.2万元", "32000元"), ("两万元", "20000元"), ("十五天", "15天"),
    ("二〇二六年", "2026年"), ("十二点", "12点"), ("一直不给", "一直不给"), ("万一", "万一"), ("两人", "两人"),
])
def test_numbers_read_as_digits(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_respondents() -> None:
    assert respondent_similarity("北京某建筑工程有限公司", "北京某建筑工程公司") == 1.0
    assert respondent_similarity("阳光物业", "阳光物业有限公司") == 1.0
    assert respondent_similarity("甲公司", "乙公司") < 0.5
    assert respondent_similarity(None, "甲公司") is None
    assert respondent_similarity("某某中学", "某某村委会") < 0.5  # "某某" is a placeholder, not a name
