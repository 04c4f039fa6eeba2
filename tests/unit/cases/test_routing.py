"""Routing by region × category: the shipped table and the most-specific-match rule."""
from __future__ import annotations

import pytest

from bot.cases.routing import (
    Department,
    RoutingRule,
    RoutingTable,
    default_table,
    parse_table,
    route,
    table_to_dict,
)
from bot.cases.service import CATEGORIES
from bot.errors import InvalidField, InvalidInput

EXPECTED_DEFAULTS = {
    "labor_social_security": "rsj", "land_expropriation": "zrzyj", "housing_demolition": "zjj", "housing": "zjj",
    "environment": "sthjj", "enterprise_restructuring": "gzw", "education": "jyj", "healthcare": "wjw",
    "urban_management": "cgj", "transport": "jtj", "agriculture_rural": "nyncj",
    "law_enforcement_judicial": "gaj", "discipline": "jwjw", "commerce_consumer": "scjgj", "other": "xfj",
}


def test_every_contract_category_has_a_default_department() -> None:
    assert set(EXPECTED_DEFAULTS) == set(CATEGORIES)


@pytest.mark.parametrize(("category", "code"), sorted(EXPECTED_DEFAULTS.items()))
def test_default_rule_per_category(category: str, code: str) -> None:
    assert route("广东省广州市天河区", category, default_table()).code == code


@pytest.mark.parametrize("category", [None, "", "unknown_code"])
def test_catch_all_takes_the_rest(category: str | None) -> None:
    department = route(None, category, default_table())
    assert (department.code, department.name) == ("xfj", "信访局")


def test_default_table_round_trips() -> None:
    table = default_table()
    assert parse_table(table_to_dict(table)) == table
    assert {d.code for d in table.departments} >= {"xfj", "rsj", "sfj"}  # 司法局: a transfer target without a rule


def _table(*rules: RoutingRule, inactive: frozenset[str] = frozenset()) -> RoutingTable:
    codes = {"xfj", "rsj", "gz_xfj", "gz_rsj", "th_rsj", "a", "b"}
    return RoutingTable(
        tuple(Department(c, c, c not in inactive) for c in sorted(codes)),
        (RoutingRule("", "", "xfj"), RoutingRule("", "labor_social_security", "rsj"), *rules),
    )


GZ = RoutingRule("广东省广州市", "", "gz_xfj")
GZ_LABOR = RoutingRule("广东省广州市", "labor_social_security", "gz_rsj")
TIANHE_LABOR = RoutingRule("广东省广州市天河区", "labor_social_security", "th_rsj")


def test_region_prefix_matches() -> None:
    table = _table(GZ)
    assert route("广东省广州市越秀区", "education", table).code == "gz_xfj"
    assert route("广东省深圳市南山区", "education", table).code == "xfj"
    assert route("广东省 广州市", "education", table).code == "gz_xfj"  # spaces are ignored


def test_longer_region_prefix_wins_within_a_category() -> None:
    table = _table(GZ_LABOR, TIANHE_LABOR)
    assert route("广东省广州市天河区", "labor_social_security", table).code == "th_rsj"
    assert route("广东省广州市海珠区", "labor_social_security", table).code == "gz_rsj"
    assert route("北京市朝阳区", "labor_social_security", table).code == "rsj"


def test_a_category_rule_beats_a_regional_catch_all() -> None:
    """谁主管、谁负责: a labour matter goes to the labour department, not the general office."""
    table = _table(GZ)
    assert route("广东省广州市天河区", "labor_social_security", table).code == "rsj"


def test_priority_then_order_break_ties() -> None:
    table = _table(RoutingRule("", "environment", "a", 0), RoutingRule("", "environment", "b", 5))
    assert route("x", "environment", table).code == "b"
    table = _table(RoutingRule("", "environment", "a"), RoutingRule("", "environment", "b"))
    assert route("x", "environment", table).code == "a"


def test_inactive_departments_get_nothing() -> None:
    table = _table(GZ_LABOR, inactive=frozenset({"gz_rsj"}))
    assert route("广东省广州市", "labor_social_security", table).code == "rsj"
    assert "gz_rsj" not in table.codes
    with pytest.raises(InvalidInput):
        route("x", "other", _table(inactive=frozenset({"xfj"})))


def _data(**extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "departments": [{"code": "xfj", "name": "信访局"}, {"code": "rsj", "name": "人社局"}],
        "rules": [{"region": "", "category": "", "department": "xfj"}],
    }
    data.update(extra)
    return data


@pytest.mark.parametrize(
    "data",
    [
        _data(rules=[{"region": "", "category": "education", "department": "xfj"}]),  # no catch-all
        _data(rules=[{"department": "nope"}]),
        _data(departments=[{"code": "Bad Code", "name": "x"}]),
        _data(departments=[{"code": "xfj", "name": ""}]),
        _data(departments=[{"code": "xfj", "name": "a"}, {"code": "xfj", "name": "b"}]),
        _data(rules=[{"department": "xfj", "priority": "high"}]),
        _data(departments=[{"code": "xfj", "name": "信访局", "active": False}]),  # catch-all to an inactive one
    ],
)
def test_bad_tables_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(InvalidField):
        parse_table(data)


def test_unknown_category_is_refused_when_categories_are_given() -> None:
    data = _data(rules=[{"department": "xfj"}, {"category": "weather", "department": "rsj"}])
    assert len(parse_table(data).rules) == 2
    with pytest.raises(InvalidField):
        parse_table(data, CATEGORIES)
