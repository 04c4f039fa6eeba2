"""Bar charts as inline SVG, rendered on the server (no chart library, no script, no CDN).

Horizontal bars: Chinese labels stay readable on a phone. Only SVG presentation attributes
are used (no ``style``), so the console's Content-Security-Policy needs no ``unsafe-inline``.
Every label is escaped; the chart carries a ``<title>`` and ``role="img"`` with an
``aria-label`` that reads out every value for screen readers.
"""
from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW_HEIGHT = 26
LABEL_WIDTH = 150
BAR_AREA = 260
VALUE_WIDTH = 50


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, highlight: frozenset[str] = frozenset()) -> Markup:
    """A horizontal bar chart of ``(label, value)`` pairs; labels in ``highlight`` use the warning colour."""
    if not items:
        return Markup('<p class="muted">暂无数据。</p>')
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    height = ROW_HEIGHT * len(items) + 8
    top = max((value for _, value in items), default=0) or 1
    summary = "；".join(f"{label}{value}件" for label, value in items)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}：{escape(summary)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(items):
        y = 4 + index * ROW_HEIGHT
        bar = 0 if value <= 0 else max(2, round(BAR_AREA * value / top))
        colour = "#b3261e" if label in highlight else "#1f5fa8"
        text = label if len(label) <= 11 else label[:10] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 17}" text-anchor="end" font-size="13" fill="#222">{escape(text)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{bar}" height="{ROW_HEIGHT - 8}" rx="2" fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + bar + 6}" y="{y + 17}" font-size="13" fill="#222">{int(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
