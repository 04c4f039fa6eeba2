"""The numbered summary the citizen approves before submission."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.intake.fields import CATEGORY_LABELS, FIELD_LABELS, PETITION_TYPE_LABELS, PRIOR_PROCEDURE_LABELS
from bot.intake.masking import mask_id_number, mask_phone

# Numbered in this order; "改3" edits SUMMARY_FIELDS[2].
SUMMARY_FIELDS: tuple[str, ...] = (
    "petition_type",
    "petitioner_name",
    "id_number",
    "phone",
    "address",
    "issue_region",
    "respondent",
    "occurred_on",
    "facts",
    "category",
    "demand",
    "people_count",
    "prior_procedure",
)

_CODE_LABELS: dict[str, Mapping[str, str]] = {
    "petition_type": PETITION_TYPE_LABELS,
    "category": CATEGORY_LABELS,
    "prior_procedure": PRIOR_PROCEDURE_LABELS,
}


def display_value(slot: str, value: Any, *, masked: bool = False) -> str:
    """A field's value as the citizen reads it (labels for codes, masks on request)."""
    if value is None or value == "":
        return "（未填写）"
    if slot in _CODE_LABELS:
        return _CODE_LABELS[slot].get(str(value), str(value))
    if slot == "people_count":
        return f"{value}人"
    if masked and slot == "id_number":
        return mask_id_number(str(value))
    if masked and slot == "phone":
        return mask_phone(str(value))
    return str(value)


def render_summary(values: Mapping[str, Any], *, max_text: int = 200) -> str:
    """Numbered lines, one per field; long texts are shortened for the chat."""
    lines = []
    for number, slot in enumerate(SUMMARY_FIELDS, start=1):
        shown = display_value(slot, values.get(slot))
        if len(shown) > max_text:
            shown = shown[:max_text] + "……"
        lines.append(f"{number}. {FIELD_LABELS.get(slot, slot)}：{shown}")
    return "\n".join(lines)
