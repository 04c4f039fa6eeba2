"""Content rules of the real FAQ (bot/knowledge/faq.yml)."""

from __future__ import annotations

import re

import pytest

from bot.knowledge import KNOWN_LAWS, load_faq
from bot.knowledge.model import ARTICLE_RE, Citation, FaqTopic
from tests.statutes import statutes_dir

TOPICS = load_faq()
IDS = [t.id for t in TOPICS]

# Topics the product promises (DESIGN / petition-process): renaming one breaks stories and tests.
REQUIRED_IDS = {
    "how_to_petition", "petition_content", "acceptance_deadline", "handling_deadline",
    "review_request", "recheck_request", "no_reacceptance_after_recheck",
    "joint_visit_representatives", "where_to_visit", "prohibited_conduct", "truthfulness",
    "whistleblower_protection", "privacy_personal_info", "check_progress", "legal_aid", "hotlines",
    "civil_limitation", "labour_arbitration_limitation", "labour_arbitration_first",
    "admin_review_deadline", "admin_review_prerequisite", "admin_litigation_deadline",
    "litigation_after_review", "rural_land_arbitration", "matter_in_court",
    "retrial_effective_judgment", "petition_reply_not_suable", "suggestions",
    "accusations_discipline", "transfer_responsible_organ", "transfer_objection",
    "mediation_in_petition", "social_assistance", "peoples_mediation", "consumer_complaint",
    "medical_dispute", "labour_inspection", "work_injury_recognition",
    "house_expropriation_compensation", "collective_land_expropriation", "after_submission",
    "petition_free", "agent_or_lawyer", "anonymous_petition", "petition_opinion_letter", "hearing",
    "acceptance_refused",
}  # fmt: skip


def test_enough_topics_and_required_ones_present() -> None:
    assert len(TOPICS) >= 45
    assert set(IDS) >= REQUIRED_IDS, sorted(REQUIRED_IDS - set(IDS))


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_topic_shape(topic: FaqTopic) -> None:
    assert len(topic.examples) >= 9
    assert len(topic.heldout) >= 3
    sentences = [s for s in re.split(r"[。！？]", topic.answer) if s.strip()]
    assert 2 <= len(sentences) <= 4, f"{topic.id}: {len(sentences)} sentences"
    assert "您" in topic.answer or "请" in topic.answer  # addressed politely to the citizen
    assert "\n" not in topic.answer


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_training_phrases_are_many_and_varied(topic: FaqTopic) -> None:
    # new wording is the rule, not the exception: short and long, polite and blunt
    assert len(topic.examples) >= 15
    lengths = sorted(len(e) for e in topic.examples)
    assert lengths[0] <= 8 and lengths[-1] >= 16, f"{topic.id}: lengths {lengths[0]}..{lengths[-1]}"
    assert any("请问" in e or "您好" in e or "麻烦" in e or "请教" in e for e in topic.examples), topic.id


@pytest.mark.parametrize("topic", TOPICS, ids=IDS)
def test_citations_are_known_laws_and_articles(topic: FaqTopic) -> None:
    assert topic.citations
    for c in topic.citations:
        assert c.law in KNOWN_LAWS, f"{topic.id}: {c.law} is not a law we keep a text of"
        assert ARTICLE_RE.match(c.article), c.article
        # every cited article is also named in the answer itself
        assert c.law in topic.answer or c.law.strip("《》") in topic.answer, (topic.id, c.law)
        assert c.article in topic.answer, (topic.id, c.article)


def test_every_topic_cites_an_article() -> None:
    assert all(any(ARTICLE_RE.match(c.article) for c in t.citations) for t in TOPICS)


def test_reply_text_format() -> None:
    topic = FaqTopic(
        id="x",
        title="标题",
        answer="答案。",
        citations=(Citation("《信访工作条例》", "第二十二条"), Citation("《行政复议法》", "第二十条")),
        examples=(),
        heldout=(),
    )
    assert Citation("《信访工作条例》", "第二十二条").text == "《信访工作条例》第二十二条"
    assert topic.reply_text == "答案。\n依据：《信访工作条例》第二十二条；《行政复议法》第二十条"
    for t in TOPICS:
        body, basis = t.reply_text.rsplit("\n", 1)
        assert body == t.answer
        assert basis == "依据：" + "；".join(c.text for c in t.citations)


@pytest.mark.skipif(statutes_dir() is None, reason="statute texts (../shared/domain/statutes, STATUTES_DIR) not available")
def test_cited_articles_exist_in_statute_texts() -> None:  # pragma: no cover - optional
    root = statutes_dir()
    assert root is not None
    missing = []
    for t in TOPICS:
        for c in t.citations:
            text = (root / f"{KNOWN_LAWS[c.law]}.md").read_text(encoding="utf-8")
            if not re.search(rf"^{c.article}[\s　]", text, re.M):
                missing.append(f"{t.id}: {c.text}")
    assert not missing, missing
