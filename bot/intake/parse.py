"""Every petition field that can be read from a free text (a letter, a call note, a long message).

Used by the chat form for messages that carry several fields and by ``POST /api/intake/parse``.
Keys are present only when found; phone and ID numbers only when valid. ``facts`` is left to
the caller, and ``issue_region`` is never taken from the citizen's home address.
"""
from __future__ import annotations

import re
from datetime import date

from bot.intake import counts, dates, idcard, names, phone, region
from bot.intake.category import suggest_category
from bot.intake.normalize import normalize_text
from bot.intake.petition_type import suggest_petition_type

_CLAUSE_END = "，,。；;！!？?\n、：:"
_ID_LIKE = re.compile(r"(?<![0-9])[0-9]{6}[ \-]?[0-9]{8}[ \-]?[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_LONG_NUMBER = re.compile(r"(?<![0-9])\+?[0-9](?:[ \-]?[0-9]){6,}(?![0-9])")

_ADDRESS = re.compile(
    r"(?:家住|住在|住址(?:是|为|在)?[:：]?|家庭住址(?:是|为)?[:：]?|现住(?:在|址)?[:：]?|居住(?:在|于|地)[:：]?|地址(?:是|为)[:：]?"
    # a bare 住 opening a clause ("…，住北京市朝阳区…"), not 住院 / 住房 / 住户 / 住宿
    r"|(?:(?<=^)|(?<=[，,。；;\s]))住(?![在址院房户宿])[:：]?)"
    rf"\s*(?P<addr>[^{_CLAUSE_END}]+)"
)
_PLACE_MARK = re.compile(r"省|市|区|县|州|旗|镇|乡|村|路|街|巷|弄|号|小区|栋|幢|楼|单元|室|组|社区|大道|胡同|屯|庄")

_REGION_CUE = re.compile(
    r"(?:事发地点?|发生地点?|事发在|发生在|地点)(?:是|为|在)?[:：]?\s*(?P<a>[^" + _CLAUSE_END + r"]+)"
    r"|(?<![现正存所实还住])(?:在|于|位于|到)(?P<b>[^" + _CLAUSE_END + r"]+)"
)

_SUFFIX = (
    r"(?:股份有限公司|有限责任公司|有限公司|分公司|公司|集团|管理局|公安局|局|人民政府|政府|村民委员会|居民委员会|委员会|"
    r"村委会|居委会|管委会|街道办事处|街道办|街道|办事处|派出所|法院|检察院|卫生院|医院|中学|小学|大学|学院|学校|幼儿园|"
    r"工厂|厂|服务中心|中心|物业|银行|超市|商场|项目部|工地|开发商|所|站|队|店)"
)
_CONTINUATION = r"(?:[\u4e00-\u9fff]{0,6}?(?:有限责任公司|有限公司|分公司|公司|集团|管理处|服务中心))?"
_TITLE = r"(?:主任|书记|局长|镇长|乡长|村长|区长|县长|所长|院长|校长|经理|老板|负责人|工作人员|干部|领导|民警|医生|老师)?"
_ORG_CHARS = r"[\u4e00-\u9fffA-Za-z0-9（）()]"
_ORG_AFTER_VERB = re.compile(r"^\s*(?:一下|了)?\s*(?P<org>" + _ORG_CHARS + r"{0,16}?" + _SUFFIX + _CONTINUATION + _TITLE + ")")
_ORG_BEFORE_VERB = re.compile(r"(?P<org>" + _ORG_CHARS + r"{0,12}" + _SUFFIX + _CONTINUATION + _TITLE + r")\s*$")
_ACCUSE_VERB = re.compile(r"(?:反映|投诉|举报|检举|控告|状告|起诉|告发)")
_MISCONDUCT_VERB = re.compile(
    r"(?:就|都|也|又|还)?(?:一直|长期|多次|至今|已经|始终|迟迟|仍然)?"
    r"(?:拖欠|欠|不(?:给|发|退|予|办|管|理|立案|受理|处理|答复|回复|履行|执行|解决|赔|还)|拒绝|拒不|克扣|违法|违规|乱|强拆|强行|私自|擅自|殴打|打了|"
    r"污染|排放|偷排|占用|侵占|不作为|推诿|贪污|受贿|挪用|侵吞|索要|骗)"
)
# Everything up to the last of these characters is narrative, not part of the organisation's name.
_BOUNDARY = re.compile(r"^.*[我你他她们的了在是被给把跟和与就也都又还说去到对向从始年月日天这那个该]")
_GENERIC = {"公司", "分公司", "集团", "局", "政府", "委员会", "街道", "中心", "物业", "工厂", "厂", "所", "站", "队", "店",
            "医院", "学校", "银行", "超市", "商场", "工地", "大学", "中学", "小学", "学院", "办事处"}

_DEMAND = re.compile(
    r"(?P<lead>诉求(?:是|为)?[:：]?|我的诉求(?:是|为)?[:：]?)\s*(?P<rest>[^。！!？?\n]+)"
    r"|(?P<ask>(?<!符合)(?<!按照)(?<!按)(?<!的)(?:要求|希望|请求|恳请|恳求|盼望))(?P<ask_rest>[^。！!？?\n]+)"
)


def _blank_numbers(text: str) -> str:
    """ID and phone-length digit runs become separators so dates and counts never read them."""
    text = _ID_LIKE.sub("，", text)
    return _LONG_NUMBER.sub("，", text)


def _find_address(text: str) -> tuple[str | None, str]:
    """(normalised home address or None, the text with the address clause removed)."""
    for match in _ADDRESS.finditer(text):
        raw = match["addr"].strip()
        if len(raw) >= 2 and _PLACE_MARK.search(raw):
            return region.normalize_address(raw), text[: match.start()] + "，" + text[match.end():]
    return None, text


#: a place name the boundary cut in two: "天心区" → "心区", "和平区" → "平区"
_CUT_PLACE = re.compile(r"^[\u4e00-\u9fff](?:区|县|市|镇|乡|街道)")
_PLACE_NAME_CHARS = "天年月日和与始"


def _clean_org(org: str) -> str | None:
    cut = _BOUNDARY.sub("", org)
    start = len(org) - len(cut)
    if start and org[start - 1] in _PLACE_NAME_CHARS and _CUT_PLACE.match(cut):
        cut = org[start - 1:]  # the boundary character began the place name
    org = cut.strip("（）() ")
    if len(org) < 2 or org in _GENERIC:
        return None
    return org


def find_respondent(text: str) -> str | None:
    """The organ, unit or person complained about, read from phrases such as '投诉X' or 'X拖欠'."""
    for verb in _ACCUSE_VERB.finditer(text):
        clause = re.split(f"[{_CLAUSE_END}]", text[verb.end():], maxsplit=1)[0]
        match = _ORG_AFTER_VERB.match(clause)
        if match:
            org = _clean_org(match["org"])
            if org:
                return org
    for verb in _MISCONDUCT_VERB.finditer(text):
        before = re.split(f"[{_CLAUSE_END}]", text[: verb.start()])[-1]
        match = _ORG_BEFORE_VERB.search(before)
        if match:
            org = _clean_org(match["org"])
            if org:
                return org
    return None


def find_issue_region(text: str, respondent: str | None = None) -> str | None:
    """Where the matter happened, from '事发地…', '在X…' or the respondent's name; never a home address."""
    for match in _REGION_CUE.finditer(text):
        found = region.parse_region(match["a"] or match["b"] or "")
        if found is not None:
            return found.text
    if respondent:
        found = region.parse_region(respondent)
        if found is not None:
            return found.text
    return None


def find_demand(text: str) -> str | None:
    """The citizen's request: the last sentence introduced by 诉求是/要求/希望/请求."""
    found: str | None = None
    for match in _DEMAND.finditer(text):
        if match["lead"] is not None:
            candidate = match["rest"].strip(" ，,：:")
        else:
            candidate = (match["ask"] + match["ask_rest"]).strip(" ，,")
            if len(match["ask_rest"].strip(" ，,")) < 2:
                continue
        if len(candidate) >= 2:
            found = candidate
    return found


def parse_free_text(text: str, today: date, *, with_category: bool = True) -> dict[str, object]:
    """Petition fields readable from a free text; each key is present only when found.

    ``with_category=False`` skips the category suggestion (a classifier run: the costliest part),
    for callers that do not use it."""
    plain = normalize_text(text or "")
    result: dict[str, object] = {}
    if not plain:
        return result

    name = names.find_name(plain)
    if name:
        result["petitioner_name"] = name
    id_candidate = idcard.find_id_number(plain)
    if id_candidate and idcard.is_valid_id_number(id_candidate):
        result["id_number"] = id_candidate
    phone_number = phone.find_phone(plain)
    if phone_number:
        result["phone"] = phone_number

    work = _blank_numbers(plain)
    address, work = _find_address(work)
    if address:
        result["address"] = address

    occurred = dates.parse_date(work, today)
    if occurred and not dates.is_future(occurred, today):
        result["occurred_on"] = occurred
    people = counts.find_people_count(work)
    if people:
        result["people_count"] = people
    demand = find_demand(work)
    if demand:
        result["demand"] = demand
    respondent = find_respondent(work)
    if respondent:
        result["respondent"] = respondent
    issue_region = find_issue_region(work, respondent)
    if issue_region:
        result["issue_region"] = issue_region

    category = suggest_category(work) if with_category else None
    if category:
        result["category"] = category
    petition_type = suggest_petition_type(work)
    if petition_type:
        result["petition_type"] = petition_type
    return result
