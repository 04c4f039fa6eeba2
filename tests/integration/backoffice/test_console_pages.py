"""Console pages: roles, the queue and its filters, CSV, the case page and its actions,
identity reveal, registration of letters and calls, dashboard, admin pages."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.backoffice.user_models import User, UserEvent
from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.cases.models import Case, CaseEvent
from bot.outbox.models import OutboxMessage
from tests.integration.backoffice.console_helpers import (
    ADMIN_PW,
    ID_NUMBER,
    PHONE,
    STAFF_PW,
    console,
    csrf_of,
    fast_hashing,
    login,
    other_client,
    submit,
)

__all__ = ["console", "fast_hashing", "other_client"]  # fixtures


def _case(session_factory: sessionmaker, case_no: str) -> Case:
    with transaction(session_factory) as s:
        return s.execute(select(Case).where(Case.case_no == case_no)).scalar_one()


def _events(session_factory: sessionmaker, case_no: str) -> list[tuple[str, str]]:
    with transaction(session_factory) as s:
        rows = s.execute(select(CaseEvent.action, CaseEvent.actor).join(Case).where(Case.case_no == case_no)
                         .order_by(CaseEvent.id)).all()
    return [(a, b) for a, b in rows]


def _case_nos(html: str) -> list[str]:
    return re.findall(r'<a href="/console/cases/(XF[\d-]+)">', html)


def _seed_many(session_factory: sessionmaker) -> dict[str, str]:
    """Twelve unrelated cases plus a few special ones; returns the special case numbers."""
    regions = ["北京市朝阳区", "北京市海淀区", "上海市浦东新区", "河北省石家庄市长安区"]
    categories = ["environment", "housing", "education", "transport"]
    for i in range(12):
        submit(session_factory, petitioner_name=f"群众{i}", phone=f"1390000{i:04d}", id_number=None,
               sender_id=f"open-{i}", category=categories[i % 4], issue_region=regions[i % 4],
               facts=f"第{i}号事项：小区旁边的问题{i}一直没有解决。", demand=f"请处理问题{i}。")
    special = {
        "target": submit(session_factory, petitioner_name="钱多多", phone="13912345678", id_number=None,
                         sender_id="open-target", category="healthcare", issue_region="上海市徐汇区",
                         respondent="某某医院", facts="医院乱收费，多收了检查费。", demand="退还多收的费用。"),
        "joint": submit(session_factory, petitioner_name="孙联名", phone="13700001111", id_number=None,
                        sender_id="open-joint", people_count=6, category="agriculture_rural",
                        issue_region="河北省保定市", facts="村里土地承包款没有发放。", demand="发放承包款。"),
        "overdue": submit(session_factory, petitioner_name="周超期", phone="13600002222", id_number=None,
                          sender_id="open-old", category="commerce_consumer", issue_region="北京市东城区",
                          facts="商家拒绝退货，态度恶劣。", demand="退货退款。", now=utcnow() - timedelta(days=40)),
    }
    return special


# ----------------------------------------------------------------------------- roles


def test_staff_cannot_use_admin_pages_or_reveal(console: TestClient, session_factory: sessionmaker) -> None:
    case_no = submit(session_factory)
    token = login(console, "staff1", STAFF_PW)
    assert "用户和部门" not in console.get("/console/").text  # no admin link for staff
    page = console.get("/console/admin/users")
    assert page.status_code == 403 and "只有管理员" in page.text
    created = console.post("/console/admin/users", data={"csrf_token": token, "username": "eve", "role": "admin",
                                                         "password": "Secret-pass-77"})
    assert created.status_code == 403
    with transaction(session_factory) as s:
        assert s.execute(select(User).where(User.username == "eve")).first() is None
    detail = console.get(f"/console/cases/{case_no}")
    assert ID_NUMBER not in detail.text and PHONE not in detail.text
    assert "110105********002X" in detail.text and "138****5678" in detail.text
    assert "显示完整身份证号和电话" not in detail.text
    refused = console.post(f"/console/cases/{case_no}/reveal", data={"csrf_token": token})
    assert refused.status_code == 403 and ID_NUMBER not in refused.text
    assert "view_identity" not in [a for a, _ in _events(session_factory, case_no)]


def test_admin_reveal_is_an_audited_case_event(console: TestClient, session_factory: sessionmaker) -> None:
    case_no = submit(session_factory)
    token = login(console, "admin1", ADMIN_PW)
    page = console.get(f"/console/cases/{case_no}")
    assert ID_NUMBER not in page.text and PHONE not in page.text  # masked until asked for
    assert console.get(f"/console/cases/{case_no}?reveal=1").text.count(ID_NUMBER) == 0  # no GET shortcut
    revealed = console.post(f"/console/cases/{case_no}/reveal", data={"csrf_token": token})
    assert revealed.status_code == 200
    assert ID_NUMBER in revealed.text and PHONE in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    assert ("view_identity", "admin:admin1") in _events(session_factory, case_no)
    assert "查看完整身份信息" in console.get(f"/console/cases/{case_no}").text  # on the timeline


# ----------------------------------------------------------------------------- queue and CSV


def test_queue_filters_find_one_case_among_many(console: TestClient, session_factory: sessionmaker) -> None:
    special = _seed_many(session_factory)
    login(console, "staff1", STAFF_PW)
    everything = console.get("/console/?sort=newest")
    assert "共 15 件" in everything.text
    found = _case_nos(console.get("/console/", params={"category": "healthcare", "region": "上海市"}).text)
    assert found == [special["target"]]
    assert _case_nos(console.get("/console/", params={"q": "乱收费"}).text) == [special["target"]]
    assert _case_nos(console.get("/console/", params={"joint": "1"}).text) == [special["joint"]]
    overdue = console.get("/console/", params={"due": "overdue"})
    assert _case_nos(overdue.text) == [special["overdue"]]
    assert 'class="overdue"' in overdue.text and "已超期" in overdue.text
    assert _case_nos(console.get("/console/", params={"status": "accepted"}).text) == []
    # sorted by due date: the overdue case first
    assert _case_nos(console.get("/console/?sort=due").text)[0] == special["overdue"]
    # claimed by me
    token = csrf_of(console.get(f"/console/cases/{special['target']}").text)
    claimed = console.post(f"/console/cases/{special['target']}/actions/claim", data={"csrf_token": token})
    assert claimed.status_code == 200 and "“认领”已完成" in claimed.text
    assert _case_nos(console.get("/console/?claimed=me").text) == [special["target"]]
    assert special["target"] not in _case_nos(console.get("/console/?claimed=none&sort=newest").text)
    # unknown filter values are ignored instead of failing
    assert console.get("/console/?status=bogus&due=x&sort=y&page=abc").status_code == 200


def test_queue_pages(console: TestClient, session_factory: sessionmaker) -> None:
    for i in range(27):
        submit(session_factory, petitioner_name=f"群众{i}", phone=f"1380000{i:04d}", id_number=None,
               sender_id=f"p-{i}", facts=f"事项{i}：路灯坏了{i}个月。", demand=f"修好路灯{i}。")
    login(console, "staff1", STAFF_PW)
    first = console.get("/console/?sort=newest")
    assert "第 1 / 2 页" in first.text and 'rel="next"' in first.text
    second = console.get("/console/?sort=newest&page=2")
    assert len(_case_nos(second.text)) == 2 and 'rel="prev"' in second.text
    assert not set(_case_nos(first.text)) & set(_case_nos(second.text))


def test_csv_export_follows_the_filters_and_masks(console: TestClient, session_factory: sessionmaker) -> None:
    special = _seed_many(session_factory)
    submit(session_factory, petitioner_name="=HYPERLINK(\"http://x\")", phone="13500003333", sender_id="open-f",
           category="healthcare", issue_region="上海市静安区", facts="药店卖假药。", demand="查处。")
    login(console, "staff1", STAFF_PW)
    queue = console.get("/console/", params={"category": "healthcare"})
    link = re.search(r'href="(/console/cases\.csv\?[^"]+)"', queue.text)
    assert link and "category=healthcare" in link.group(1)
    response = console.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][0] == "编号" and len(rows) == 3
    numbers = {r[0] for r in rows[1:]}
    assert special["target"] in numbers
    assert "'=HYPERLINK(\"http://x\")" in {r[5] for r in rows[1:]}  # formula defused
    assert "13912345678" not in response.text and "139****5678" in response.text


# ----------------------------------------------------------------------------- case page


def test_citizen_text_is_escaped(console: TestClient, session_factory: sessionmaker) -> None:
    case_no = submit(session_factory, petitioner_name="<script>alert(1)</script>",
                     facts='物业不修电梯<img src=x onerror="alert(2)">', demand="修电梯",
                     transcript=[{"role": "citizen", "text": "<svg onload=alert(3)>"}])
    login(console, "admin1", ADMIN_PW)
    for path in ("/console/", f"/console/cases/{case_no}"):
        html = console.get(path).text
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = console.get(f"/console/cases/{case_no}").text
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<svg onload" not in html


def test_claim_accept_answer_and_reply_from_the_case_page(
    console: TestClient, other_client: TestClient, session_factory: sessionmaker
) -> None:
    case_no = submit(session_factory)
    token = login(console, "staff1", STAFF_PW)
    page = console.get(f"/console/cases/{case_no}")
    for action in ("claim", "accept", "not_accept", "transfer"):
        assert f"/actions/{action}\"" in page.text, action
    assert "/actions/answer\"" not in page.text  # not possible before acceptance

    assert console.post(f"/console/cases/{case_no}/actions/claim", data={"csrf_token": token}).status_code == 200
    # someone else cannot act on the held case
    other_token = login(other_client, "staff2", STAFF_PW)
    refused = other_client.post(f"/console/cases/{case_no}/actions/accept", data={"csrf_token": other_token})
    assert refused.status_code == 409 and "这件案件已由李办理认领" in refused.text
    assert "承办：李办理" in refused.text
    assert _case(session_factory, case_no).status == "registered"

    accepted = console.post(f"/console/cases/{case_no}/actions/accept", data={"csrf_token": token, "note": "属实"})
    assert accepted.status_code == 200 and "“受理”已完成" in accepted.text
    missing = console.post(f"/console/cases/{case_no}/actions/answer", data={"csrf_token": token, "answer": " "})
    assert missing.status_code == 422 and "请填写书面答复意见" in missing.text
    answered = console.post(f"/console/cases/{case_no}/actions/answer",
                            data={"csrf_token": token, "answer": "经核查，公司已于本月补发工资。"})
    assert answered.status_code == 200
    case = _case(session_factory, case_no)
    assert case.status == "answered" and case.answer_text == "经核查，公司已于本月补发工资。"

    replied = console.post(f"/console/cases/{case_no}/reply", data={"csrf_token": token, "text": "您好，工资已补发。"})
    assert replied.status_code == 200 and "回复已进入发送队列" in replied.text
    with transaction(session_factory) as s:
        messages = s.execute(select(OutboxMessage.kind, OutboxMessage.recipient, OutboxMessage.text)
                             .where(OutboxMessage.case_id == case.id).order_by(OutboxMessage.id)).all()
    assert ("reply", "openid-1") in [(k, r) for k, r, _ in messages]
    assert any("工资已补发" in t for k, _, t in messages if k == "reply")
    assert {"status"} <= {k for k, _, _ in messages}
    actions = [a for a, _ in _events(session_factory, case_no)]
    assert actions[-4:] == ["claim", "accept", "answer", "reply"]
    assert ("accept", "staff:staff1") in _events(session_factory, case_no)


def test_unknown_case_and_action(console: TestClient, session_factory: sessionmaker) -> None:
    token = login(console, "staff1", STAFF_PW)
    missing = console.get("/console/cases/XF20200101-0001")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    case_no = submit(session_factory)
    assert console.post(f"/console/cases/{case_no}/actions/fly", data={"csrf_token": token}).status_code == 404


# ----------------------------------------------------------------------------- letters, calls, visits

LETTER = ("尊敬的领导：我叫王小明，身份证号11010519491231002X，电话13912345678，住北京市朝阳区幸福路1号。"
          "2026年3月以来，幸福小区物业一直不修电梯，老人上下楼很困难。请求责令物业尽快修好电梯。")


def test_register_a_letter_with_recognition(console: TestClient, session_factory: sessionmaker) -> None:
    token = login(console, "staff1", STAFF_PW)
    form = console.get("/console/cases/new")
    key = re.search(r'name="form_key" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    parsed = console.post("/console/cases/new", data={"csrf_token": token, "form_key": key, "op": "parse",
                                                      "channel": "letter", "text": LETTER})
    assert parsed.status_code == 200
    html = parsed.text
    assert 'value="王小明"' in html and 'value="13912345678"' in html and 'value="11010519491231002X"' in html
    assert "已识别" in html
    fields = {name: value for name, value in re.findall(r'name="(\w+)" type="text" value="([^"]*)"', html)}
    assert fields["petitioner_name"] == "王小明"

    values = {"csrf_token": token, "form_key": key, "op": "submit", "channel": "letter", "text": LETTER,
              "petitioner_name": "王小明", "phone": "13912345678", "id_number": "11010519491231002x",
              "category": "housing", "facts": "物业一直不修电梯。", "demand": "尽快修好电梯。", "people_count": "1"}
    no_consent = console.post("/console/cases/new", data=values)
    assert no_consent.status_code == 422 and "同意" in no_consent.text
    done = console.post("/console/cases/new", data={**values, "consent": "1"}, follow_redirects=False)
    assert done.status_code == 303
    case_no = done.headers["location"].split("/")[-1].split("?")[0]
    case = _case(session_factory, case_no)
    assert case.channel == "letter" and case.id_number == "11010519491231002X" and case.sender_id is None
    assert _events(session_factory, case_no)[0] == ("submit", "staff:staff1")
    assert "已登记" in console.get(done.headers["location"]).text
    again = console.post("/console/cases/new", data={**values, "consent": "1"}, follow_redirects=False)
    assert again.headers["location"].split("/")[-1].split("?")[0] == case_no  # a double click stores one case
    page = console.get(f"/console/cases/{case_no}")
    assert "没有可以回复的聊天账号" in page.text  # letters are answered in writing


def test_recognition_needs_text(console: TestClient) -> None:
    token = login(console, "staff1", STAFF_PW)
    response = console.post("/console/cases/new", data={"csrf_token": token, "op": "parse", "text": ""})
    assert response.status_code == 400 and "请先粘贴" in response.text


# ----------------------------------------------------------------------------- dashboard, escalations


def test_dashboard_and_escalations(console: TestClient, session_factory: sessionmaker) -> None:
    special = _seed_many(session_factory)
    login(console, "staff1", STAFF_PW)
    page = console.get("/console/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") >= 5 and "按问题类别" in page.text and "医疗卫生" in page.text
    assert re.search(r"已超期</span><strong>1</strong>", page.text)
    escal = console.get("/console/escalations")
    assert special["overdue"] in escal.text and special["target"] not in escal.text


# ----------------------------------------------------------------------------- admin


def test_admin_manages_users_and_tokens(console: TestClient, session_factory: sessionmaker) -> None:
    token = login(console, "admin1", ADMIN_PW)
    created = console.post("/console/admin/users", data={
        "csrf_token": token, "username": "Zhou", "display_name": "周新", "role": "staff",
        "password": "Welcome-home-9", "department_code": "rsj"})
    assert created.status_code == 200 and "用户已创建" in created.text
    with transaction(session_factory) as s:
        user = s.execute(select(User).where(User.username == "zhou")).scalar_one()
        assert user.department_code == "rsj" and user.password_hash.startswith("$argon2id$")
        audit = s.execute(select(UserEvent.action, UserEvent.actor).where(UserEvent.username == "zhou")).all()
    assert ("user_created", "admin:admin1") in [(a, b) for a, b in audit]
    weak = console.post("/console/admin/users", data={"csrf_token": token, "username": "wu", "role": "staff",
                                                      "password": "short"})
    assert weak.status_code == 422 and "至少需要10个字符" in weak.text

    issued = console.post("/console/admin/tokens", data={"csrf_token": token, "username": "zhou",
                                                         "scope": ["read"], "name": "报表"})
    secret = re.search(r'id="new-token">(bo_[\w-]+)<', issued.text)
    assert secret, issued.text[:2000]
    api = console.get("/api/cases", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert api.status_code == 200
    assert secret.group(1) not in console.get("/console/admin/users").text  # shown once only
    token_id = re.search(r'/console/admin/tokens/(\d+)/revoke', console.get("/console/admin/users").text).group(1)  # type: ignore[union-attr]
    console.post(f"/console/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert console.get("/api/cases", headers={"Authorization": f"Bearer {secret.group(1)}"}).status_code == 401

    selfish = console.post("/console/admin/users/admin1/active", data={"csrf_token": token, "active": "0"})
    assert selfish.status_code == 409
    disabled = console.post("/console/admin/users/zhou/active", data={"csrf_token": token, "active": "0"})
    assert disabled.status_code == 200 and "账号已停用" in disabled.text


def test_admin_edits_departments(console: TestClient, session_factory: sessionmaker) -> None:
    token = login(console, "admin1", ADMIN_PW)
    saved = console.post("/console/admin/departments", data={"csrf_token": token, "code": "mzj", "name": "民政局",
                                                             "active": "1"})
    assert saved.status_code == 200 and "民政局" in saved.text
    bad = console.post("/console/admin/departments", data={"csrf_token": token, "code": "Bad Code", "name": "x",
                                                           "active": "1"})
    assert bad.status_code == 422
    rule = console.post("/console/admin/rules", data={"csrf_token": token, "region": "北京市", "category": "other",
                                                      "department": "mzj", "priority": "1"})
    assert rule.status_code == 200 and "部门和分派规则已保存" in rule.text


def test_accusation_author_is_hidden_from_the_accused_unit(console: TestClient, session_factory: sessionmaker) -> None:
    from bot.backoffice.users import do_update_user
    from bot.cases.privacy import do_set_respondent_department

    case_no = submit(session_factory, petition_type="accusation", petitioner_name="吴举报", respondent="区人社局某科长",
                     facts="科长收受好处费。", demand="查处。")
    do_set_respondent_department(session_factory, case_no, "rsj", actor="admin:admin1")
    do_update_user(session_factory, "staff1", department_code="rsj", actor="admin:admin1")
    login(console, "staff1", STAFF_PW)
    for path in ("/console/", f"/console/cases/{case_no}", "/console/cases.csv"):
        text = console.get(path).text
        assert "吴举报" not in text and "138****5678" not in text and "我的电话" not in text, path
    assert "不显示反映人的身份信息" in console.get(f"/console/cases/{case_no}").text
    login(console, "staff2", STAFF_PW)  # another department sees the name (numbers masked)
    assert "吴举报" in console.get(f"/console/cases/{case_no}").text


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + \
        chunk(b"IEND", b"")


def test_attachments_are_listed_and_downloaded(session_factory: sessionmaker, fast_hashing: None, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from bot.backoffice.app import create_app
    from bot.cases.attachments import AttachmentPolicy, do_store_attachment, link_pending_attachments
    from tests.integration.backoffice.console_helpers import SETTINGS, make_users

    make_users(session_factory)
    settings = replace(SETTINGS, attachments_dir=str(tmp_path / "files"))
    stored = do_store_attachment(session_factory, AttachmentPolicy.from_settings(settings), channel="wechat",
                                 sender_id="openid-1", kind="image", data=_png(), filename="合同.png")
    pending = do_store_attachment(session_factory, AttachmentPolicy.from_settings(settings), channel="wechat",
                                  sender_id="someone-else", kind="image", data=_png(), filename="x.png")
    case_no = submit(session_factory)
    link_pending_attachments(session_factory, case_no, channel="wechat", sender_id="openid-1")
    with TestClient(create_app(settings, session_factory)) as client:
        login(client, "staff1", STAFF_PW)
        page = client.get(f"/console/cases/{case_no}")
        assert f'href="/console/attachments/{stored.id}"' in page.text
        download = client.get(f"/console/attachments/{stored.id}")
        assert download.status_code == 200 and download.content == _png()
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.headers["x-content-type-options"] == "nosniff"
        assert pending.id != stored.id
        assert client.get(f"/console/attachments/{pending.id}").status_code == 403  # not linked: admins only
        login(client, "admin1", ADMIN_PW)
        assert client.get(f"/console/attachments/{pending.id}").status_code == 200
