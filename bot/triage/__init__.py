"""Legal-channel triage: which procedure or authority fits the citizen's problem.

The rules are data (``rules.yml``, versioned; legal-routing.md section 10), the
engine is pure. ``triage(text, answers, today)`` is what the chat action and
``POST /api/triage`` call; ``render_chat(result)`` is the chat message.
"""
from __future__ import annotations

from bot.triage.engine import evaluate, triage
from bot.triage.facts import TriageFacts, extract_facts
from bot.triage.model import CHANNELS, Question, TriageResult, TriageTableError, load_table
from bot.triage.render import CHANNEL_LABELS, render_chat

__all__ = [
    "CHANNELS",
    "CHANNEL_LABELS",
    "Question",
    "TriageFacts",
    "TriageResult",
    "TriageTableError",
    "evaluate",
    "extract_facts",
    "load_table",
    "render_chat",
    "triage",
]
