"""Console pages of the case queue: the queue, CSV export, one case with its actions, and the
registration of petitions that arrive by letter, phone or visit."""
from __future__ import annotations

import csv
import io
import logging
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.backoffice.case_access import related_cases
from bot.backoffice.console.render import (
    CHANNEL_NAMES,
    LEGAL_CHANNEL_LABELS,
    OFFLINE_CHANNELS,
    fmt_time,
    label,
    render,
)
from bot.backoffice.console.security import (
    Posted,
    admin_session,
    current_session,
    factory_of,
    posted_admin_form,
    posted_form,
    settings_of,
)
from bot.backoffice.error_text import shown_message
from bot.backoffice.users import ConsoleSession, list_users
from bot.cases.attachments import AttachmentPolicy, attachment_path, get_attachment, list_case_attachments
from bot.cases.deadlines import local_date, utcnow
from bot.cases.departments import get_routing_table
from bot.cases.notifications import can_notify
from bot.cases.privacy import do_reveal_identity
from bot.cases.queue import MAX_REPLY, NEAR_DUE_DAYS, do_case_action, do_reply
from bot.cases.serialize import case_to_dict_for
from bot.cases.service import (
    CATEGORIES,
    MAX_LIST_LIMIT,
    PETITION_TYPES,
    PRIOR_PROCEDURES,
    UNCLAIMED,
    PetitionSubmission,
    do_submit_petition,
    get_case,
    list_cases,
)
from bot.cases.status import CaseStatus
from bot.cases.workflow import ACTIONS, ActionSpec, Actor, available_actions, due_state
from bot.errors import InvalidField, PetitionError
from bot.intake.fields import CATEGORY_LABELS, PETITION_TYPE_LABELS, PRIOR_PROCEDURE_LABELS
from bot.intake.parse import parse_free_text

router = APIRouter(prefix="/console", include_in_schema=False)
pii_log = logging.getLogger("bot.backoffice.pii_access")

PAGE_SIZE = 25
CSV_MAX_ROWS = 10_000
DUE_FILTERS = {"overdue": "已超期", "near_due": "临近期限"}
SORTS = {"due": "办理期限（最急的在前）", "newest": "登记时间（最新在前）", "oldest": "登记时间（最早在前）",
         "updated": "最近有变动的在前"}
CLAIMED = {"me": "我认领的", "none": "待认领"}
LONG_TEXT_PARAMS = frozenset({"answer", "reason", "note"})

# ---------------------------------------------------------------------------- queue filters


