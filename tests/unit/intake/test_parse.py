from __future__ import annotations

from datetime import date

import pytest

from bot.intake.parse import find_demand, find_respondent, parse_free_text

TODAY = date(2026, 11, 23)
VALID_ID = "11010519491231002X"


def test_identity_fields_and_home_address() -> None:
    text = f"我叫张三，电话13812345678，身份证{VALID_ID}，住在浙江省杭州市西湖区文三路1号"
    assert parse_free_text(text, TODAY) == {
        "petitioner_name": "张三",
        "phone": "13812345678",
        "id_number": VALID_ID,
        "address": "浙江省杭州市西湖区文三路1号",
    }


def test_a_letter() -> None:
    letter = (
        "我是李四，家住湖南省长沙市岳麓区麓山路8号。杭州某某建筑公司拖欠我们三十多名工人去年三月到六月的工资，"
        "共计20万元。我们在杭州市西湖区的工地干活。要求公司补发全部工资。"
    )
    found = parse_free_text(letter, TODAY)
    assert found["petitioner_name"] == "李四"
    assert found["address"] == "湖南省长沙市岳麓区麓山路8号"
    assert found["respondent"] == "杭州某某建筑公司"
    assert found["issue_region"] == "浙江省杭州市西湖区"
    assert found["occurred_on"] == "2025-03"
    assert found["people_count"] == 30
    assert found["demand"] == "要求公司补发全部工资"
    assert found["category"] == "labor_social_security"
    assert found["petition_type"] == "grievance"
    assert "facts" not in found


def test_an_accusation() -> None:
    found = parse_free_text("举报我们村的村委会主任贪污征地补偿款，涉及全村一百多户。希望纪委调查处理。", TODAY)
    assert found["petition_type"] == "accusation"
    assert found["category"] == "discipline"
    assert found["respondent"] == "村委会主任"
    assert found["people_count"] == 100
    assert found["demand"] == "希望纪委调查处理"


def test_issue_region_from_the_respondent_but_never_from_the_home_address() -> None:
    found = parse_free_text("投诉杭州市西湖区住建局不作为", TODAY)
    assert found["respondent"] == "杭州市西湖区住建局"
    assert found["issue_region"] == "浙江省杭州市西湖区"
    home_only = parse_free_text("我家住北京市朝阳区建国路88号", TODAY)
    assert home_only["address"] == "北京市朝阳区建国路88号"
    assert "issue_region" not in home_only


def test_invalid_numbers_are_left_out() -> None:
    found = parse_free_text("身份证110105194912310021，电话138123456789", TODAY)
    assert "id_number" not in found and "phone" not in found


def test_digits_of_numbers_are_not_read_as_dates_or_counts() -> None:
    found = parse_free_text(f"身份证{VALID_ID}，座机0571-88886666", TODAY)
    assert "occurred_on" not in found and "people_count" not in found
    assert found["phone"] == "057188886666"


def test_future_dates_are_left_out() -> None:
    assert "occurred_on" not in parse_free_text("2027年3月5日公司停发工资", TODAY)


@pytest.mark.parametrize("text", ["", "同意", "确认提交", "我名字写错了", "与住址相同", "3", "你好"])
def test_short_answers_give_nothing(text: str) -> None:
    assert parse_free_text(text, TODAY) == {}


def test_correction_sentence_gives_the_phone() -> None:
    assert parse_free_text("电话写错了，应该是13912345678", TODAY) == {"phone": "13912345678"}


def test_traditional_characters_are_read() -> None:
    found = parse_free_text("我叫陳大文，電話13812345678", TODAY)
    assert found["phone"] == "13812345678"
    assert found["petitioner_name"] == "陈大文"


@pytest.mark.parametrize(
    "text, respondent",
    [
        ("投诉某某物业公司不给修电梯", "某某物业公司"),
        ("杭州某某建筑公司拖欠我们工资", "杭州某某建筑公司"),
        ("举报某某街道办事处主任", "某某街道办事处主任"),
        ("城西派出所一直不立案", "城西派出所"),
        ("公司拖欠工资", None),
        ("你好", None),
    ],
)
def test_find_respondent(text: str, respondent: str | None) -> None:
    assert find_respondent(text) == respondent


def test_find_demand_prefers_the_last_request() -> None:
    assert find_demand("老板要求我们加班。现在希望政府帮我们要回工资。") == "希望政府帮我们要回工资"
    assert find_demand("我的诉求是：补发工资") == "补发工资"
    assert find_demand("不符合要求") is None


@pytest.mark.parametrize(("text", "address"), [
    ("我叫王建华，电话13912345678，住北京市朝阳区幸福路8号", "北京市朝阳区幸福路8号"),
    ("住：江苏省南京市玄武区中山路5号", "江苏省南京市玄武区中山路5号"),
])
def test_a_bare_zhu_opening_a_clause_gives_the_home_address(text: str, address: str) -> None:
    assert parse_free_text(text, date(2026, 11, 23)).get("address") == address


@pytest.mark.parametrize("text", ["住院治疗花了三万元，医院收费不合理", "我们的住房漏水，物业不管"])
def test_zhu_inside_other_words_is_not_an_address(text: str) -> None:
    assert "address" not in parse_free_text(text, date(2026, 11, 23))


@pytest.mark.parametrize(("text", "expected"), [
    # a place name whose first character is also a boundary word (天, 和) is kept whole
    ("反映他在天心区某建筑工地干了八个月，包工头至今拖欠工资", "天心区某建筑工地"),
    ("投诉和平区城管局乱罚款", "和平区城管局"),
    ("我要投诉前天区政府的决定", "区政府"),
    ("举报在东区医院乱收费", "东区医院"),
])
def test_respondent_keeps_place_names_whole(text: str, expected: str) -> None:
    assert find_respondent(text) == expected
