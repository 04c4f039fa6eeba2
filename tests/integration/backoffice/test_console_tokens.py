"""Per-user API tokens: scoped, revocable, stored hashed; and the ``python -m bot`` command."""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.backoffice.user_models import ApiToken, User, UserEvent
from bot.backoffice.users import (
    do_create_token,
    do_create_user,
    do_revoke_token,
    do_set_active,
    do_update_user,
)
from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.cases.models import CaseEvent
from bot.cases.privacy import do_set_respondent_department
from bot.cli import main as cli_main
from bot.errors import InvalidInput
from bot.settings import Settings
from tests.integration.backoffice.console_helpers import (
    ID_NUMBER,
    SETTINGS,
    fast_hashing,
    make_users,
    submit,
)

__all__ = ["fast_hashing"]


@pytest.fixture
def api(session_factory: sessionmaker, fast_hashing: None) -> Iterator[TestClient]:
    make_users(session_factory)
    with TestClient(create_app(SETTINGS, session_factory)) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_read_scope_reads_but_does_not_write(api: TestClient, session_factory: sessionmaker) -> None:
    case_no = submit(session_factory)
    token, _ = do_create_token(session_factory, "staff1", ["read"], name="报表")
    with transaction(session_factory) as s:
        stored = s.execute(select(ApiToken.token_hash)).scalar_one()
    assert token.startswith("bo_") and token not in stored
    assert api.get("/api/cases", headers=_bearer(token)).status_code == 200
    assert api.get(f"/api/cases/{case_no}", headers=_bearer(token)).json()["id_number"] != ID_NUMBER
    # pure computations are reads
    assert api.post("/api/intake/parse", json={"text": "我叫张三"}, headers=_bearer(token)).status_code == 200
    # anything that changes state needs "write"
    refused = api.post("/api/handoffs/1/take", headers=_bearer(token))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    writer, _ = do_create_token(session_factory, "staff1", ["read", "write"])
    assert api.post("/api/handoffs/1/take", headers=_bearer(writer)).status_code == 404  # allowed, no such chat


def test_pii_scope_and_roles(api: TestClient, session_factory: sessionmaker) -> None:
    case_no = submit(session_factory)
    staff_plain, _ = do_create_token(session_factory, "staff1", ["read"])
    staff_pii, _ = do_create_token(session_factory, "staff1", ["read", "pii"])
    admin_plain, _ = do_create_token(session_factory, "admin1", ["read"])
    assert api.get(f"/api/cases/{case_no}", headers=_bearer(staff_plain)).json()["pii_masked"] is True
    assert api.get(f"/api/cases/{case_no}", headers=_bearer(staff_pii)).json()["id_number"] == ID_NUMBER
    assert api.get(f"/api/cases/{case_no}", headers=_bearer(admin_plain)).json()["id_number"] == ID_NUMBER
    with transaction(session_factory) as s:
        viewers = set(s.execute(select(CaseEvent.actor).where(CaseEvent.action == "view_identity")).scalars())
    assert viewers == {"staff:staff1", "admin:admin1"}  # every clear view is audited
    # the role is read on every request: a demoted admin's token loses the clear view at once
    do_create_user(session_factory, "admin2", "Second-admin-1", role="admin")
    demoted, _ = do_create_token(session_factory, "admin2", ["read"])
    assert api.get(f"/api/cases/{case_no}", headers=_bearer(demoted)).json()["id_number"] == ID_NUMBER
    do_update_user(session_factory, "admin2", role="staff", actor="admin:admin1")
    assert api.get(f"/api/cases/{case_no}", headers=_bearer(demoted)).json()["pii_masked"] is True
    # an accusation never shows its author to staff of the accused unit, whatever the scope
    accusation = submit(session_factory, petition_type="accusation", respondent="区人社局某科长",
                        sender_id="openid-acc", phone="13700009999", facts="科长收受好处费。", demand="查处。")
    do_set_respondent_department(session_factory, accusation, "rsj", actor="admin:admin1")
    do_update_user(session_factory, "staff1", department_code="rsj", actor="admin:admin1")
    hidden = api.get(f"/api/cases/{accusation}", headers=_bearer(staff_pii)).json()
    assert hidden["identity_hidden"] is True and hidden["phone"] is None
    with pytest.raises(InvalidInput):
        do_create_token(session_factory, "admin1", ["bogus"])


