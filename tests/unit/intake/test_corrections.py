from __future__ import annotations

import pytest

from bot.intake.corrections import parse_summary_edit, referenced_field


@pytest.mark.parametrize(
    "text, slot",
    [
        ("电话写错了", "phone"),
        ("手机号不对", "phone"),
        ("身份证号码有误", "id_number"),
        ("名字写错了", "petitioner_name"),
        ("姓名", "petitioner_name"),
        ("地址不对", "address"),
        ("住址要改一下", "address"),
        ("事发地写错了", "issue_region"),
        ("发生地点不对", "issue_region"),
        ("事发地址写错了", "issue_region"),
        ("时间说错了", "occurred_on"),
        ("日期不对", "occurred_on"),
        ("发生时间有误", "occurred_on"),
        ("类别选错了", "category"),
        ("分类不对", "category"),
        ("诉求要改", "demand"),
        ("我的要求写得不对", "demand"),
        ("人数不对", "people_count"),
        ("被反映的单位写错了", "respondent"),
        ("对象不对", "respondent"),
        ("事实部分要补充", "facts"),
        ("经过写得不完整", "facts"),
        ("类型选错了", "petition_type"),
        ("电话写错了，地址也不对", "phone"),
    ],
)
def test_referenced_field(text: str, slot: str) -> None:
    assert referenced_field(text) == slot


@pytest.mark.parametrize("text", ["", "你好", "写错了"])
def test_referenced_field_none(text: str) -> None:
    assert referenced_field(text) is None


@pytest.mark.parametrize(
    "text, edit",
    [
        ("改3", (3, "")),
        ("修改 3", (3, "")),
        ("改第3项", (3, "")),
        ("我要改第三项", (3, "")),
        ("第3项改为 13800138000", (3, "13800138000")),
        ("3 改成 李四", (3, "李四")),
        ("3改", (3, "")),
        ("3应该是李四", (3, "李四")),
        ("改11 要求公司补发工资并赔偿", (11, "要求公司补发工资并赔偿")),
        ("改第12条为5人", (12, "5人")),
        ("第3项：张三", (3, "张三")),
        ("改２", (2, "")),
    ],
)
def test_parse_summary_edit(text: str, edit: tuple[int, str]) -> None:
    assert parse_summary_edit(text) == edit


@pytest.mark.parametrize("text", ["", "3", "改", "改成13912345678", "13912345678", "第一项是对的", "确认提交"])
def test_parse_summary_edit_none(text: str) -> None:
    assert parse_summary_edit(text) is None
