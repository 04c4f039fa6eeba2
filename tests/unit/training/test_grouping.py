"""Grouping of similar inbox messages."""
from __future__ import annotations

from bot.training.grouping import assign_group, cluster, key_for, normalize, similarity


def test_normalize_drops_punctuation_space_width_and_digits() -> None:
    assert normalize("您好！电话 138****5678。") == "您好电话#"
    assert normalize("ＡＢＣ，abc") == "abcabc"
    assert normalize("编号XF20260101-0001") == normalize("编号XF20251231-0099")


def test_similarity_bounds() -> None:
    assert similarity("我的事情办到哪一步了", "我的事情办到哪一步了") == 1.0
    assert similarity("", "abc") == 0.0
    assert similarity("今天天气好", "我要投诉村干部") == 0.0
    near = similarity(normalize("我的事情办到哪一步了"), normalize("我的事情办到哪步了？"))
    assert 0.6 <= near < 1.0


def test_assign_group_joins_the_most_similar_leader_above_threshold() -> None:
    leaders = [("a", normalize("我的事情办到哪一步了")), ("b", normalize("怎么申请劳动仲裁"))]
    assert assign_group(normalize("我的事情办到哪步了"), leaders) == "a"
    assert assign_group(normalize("劳动仲裁怎么申请呢"), leaders, threshold=0.3) == "b"
    unrelated = normalize("讲个笑话吧")
    assert assign_group(unrelated, leaders) == key_for(unrelated)


def test_assign_group_threshold_is_respected() -> None:
    leaders = [("a", normalize("我的事情办到哪一步了"))]
    text = normalize("我的事情办到哪步了")
    assert assign_group(text, leaders, threshold=0.99) != "a"


def test_cluster_keeps_order_and_groups_near_duplicates() -> None:
    groups = cluster([
        (1, "我的信访件到哪一步了"), (2, "讲个笑话"), (3, "我的信访件到哪一步了？？"), (4, "我的信访件到哪步了"),
    ])
    assert [g.ids for g in groups] == [(1, 3, 4), (2,)]
    assert groups[0].key == key_for(normalize("我的信访件到哪一步了"))
