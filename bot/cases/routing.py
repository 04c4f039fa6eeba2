"""Routing a case to a department by region × category (pure; the table is data).

``route(region, category, table)`` returns the department of the most specific matching
rule: a rule naming the case's category beats a category catch-all, then the longer
region prefix wins, then the higher ``priority``, then the rule listed first. A table
must contain one catch-all rule (region '' and category ''), so every case is routed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InvalidField, InvalidInput

DEFAULT_TABLE_PATH = Path(__file__).resolve().parent / "departments.yml"
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class RoutingRule:
    region: str
    category: str
    department: str
    priority: int = 0

    def matches(self, region: str, category: str) -> bool:
        return region.startswith(self.region) and self.category in ("", category)


@dataclass(frozen=True)
class RoutingTable:
    departments: tuple[Department, ...]
    rules: tuple[RoutingRule, ...]

    @property
    def by_code(self) -> dict[str, Department]:
        return {d.code: d for d in self.departments}

    @property
    def codes(self) -> frozenset[str]:
        """Codes of the departments cases can be sent to (active ones)."""
        return frozenset(d.code for d in self.departments if d.active)


def normalize_region(value: str | None) -> str:
    return re.sub(r"[\s/·,，、]+", "", value or "")


def route(region: str | None, category: str | None, table: RoutingTable) -> Department:
    """The department a case of ``region`` (issue_region text) and ``category`` goes to."""
    where, what = normalize_region(region), category or ""
    departments = table.by_code
    best: tuple[tuple[int, int, int, int], RoutingRule] | None = None
    for index, rule in enumerate(table.rules):
        if not rule.matches(where, what) or not departments[rule.department].active:
            continue
        key = (1 if rule.category else 0, len(rule.region), rule.priority, -index)
        if best is None or key > best[0]:
            best = (key, rule)
    if best is None:
        raise InvalidInput("the routing table has no rule for this case (no active catch-all)")
    return departments[best[1].department]


def parse_table(data: Mapping[str, Any], categories: Iterable[str] | None = None) -> RoutingTable:
    """Validate a routing table given as data (YAML file or an admin's JSON)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("the routing table must be an object")
    departments: list[Department] = []
    seen: set[str] = set()
    for item in data.get("departments") or []:
        code, name = str(item.get("code") or "").strip(), str(item.get("name") or "").strip()
        if not _CODE_RE.match(code):
            raise InvalidField("departments", f"bad department code {code!r}",
                               user_message="部门代码只能用小写字母、数字和下划线，最长32位。")
        if not name or len(name) > 100:
            raise InvalidField("departments", f"department {code} needs a name of at most 100 characters",
                               user_message="请填写部门名称（不超过100字）。")
        if code in seen:
            raise InvalidField("departments", f"department {code} listed twice", user_message=f"部门代码{code}重复了。")
        seen.add(code)
        departments.append(Department(code, name, bool(item.get("active", True))))
    known_categories = frozenset(categories) if categories is not None else None
    rules: list[RoutingRule] = []
    for item in data.get("rules") or []:
        region = normalize_region(str(item.get("region") or ""))
        category = str(item.get("category") or "").strip()
        department = str(item.get("department") or item.get("department_code") or "").strip()
        priority = item.get("priority", 0)
        if department not in seen:
            raise InvalidField("rules", f"rule names unknown department {department!r}",
                               user_message=f"规则中的部门{department or '（空）'}不存在。")
        if known_categories is not None and category and category not in known_categories:
            raise InvalidField("rules", f"unknown category {category!r}", user_message=f"没有这个类别：{category}。")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InvalidField("rules", "priority must be an integer", user_message="优先级必须是整数。")
        if len(region) > 200:
            raise InvalidField("rules", "region longer than 200 characters", user_message="地区太长了。")
        rules.append(RoutingRule(region, category, department, priority))
    active = {d.code for d in departments if d.active}
    if not any(r.region == "" and r.category == "" and r.department in active for r in rules):
        raise InvalidField("rules", "the table needs a catch-all rule (region '' and category '')",
                           user_message="至少需要一条“任何地区、任何类别”、指向在用部门的兜底规则。")
    return RoutingTable(tuple(departments), tuple(rules))


@lru_cache(maxsize=1)
def default_table() -> RoutingTable:
    """The seed table shipped in ``departments.yml``."""
    with DEFAULT_TABLE_PATH.open(encoding="utf-8") as handle:
        return parse_table(yaml.safe_load(handle))


def table_to_dict(table: RoutingTable) -> dict[str, Any]:
    return {
        "departments": [{"code": d.code, "name": d.name, "active": d.active} for d in table.departments],
        "rules": [
            {"region": r.region, "category": r.category, "department": r.department, "priority": r.priority}
            for r in table.rules
        ],
    }
