"""Every cited article exists in the statute texts kept beside the design (when present)."""
from __future__ import annotations

import re

import pytest

from bot.triage.model import load_table
from tests.statutes import statutes_dir

STATUTES = statutes_dir()
FILES = {
    "刑事诉讼法": "刑事诉讼法",
    "信访工作条例": "信访工作条例",
    "监察法": "监察法",
    "行政复议法": "行政复议法",
    "行政诉讼法": "行政诉讼法",
    "民事诉讼法": "民事诉讼法",
    "最高人民法院关于适用〈中华人民共和国行政诉讼法〉的解释": "最高人民法院关于适用《行政诉讼法》的解释",
    "劳动争议调解仲裁法": "劳动争议调解仲裁法",
    "劳动保障监察条例": "劳动保障监察条例",
    "工伤保险条例": "工伤保险条例",
    "农村土地承包经营纠纷调解仲裁法": "农村土地承包经营纠纷调解仲裁法",
    "人民调解法": "人民调解法",
    "民法典": "民法典总则",
    "消费者权益保护法": "消费者权益保护法",
    "环境保护法": "环境保护法",
    "医疗纠纷预防和处理条例": "医疗纠纷预防和处理条例",
    "法律援助法": "法律援助法",
}
#: checked against a secondary copy of the 2025 text instead (not in statutes/)
SECONDARY = {"仲裁法（2025年修订）"}


def _all_citations() -> list[tuple[str, str]]:
    table = load_table()
    cites = {(c.law, c.article) for r in table.rules for c in r.citations}
    cites |= {(c.law, c.article) for a in table.addenda for c in a.citations}
    return sorted(cites)


def test_every_law_is_known() -> None:
    assert {law for law, _ in _all_citations()} <= set(FILES) | SECONDARY


@pytest.mark.skipif(STATUTES is None, reason="statute texts (../shared/domain/statutes, STATUTES_DIR) not available")
@pytest.mark.parametrize(("law", "article"), [c for c in _all_citations() if c[0] in FILES])
def test_article_exists_in_statute_text(law: str, article: str) -> None:
    assert STATUTES is not None
    files = [p for p in STATUTES.glob("*.md") if p.name.startswith(FILES[law])]
    assert files, law
    text = files[0].read_text(encoding="utf-8")
    assert re.search(rf"(?m)^\s*{article}[\s　]", text), f"{law} {article}"
