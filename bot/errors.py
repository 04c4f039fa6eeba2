"""One error hierarchy for the product.

Every error carries a stable ``code``, the HTTP status the back-office answers
with, and a polite Chinese sentence the chat shows the citizen. Edges (chat
actions, HTTP handlers, channel workers) translate; inner code only raises.
"""
from __future__ import annotations


class PetitionError(Exception):
    """Base class of every error the product raises on purpose."""

    code = "error"
    http_status = 500
    user_message = "抱歉，系统暂时出了点问题，请您稍后再试。"
    retryable = False

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code
        if user_message is not None:
            self.user_message = user_message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail, "message": self.user_message}


class InvalidInput(PetitionError):
    """Input that does not satisfy a field's format or a request's schema."""

    code = "invalid_input"
    http_status = 422
    user_message = "您输入的内容格式不太对，请您再核对一下。"


class InvalidField(InvalidInput):
    """A petition field that failed validation; ``field`` names it."""

    code = "invalid_field"

    def __init__(self, field: str, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or f"invalid {field}", user_message=user_message)
        self.field = field


class NotFound(PetitionError):
    code = "not_found"
    http_status = 404
    user_message = "没有找到您要的记录，请核对编号后再试。"


class Unauthorized(PetitionError):
    code = "unauthorized"
    http_status = 401
    user_message = "请先登录。"


class Forbidden(PetitionError):
    code = "forbidden"
    http_status = 403
    user_message = "您没有权限进行这个操作。"


class Conflict(PetitionError):
    code = "conflict"
    http_status = 409
    user_message = "这条记录刚刚被其他人修改过，请刷新后再试。"


class HeldByColleague(Conflict):
    """A case another staff member holds. ``holder`` is their login; the edge that knows the
    staff list shows their display name instead (:meth:`message_for`)."""

    def __init__(self, holder: str, template: str, detail: str = "") -> None:
        self.holder = holder
        self.template = template
        super().__init__(detail or f"case held by {holder}", user_message=template.format(holder=holder))

    def message_for(self, name: str) -> str:
        return self.template.format(holder=name)


class InvalidTransition(Conflict):
    code = "invalid_transition"
    user_message = "当前状态下不能进行这个操作。"


class StorageUnavailable(PetitionError):
    code = "storage_unavailable"
    http_status = 503
    retryable = True
    user_message = "系统正忙，您的信息已经保留，请稍后再试。"


class UpstreamUnavailable(PetitionError):
    """A service we depend on (Rasa, a chat API) did not answer in time."""

    code = "upstream_unavailable"
    http_status = 503
    retryable = True
    user_message = "系统正忙，请您稍后再试，已填写的内容不会丢失。"


class DeliveryFailed(PetitionError):
    """A chat API did not accept an outgoing message (raised by outbox senders).

    ``retryable`` (per instance) tells the dispatcher to try again later; ``retry_after`` is the
    channel's own hint in seconds; ``parts_sent`` counts the pieces of a split text that did go
    out, so a retry sends only the rest.
    """

    code = "delivery_failed"
    http_status = 502
    retryable = True
    user_message = "消息暂时没有发送成功，系统会自动重试。"

    def __init__(self, detail: str = "", *, retryable: bool | None = None, retry_after: float | None = None,
                 parts_sent: int | None = None, user_message: str | None = None) -> None:
        super().__init__(detail, user_message=user_message)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after
        self.parts_sent = parts_sent


class DeliveryRejected(DeliveryFailed):
    """The channel refused the message for good (blocked bot, unknown user): no retry."""

    code = "delivery_rejected"
    retryable = False
    user_message = "消息无法送达对方，请工作人员通过其他方式联系。"


class DeliveryHeld(PetitionError):
    """Not a failure: the message cannot be pushed now (WeChat 48-hour window, REST without a
    callback URL) and waits for the citizen's next message."""

    code = "delivery_held"
    http_status = 409
    user_message = "消息将在您下次发来消息时送达。"
