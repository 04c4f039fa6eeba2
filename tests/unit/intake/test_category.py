from __future__ import annotations

import pytest

from bot.intake.category import category_scores, load_lexicon, match_category, suggest_category
from bot.intake.fields import CATEGORY_LABELS


def test_lexicon_covers_every_category_but_other() -> None:
    assert set(load_lexicon()) == set(CATEGORY_LABELS) - {"other"}
    assert all(weight > 0 for words in load_lexicon().values() for weight in words.values())


@pytest.mark.parametrize(
    "text, code",
    [
        ("公司拖欠工资三个月，社保也没交", "labor_social_security"),
        ("在工地受了工伤，老板不签劳动合同", "labor_social_security"),
        ("村里征地的土地补偿一直没有发", "land_expropriation"),
        ("宅基地征收补偿太低", "land_expropriation"),
        ("开发商强拆我家的房子，拆迁补偿不合理", "housing_demolition"),
        ("房屋征收没有给安置房", "housing_demolition"),
        ("工厂排污，河水发黑有异味", "environment"),
        ("楼下饭店噪音太大", "environment"),
        ("国企改制时被下岗买断工龄", "enterprise_restructuring"),
        ("孩子入学被学校拒绝，学费乱收", "education"),
        ("医院发生医疗事故", "healthcare"),
        ("医保报销不了", "labor_social_security"),
        ("小区物业不维修电梯", "housing"),
        ("买的房子烂尾了，房产证办不下来", "housing"),
        ("城管没收了我的摊位，门口违建没人管", "urban_management"),
        ("路灯坏了半年", "urban_management"),
        ("公交车改线后不方便，出租车拒载", "transport"),
        ("交通罚款不合理，驾照被扣", "transport"),
        ("承包地被村集体收回", "agriculture_rural"),
        ("土地流转的钱没给，农业补贴被截留", "agriculture_rural"),
        ("派出所不立案，警察推诿", "law_enforcement_judicial"),
        ("法院判决后一直执行不了", "law_enforcement_judicial"),
        ("村干部贪污征地补偿款", "discipline"),
        ("办事窗口吃拿卡要", "discipline"),
        ("商家卖假货不给退款", "commerce_consumer"),
        ("超市出售过期食品，食品安全有问题", "commerce_consumer"),
    ],
)
def test_suggest_category(text: str, code: str) -> None:
    assert suggest_category(text) == code


def test_no_keyword_no_suggestion() -> None:
    assert suggest_category("今天天气不错") is None
    assert suggest_category("") is None
    assert category_scores("你好") == {}


@pytest.mark.parametrize(
    "text, code",
    [
        ("labor_social_security", "labor_social_security"),
        ("劳动和社会保障", "labor_social_security"),
        ("劳动", "labor_social_security"),
        ("社保", "labor_social_security"),
        ("3", "labor_social_security"),
        ("第三个", "labor_social_security"),
        ("1", "land_expropriation"),
        ("15", "other"),
        ("十五", "other"),
        ("公安", "law_enforcement_judicial"),
        ("环保问题", "environment"),
        ("纪检监察", "discipline"),
        ("属于教育类", "education"),
        ("其他", "other"),
        ("市场和消费", "commerce_consumer"),
    ],
)
def test_match_category(text: str, code: str) -> None:
    assert match_category(text) == code


@pytest.mark.parametrize("text", ["", "是的", "对", "不是", "16", "0", "征收", "我也不知道是哪一类呀这个问题很复杂"])
def test_match_category_none(text: str) -> None:
    assert match_category(text) is None
