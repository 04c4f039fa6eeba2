"""Helpers of the console tests: users, cases, logging in through the real login form."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.backoffice.users import do_create_user
from bot.cases.service import PetitionSubmission, do_submit_petition
from bot.settings import Settings

ADMIN_PW = "Admin-pass-2026"
STAFF_PW = "Staff-pass-2026"
SETTINGS = Settings(backoffice_token="admin-secret", console_max_failed_logins=3, console_lockout_minutes=15,
                    console_login_ip_limit=8)
ID_NUMBER, PHONE = "11010519491231002X", "13812345678"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def make_users(session_factory: sessionmaker) -> None:
    do_create_user(session_factory, "admin1", ADMIN_PW, role="admin", display_name="王管理")
    do_create_user(session_factory, "staff1", STAFF_PW, role="staff", display_name="李办理")
    do_create_user(session_factory, "staff2", STAFF_PW, role="staff", display_name="赵协办")


def submit(session_factory: sessionmaker, *, now: datetime | None = None, **kw: object) -> str:
    values: dict[str, object] = dict(
        petitioner_name="张三", facts="公司拖欠三个月工资。", demand="支付工资。", consent=True,
        id_number=ID_NUMBER, phone=PHONE, category="labor_social_security", channel="wechat",
        sender_id="openid-1", petition_type="grievance", issue_region="北京市朝阳区",
        transcript=[{"role": "citizen", "text": f"我的电话是{PHONE}"}],
    )
    values.update(kw)
    return do_submit_petition(session_factory, PetitionSubmission(**values), now=now).case_no  # type: ignore[arg-type]


def login(client: TestClient, username: str, password: str, *, next_path: str = "") -> str:
    """Log in through the form; returns the CSRF token of the first page after login."""
    client.cookies.clear()
    page = client.get("/console/login")
    assert page.status_code == 200
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": next_path},
    )
    assert response.status_code == 200, response.text[:500]
    assert "退出" in response.text
    return csrf_of(response.text)


def try_login(client: TestClient, username: str, password: str) -> int:
    client.cookies.clear()
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2id with small parameters: the tests log in often on two shared cores
    (production keeps the library's recommended parameters)."""
    from argon2 import PasswordHasher

    from bot.backoffice import users

    monkeypatch.setattr(users, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    users._dummy_hash.cache_clear()
    yield
    users._dummy_hash.cache_clear()


@pytest.fixture
def console(session_factory: sessionmaker, fast_hashing: None) -> Iterator[TestClient]:
    make_users(session_factory)
    with TestClient(create_app(SETTINGS, session_factory)) as client:
        yield client


@pytest.fixture
def other_client(session_factory: sessionmaker, console: TestClient) -> Iterator[TestClient]:
    """A second browser on the same app and database."""
    with TestClient(console.app) as client:
        yield client
