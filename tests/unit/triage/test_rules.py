"""Every rule of rules.yml, reached from facts alone (no text reading involved)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.triage.engine import evaluate
from bot.triage.facts import TriageFacts
from bot.triage.model import CHANNELS, load_table

TODAY = date(2026, 11, 23)
D = TODAY - timedelta(days=10)  # a recent known date

# rule id -> (facts, expected channel, expected (deadline kind, amount), expected due date or None)
CASES: dict[str, tuple[TriageFacts, str, tuple[str, int | None], str | None]] = {
    "R01_filing_refused": (TriageFacts(dispute="crime", filing_refused=True), "police", ("none", None), None),
    "R01_crime": (TriageFacts(dispute="crime"), "police", ("none", None), None),
    "R02_official_misconduct": (TriageFacts(dispute="official_misconduct"), "discipline_inspection", ("none", None), None),
    "R03_pending_procedure": (TriageFacts(dispute="labour", procedure_pending="arbitration"), "existing_procedure", ("none", None), None),
    "R04_enforcement": (
        TriageFacts(effective_judgment="civil", judgment_unperformed=True, known_date=date(2026, 2, 28)),
        "existing_procedure", ("years", 2), "2028-02-28",
    ),
    "R05_retrial_refused": (TriageFacts(effective_judgment="civil", retrial_refused=True), "retrial", ("none", None), None),
    "R06_criminal_judgment": (TriageFacts(effective_judgment="criminal"), "retrial", ("none", None), None),
    "R04_judgment_civil": (TriageFacts(effective_judgment="civil", known_date=date(2026, 8, 31)), "retrial", ("months", 6), "2027-02-28"),
    "R04_judgment_admin": (TriageFacts(effective_judgment="admin", known_date=date(2026, 10, 1)), "retrial", ("months", 6), "2027-04-01"),
    "R10_review_decision": (TriageFacts(admin_act=True, has_review_decision=True, known_date=D), "administrative_litigation", ("days", 15), "2026-11-28"),
    "R12_admin_old_realty": (TriageFacts(admin_act=True, real_property=True, known_date=date(2005, 1, 1)), "petition", ("none", None), None),
    "R12_admin_old": (TriageFacts(admin_act=True, known_date=date(2020, 1, 1)), "petition", ("none", None), None),
    "R11_inaction": (TriageFacts(admin_act=True, admin_inaction=True), "administrative_review", ("none", None), None),
    "R07_review_mandatory": (TriageFacts(admin_act=True, review_mandatory=True, known_date=D), "administrative_review", ("days", 60), "2027-01-12"),
    "R08_admin_within_60d": (TriageFacts(admin_act=True, known_date=D), "administrative_review", ("days", 60), "2027-01-12"),
    "R09_admin_within_6m": (TriageFacts(admin_act=True, known_date=date(2026, 7, 1)), "administrative_litigation", ("months", 6), "2027-01-01"),
    "R09_admin_late": (TriageFacts(admin_act=True, known_date=date(2025, 1, 1)), "administrative_litigation", ("months", 6), "2025-07-01"),
    "R13_wages_in_employment": (
        TriageFacts(dispute="labour", wages_unpaid_during_employment=True, employment_ended=False),
        "labor_arbitration", ("none", None), None,
    ),
    "R13_work_injury": (
        TriageFacts(dispute="labour", work_injury=True, known_date=date(2026, 2, 28)),
        "regulator_report", ("years", 1), "2027-02-28",
    ),
    "R13_labour": (TriageFacts(dispute="labour", known_date=date(2026, 2, 28)), "labor_arbitration", ("years", 1), "2027-02-28"),
    "R15_rural_land": (TriageFacts(dispute="rural_land", known_date=date(2024, 2, 29)), "rural_land_arbitration", ("years", 2), "2026-02-28"),
    "R16_arbitration_agreement": (TriageFacts(dispute="civil", arbitration_agreement=True, known_date=D), "commercial_arbitration", ("years", 3), "2029-11-13"),
    "R17_family": (TriageFacts(dispute="family"), "civil_litigation", ("none", None), None),
    "R18_civil": (TriageFacts(dispute="civil", known_date=D), "civil_litigation", ("years", 3), "2029-11-13"),
    "R19_consumer": (TriageFacts(dispute="consumer", known_date=D), "regulator_report", ("years", 3), "2029-11-13"),
    "R19_environment": (TriageFacts(dispute="environment"), "regulator_report", ("years", 3), None),
    "R20_medical": (TriageFacts(dispute="medical", known_date=D), "mediation", ("years", 3), "2029-11-13"),
    "R21_suggestion": (TriageFacts(dispute="suggestion"), "petition", ("none", None), None),
    "R23_petition_review": (TriageFacts(petition_reply_received=True, known_date=D), "petition_review", ("days", 30), "2026-12-13"),
    "R23_petition_recheck": (TriageFacts(petition_reply_received=True, petition_stage="review", known_date=D), "petition_review", ("days", 30), "2026-12-13"),
    "R23_petition_final": (TriageFacts(petition_reply_received=True, petition_stage="recheck"), "petition", ("none", None), None),
    "R24_already_accepted": (TriageFacts(already_accepted=True), "existing_procedure", ("none", None), None),
    "R22_catch_all": (TriageFacts(), "petition", ("none", None), None),
}


def test_every_rule_has_a_case() -> None:
    assert {r.id for r in load_table().rules} == set(CASES)


@pytest.mark.parametrize("rule_id", list(CASES))
def test_rule(rule_id: str) -> None:
    facts, channel, (kind, amount), due = CASES[rule_id]
    result = evaluate(facts, TODAY)
    assert result.rule_id == rule_id
    assert result.legal_channel == channel
    assert result.citations and all(c["law"] and c["article"].startswith("第") for c in result.citations)
    assert (result.deadline["kind"], result.deadline["amount"]) == (kind, amount)
    assert result.deadline["label"]
    assert result.deadline["due_date"] == due
    assert result.explanation and result.where and result.disclaimer
    assert result.table_version == load_table().version
    assert set(result.legal_channel_alternatives) <= set(CHANNELS)
    assert channel not in result.legal_channel_alternatives


def test_table_covers_all_25_rows_of_section_10() -> None:
    table = load_table()
    rows = {n for r in table.rules for n in r.table_no} | {25 for _ in table.addenda}
    # 14 (labour inspection) lives in R13 as an alternative and citation; 25 as the addendum
    assert rows == set(range(1, 26))


def test_labour_rule_offers_labour_inspection_as_alternative() -> None:
    result = evaluate(CASES["R13_labour"][0], TODAY)
    assert "regulator_report" in result.legal_channel_alternatives
    assert {"law": "劳动保障监察条例", "article": "第九条"} in result.citations


def test_legal_aid_addendum_when_hardship() -> None:
    plain = evaluate(TriageFacts(dispute="labour"), TODAY)
    poor = evaluate(TriageFacts(dispute="labour", hardship=True), TODAY)
    assert poor.legal_channel == plain.legal_channel
    assert "12348" in poor.where and "12348" not in plain.where
    assert {"law": "法律援助法", "article": "第三十一条"} in poor.citations
    assert "法律援助" in poor.explanation
    assert poor.addenda == ["R25_legal_aid"]


def test_first_match_wins_crime_before_pending() -> None:
    result = evaluate(TriageFacts(dispute="crime", procedure_pending="court"), TODAY)
    assert result.rule_id == "R01_crime"


def test_pending_procedure_beats_admin_rules() -> None:
    result = evaluate(TriageFacts(admin_act=True, procedure_pending="review", known_date=TODAY), TODAY)
    assert result.legal_channel == "existing_procedure"


def test_old_act_with_real_property_uses_twenty_years() -> None:
    facts = TriageFacts(admin_act=True, real_property=True, known_date=date(2015, 1, 1))
    assert evaluate(facts, TODAY).rule_id == "R09_admin_late"
    facts = TriageFacts(admin_act=True, real_property=False, known_date=date(2015, 1, 1))
    assert evaluate(facts, TODAY).rule_id == "R12_admin_old"


def test_five_year_cap_boundary() -> None:
    # exactly five years ago is still within the cap; one day more is past it
    assert evaluate(TriageFacts(admin_act=True, known_date=date(2021, 11, 23)), TODAY).rule_id == "R09_admin_late"
    assert evaluate(TriageFacts(admin_act=True, known_date=date(2021, 11, 22)), TODAY).rule_id == "R12_admin_old"


def test_family_matters_never_go_to_commercial_arbitration() -> None:
    result = evaluate(TriageFacts(dispute="family", arbitration_agreement=True), TODAY)
    assert result.legal_channel == "civil_litigation"


def test_wages_deadline_runs_from_employment_end() -> None:
    facts = TriageFacts(
        dispute="labour", wages_unpaid_during_employment=True, employment_ended=True,
        known_date=date(2025, 1, 10), employment_end=date(2026, 3, 31),
    )
    result = evaluate(facts, TODAY)
    assert result.rule_id == "R13_labour"
    assert result.deadline["due_date"] == "2027-03-31"
