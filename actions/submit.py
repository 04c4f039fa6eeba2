"""``action_submit_petition``: runs when the form ends; stores the case or discards.

When the case database is unavailable the confirmed petition goes into the encrypted spool
(:mod:`bot.cases.spool`) and the citizen is told the number follows; the drainer stores it and
sends the number through the outbox. Before each submit, petitions still in the spool are
stored first (they were submitted earlier).
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._runtime import session_factory
from actions._tracker import AUX_SLOTS, channel_of, transcript
from bot.cases.submission import closing_message, submission_from_slots
from bot.errors import PetitionError, StorageUnavailable
from bot.intake.form import FORM_ORDER
from bot.settings import get_settings

if TYPE_CHECKING:
    from bot.cases.service import PetitionSubmission
    from bot.cases.spool import SubmissionSpool

log = logging.getLogger(__name__)

CANCELLED = "好的，已取消本次登记，您填写的内容都不会保存。需要时随时找我。"
REDIRECTED = (
    "好的，这次先不提交。请按上面建议的途径办理，注意期限。"
    "需要法律帮助可以拨打12348法律援助热线；如果之后仍想反映，随时找我登记。"
)
ATTACHMENTS_LINKED = "您之前发来的{count}个文件/图片已作为材料附在这件信访事项中，工作人员办理时会一并查看。"
CONSENT_REFUSED = (
    "好的，尊重您的决定，我们不会保存您提供的任何信息。"
    "不登记也可以继续向我咨询信访政策和法律途径；您也可以通过来信、来电或来访反映问题。"
)
KEPT = (
    "您的信访事项已经收到，内容已妥善保存，不会丢失。系统正在为您登记，"
    "登记好后会马上在这里把编号发给您（通常几分钟内），您不需要再次提交。"
)
#: spooled petitions stored before a new submit (the rest wait for the back-office's drainer)
DRAIN_BEFORE_SUBMIT = 5


def reset_events() -> list[EventType]:
    return [SlotSet(slot, None) for slot in (*FORM_ORDER, *AUX_SLOTS)]


class ActionSubmitPetition(Action):
    def name(self) -> str:
        return "action_submit_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        outcome = tracker.get_slot("form_outcome")
        if outcome == "cancelled":
            dispatcher.utter_message(text=CANCELLED)
            return reset_events()
        if outcome == "redirected":
            dispatcher.utter_message(text=REDIRECTED)
            return reset_events()
        if outcome == "consent_refused" or tracker.get_slot("consent") is not True:
            dispatcher.utter_message(text=CONSENT_REFUSED)
            return reset_events()
        if tracker.get_slot("confirm") is not True:
            dispatcher.utter_message(text=CANCELLED)
            return reset_events()

        from bot.cases.service import do_submit_petition

        slots = {slot: tracker.get_slot(slot) for slot in (*FORM_ORDER, "legal_channel", "legal_channel_alternatives")}
        submission = submission_from_slots(
            slots,
            channel=channel_of(tracker),
            sender_id=tracker.sender_id,
            conversation_id=tracker.sender_id,
            idempotency_key=_idempotency_key(tracker),
            transcript=transcript(tracker),
            triage=tracker.get_slot("triage_info"),
        )
        # The database work runs in a worker thread: the action server's event loop keeps serving
        # other citizens' form turns while this one waits for the (SQLite: single) writer.
        await asyncio.to_thread(_drain_spool_first)
        try:
            result = await asyncio.to_thread(do_submit_petition, session_factory(), submission)
        except StorageUnavailable as exc:
            if _keep_in_spool(submission):  # nothing is lost: the number follows through the outbox
                dispatcher.utter_message(text=KEPT)
                return [*reset_events(), SlotSet("case_no", None)]
            dispatcher.utter_message(text=exc.user_message)
            return []
        except PetitionError as exc:
            log.warning("submit failed: %s", exc.code)
            dispatcher.utter_message(text=exc.user_message)
            return []
        dispatcher.utter_message(
            text=closing_message(
                result.case_no, result.due_at, created=result.created,
                duplicate_of=result.duplicate_of, linked_to=result.linked_to, status=result.status.value,
            )
        )
        linked = await asyncio.to_thread(_link_attachments, result.case_no, submission.channel, tracker.sender_id)
        if linked:
            dispatcher.utter_message(text=ATTACHMENTS_LINKED.format(count=linked))
        return [*reset_events(), SlotSet("case_no", result.case_no)]


def _spool() -> SubmissionSpool:
    from bot.cases.spool import SubmissionSpool

    return SubmissionSpool.from_settings(get_settings())


def _keep_in_spool(submission: PetitionSubmission) -> bool:
    """Write the submission to the spool; False (with the error logged) when even that fails."""
    try:
        added = _spool().put(submission)
    except Exception:
        log.exception("submit: the case database is unavailable and the spool could not keep the petition")
        return False
    log.warning("submit: case database unavailable; petition kept in the spool (%s)",
                "new entry" if added else "already spooled")
    return True


def _drain_spool_first() -> None:
    """Store petitions kept while the database was down before a new one; never fails the submit."""
    from bot.cases.spool import SpoolRetry, drain_spool

    try:
        spool = _spool()
        if len(spool):
            drain_spool(spool, session_factory(), retry=SpoolRetry.from_settings(get_settings()),
                        limit=DRAIN_BEFORE_SUBMIT, ignore_schedule=True)
    except Exception as exc:  # the database is still down, or the spool unreadable: the drainer retries
        log.warning("submit: draining the spool first failed: %s", exc.__class__.__name__)


def _link_attachments(case_no: str, channel: str, sender_id: str) -> int:
    """Files the citizen sent before submitting become material of the case; never fails the submit."""
    from bot.cases.attachments import link_pending_attachments

    try:
        return link_pending_attachments(session_factory(), case_no, channel=channel, sender_id=sender_id)
    except PetitionError as exc:
        log.warning("linking attachments to %s failed: %s", case_no, exc.code)
        return 0
    except Exception:  # the case is stored: an attachment problem must not turn it into an error
        log.exception("linking attachments to %s failed", case_no)
        return 0


def _idempotency_key(tracker: Tracker) -> str:
    """Same conversation + same confirming message = same case, however often it is retried."""
    stamp = ""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            stamp = str(event.get("timestamp") or "")
            break
    return f"{channel_of(tracker)}:{tracker.sender_id}:{stamp}"
