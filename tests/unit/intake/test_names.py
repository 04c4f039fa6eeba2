from __future__ import annotations

import pytest

from bot.errors import InvalidField
from bot.intake.names import find_name, validate_name


@pytest.mark.parametrize(
    "text, name",
    [
        ("我叫张三", "张三"),
        ("我叫张三，电话13812345678", "张三"),
        ("我叫张三电话13812345678", "张三"),
        ("我是李四，", "李四"),
        ("姓名：王五", "王五"),
        ("本人赵六", "赵六"),
        ("本人赵六，身份证号如下", "赵六"),
        ("您好，我是王小明，想反映个问题", "王小明"),
        ("我是欧阳娜娜。", "欧阳娜娜"),
        ("我叫买买提·艾力", "买买提·艾力"),
        ("我叫买买提•艾力，家住新疆", "买买提·艾力"),
        ("我叫阿依古丽", "阿依古丽"),
    ],
)
def test_find_name(text: str, name: str) -> None:
    assert find_name(text) == name


@pytest.mark.parametrize(
    "text", ["", "张三", "我名字写错了", "我是被拖欠工资的工人", "我是本地村民", "我的名字是错的", "本人", "我要投诉"]
)
def test_find_name_none(text: str) -> None:
    assert find_name(text) is None


@pytest.mark.parametrize(
    "text, name",
    [
        ("张三", "张三"),
        ("我叫张三", "张三"),
        ("我是李四。", "李四"),
        ("姓名：王五", "王五"),
        ("Tom Smith", "Tom Smith"),
        ("买买提 · 艾力", "买买提·艾力"),
        ("阿卜杜热合曼·买买提", "阿卜杜热合曼·买买提"),
    ],
)
def test_validate_name(text: str, name: str) -> None:
    assert validate_name(text) == name


@pytest.mark.parametrize(
    "text, hint",
    [("", "姓名"), ("12345", "数字"), ("张3", "数字"), ("张", "2到20"), ("王@", "汉字"), ("我叫", "姓名"),
     ("一二三四五六七八九十一二三四五六七八九十一", "2到20")],
)
def test_validate_name_rejects(text: str, hint: str) -> None:
    with pytest.raises(InvalidField) as exc:
        validate_name(text)
    assert exc.value.field == "petitioner_name"
    assert hint in exc.value.user_message
