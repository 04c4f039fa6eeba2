"""The chat message for a triage result: short, plain and polite Chinese."""
from __future__ import annotations

from bot.triage.model import TriageResult

__all__ = ["CHANNEL_LABELS", "format_citations", "render_chat"]

#: Chinese name of every ``legal_channel`` code, as the citizen reads it.
CHANNEL_LABELS: dict[str, str] = {
    "labor_arbitration": "申请劳动仲裁",
    "administrative_review": "申请行政复议",
    "administrative_litigation": "提起行政诉讼",
    "civil_litigation": "向法院提起民事诉讼",
    "rural_land_arbitration": "申请农村土地承包仲裁",
    "commercial_arbitration": "按合同约定申请仲裁",
    "mediation": "申请调解",
    "existing_procedure": "继续在已有程序中办理",
    "retrial": "申请再审或申诉",
    "police": "报警",
    "discipline_inspection": "向纪检监察机关检举控告",
    "regulator_report": "向主管部门投诉举报",
    "petition": "通过信访反映",
    "petition_review": "请求复查或复核",
}


def format_citations(citations: list[dict[str, str]]) -> str:
    """'《劳动争议调解仲裁法》第五条、第二十七条；《劳动保障监察条例》第九条' (law order kept)."""
    grouped: dict[str, list[str]] = {}
    for c in citations:
        arts = grouped.setdefault(c["law"], [])
        if c["article"] not in arts:
            arts.append(c["article"])
    parts = []
    for law, arts in grouped.items():
        name = law if law.startswith("《") else _book(law)
        parts.append(name + "、".join(arts))
    return "；".join(parts)


def _book(law: str) -> str:
    # "仲裁法（2025年修订）" -> "《仲裁法》（2025年修订）"
    if "（" in law and law.endswith("）") and not law.startswith("最高人民法院"):
        head, _, tail = law.partition("（")
        return f"《{head}》（{tail}"
    return f"《{law}》"


def render_chat(result: TriageResult, *, with_question: bool = True) -> str:
    """Recommendation, reason, articles, deadline (with warning), where to go, disclaimer.

    ``with_question=False`` leaves out the follow-up question (when the chat cannot take the answer).
    """
    label = result.headline or CHANNEL_LABELS.get(result.legal_channel, result.legal_channel)
    lines = [f"建议您：{label}。"]
    if result.legal_channel_alternatives:
        alts = "、".join(CHANNEL_LABELS.get(a, a) for a in result.legal_channel_alternatives)
        lines.append(f"也可以考虑：{alts}。")
    lines.append(result.explanation)
    if result.citations:
        lines.append(f"依据：{format_citations(result.citations)}。")
    dl = result.deadline or {}
    if dl.get("label"):
        text = f"期限：{dl['label']}"
        if dl.get("due_date"):
            text += f"，按您说的时间，截止日约为{dl['due_date']}"
        lines.append(text + "。")
    if dl.get("warning"):
        lines.append(f"⚠ {dl['warning']}")
    if result.where:
        lines.append(f"去哪里办：{result.where}。")
    if with_question and result.questions:
        lines.append("如果方便，请再告诉我：" + result.questions[0].text)
    lines.append(result.disclaimer)
    return "\n".join(line for line in lines if line)
