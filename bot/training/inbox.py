"""The NLU inbox: capture (from the event broker), grouping, labelling and dismissal.

Labelling writes the examples to ``nlu_data/nlu/inbox_<channel>.yml`` of the training project
(``TRAINING_PROJECT_DIR``) and marks the messages labelled in one transaction with one audit
row per message; a new intent is added to ``domain.yml`` in the same step.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import local_date, to_utc, utcnow
from bot.errors import Conflict, InvalidInput
from bot.training import audit
from bot.training.capture import Capture, mask_text, sender_hash
from bot.training.grouping import assign_group, normalize
from bot.training.metrics import Example
from bot.training.models import CaptureReason, InboxItem, InboxStatus
from bot.training.nlu_files import (
    INTENT_NAME,
    RETRIEVAL_INTENT,
    LabelledExample,
    add_intent_to_domain,
    domain_intents,
    inbox_file_name,
    merge_examples,
    parse_entities,
    read_inbox_file,
    render_inbox_file,
    render_markup,
    strip_markup,
)

LEADER_WINDOW = 500  # how many recent open groups a new message is compared with
MAX_LABEL_BATCH = 500
NOT_LABELLABLE = ("nlu_fallback",)
REMASK_LIMIT = 200  # open messages of one chat account re-masked when a name becomes known

NEW_INTENT_NOTICE = (
    "已新建意图“{intent}”并加入 domain.yml。现在模型只会识别它，机器人还不会作出新的回答："
    "请开发人员为它添加回复（responses）和规则（rules）后再训练上线。"
)


def _now(now: datetime | None) -> datetime:
    return to_utc(now) if now is not None else utcnow()


# ---- capture -----------------------------------------------------------------------------------
def _open_group_leaders(session: Session) -> list[tuple[str, str]]:
    """(group key, normalised text of its first message) of the most recent open groups."""
    first_ids = (
        select(func.min(InboxItem.id).label("id"))
        .where(InboxItem.status == InboxStatus.NEW.value)
        .group_by(InboxItem.group_key)
        .order_by(func.max(InboxItem.id).desc())
        .limit(LEADER_WINDOW)
        .subquery()
    )
    rows = session.execute(select(InboxItem.group_key, InboxItem.text_masked).where(InboxItem.id.in_(select(first_ids.c.id))))
    return [(key, normalize(text)) for key, text in rows]


def do_capture(session_factory: sessionmaker, capture: Capture, *, hash_key: str) -> InboxItem:
    """Store one captured message, masked, in its group. Capturing a message again (same Rasa
    message id) keeps one row; a correction upgrades its reason to ``corrected``."""
    turn = capture.turn
    text = mask_text(turn.text, capture.names)
    with transaction(session_factory, write=True) as session:
        if turn.message_id:
            existing = session.execute(
                select(InboxItem).where(InboxItem.message_id == turn.message_id)
            ).scalar_one_or_none()
            if existing is not None:
                if capture.reason is CaptureReason.CORRECTED:
                    existing.reason = CaptureReason.CORRECTED.value
                return existing
        item = InboxItem(
            message_id=turn.message_id, text_masked=text, predicted_intent=turn.intent,
            confidence=turn.confidence, reason=capture.reason.value, channel=turn.channel,
            sender_hash=sender_hash(hash_key, turn.channel, turn.sender_id), at=to_utc(turn.at),
            group_key=assign_group(normalize(text), _open_group_leaders(session)),
            status=InboxStatus.NEW.value,
        )
        session.add(item)
        session.flush()
        return item


def do_remask_names(
    session_factory: sessionmaker, channel: str, sender_id: str, names: Sequence[str], *, hash_key: str,
) -> int:
    """Mask ``names`` in the open messages of this chat account (the most recent ones); how many changed."""
    changed = 0
    with transaction(session_factory, write=True) as session:
        rows = session.execute(
            select(InboxItem).where(
                InboxItem.sender_hash == sender_hash(hash_key, channel, sender_id),
                InboxItem.status == InboxStatus.NEW.value,
            ).order_by(InboxItem.id.desc()).limit(REMASK_LIMIT)
        ).scalars()
        for item in rows:
            masked = mask_text(item.text_masked, names)
            if masked != item.text_masked:
                item.text_masked = masked
                changed += 1
    return changed


# ---- reading -----------------------------------------------------------------------------------
@dataclass
class InboxGroup:
    key: str
    items: list[InboxItem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def sample(self) -> str:
        return self.items[0].text_masked if self.items else ""

    @property
    def last_at(self) -> datetime | None:
        return max((i.at for i in self.items), default=None)

    @property
    def reasons(self) -> dict[str, int]:
        return dict(Counter(i.reason for i in self.items))

    @property
    def predicted(self) -> dict[str, int]:
        return dict(Counter(i.predicted_intent or "-" for i in self.items).most_common())

    @property
    def ids(self) -> list[int]:
        return [i.id for i in self.items]


def list_groups(session_factory: sessionmaker, status: str = InboxStatus.NEW.value, limit: int = 200) -> list[InboxGroup]:
    """Open (or labelled / dismissed) messages in groups, biggest and most recent first."""
    if status not in {s.value for s in InboxStatus}:
        raise InvalidInput(f"status {status!r}", user_message="状态只能是 new、labelled 或 dismissed。")
    with transaction(session_factory) as session:
        items = list(session.execute(
            select(InboxItem).where(InboxItem.status == status).order_by(InboxItem.id.desc()).limit(limit * 20)
        ).scalars())
    groups: dict[str, InboxGroup] = {}
    for item in reversed(items):
        groups.setdefault(item.group_key, InboxGroup(item.group_key)).items.append(item)
    ordered = sorted(groups.values(), key=lambda g: (-g.count, -(g.items[-1].id)))
    return ordered[:limit]


def counts(session_factory: sessionmaker) -> dict[str, int]:
    with transaction(session_factory) as session:
        rows = session.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)).all()
    result = {s.value: 0 for s in InboxStatus}
    result.update({status: int(n) for status, n in rows})
    return result


def get_item(session_factory: sessionmaker, item_id: int) -> InboxItem | None:
    with transaction(session_factory) as session:
        return session.get(InboxItem, item_id)


def labelled_examples(session_factory: sessionmaker, limit: int = 2000) -> list[Example]:
    """The most recently labelled messages as (text, intent) examples, for evaluation."""
    with transaction(session_factory) as session:
        rows = session.execute(
            select(InboxItem.text_masked, InboxItem.label_intent)
            .where(InboxItem.status == InboxStatus.LABELLED.value, InboxItem.label_intent.is_not(None))
            .order_by(InboxItem.labelled_at.desc(), InboxItem.id.desc()).limit(limit)
        ).all()
    return [Example(text, intent) for text, intent in rows]


# ---- label choices -----------------------------------------------------------------------------
def retrieval_topics(project: Path) -> list[str]:
    """'faq/<topic>' for every retrieval response of the project (``utter_faq/<topic>``)."""
    topics: set[str] = set()
    files = [project / "domain.yml", *sorted((project / "nlu_data").rglob("*.yml"))]
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        responses = data.get("responses") if isinstance(data, dict) else None
        if isinstance(responses, dict):
            topics.update(k.removeprefix("utter_") for k in responses if isinstance(k, str) and "/" in k)
    return sorted(topics)


def label_choices(project: Path) -> list[str]:
    """Intents an admin may choose: the domain's intents and the retrieval topics."""
    intents = domain_intents((project / "domain.yml").read_text(encoding="utf-8"))
    return [i for i in intents if i not in NOT_LABELLABLE] + retrieval_topics(project)


