"""Console login, lockout, rate limit, CSRF, session expiry, logout and security headers."""
from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.backoffice.user_models import User, UserEvent, WebSession
from bot.backoffice.users import do_set_active, do_set_password, do_unlock_user
from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.settings import Settings
from tests.integration.backoffice.console_helpers import (
    ADMIN_PW,
    SETTINGS,
    STAFF_PW,
    console,
    csrf_of,
    fast_hashing,
    login,
    other_client,
    try_login,
)

__all__ = ["console", "fast_hashing", "other_client"]  # fixtures


def _events(session_factory: sessionmaker, username: str) -> list[str]:
    with transaction(session_factory) as s:
        return list(s.execute(select(UserEvent.action).where(UserEvent.username == username)
                              .order_by(UserEvent.id)).scalars())


def test_pages_need_a_login_and_come_back_after_it(console: TestClient) -> None:
    response = console.get("/console/?status=registered", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/%3Fstatus%3Dregistered"
    page = console.get(response.headers["location"])
    assert 'name="next" value="/console/?status=registered"' in page.text
    answer = console.post("/console/login", data={
        "username": "staff1", "password": STAFF_PW, "csrf_token": csrf_of(page.text),
        "next": "/console/?status=registered"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/?status=registered"


def test_login_sets_a_strict_session_cookie(console: TestClient, session_factory: sessionmaker) -> None:
    page = console.get("/console/login")
    login_cookie = page.headers["set-cookie"]
    assert "xf_login_csrf=" in login_cookie and "HttpOnly" in login_cookie and "SameSite=strict" in login_cookie
    response = console.post("/console/login", data={"username": " Staff1 ", "password": STAFF_PW,
                                                    "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("xf_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # CONSOLE_COOKIE_SECURE is off in development
    token = cookie.split(";")[0].split("=", 1)[1]
    with transaction(session_factory) as s:
        ids = list(s.execute(select(WebSession.id)).scalars())
    assert len(ids) == 1 and token not in ids[0]  # only the hash is stored
    assert _events(session_factory, "staff1")[-1] == "login"


def test_secure_cookie_setting(session_factory: sessionmaker, console: TestClient) -> None:
    settings = Settings(console_cookie_secure=True)
    with TestClient(create_app(settings, session_factory), base_url="https://testserver") as client:
        page = client.get("/console/login")
        response = client.post("/console/login", data={"username": "staff1", "password": STAFF_PW,
                                                       "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("xf_session="))
        assert "; Secure" in cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(console: TestClient) -> None:
    page = console.get("/console/login")
    wrong = console.post("/console/login", data={"username": "staff1", "password": "nope-nope-nope",
                                                 "csrf_token": csrf_of(page.text)})
    page = console.get("/console/login")
    unknown = console.post("/console/login", data={"username": "ghost", "password": "nope-nope-nope",
                                                   "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_lockout_after_repeated_failures(console: TestClient, session_factory: sessionmaker) -> None:
    for _ in range(SETTINGS.console_max_failed_logins):
        assert try_login(console, "staff1", "wrong-password-x") == 401
    # locked: even the right password is refused, with a Retry-After and a plain explanation
    page = console.get("/console/login")
    locked = console.post("/console/login", data={"username": "staff1", "password": STAFF_PW,
                                                  "csrf_token": csrf_of(page.text)})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 60 * (SETTINGS.console_lockout_minutes - 1)
    assert "锁定" in locked.text
    assert "user_locked" in _events(session_factory, "staff1")
    # other accounts are not affected
    assert try_login(console, "staff2", STAFF_PW) == 303
    # the lock ends by itself ...
    with transaction(session_factory, write=True) as s:
        s.execute(update(User).where(User.username == "staff1").values(locked_until=utcnow() - timedelta(seconds=1)))
    assert try_login(console, "staff1", STAFF_PW) == 303
    # ... or an admin lifts it
    for _ in range(SETTINGS.console_max_failed_logins):
        try_login(console, "staff1", "wrong-password-x")
    assert try_login(console, "staff1", STAFF_PW) == 429
    do_unlock_user(session_factory, "staff1", actor="admin:admin1")
    assert try_login(console, "staff1", STAFF_PW) == 303


def test_unknown_names_lock_too(console: TestClient) -> None:
    for _ in range(SETTINGS.console_max_failed_logins):
        assert try_login(console, "nobody", "whatever-pass") == 401
    assert try_login(console, "nobody", "whatever-pass") == 429


def test_rate_limit_per_ip(console: TestClient) -> None:
    statuses = [try_login(console, f"guess{i}", "whatever-pass") for i in range(SETTINGS.console_login_ip_limit)]
    assert set(statuses) == {401}
    assert try_login(console, "staff1", STAFF_PW) == 429  # this address is throttled for every name


def test_login_form_needs_its_csrf_cookie(console: TestClient, session_factory: sessionmaker) -> None:
    page = console.get("/console/login")
    token = csrf_of(page.text)
    console.cookies.clear()
    response = console.post("/console/login", data={"username": "staff1", "password": STAFF_PW, "csrf_token": token})
    assert response.status_code == 403
    with transaction(session_factory) as s:
        assert s.execute(select(WebSession)).first() is None


def test_every_post_checks_the_csrf_token(console: TestClient, session_factory: sessionmaker) -> None:
    token = login(console, "admin1", ADMIN_PW)
    form = {"username": "mallory", "password": "Secret-pass-77", "role": "admin"}
    assert console.post("/console/admin/users", data=form).status_code == 403
    assert console.post("/console/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    assert console.post("/console/admin/users", data={**form, "csrf_token": token},
                        headers={"Origin": "https://evil.example"}).status_code == 403
    assert console.post("/console/logout", data={}).status_code == 403
    with transaction(session_factory) as s:
        assert s.execute(select(User).where(User.username == "mallory")).first() is None
    ok = console.post("/console/admin/users", data={**form, "csrf_token": token},
                      headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert ok.status_code == 303


def test_csrf_token_belongs_to_one_session(console: TestClient, other_client: TestClient) -> None:
    mine = login(console, "admin1", ADMIN_PW)
    theirs = login(other_client, "staff1", STAFF_PW)
    assert mine != theirs
    response = other_client.post("/console/logout", data={"csrf_token": mine})
    assert response.status_code == 403


def test_idle_and_absolute_expiry(console: TestClient, session_factory: sessionmaker) -> None:
    login(console, "staff1", STAFF_PW)
    assert console.get("/console/").status_code == 200
    idle = timedelta(minutes=SETTINGS.console_session_idle_minutes, seconds=1)
    with transaction(session_factory, write=True) as s:
        s.execute(update(WebSession).values(last_seen_at=utcnow() - idle))
    assert console.get("/console/", follow_redirects=False).status_code == 303
    with transaction(session_factory) as s:
        assert s.execute(select(WebSession)).first() is None  # the ended session is deleted

    login(console, "staff1", STAFF_PW)
    with transaction(session_factory, write=True) as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_activity_keeps_a_session_alive(console: TestClient, session_factory: sessionmaker) -> None:
    login(console, "staff1", STAFF_PW)
    almost = timedelta(minutes=SETTINGS.console_session_idle_minutes - 1)
    with transaction(session_factory, write=True) as s:
        s.execute(update(WebSession).values(last_seen_at=utcnow() - almost))
    assert console.get("/console/").status_code == 200
    with transaction(session_factory) as s:
        seen = s.execute(select(WebSession.last_seen_at)).scalar_one()
    assert utcnow() - seen < timedelta(minutes=1)


def test_logout_ends_the_session_on_the_server(console: TestClient, session_factory: sessionmaker) -> None:
    token = login(console, "staff1", STAFF_PW)
    cookie = console.cookies.get("xf_session")
    response = console.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login?bye=1"
    assert "您已安全退出" in console.get("/console/login?bye=1").text
    console.cookies.set("xf_session", cookie or "", path="/console")  # a copied cookie is useless now
    assert console.get("/console/", follow_redirects=False).status_code == 303
    assert _events(session_factory, "staff1")[-1] == "logout"


def test_disabling_or_a_new_password_ends_sessions(console: TestClient, session_factory: sessionmaker) -> None:
    login(console, "staff1", STAFF_PW)
    do_set_password(session_factory, "staff1", "Another-pass-99", actor="admin:admin1")
    assert console.get("/console/", follow_redirects=False).status_code == 303
    assert try_login(console, "staff1", STAFF_PW) == 401
    login(console, "staff1", "Another-pass-99")
    do_set_active(session_factory, "staff1", False, actor="admin:admin1")
    assert console.get("/console/", follow_redirects=False).status_code == 303
    assert try_login(console, "staff1", "Another-pass-99") == 401


def test_next_parameter_cannot_leave_the_console(console: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/api/cases", "/console\\@evil"):
        page = console.get("/console/login", params={"next": target})
        assert 'name="next" value="/console/"' in page.text, target


def test_security_headers_on_every_console_response(console: TestClient) -> None:
    pages = [console.get("/console/login"), console.get("/console/static/console.css"),
             console.get("/console/", follow_redirects=False), console.get("/console/no-such-page")]
    login(console, "admin1", ADMIN_PW)
    pages += [console.get("/console/"), console.get("/console/admin/users"), console.get("/console/cases.csv")]
    for response in pages:
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    assert pages[-1].headers["cache-control"] == "no-store"
    assert console.get("/console/no-such-page").status_code == 404
    assert "text/html" in console.get("/console/no-such-page").headers["content-type"]
    # the JSON API keeps its own answers (Swagger UI needs its scripts)
    api = console.get("/api/cases", headers={"Authorization": "Bearer admin-secret"})
    assert api.status_code == 200 and "content-security-policy" not in api.headers
    assert console.get("/api/nothing").json()["code"] == "not_found"


def test_pages_contain_no_inline_script(console: TestClient) -> None:
    login(console, "admin1", ADMIN_PW)
    for path in ("/console/", "/console/admin/users", "/console/dashboard", "/console/cases/new"):
        html = console.get(path).text
        assert "<script>" not in html and "onclick=" not in html and "style=" not in html, path
