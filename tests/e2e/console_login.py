"""Signing in to the staff console in a Playwright page, as a member of staff does."""
from __future__ import annotations

from typing import Any


def log_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Open the console, get sent to the login form, sign in, land on the queue."""
    page.goto(base_url + "/console/")
    assert "/console/login" in page.url
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base_url + "/console/")