# ---- writing files -----------------------------------------------------------------------------
_thread_lock = threading.Lock()


@contextlib.contextmanager
def project_write_lock(project: Path) -> Iterator[None]:
    """Serialises writers of one training project (threads and processes)."""
    digest = hashlib.sha1(str(project.resolve()).encode("utf-8")).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"xinfang-label-{digest}.lock"
    with _thread_lock, open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class LabelResult:
    intent: str
    count: int
    files: tuple[str, ...]
    created_intent: bool
    notice: str


def _select_open(session: Session, ids: Sequence[int] | None, group_key: str | None) -> list[InboxItem]:
    query = select(InboxItem).where(InboxItem.status == InboxStatus.NEW.value)
    if ids:
        query = query.where(InboxItem.id.in_(list(ids)))
    elif group_key:
        query = query.where(InboxItem.group_key == group_key)
    else:
        raise InvalidInput("no messages chosen", user_message="请先选择要处理的消息。")
    items = list(session.execute(query.order_by(InboxItem.id).limit(MAX_LABEL_BATCH).with_for_update()).scalars())
    if not items:
        raise Conflict("nothing open", user_message="这些消息已经被处理过了，请刷新页面。")
    return items


def _validate_intent(project: Path, intent: str, create: bool) -> bool:
    """True when the intent must be created in the domain."""
    intent = intent.strip()
    choices = label_choices(project)
    if intent in choices:
        return False
    if RETRIEVAL_INTENT.match(intent):
        raise InvalidInput(f"unknown retrieval intent {intent}",
                           user_message="没有这个政策问答主题。新的问答主题请在知识库（bot/knowledge/faq.yml）中添加。")
    if not INTENT_NAME.match(intent) or intent in NOT_LABELLABLE:
        raise InvalidInput(f"bad intent name {intent!r}",
                           user_message="意图名称只能用小写英文字母、数字和下划线，以字母开头。")
    if not create:
        raise InvalidInput(f"unknown intent {intent}",
                           user_message=f"没有意图“{intent}”。如需新建，请勾选“新建意图”。")
    return True


