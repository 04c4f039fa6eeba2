from __future__ import annotations

from bot.intake.fields import (
    CATEGORY_LABELS,
    FIELD_LABELS,
    PETITION_SLOTS,
    PETITION_TYPE_LABELS,
    PRIOR_PROCEDURE_LABELS,
)


def test_slots_follow_the_contract() -> None:
    assert PETITION_SLOTS == [
        "petition_type", "petitioner_name", "id_number", "phone", "address", "issue_region", "category",
        "respondent", "occurred_on", "facts", "demand", "people_count", "prior_procedure", "consent", "confirm",
    ]
    assert set(FIELD_LABELS) == set(PETITION_SLOTS)
    assert FIELD_LABELS["id_number"] == "身份证号码"
    assert FIELD_LABELS["issue_region"] == "事发地"


def test_category_labels_match_design() -> None:
    assert len(CATEGORY_LABELS) == 15
    assert next(iter(CATEGORY_LABELS)) == "land_expropriation"
    assert list(CATEGORY_LABELS)[-1] == "other"
    assert CATEGORY_LABELS["law_enforcement_judicial"] == "政法（公安、司法）"
    assert CATEGORY_LABELS["discipline"] == "纪检监察（干部作风、违纪违法）"


def test_code_tables() -> None:
    assert list(PETITION_TYPE_LABELS) == ["suggestion", "accusation", "grievance"]
    assert PETITION_TYPE_LABELS["grievance"] == "申诉求决"
    assert list(PRIOR_PROCEDURE_LABELS) == [
        "none", "litigation", "administrative_review", "arbitration", "effective_judgment", "petition_reply",
    ]