@dataclass
class QueueFilters:
    """The queue's filters as read from the query string (unknown values are dropped)."""

    status: str = ""
    category: str = ""
    region: str = ""
    department: str = ""
    due: str = ""
    joint: bool = False
    claimed: str = ""
    q: str = ""
    sort: str = "due"
    page: int = 1

    @classmethod
    def from_request(cls, request: Request) -> QueueFilters:
        get = request.query_params.get
        status = get("status", "")
        category = get("category", "")
        try:
            page = max(1, min(10_000, int(get("page", "1"))))
        except ValueError:
            page = 1
        return cls(
            status=status if status in {s.value for s in CaseStatus} else "",
            category=category if category in CATEGORIES else "",
            region=get("region", "").strip()[:100],
            department=get("department", "").strip()[:32],
            due=get("due", "") if get("due", "") in DUE_FILTERS else "",
            joint=get("joint") == "1",
            claimed=get("claimed", "") if get("claimed", "") in CLAIMED else "",
            q=get("q", "").strip()[:100],
            sort=get("sort", "due") if get("sort", "due") in SORTS else "due",
            page=page,
        )

    def query(self, **override: Any) -> str:
        """The query string of these filters (for pagination and the CSV link)."""
        values: dict[str, Any] = {
            "status": self.status, "category": self.category, "region": self.region,
            "department": self.department, "due": self.due, "joint": "1" if self.joint else "",
            "claimed": self.claimed, "q": self.q, "sort": self.sort if self.sort != "due" else "",
            "page": self.page if self.page > 1 else "",
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def service_kwargs(self, me: ConsoleSession) -> dict[str, Any]:
        return {
            "status": self.status or None,
            "category": self.category or None,
            "region": self.region or None,
            "department": self.department or None,
            "due": self.due or None,
            "joint": True if self.joint else None,
            "claimed_by": {"me": me.username, "none": UNCLAIMED}.get(self.claimed),
            "q": self.q or None,
            "sort": self.sort,
        }


def _actor(me: ConsoleSession) -> Actor:
    return Actor(me.username, me.role)


def _view(case: Any, me: ConsoleSession, *, revealed: bool = False, full: bool = False) -> dict[str, Any]:
    """The case as this user may see it (bot/cases/privacy.py: masked numbers; an accusation
    hides the petitioner from staff of the accused unit)."""
    return case_to_dict_for(case, me.role, me.department_code, revealed=revealed,
                            include_transcript=full, include_events=full)


def _departments(request: Request) -> list[tuple[str, str]]:
    """(code, name) of the departments cases can be sent to."""
    return [(d.code, d.name) for d in get_routing_table(factory_of(request)).departments if d.active]


def _staff_names(request: Request) -> list[tuple[str, str]]:
    return [(u.username, u.display_name) for u in list_users(factory_of(request)) if u.active]


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    filters = QueueFilters.from_request(request)
    items, total = list_cases(
        factory_of(request), limit=PAGE_SIZE, offset=(filters.page - 1) * PAGE_SIZE, **filters.service_kwargs(me)
    )
    now = utcnow()
    rows = [
        {"case": c, "view": _view(c, me), "due_state": due_state(c.due_at, now, NEAR_DUE_DAYS)}
        for c in items
    ]
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(
        request, "queue.html",
        {
            "nav": "queue", "filters": filters, "rows": rows, "total": total, "pages": pages,
            "departments": _departments(request), "due_filters": DUE_FILTERS, "sorts": SORTS, "claimed": CLAIMED,
            "prev_query": filters.query(page=filters.page - 1) if filters.page > 1 else None,
            "next_query": filters.query(page=filters.page + 1) if filters.page < pages else None,
            "csv_query": filters.query(page=""),
        },
        session=me,
    )


# ---------------------------------------------------------------------------- CSV export

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("case_no", "编号"), ("status_label", "状态"), ("channel", "渠道"), ("category", "问题类别"),
    ("petition_type", "信访类型"), ("petitioner_name", "姓名"), ("id_number", "身份证号码（已遮盖）"),
    ("phone", "联系电话（已遮盖）"), ("issue_region", "事发地"), ("respondent", "被反映对象"),
    ("people_count", "涉及人数"), ("department_code", "承办部门"), ("assignee", "承办人"),
    ("created_at", "登记时间"), ("due_date", "办理期限"), ("demand", "诉求"),
)