def do_label(
    session_factory: sessionmaker, project: Path, intent: str, *, by: str, ids: Sequence[int] | None = None,
    group_key: str | None = None, entities: Sequence[dict[str, Any]] | None = None, create_intent: bool = False,
    now: datetime | None = None,
) -> LabelResult:
    """Label open messages (``ids`` or a whole group) with ``intent`` and write them to the
    training files. ``entities`` (character offsets) only for a single message."""
    at = _now(now)
    intent = (intent or "").strip()
    project = Path(project)
    parsed_entities = parse_entities(entities)
    with project_write_lock(project):
        create = _validate_intent(project, intent, create_intent)
        with transaction(session_factory, write=True) as session:
            items = _select_open(session, ids, group_key)
            if parsed_entities and len(items) != 1:
                raise InvalidInput("entities for several messages",
                                   user_message="实体只能在单条消息上标注，请逐条标注。")
            by_channel: dict[str, list[LabelledExample]] = {}
            for item in items:
                markup = render_markup(item.text_masked, parsed_entities)
                meta: dict[str, Any] = {
                    "inbox_id": item.id, "captured": local_date(item.at).isoformat(), "reason": item.reason,
                }
                if item.predicted_intent:
                    meta["predicted"] = item.predicted_intent
                if item.confidence is not None:
                    meta["confidence"] = round(float(item.confidence), 3)
                meta.update(labelled_by=by, labelled_at=local_date(at).isoformat())
                by_channel.setdefault(item.channel, []).append(LabelledExample(markup, intent, meta))
            files = []
            for channel, examples in sorted(by_channel.items()):
                rel = Path("nlu_data") / "nlu" / inbox_file_name(channel)
                path = project / rel
                existing = read_inbox_file(path.read_text(encoding="utf-8") if path.exists() else None)
                write_atomically(path, render_inbox_file(channel, merge_examples(existing, examples)))
                files.append(rel.as_posix())
                for item in items:
                    if item.channel == channel:
                        item.label_file = rel.as_posix()
            for item in items:
                item.status = InboxStatus.LABELLED.value
                item.label_intent = intent
                item.label_entities = [vars(e) for e in parsed_entities] or None
                item.labelled_by = by
                item.labelled_at = at
                audit.record(session, by, "label", at=at, inbox_id=item.id,
                             note={"intent": intent, "file": item.label_file})
            if create:
                domain = project / "domain.yml"
                write_atomically(domain, add_intent_to_domain(domain.read_text(encoding="utf-8"), intent))
                audit.record(session, by, "create_intent", at=at, note={"intent": intent})
    notice = NEW_INTENT_NOTICE.format(intent=intent) if create else ""
    return LabelResult(intent, len(items), tuple(files), create, notice)


def do_dismiss(
    session_factory: sessionmaker, *, by: str, ids: Sequence[int] | None = None, group_key: str | None = None,
    note: str | None = None, now: datetime | None = None,
) -> int:
    """Dismiss open messages (nothing is written to the training data); how many."""
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        items = _select_open(session, ids, group_key)
        for item in items:
            item.status = InboxStatus.DISMISSED.value
            item.labelled_by = by
            item.labelled_at = at
            audit.record(session, by, "dismiss", at=at, inbox_id=item.id, note=(note or None))
    return len(items)


def example_text(item: InboxItem) -> str:
    """The plain text of a labelled message as the model sees it."""
    return strip_markup(item.text_masked)
