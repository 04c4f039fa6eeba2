"""Pure parts of the console: charts, redirects, CSV cells, filters, password policy, scopes."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from starlette.requests import Request

from bot.backoffice.auth import Principal, Role, required_scope
from bot.backoffice.console.case_routes import QueueFilters, _csv_cell
from bot.backoffice.console.charts import bar_chart
from bot.backoffice.console.security import login_url, safe_next, tokens_match
from bot.backoffice.users import AuthPolicy, ConsoleSession, check_password_policy, hash_secret
from bot.errors import InvalidInput
from bot.settings import Settings


def test_chart_escapes_labels_and_scales_bars() -> None:
    svg = str(bar_chart([("<script>x</script>", 10), ("环境", 5), ("空", 0)], title='A"B'))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-label="A&#34;B：' in svg
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths == [260, 130, 0]
    assert "style=" not in svg  # the CSP allows no inline style
    assert "暂无数据" in str(bar_chart([], title="x"))


@pytest.mark.parametrize("value, expected", [
    ("/console/cases/XF20261123-0001", "/console/cases/XF20261123-0001"),
    ("/console/?status=registered", "/console/?status=registered"),
    ("//evil.example/console/", "/console/"),
    ("https://evil.example/console/", "/console/"),
    ("/api/cases", "/console/"),
    ("/console\\evil", "/console/"),
    ("", "/console/"),
])
def test_safe_next(value: str, expected: str) -> None:
    assert safe_next(value) == expected


def test_login_url_keeps_the_target() -> None:
    assert login_url("/console/?q=a b") == "/console/login?next=/console/%3Fq%3Da%20b"
    assert login_url("/console/") == "/console/login"


@pytest.mark.parametrize("cell, shown", [
    ("=1+1", "'=1+1"), ("+86", "'+86"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("张三", "张三"),
    (None, ""), (5, "5"),
])
def test_csv_cells_cannot_become_formulas(cell: object, shown: str) -> None:
    assert _csv_cell(cell) == shown


def _request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/console/", "query_string": query.encode(),
                    "headers": []})


def test_queue_filters_read_only_known_values() -> None:
    me = ConsoleSession("s", 1, "li", "李", "staff", None, "t", datetime.now(timezone.utc))
    filters = QueueFilters.from_request(_request("status=bogus&category=housing&due=overdue&claimed=me&page=-3"
                                                 "&sort=zzz&joint=1&region=北京市"))
    assert (filters.status, filters.category, filters.due, filters.page, filters.sort) == ("", "housing", "overdue", 1, "due")
    kwargs = filters.service_kwargs(me)
    assert kwargs["claimed_by"] == "li" and kwargs["joint"] is True and kwargs["status"] is None
    assert QueueFilters.from_request(_request("claimed=none")).service_kwargs(me)["claimed_by"] == "-"
    assert "page=2" in filters.query(page=2) and "status" not in filters.query()


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa", "abababababab", "my-li-password"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_password_policy(password, "li")


def test_good_password_passes() -> None:
    check_password_policy("Correct-horse-7", "li")


def test_scopes() -> None:
    assert required_scope("GET", "/api/cases") == "read"
    assert required_scope("POST", "/api/intake/parse") == "read"
    assert required_scope("POST", "/api/cases/XF1/actions/claim") == "write"
    token = Principal("li", Role.STAFF, frozenset({"read"}))
    assert token.has_scope("read") and not token.has_scope("write") and not token.may_see_pii
    assert Principal("li", Role.STAFF, frozenset({"read", "pii"})).may_see_pii
    assert Principal("admin", Role.ADMIN).may_see_pii and Principal("admin", Role.ADMIN).has_scope("write")


def test_policy_from_settings_and_secrets() -> None:
    policy = AuthPolicy.from_settings(Settings(console_max_failed_logins=0, console_session_idle_minutes=5))
    assert policy.max_failed_logins == 1 and policy.session_idle.total_seconds() == 300
    assert len(hash_secret("x")) == 64 and hash_secret("x") != hash_secret("y")
    assert tokens_match("abc", "abc") and not tokens_match("abc", "abd") and not tokens_match("", "")
