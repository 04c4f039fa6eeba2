from __future__ import annotations

import pytest

from bot.intake.region import Region, normalize_address, parse_region


def test_region_text_skips_empty_and_municipal_placeholders() -> None:
    assert Region("浙江省", "杭州市", "西湖区").text == "浙江省杭州市西湖区"
    assert Region("北京市", "市辖区", "朝阳区").text == "北京市朝阳区"
    assert Region("广东省", "东莞市", "").text == "广东省东莞市"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("浙江省杭州市西湖区文三路1号", "浙江省杭州市西湖区"),
        ("杭州西湖区", "浙江省杭州市西湖区"),
        ("湖南省长沙市岳麓区", "湖南省长沙市岳麓区"),
        ("北京市朝阳区建国路", "北京市朝阳区"),
        ("上海浦东新区世纪大道", "上海市浦东新区"),
        ("广东东莞长安镇", "广东省东莞市"),
        ("吉林", "吉林省"),
    ],
)
def test_parse_region(text: str, expected: str) -> None:
    found = parse_region(text)
    assert found is not None
    assert found.text == expected


@pytest.mark.parametrize("text", ["", "我叫张三", "我在公司上班", "南京路100号", "某某县人民政府"])
def test_no_region(text: str) -> None:
    assert parse_region(text) is None


def test_ambiguous_district_alone_is_not_guessed() -> None:
    assert parse_region("西湖区") is None  # Hangzhou and Nanchang both have one
    assert parse_region("杭州西湖区").city == "杭州市"  # type: ignore[union-attr]


def test_normalize_address() -> None:
    assert normalize_address("浙江杭州西湖区文三路1号") == "浙江省杭州市西湖区文三路1号"
    assert normalize_address("北京市朝阳区建国路88号") == "北京市朝阳区建国路88号"
    assert normalize_address("  文三路1号  ") == "文三路1号"
    assert normalize_address("南京路100号") == "南京路100号"