def test_revoked_expired_and_disabled_tokens_stop(api: TestClient, session_factory: sessionmaker) -> None:
    revoked, row = do_create_token(session_factory, "staff1", ["read"])
    do_revoke_token(session_factory, row.id, actor="admin:admin1")
    assert api.get("/api/cases", headers=_bearer(revoked)).status_code == 401
    expired, _ = do_create_token(session_factory, "staff1", ["read"], expires_at=utcnow() - timedelta(seconds=1))
    assert api.get("/api/cases", headers=_bearer(expired)).status_code == 401
    live, _ = do_create_token(session_factory, "staff2", ["read"])
    assert api.get("/api/cases", headers=_bearer(live)).status_code == 200
    do_set_active(session_factory, "staff2", False, actor="admin:admin1")
    assert api.get("/api/cases", headers=_bearer(live)).status_code == 401
    assert api.get("/api/cases", headers=_bearer("bo_made-up")).status_code == 401
    # the environment token keeps working beside the database tokens
    assert api.get("/api/cases", headers=_bearer("admin-secret")).status_code == 200
    with transaction(session_factory) as s:
        actions = set(s.execute(select(UserEvent.action)).scalars())
    assert {"token_created", "token_revoked", "user_disabled"} <= actions


def test_last_admin_cannot_be_removed(session_factory: sessionmaker, fast_hashing: None) -> None:
    make_users(session_factory)
    from bot.errors import Conflict

    with pytest.raises(Conflict):
        do_set_active(session_factory, "admin1", False, actor="cli")
    with pytest.raises(Conflict):
        do_update_user(session_factory, "admin1", role="staff", actor="cli")


# ----------------------------------------------------------------------------- CLI


def _cli(args: list[str], url: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = cli_main(args, settings=Settings(database_url=url), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_cli_users_and_tokens(db_url: str, fast_hashing: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(["user", "create", "--username", "Wang", "--role", "admin", "--display-name", "王敏",
                      "--password-stdin"], db_url, "Strong-pass-42\n")
    assert code == 0 and "已创建用户 wang" in out
    code, _ = _cli(["user", "create", "--username", "wang", "--role", "staff", "--password-stdin"], db_url,
                   "Strong-pass-42\n")
    assert code == 1 and "已经存在" in capsys.readouterr().err
    code, _ = _cli(["user", "passwd", "--username", "wang", "--password-stdin"], db_url, "short\n")
    assert code == 1 and "至少需要10个字符" in capsys.readouterr().err
    code, out = _cli(["token", "create", "--user", "wang", "--scope", "read", "--scope", "pii"], db_url)
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("bo_")
    code, out = _cli(["token", "list"], db_url)
    assert "wang" in out and "pii read" in out and token not in out
    token_id = out.split()[0].lstrip("#")
    assert _cli(["token", "revoke", "--id", token_id], db_url)[0] == 0
    assert "已吊销" in _cli(["token", "list", "--user", "wang"], db_url)[1]
    assert _cli(["user", "create", "--username", "li", "--role", "staff", "--password-stdin"], db_url,
                "Strong-pass-43\n")[0] == 0
    assert _cli(["user", "disable", "--username", "li"], db_url)[0] == 0
    code, out = _cli(["user", "list"], db_url)
    assert "li\tstaff\t停用" in out and "wang\tadmin\t启用\t王敏" in out
    assert _cli(["user", "enable", "--username", "li"], db_url)[0] == 0
    assert _cli(["user", "unlock", "--username", "li"], db_url)[0] == 0


def test_cli_refuses_to_read_a_password_without_a_terminal(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _cli(["user", "create", "--username", "x1", "--role", "staff"], sqlite_url)
    assert code == 1 and "--password-stdin" in capsys.readouterr().err
    from bot.backoffice.users import count_users
    from bot.cases.db import make_engine, make_session_factory

    engine = make_engine(sqlite_url)
    try:
        assert count_users(make_session_factory(engine)) == 0
    finally:
        engine.dispose()


def test_bot_module_runs(sqlite_url: str) -> None:
    import os
    import subprocess
    import sys

    from bot.settings import PROJECT_ROOT

    env = {**os.environ, "DATABASE_URL": sqlite_url, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run([sys.executable, "-m", "bot", "user", "list"], env=env, capture_output=True,
                            text=True, timeout=120, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    help_text = subprocess.run([str(PROJECT_ROOT / "bin" / "bot"), "--help"], env=env, capture_output=True,
                               text=True, timeout=120)
    assert help_text.returncode == 0 and "user" in help_text.stdout


def test_user_rows_never_hold_plain_passwords(session_factory: sessionmaker, fast_hashing: None) -> None:
    make_users(session_factory)
    with transaction(session_factory) as s:
        hashes = list(s.execute(select(User.password_hash)).scalars())
    assert all(h.startswith("$argon2id$") for h in hashes)
