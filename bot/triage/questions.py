"""Follow-up questions, as data: one closed question per fact the table may need.

The engine asks a question only when its fact is still unknown, the citizen has not
answered "不清楚" to it, it makes sense for the matter (``applies``), and at least
one of its answers would change the outcome (the matching rule, or the deadline when
no date is known). At most :data:`MAX_QUESTIONS` are asked, in the order below.
Every question offers "不清楚" (value ``unknown``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.triage.facts import TriageFacts
from bot.triage.model import Question

__all__ = ["MAX_QUESTIONS", "QUESTIONS", "UNKNOWN", "QuestionSpec"]

MAX_QUESTIONS = 4
UNKNOWN = ("unknown", "不清楚")
_YES_NO = (("yes", "是"), ("no", "否"), UNKNOWN)

_ADMIN = ("admin_act",)
_LEGAL_ROUTE_DISPUTES = ("labour", "admin_act", "civil", "consumer", "family", "rural_land", "medical",
                         "environment", "other", None)


@dataclass(frozen=True)
class QuestionSpec:
    question: Question
    #: the fact(s) the answer sets; the question is pending while the first is unknown
    fact: str
    applies: Callable[[TriageFacts], bool]

    @property
    def id(self) -> str:
        return self.question.id

    def values(self) -> list[str]:
        return [v for v, _ in self.question.options if v != "unknown"]


def _q(qid: str, text: str, options: tuple[tuple[str, str], ...]) -> Question:
    return Question(qid, text, options)


QUESTIONS: tuple[QuestionSpec, ...] = (
    QuestionSpec(
        _q("dispute", "您的问题主要属于哪一类？", (
            ("labour", "工资、劳动合同、社保等和单位的纠纷"),
            ("admin_act", "对政府部门的决定、处罚或不作为不服"),
            ("civil", "和个人或单位的借款、合同、邻里等纠纷"),
            ("consumer", "购物消费纠纷"),
            ("family", "婚姻家庭、赡养抚养、继承"),
            ("rural_land", "农村土地承包"),
            ("medical", "医疗纠纷"),
            ("environment", "环境污染"),
            ("official_misconduct", "举报干部违纪违法"),
            ("suggestion", "提建议"),
            ("other", "其他"),
            UNKNOWN,
        )),
        "dispute",
        lambda f: True,
    ),
    QuestionSpec(
        _q("prior_procedure", "这件事现在是否已经在走法律程序，或者已经有结果？", (
            ("none", "都还没有"),
            ("litigation", "已经起诉，法院正在处理"),
            ("administrative_review", "已经申请行政复议，正在处理"),
            ("arbitration", "已经申请仲裁，正在处理"),
            ("effective_judgment", "已经有生效的判决"),
            ("petition_reply", "已经收到信访处理意见"),
            UNKNOWN,
        )),
        "procedure_pending",
        # not when the text already says a judgment is in force: that is this question's answer
        lambda f: (f.dispute in _LEGAL_ROUTE_DISPUTES and f.petition_reply_received is not True
                   and f.effective_judgment is None),
    ),
    QuestionSpec(
        _q("known_date", "您是什么时候知道这个决定（或这件事）的？", (
            ("within_60d", "两个月以内"),
            ("60d_6m", "两个月到半年"),
            ("6m_5y", "半年到五年"),
            ("over_5y", "五年以上"),
            UNKNOWN,
        )),
        "known_date",
        lambda f: True,
    ),
    QuestionSpec(
        _q("review_mandatory", "这个决定属于下面哪种情况？", (
            ("on_spot", "当场作出的处罚（如现场开的罚单）"),
            ("tax", "纳税方面的争议"),
            ("info_disclosure", "申请政府信息公开被拒绝"),
            ("natural_resource", "涉及已取得的土地、山林、草原等自然资源权属"),
            ("none", "都不是"),
            UNKNOWN,
        )),
        "review_mandatory",
        lambda f: f.admin_act is True,
    ),
    QuestionSpec(
        _q("has_review_decision", "您是否已经申请过行政复议，并收到了复议决定书？", _YES_NO),
        "has_review_decision",
        lambda f: f.admin_act is True,
    ),
    QuestionSpec(
        _q("petition_stage", "您收到的是哪一级的信访答复？", (
            ("reply", "第一次的处理意见"),
            ("review", "复查意见"),
            ("recheck", "复核意见"),
            UNKNOWN,
        )),
        "petition_stage",
        lambda f: f.petition_reply_received is True,
    ),
    QuestionSpec(
        _q("employment_ended", "您现在是否已经离开这家单位（离职、被辞退或合同到期）？", _YES_NO),
        "employment_ended",
        lambda f: f.dispute == "labour" and f.wages_unpaid_during_employment is True,
    ),
    QuestionSpec(
        _q("retrial_refused", "您是否已经申请过再审，并被法院驳回（或法院超期没有答复）？", _YES_NO),
        "retrial_refused",
        lambda f: f.effective_judgment in ("civil", "admin"),
    ),
    QuestionSpec(
        _q("arbitration_agreement", "您和对方的合同里是否写了“发生纠纷由某仲裁委员会仲裁”？", _YES_NO),
        "arbitration_agreement",
        lambda f: f.dispute in ("civil", "consumer", "other"),
    ),
    QuestionSpec(
        _q("real_property", "这个决定是否涉及房屋、土地等不动产？", _YES_NO),
        "real_property",
        lambda f: f.admin_act is True,
    ),
    QuestionSpec(
        _q("already_accepted", "这件事是否已经向信访部门反映过，并且已经受理、正在办理？", _YES_NO),
        "already_accepted",
        lambda f: f.dispute in ("other", None) and f.petition_reply_received is not True,
    ),
)
