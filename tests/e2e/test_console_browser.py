"""The staff console in a real browser (Playwright + Debian's chromium) against a real
back-office process (``python -m bot.backoffice``) on a free port with a temporary SQLite file.

Users are created with the ``python -m bot`` command, cases with the case service on the same
database file. Every page is checked for Content-Security-Policy violations and script errors.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.cases.db import make_engine, make_session_factory, migrate, transaction
from bot.cases.deadlines import utcnow
from bot.cases.models import Case
from bot.cases.service import PetitionSubmission, do_submit_petition
from bot.outbox.models import OutboxMessage
from bot.settings import PROJECT_ROOT
from tests.e2e.console_login import log_in
from tests.rasa_fixtures import free_port

pytestmark = [pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ADMIN_PW, STAFF_PW = "Admin-pass-2026", "Staff-pass-2026"
READY_TIMEOUT = 60.0


@dataclass
class Console:
    url: str
    db_url: str
    log: Path
    special: dict[str, str] = field(default_factory=dict)

    def session_factory(self):  # type: ignore[no-untyped-def]
        return make_session_factory(make_engine(self.db_url))


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> None:
    result = subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, env=env, capture_output=True,
                            text=True, timeout=120, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr


def _seed(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    migrate(engine)
    factory = make_session_factory(engine)

    def submit(now: datetime | None = None, **kw: object) -> str:
        values: dict[str, object] = dict(consent=True, channel="telegram", petition_type="grievance")
        values.update(kw)
        return do_submit_petition(factory, PetitionSubmission(**values), now=now).case_no  # type: ignore[arg-type]

    try:
        categories = ["environment", "housing", "education", "transport", "urban_management"]
        for i in range(20):
            submit(petitioner_name=f"群众{i}", phone=f"1390000{i:04d}", sender_id=f"tg-{i}",
                   category=categories[i % 5], issue_region=["北京市朝阳区", "上海市浦东新区"][i % 2],
                   facts=f"第{i}号：小区门口的路灯坏了{i + 1}个月。", demand=f"修好路灯{i}。")
        target = submit(petitioner_name="钱多多", phone="13912345678", id_number="11010519491231002X",
                        sender_id="tg-target", category="labor_social_security", issue_region="河北省石家庄市长安区",
                        respondent="某某建筑公司", facts="公司拖欠我三个月工资，一直不给。<script>alert(1)</script>",
                        demand="支付拖欠的工资。")
        overdue = submit(petitioner_name="周超期", phone="13600002222", sender_id="tg-old", category="transport",
                         issue_region="北京市东城区", facts="公交站牌被拆了没有恢复。", demand="恢复站牌。",
                         now=utcnow() - timedelta(days=40))
        return {"target": target, "overdue": overdue}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    root = tmp_path_factory.mktemp("console")
    db_url = f"sqlite:///{root / 'cases.db'}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "BACKOFFICE_HOST": "127.0.0.1", "BACKOFFICE_PORT": str(port),
           "BACKOFFICE_TOKEN": "e2e-admin-token", "PYTHONPATH": str(PROJECT_ROOT), "ATTACHMENTS_DIR": str(root / "att")}
    special = _seed(db_url)
    _cli(env, "user", "create", "--username", "admin1", "--role", "admin", "--display-name", "王管理",
         "--password-stdin", stdin=ADMIN_PW + "\n")
    _cli(env, "user", "create", "--username", "staff1", "--role", "staff", "--display-name", "李办理",
         "--password-stdin", stdin=STAFF_PW + "\n")
    log = root / "backoffice.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot.backoffice"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"back-office exited early:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"back-office not ready in {READY_TIMEOUT}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)  # polling the health check, not synchronising on time
        yield Console(url, db_url, log, special)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser, console_server: Console) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.problems = problems  # type: ignore[attr-defined]
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert problems == [], problems  # no CSP violation, no script error on any page


def test_staff_finds_claims_accepts_and_answers_a_case(page, console_server: Console) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    target = console_server.special["target"]
    log_in(page, console_server.url, "staff1", STAFF_PW)
    expect(page.locator("table.cases tbody tr")).to_have_count(22)

    # filter the queue down to one case among many
    page.get_by_label("问题类别").select_option("labor_social_security")
    page.get_by_label("事发地").fill("河北省")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.cases tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("钱多多")
    expect(rows.first).to_contain_text("待认领")
    page.get_by_role("link", name=target).click()
    page.wait_for_url(f"**/console/cases/{target}")
    expect(page.locator("h1")).to_have_text(target)
    expect(page.get_by_text("<script>alert(1)</script>", exact=False)).to_be_visible()  # shown as text
    expect(page.locator(".pii").first).to_have_text("110105********002X")

    # claim (its form is open), accept, answer
    page.get_by_role("button", name="认领", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("“认领”已完成")
    page.locator("summary", has_text="受理").first.click()
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("“受理”已完成")
    expect(page.locator(".case-head .tag.status")).to_have_text("受理")
    page.locator("summary", has_text="出具处理意见").click()
    page.get_by_label("书面答复意见").fill("经核查，公司已于本月补发全部工资。")
    page.get_by_role("button", name="出具处理意见", exact=True).click()
    expect(page.locator(".case-head .tag.status")).to_have_text("出具处理意见")
    expect(page.locator(".timeline")).to_contain_text("出具处理意见")

    # a reply goes through the outbox to the citizen's channel
    page.get_by_label("回复内容", exact=False).fill("您好，处理意见已出具，请查收。")
    page.get_by_role("button", name="发送回复").click()
    expect(page.get_by_role("status")).to_contain_text("回复已进入发送队列")

    factory = console_server.session_factory()
    with transaction(factory) as s:
        case = s.execute(select(Case).where(Case.case_no == target)).scalar_one()
        messages = s.execute(select(OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.recipient)
                             .where(OutboxMessage.case_id == case.id)).all()
    assert case.status == "answered" and case.assignee == "staff1"
    assert ("reply", "telegram", "tg-target") in [tuple(m) for m in messages]
    assert "status" in {m[0] for m in messages}

    # claimed by me
    page.goto(console_server.url + "/console/?claimed=me")
    expect(page.locator("table.cases tbody tr")).to_have_count(1)


def test_dashboard_escalations_and_letter_registration(page, console_server: Console) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    log_in(page, console_server.url, "staff1", STAFF_PW)
    page.get_by_role("link", name="统计", exact=True).click()
    expect(page.locator("h1")).to_have_text("信访信息统计")
    assert page.locator("svg.chart").count() >= 5
    expect(page.locator(".figure.danger strong")).to_have_text("1")

    page.get_by_role("link", name="临期和超期", exact=True).click()
    expect(page.get_by_role("link", name=console_server.special["overdue"])).to_be_visible()

    page.get_by_role("link", name="登记来信来电来访").click()
    page.get_by_label("来电").check()
    page.get_by_label("来信或记录原文").fill(
        "来电人赵大爷，电话13811112222，反映北京市海淀区某某街道的垃圾站臭味很大，影响居民生活，请求尽快整改。")
    page.get_by_role("button", name="识别").click()
    expect(page.get_by_label("联系电话", exact=False)).to_have_value("13811112222")
    expect(page.locator(".field.recognized").first).to_be_visible()
    page.locator("#n-petitioner_name").fill("赵大爷")
    page.locator("#n-demand").fill("尽快整改垃圾站。")
    page.get_by_label("已告知信访人", exact=False).check()
    page.get_by_role("button", name="提交登记").click()
    expect(page.get_by_role("status")).to_contain_text("已登记")
    expect(page.locator("dl.fields")).to_contain_text("来电")


def test_phone_width_keyboard_and_admin_reveal(browser, console_server: Console) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        tab.goto(console_server.url + "/console/login")
        assert tab.evaluate("document.activeElement.id") == "username"  # the cursor starts in the form
        tab.keyboard.type("admin1")
        tab.keyboard.press("Tab")
        tab.keyboard.type(ADMIN_PW)
        tab.keyboard.press("Enter")  # the form submits from the keyboard
        tab.wait_for_url(console_server.url + "/console/")
        tab.keyboard.press("Tab")  # the first stop is the skip link, which leads to the content
        assert tab.evaluate("document.activeElement.className") == "skip-link"
        tab.keyboard.press("Enter")
        assert tab.evaluate("document.activeElement.id") == "main"
        for path in ("/console/", f"/console/cases/{console_server.special['target']}", "/console/dashboard",
                     "/console/admin/users", "/console/cases/new"):
            tab.goto(console_server.url + path)
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} is {width}px wide on a 375px screen"
        tab.goto(console_server.url + f"/console/cases/{console_server.special['target']}")
        tab.once("dialog", lambda dialog: dialog.accept())
        tab.get_by_role("button", name="显示完整身份证号和电话").click()
        expect(tab.locator(".pii").first).to_have_text("11010519491231002X")
        expect(tab.locator(".timeline")).to_contain_text("查看完整身份信息")
        tab.get_by_role("button", name="退出").click()
        tab.wait_for_url("**/console/login?bye=1")
        tab.goto(console_server.url + "/console/admin/users")
        assert "/console/login" in tab.url
    finally:
        context.close()
    assert problems == [], problems
