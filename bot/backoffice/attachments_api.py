"""Attachments API: the files a citizen sent with a case, for staff to look at.

* ``GET /api/cases/{case_no}/attachments`` lists a case's files (staff and admins);
* ``GET /api/attachments/{id}`` downloads one. A file not yet linked to a case (sent before
  the petition was submitted) is for admins only.

Attachments often show identity documents, so every download is written to the
``bot.backoffice.pii_access`` log (who, which file, which case).
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.backoffice.auth import CurrentPrincipal, Role
from bot.cases.attachment_models import Attachment
from bot.cases.attachments import AttachmentPolicy, attachment_path, get_attachment, list_case_attachments
from bot.errors import Forbidden

pii_log = logging.getLogger("bot.backoffice.pii_access")

attachments_router = APIRouter(tags=["attachments"])


class AttachmentOut(BaseModel):
    id: int
    kind: str = Field(..., description="photo | document | image")
    filename: str
    content_type: str
    size: int = Field(..., description="bytes")
    sha256: str
    channel: str
    created_at: str = Field(..., description="ISO 8601, UTC")
    url: str = Field(..., description="download path")


def _factory(request: Request) -> sessionmaker:
    factory: sessionmaker = request.app.state.session_factory
    return factory


def attachment_to_dict(row: Attachment) -> dict[str, Any]:
    return {
        "id": row.id, "kind": row.kind, "filename": row.filename, "content_type": row.content_type,
        "size": row.size, "sha256": row.sha256, "channel": row.channel,
        "created_at": row.created_at.isoformat(), "url": f"/api/attachments/{row.id}",
    }


@attachments_router.get("/api/cases/{case_no}/attachments", response_model=list[AttachmentOut],
                        summary="Files sent with a case (附件列表)")
def api_case_attachments(request: Request, case_no: str, principal: CurrentPrincipal) -> Any:
    return [attachment_to_dict(a) for a in list_case_attachments(_factory(request), case_no)]


@attachments_router.get(
    "/api/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
    summary="Download one attachment (下载附件)",
)
async def api_download_attachment(request: Request, attachment_id: int, principal: CurrentPrincipal) -> FileResponse:
    row, case_no = await run_in_threadpool(get_attachment, _factory(request), attachment_id)
    if case_no is None and principal.role is not Role.ADMIN:
        raise Forbidden(f"attachment {attachment_id} is not linked to a case",
                        user_message="这个附件尚未归入信访事项，只有管理员可以查看。")
    path = attachment_path(AttachmentPolicy.from_settings(request.app.state.settings), row)
    pii_log.info("%s downloaded attachment %s (%s) of case %s", principal, row.id, row.sha256[:12], case_no or "-")
    return FileResponse(
        path, media_type=row.content_type, filename=row.filename,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )
