"""Tables of the admin loop: NLU inbox, training runs, model registry, promotions, audit.

Only masked text is ever stored in ``nlu_inbox`` (ID numbers, phone numbers and names are
masked by the event broker before the row is written); the chat account is kept as a keyed
hash so messages of one conversation can be related without storing who wrote them.
"""
from __future__ import annotations

from enum import Enum

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Text

from bot.cases.models import Base, UTCDateTime


class InboxStatus(str, Enum):
    NEW = "new"
    LABELLED = "labelled"
    DISMISSED = "dismissed"

    def __str__(self) -> str:
        return self.value


class CaptureReason(str, Enum):
    LOW_CONFIDENCE = "low_confidence"  # top intent below INBOX_CONFIDENCE_THRESHOLD
    FALLBACK = "fallback"  # the FallbackClassifier answered nlu_fallback
    CORRECTED = "corrected"  # the citizen's next message said we misunderstood

    @property
    def label(self) -> str:
        return {"low_confidence": "置信度低", "fallback": "未能理解", "corrected": "用户纠正"}[self.value]

    def __str__(self) -> str:
        return self.value


class RunState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}[self.value]

    def __str__(self) -> str:
        return self.value


class InboxItem(Base):
    """One user message the model was unsure about, misread, or the citizen corrected."""

    __tablename__ = "nlu_inbox"

    id = Column(Integer, primary_key=True)
    #: Rasa's message id: capturing the same message twice updates the row instead
    message_id = Column(String(64), nullable=True, unique=True)
    text_masked = Column(Text, nullable=False)
    predicted_intent = Column(String(100), nullable=True)
    confidence = Column(Float, nullable=True)
    #: low_confidence | fallback | corrected
    reason = Column(String(16), nullable=False)
    channel = Column(String(32), nullable=False)
    sender_hash = Column(String(32), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    #: similar messages share a key (bot.training.grouping) and are labelled together
    group_key = Column(String(32), nullable=False)
    #: new | labelled | dismissed
    status = Column(String(16), nullable=False)
    label_intent = Column(String(100), nullable=True)
    #: [{"start": 0, "end": 2, "entity": "region", "value": null}, ...]
    label_entities = Column(JSON, nullable=True)
    labelled_by = Column(String(200), nullable=True)
    labelled_at = Column(UTCDateTime, nullable=True)
    #: the training file the example was written to (relative to the project)
    label_file = Column(String(300), nullable=True)

    __table_args__ = (
        Index("ix_nlu_inbox_status_group_key", "status", "group_key"),
        Index("ix_nlu_inbox_sender_hash_at", "sender_hash", "at"),
    )

    def __repr__(self) -> str:
        return f"<InboxItem {self.id} {self.status} {self.reason}>"


class TrainingRun(Base):
    """One press of "train": validate, train a candidate, evaluate it against the live model."""

    __tablename__ = "training_runs"

    id = Column(Integer, primary_key=True)
    #: queued | running | done | failed
    state = Column(String(16), nullable=False, index=True)
    #: validate | train | evaluate | cross_validate | compare (the step now running or last run)
    step = Column(String(32), nullable=True)
    progress = Column(Integer, nullable=False, default=0)
    log_tail = Column(Text, nullable=True)
    error = Column(Text, nullable=True)
    data_hash = Column(String(32), nullable=True)
    #: the candidate (absolute path of the .tar.gz)
    model_path = Column(String(500), nullable=True)
    #: file name of the model the Rasa server ran when the run compared against it
    live_model = Column(String(200), nullable=True)
    #: comparison (bot.training.metrics.comparison_to_dict) and cross-validation results
    metrics = Column(JSON, nullable=True)
    requested_by = Column(String(200), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    started_at = Column(UTCDateTime, nullable=True)
    finished_at = Column(UTCDateTime, nullable=True)
    #: refreshed every few seconds while a process executes the run; a stale one was interrupted
    heartbeat_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<TrainingRun {self.id} {self.state} {self.progress}%>"


class ModelRecord(Base):
    """A model file the loop knows (a candidate or a model seen live); kept for rollback."""

    __tablename__ = "nlu_models"

    id = Column(Integer, primary_key=True)
    file_name = Column(String(200), nullable=False, unique=True)
    path = Column(String(500), nullable=False)
    data_hash = Column(String(32), nullable=True)
    run_id = Column(Integer, ForeignKey("training_runs.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False)

    def __repr__(self) -> str:
        return f"<ModelRecord {self.file_name}>"


class ModelPromotion(Base):
    """One change of the live model: a promotion or a rollback."""

    __tablename__ = "model_promotions"

    id = Column(Integer, primary_key=True)
    #: promote | rollback
    kind = Column(String(16), nullable=False)
    model_file = Column(String(200), nullable=False)
    previous_model_file = Column(String(200), nullable=True)
    run_id = Column(Integer, ForeignKey("training_runs.id", ondelete="SET NULL"), nullable=True)
    by = Column(String(200), nullable=False)
    at = Column(UTCDateTime, nullable=False, index=True)
    #: set when a later rollback replaced this model
    rolled_back_at = Column(UTCDateTime, nullable=True)
    rolled_back_by = Column(String(200), nullable=True)

    def __repr__(self) -> str:
        return f"<ModelPromotion {self.kind} {self.model_file}>"


class TrainingEvent(Base):
    """Audit row of the admin loop: who labelled, trained, promoted or rolled back what."""

    __tablename__ = "training_events"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, index=True)
    actor = Column(String(200), nullable=False)
    #: label | dismiss | create_intent | train_requested | train_done | train_failed |
    #: promote | promote_refused | promote_failed | rollback | rollback_failed
    action = Column(String(32), nullable=False)
    inbox_id = Column(Integer, ForeignKey("nlu_inbox.id", ondelete="SET NULL"), nullable=True, index=True)
    run_id = Column(Integer, ForeignKey("training_runs.id", ondelete="SET NULL"), nullable=True, index=True)
    model_file = Column(String(200), nullable=True)
    note = Column(Text, nullable=True)

    def __repr__(self) -> str:
        return f"<TrainingEvent {self.action} by {self.actor}>"