def _csv_cell(value: Any) -> str:
    """Text as a spreadsheet shows it; formula-looking cells are defused (CSV injection)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _csv_rows(request: Request, me: ConsoleSession, filters: QueueFilters) -> tuple[str, int]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in CSV_COLUMNS])
    count, offset = 0, 0
    while count < CSV_MAX_ROWS:
        items, total = list_cases(factory_of(request), limit=MAX_LIST_LIMIT, offset=offset, **filters.service_kwargs(me))
        for case in items:
            data = _view(case, me)
            data["channel"] = label(CHANNEL_NAMES, data["channel"])
            data["category"] = label(CATEGORY_LABELS, data["category"])
            data["petition_type"] = label(PETITION_TYPE_LABELS, data["petition_type"])
            data["created_at"] = fmt_time(case.created_at)
            data["department_code"] = getattr(case, "department_code", None)
            data["assignee"] = getattr(case, "assignee", None)
            writer.writerow([_csv_cell(data.get(key)) for key, _ in CSV_COLUMNS])
            count += 1
        offset += len(items)
        if not items or offset >= total:
            break
    return out.getvalue(), count


@router.get("/cases.csv")
def export_csv(request: Request, me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    filters = QueueFilters.from_request(request)
    text, count = _csv_rows(request, me, filters)
    pii_log.info("%s exported %d cases to CSV (masked) with filters %s", me.actor, count, filters.query(page=""))
    stamp = f"{local_date(utcnow()):%Y%m%d}"
    return Response(
        content="\ufeff" + text,  # BOM: spreadsheet programs then read the file as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cases-{stamp}.csv"'},
    )


# ---------------------------------------------------------------------------- registering a letter, call or visit

NEW_CASE_FIELDS = (
    "petitioner_name", "id_number", "phone", "address", "issue_region", "category", "petition_type",
    "respondent", "occurred_on", "facts", "demand", "people_count", "prior_procedure",
)


def _new_case_page(request: Request, me: ConsoleSession, values: dict[str, str], *, recognized: frozenset[str] = frozenset(),
                   error: str | None = None, error_field: str | None = None, status_code: int = 200) -> Response:
    return render(
        request, "new_case.html",
        {"nav": "new", "values": values, "recognized": recognized, "error": error, "error_field": error_field,
         "categories": [c for c in CATEGORY_LABELS if c in CATEGORIES],
         "petition_types": [t for t in PETITION_TYPE_LABELS if t in PETITION_TYPES],
         "prior_procedures": [p for p in PRIOR_PROCEDURE_LABELS if p in PRIOR_PROCEDURES]},
        session=me, status_code=status_code,
    )


@router.get("/cases/new", response_class=HTMLResponse)
def new_case_form(request: Request, me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    values = {"channel": "letter", "text": "", "consent": "", "form_key": secrets.token_urlsafe(16)}
    values.update({name: "" for name in NEW_CASE_FIELDS})
    return _new_case_page(request, me, values)


@router.post("/cases/new", response_class=HTMLResponse)
def new_case_submit(request: Request, posted: Annotated[Posted, Depends(posted_form)]) -> Response:
    me = posted.session
    values = {name: posted.get(name).strip() for name in (*NEW_CASE_FIELDS, "channel", "text", "form_key")}
    values["consent"] = "1" if posted.get("consent") == "1" else ""
    if values["channel"] not in OFFLINE_CHANNELS:
        values["channel"] = "letter"
    if not values["form_key"]:
        values["form_key"] = secrets.token_urlsafe(16)

    if posted.get("op") == "parse":
        if not values["text"]:
            return _new_case_page(request, me, values, error="请先粘贴来信或来电记录的文字，再点“识别”。",
                                  error_field="text", status_code=400)
        found = parse_free_text(values["text"], local_date(utcnow()))
        recognized = set()
        for name, value in found.items():
            if name in NEW_CASE_FIELDS and not values.get(name) and value not in (None, ""):
                values[name] = str(value)
                recognized.add(name)
        if not values["facts"]:
            values["facts"] = values["text"]
            recognized.add("facts")
        return _new_case_page(request, me, values, recognized=frozenset(recognized))

    try:
        people = values["people_count"]
        if people and not people.isdigit():
            raise InvalidField("people_count", user_message="涉及人数请填写数字。")
        submission = PetitionSubmission(
            petitioner_name=values["petitioner_name"] or None,
            id_number=values["id_number"].upper() or None,
            phone=values["phone"].replace(" ", "").replace("-", "") or None,
            address=values["address"] or None,
            issue_region=values["issue_region"] or None,
            category=values["category"] or None,
            petition_type=values["petition_type"] or None,
            respondent=values["respondent"] or None,
            occurred_on=values["occurred_on"] or None,
            facts=values["facts"] or None,
            demand=values["demand"] or None,
            people_count=int(people) if people else None,
            prior_procedure=values["prior_procedure"] or None,
            consent=values["consent"] == "1",
            channel=values["channel"],
            idempotency_key=f"console:{me.username}:{values['form_key']}"[:128],
            transcript=[{"role": "citizen", "text": values["text"], "channel": values["channel"],
                         "recorded_by": me.username}] if values["text"] else [],
            actor=me.actor,
        )
        result = do_submit_petition(factory_of(request), submission)
    except PetitionError as exc:
        return _new_case_page(request, me, values, error=shown_message(request, exc),
                              error_field=getattr(exc, "field", None), status_code=exc.http_status)
    return RedirectResponse(f"/console/cases/{result.case_no}?done=created", status_code=303)


# ---------------------------------------------------------------------------- one case


@dataclass
class ActionForm:
    spec: ActionSpec
    fields: list[dict[str, Any]] = field(default_factory=list)


def _action_forms(request: Request, specs: list[ActionSpec]) -> list[ActionForm]:
    forms = []
    departments: list[tuple[str, str]] | None = None
    staff: list[tuple[str, str]] | None = None
    for spec in specs:
        form = ActionForm(spec)
        for param in spec.params:
            options: list[tuple[str, str]] | None = None
            if param.kind == "department":
                departments = departments if departments is not None else _departments(request)
                options = departments
            elif param.kind == "staff":
                staff = staff if staff is not None else _staff_names(request)
                options = staff
            elif param.kind == "legal_channel":
                options = list(LEGAL_CHANNEL_LABELS.items())
            form.fields.append({
                "name": param.name, "label": param.label, "required": param.required, "options": options,
                "long": param.name in LONG_TEXT_PARAMS, "max_length": param.max_length,
            })
        forms.append(form)
    return forms


DONE_NOTICES = {
    "created": "已登记。请核对信息，并在受理期限内作出处理。",
    "reply": "回复已进入发送队列，会通过信访人原来的渠道送达。",
}


def _case_page(request: Request, me: ConsoleSession, case_no: str, *, reveal: bool = False,
               error: str | None = None, status_code: int = 200, form_values: dict[str, str] | None = None) -> Response:
    factory = factory_of(request)
    case = get_case(factory, case_no)
    now = utcnow()
    view = _view(case, me, revealed=reveal, full=True)
    specs = available_actions(case, _actor(me), now)
    done = request.query_params.get("done", "")
    notice = DONE_NOTICES.get(done) or (f"“{ACTIONS[done].label}”已完成。" if done in ACTIONS else None)
    try:
        attachments = list(list_case_attachments(factory, case.case_no))
    except PetitionError:
        attachments = []
    return render(
        request, "case.html",
        {
            "nav": "queue", "case": case, "view": view, "revealed": reveal,
            "due_state": due_state(case.due_at, now, NEAR_DUE_DAYS), "forms": _action_forms(request, specs),
            "related": related_cases(factory, case), "attachments": attachments, "notice": notice,
            "error": error, "form_values": form_values or {},
            "can_reply": can_notify(case), "max_reply": MAX_REPLY,
            "dept_names": {d.code: d.name for d in get_routing_table(factory).departments},
        },
        session=me, status_code=status_code,
    )


@router.get("/cases/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, case_no: str, me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    return _case_page(request, me, case_no)


@router.post("/cases/{case_no}/reveal", response_class=HTMLResponse)
def case_reveal(request: Request, case_no: str, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    """Admins only: show ID and phone numbers unmasked, recorded as a ``view_identity`` case event."""
    me = posted.session
    do_reveal_identity(factory_of(request), case_no, _actor(me), department=me.department_code)
    pii_log.info("%s viewed case %s unmasked in the console", posted.session.actor, case_no)
    return _case_page(request, posted.session, case_no, reveal=True)


@router.post("/cases/{case_no}/actions/{action}", response_class=HTMLResponse)
def case_action(request: Request, case_no: str, action: str,
                posted: Annotated[Posted, Depends(posted_form)]) -> Response:
    me = posted.session
    spec = ACTIONS.get(action)
    if spec is None:
        return _case_page(request, me, case_no, error="没有这个办理操作。", status_code=404)
    params = {p.name: posted.get(p.name) for p in spec.params if p.name in posted.form}
    try:
        case = do_case_action(factory_of(request), case_no, action, _actor(me), params)
    except PetitionError as exc:
        return _case_page(request, me, case_no, error=shown_message(request, exc), status_code=exc.http_status,
                          form_values={f"{action}.{k}": v for k, v in params.items()})
    return RedirectResponse(f"/console/cases/{case.case_no}?done={action}", status_code=303)


@router.post("/cases/{case_no}/reply", response_class=HTMLResponse)
def case_reply(request: Request, case_no: str, posted: Annotated[Posted, Depends(posted_form)]) -> Response:
    me = posted.session
    text = posted.get("text").strip()
    try:
        case = do_reply(factory_of(request), case_no, _actor(me), text)
    except PetitionError as exc:
        return _case_page(request, me, case_no, error=shown_message(request, exc), status_code=exc.http_status,
                          form_values={"reply.text": text})
    return RedirectResponse(f"/console/cases/{case.case_no}?done=reply", status_code=303)


@router.get("/attachments/{attachment_id}")
async def attachment_download(request: Request, attachment_id: int,
                              me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    row, case_no = await run_in_threadpool(get_attachment, factory_of(request), attachment_id)
    if case_no is None:
        admin_session(request)  # files not yet linked to a case: admins only
    path = attachment_path(AttachmentPolicy.from_settings(settings_of(request)), row)
    pii_log.info("%s downloaded attachment %s of case %s in the console", me.actor, row.id, case_no or "-")
    return FileResponse(path, media_type=row.content_type, filename=row.filename,
                        content_disposition_type="attachment")
