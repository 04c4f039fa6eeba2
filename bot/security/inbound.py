"""Hygiene of what citizens send, before it reaches Rasa (pure functions; channels call them).

- Control characters (C0/C1 except line breaks and tabs, NUL, bidi overrides, zero-width
  space, byte-order mark, lone surrogates) are removed; ``\\r\\n`` becomes ``\\n``; tabs become spaces.
- A message longer than ``limit`` characters (default 4,000) is cut to its first ``limit``
  characters; the citizen is told what happened and how to send the rest in parts.
- Binary junk (a file pasted as text, mostly undecodable or control bytes) is not given to
  Rasa; the citizen gets a polite request to write in words.
- Everything else — emoji only, SQL- or script-looking text — is ordinary text: it is stored
  as data (parameterised SQL) and escaped wherever it is shown.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_MESSAGE_CHARS = 4000
#: a message is binary junk when at least JUNK_MIN_BINARY undecodable / control characters make
#: up more than JUNK_RATIO of it (a few stray control characters are only removed)
JUNK_RATIO = 0.2
JUNK_MIN_BINARY = 8
_KEEP_CONTROLS = {"\n"}
#: bidi overrides (text spoofing), zero-width space and the byte-order mark
_INVISIBLE = {chr(cp) for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0xFEFF)}
_REPLACEMENT = "\ufffd"

JUNK_NOTICE = (
    "抱歉，没能识别您发来的内容，看起来像是文件或乱码。"
    "请您直接用文字告诉我想反映的问题；需要提交的材料，工作人员受理后会告诉您提交方式。"
)


def truncation_notice(original_chars: int, limit: int = MAX_MESSAGE_CHARS) -> str:
    """What the citizen is told when a message was longer than ``limit`` characters."""
    return (
        f"您这条消息比较长（约{original_chars}字），我已先按前{limit}字记录，后面的部分没有收到。"
        f"请把剩下的内容分成几条发给我，每条不超过{limit}字，我会接着记录。"
    )


@dataclass(frozen=True)
class CleanMessage:
    """A citizen's message after cleaning.

    ``text``: what to give Rasa (empty when there is nothing to give); ``notice``: a sentence
    to send the citizen first (None when nothing is to be said); ``junk``: do not process.
    """

    text: str
    notice: str | None = None
    truncated: bool = False
    junk: bool = False
    original_chars: int = 0


def _is_bad(ch: str) -> bool:
    """A character that never belongs in a chat message."""
    if ch in _KEEP_CONTROLS:
        return False
    if ch == _REPLACEMENT or ch in _INVISIBLE:
        return True
    # control characters and lone surrogates; unassigned code points stay (newer emoji)
    return unicodedata.category(ch) in ("Cc", "Cs")


def strip_control_characters(text: str) -> str:
    """``text`` without control and invisible characters (line breaks kept)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(ch for ch in text if not _is_bad(ch))


def _decode(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    return raw


def clean_message(raw: str | bytes | None, limit: int = MAX_MESSAGE_CHARS) -> CleanMessage:
    """Clean one incoming message (see the module docstring). Never raises."""
    if raw is None:
        return CleanMessage(text="")
    text = _decode(raw)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    bad = sum(1 for ch in normalised if _is_bad(ch))
    cleaned = "".join(ch for ch in normalised if not _is_bad(ch)).strip()
    total = len(normalised.strip()) or 1
    binary = sum(1 for ch in normalised if ch == _REPLACEMENT or (unicodedata.category(ch) == "Cc" and ch != "\n"))
    if bad and (not cleaned or (binary >= JUNK_MIN_BINARY and binary / total > JUNK_RATIO)):
        return CleanMessage(text="", notice=JUNK_NOTICE, junk=True, original_chars=len(text))
    if len(cleaned) > limit:
        return CleanMessage(
            text=cleaned[:limit].rstrip(),
            notice=truncation_notice(len(cleaned), limit),
            truncated=True,
            original_chars=len(cleaned),
        )
    return CleanMessage(text=cleaned, original_chars=len(cleaned))
