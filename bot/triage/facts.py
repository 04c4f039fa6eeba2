"""The facts the decision table looks at, read from a free text and from explicit answers.

Reading is deliberately conservative: a fact the text does not clearly state stays
``None`` (unknown) so the engine can ask about it, and an explicit answer always
wins over what the text seemed to say. Keyword matching works on substrings of the
normalised text (Chinese has no spaces; substrings are more robust here than a
segmenter for the short, fixed phrases we look for), with a small negation window
("还没有起诉", "合同里没写仲裁条款").
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from bot.errors import InvalidField
from bot.triage.deadlines import add_months, find_date_ranges, parse_date_range
from bot.triage.model import DISPUTES

__all__ = ["TriageFacts", "apply_answers", "extract_facts", "facts_from_text", "normalise_text"]

MAX_TEXT = 5000


@dataclass(frozen=True)
class TriageFacts:
    """What we know about the citizen's matter. ``None`` always means "not known yet"."""

    dispute: str | None = None
    admin_act: bool | None = None
    admin_inaction: bool | None = None
    #: 复议前置 (行政复议法 Art 23): on-the-spot penalty, natural-resource rights, tax,
    #: refused information disclosure, inaction.
    review_mandatory: bool | None = None
    arbitration_agreement: bool | None = None
    #: 'court' | 'review' | 'arbitration' | 'none' (checked: nothing pending) | None
    procedure_pending: str | None = None
    #: 'civil' | 'admin' | 'criminal' | 'none' | None
    effective_judgment: str | None = None
    retrial_refused: bool | None = None
    #: the other side does not comply with an effective civil judgment (申请强制执行, 民诉法 Art 247)
    judgment_unperformed: bool | None = None
    #: the police would not open a case on the citizen's report (刑诉法 Art 112, 113)
    filing_refused: bool | None = None
    has_review_decision: bool | None = None
    petition_reply_received: bool | None = None
    #: which 信访 answer the citizen holds: 'reply' 处理意见 | 'review' 复查意见 | 'recheck' 复核意见
    petition_stage: str | None = None
    already_accepted: bool | None = None
    #: the day the citizen knew of the act / harm / decision / reply that starts the clock
    known_date: date | None = None
    #: latest plausible reading of a vague date ("上个月" -> last day of last month);
    #: None when the date is exact. Routing uses ``known_date`` (the early, safe side).
    known_date_latest: date | None = None
    #: known_date came from a rough answer ("两个月内"): route on it, but give no due date
    known_date_approx: bool = False
    employment_end: date | None = None
    wages_unpaid_during_employment: bool | None = None
    #: hurt at work (工伤): the injury has to be recognised first (工伤保险条例 Art 17)
    work_injury: bool | None = None
    employment_ended: bool | None = None
    hardship: bool | None = None
    real_property: bool | None = None
    #: facts the citizen answered "不清楚": not asked again, treated as unknown
    unsure: frozenset[str] = field(default_factory=frozenset)


# --------------------------------------------------------------------------- text


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")[:MAX_TEXT]
    try:  # traditional -> simplified when the shared normaliser is available
        from bot.intake.normalize import to_simplified

        text = to_simplified(text)
    except Exception:  # pragma: no cover - optional dependency (opencc)
        pass
    return re.sub(r"\s+", "", text)


_NEGATORS = ("没有", "没", "未", "无", "不是", "并非", "尚未", "还没")


def _negated(text: str, start: int, end: int | None = None) -> bool:
    """A negator in the 4 characters before a match (or inside a pattern match)."""
    window = text[max(0, start - 4) : end if end is not None else start]
    return any(n in window for n in _NEGATORS)


def _find(text: str, words: Iterable[str]) -> list[tuple[str, bool]]:
    """Occurrences of ``words`` (plain substrings, or ``re:`` patterns) as (word, negated)."""
    hits: list[tuple[str, bool]] = []
    for w in words:
        if w.startswith("re:"):
            for m in re.finditer(w[3:], text):
                hits.append((w, _negated(text, m.start(), m.end())))
        else:
            start = 0
            while (i := text.find(w, start)) >= 0:
                hits.append((w, _negated(text, i)))
                start = i + len(w)
    return hits


def _flag(text: str, words: Iterable[str]) -> bool | None:
    """True on a plain mention, False when every mention is negated, None when absent."""
    hits = _find(text, words)
    if not hits:
        return None
    return any(not neg for _, neg in hits)


def _any(text: str, words: Iterable[str]) -> bool:
    for w in words:
        if w.startswith("re:"):
            if re.search(w[3:], text):
                return True
        elif w in text:
            return True
    return False


# Keyword tables. Kept here (not in rules.yml): they describe reading, not law.
#: holders of public office (监察法 Art 15: civil servants, village and SOE managers, ...)
_OFFICIAL = (
    "(干部|村官|支书|书记|村长|村主任|居委会主任|街道办主任|镇长|乡长|县长|市长|区长|局长|科长|处长|所长|"
    "站长|队长|院长|校长|(镇|乡|县|市|区|局|政府|街道|村|机关)(里|里的|的)?领导|公务员|官员|公职人员|民警|警察|"
    "辅警|协警|法官|检察官|(村|村里)的?(会计|出纳|文书|干部)|小组长|主任|部长|主席|厅长|省长|党员|第一书记|网格员|工作人员|公务人员)"
)
#: what such a person did wrong: took money or gifts, abused power, broke the rules
_MISDEED = (
    "(收了?.{0,4}(钱|好处|礼|红包|卡|烟|酒)|拿了?.{0,4}(钱|好处|回扣)|捞|贪|私分|私吞|侵占|挪|霸占|"
    "违规|违法|插手|打压|报复|特权|公车|公款|报销|吃喝|喝酒|醉|打麻将|打牌|赌|上班时间|包庇|徇私|走后门|"
    "暗箱|假账|虚报|冒领|套取|截留|乱花|偷偷卖|卖了|占为己有|滥用|刁难|威胁|勾结|强占|欺压|作风|酒驾|"
    "不给钱不办|给钱才办|要钱|通风报信|"
    # keeping back money the state pays out to people (截留、克扣)
    "(补贴|补助|救济|低保|抚恤|养老金|补偿款|扶贫|惠农|粮补|款).{0,6}(扣下|扣留|扣了|扣掉|扣着|克扣|截留|扣发|少发)|"
    "(扣下|扣留|扣了|扣掉|扣着|克扣|截留|扣发).{0,6}(补贴|补助|救济|低保|抚恤|养老金|补偿款|扶贫|惠农|粮补)|"
    "要(我|我们|人|群众)?.{0,3}(给|交|送).{0,8}(钱|块|元|万|红包|礼)|"
    # public money steered to the official's own people
    "(钱|款|补助|补贴|资金|救济|物资).{0,6}(打到|转到|转给|发给|分给|给了)了?.{0,3}的?"
    "(亲戚|家人|老婆|儿子|女儿|亲属|小舅子|自家|自己))"
)
_DISPUTE_WORDS: dict[str, tuple[str, ...]] = {
    "crime": (
        "正在打人", "打人了", "殴打", "抢劫", "抢走", "偷了", "被偷", "被盗", "盗窃", "诈骗", "骗走",
        "电信诈骗", "杀人", "绑架", "非法拘禁", "强奸", "猥亵", "放火", "纵火", "持刀", "砍人",
        "贩毒", "吸毒", "赌博", "赌场", "传销", "敲诈", "勒索", "黑社会", "恐吓", "扬言要杀",
        "要杀了", "报警", "拐卖", "砸了我家", "砸店", "闯进", "入室", "行凶", "撬门", "撬锁",
        "re:抢(东西|钱|手机|包|劫|走)", "偷东西", "被人打", "被抢", "re:抢了.{0,3}(东西|钱|手机|包|项链|金)",
        # online and phone fraud (刑法 Art 266): impersonation, fake jobs, money moved away
        "刷单", "冒充", "网络诈骗", "杀猪盘", "re:假冒.{0,2}(客服|警察|民警|公检法|领导|熟人|快递员)",
        "re:(骗|诱导|哄).{0,8}(转账|转钱|汇款|打钱|转了)", "re:(钱|款).{0,4}被.{0,4}(转走|骗)",
    ),
    "official_misconduct": (
        "受贿", "行贿", "贪污", "索贿", "收红包", "吃拿卡要", "挪用", "以权谋私", "腐败", "公款",
        "违纪", "滥用职权", "贿赂", "好处费", "优亲厚友", "作风问题", "利用职务", "侵吞",
        "中饱私囊", "截留", "克扣补贴", "收受", "吃回扣", "收钱办事", "送礼",
        # acts that are misconduct by themselves (监察法 Art 11, 15)
        "私分", "私吞", "贪了", "贪掉", "吃空饷", "空饷", "买官卖官", "跑官要官", "权钱交易",
        "大吃大喝", "公款吃喝", "公车私用", "公车", "做假账", "假账", "虚报冒领", "冒领", "套取",
        "骗取补贴", "骗取补助", "关系保", "人情保", "暗箱操作", "围标", "串标", "礼金", "购物卡",
        "违规发放", "违规提拔", "徇私", "渎职", "失职", "玩忽职守", "包庇", "保护伞", "官僚主义",
        "形式主义", "懒政", "回扣", "小金库", "村务不公开", "财务不公开", "账目不公开",
        "侵占集体", "集体资产", "集体资金", "打击报复", "以权压人", "利用职权", "职权", "官商勾结",
        "欺压百姓", "多吃多占", "贪占", "乱摊派", "摊派", "公款旅游", "生活作风", "包养", "大操大办",
        "索要", "通风报信", "要好处", "收好处", "拿好处", "给好处", "吃空饷", "违规经商", "权力寻租",
        # an office holder doing something for gain or against the rules
        f"re:{_OFFICIAL}.{{0,20}}{_MISDEED}",
        f"re:(举报|检举|控告|反映).{{0,12}}{_OFFICIAL}",
    ),
    "petition_reply": (
        "信访答复", "答复意见", "处理意见书", "信访处理意见", "复查意见", "复核意见", "信访回复",
        "re:信访.{0,12}(答复|回复|处理意见).{0,10}(不满意|不服|不认可|不同意)",
        "re:(不满意|不服|不认可).{0,8}信访.{0,6}(答复|回复|处理意见)",
        "re:信访(局|办|部门|办公室|机构).{0,15}(答复|回复|处理意见|意见书)",
        "re:(书面答复|处理意见).{0,20}(不支持|没有支持|驳回|不予支持)",
        "re:复[查核](过|完|结果|维持|也|决定|都)",
        "re:(处理意见|书面答复).{0,10}(不满意|不服|不认可)",
    ),
    "admin_act": (
        "罚款", "罚单", "行政处罚", "处罚决定", "行政拘留", "吊销", "没收", "查封", "扣押", "扣车",
        "强拆", "强制拆除", "拆除通知", "限期拆除", "征收", "征地", "征用", "拆迁", "行政许可",
        "不予许可", "不予登记", "不予批准", "不批准", "信息公开", "税务", "补税", "滞纳金", "交警",
        "城管", "执法局", "综合执法", "工伤认定", "取消低保", "低保被取消", "低保取消", "确权决定",
        "责令", "停业整顿", "行政决定", "不动产登记", "吊销执照", "不作为", "不履行职责",
        "不履行法定职责", "行政复议", "拆除决定", "认定工伤", "不予认定", "决定书",
        "re:(政府|局|委员会|街道办|街道|管委会|乡里|镇里|执法队|大队).{0,12}(决定|处罚|罚了|罚款|通知书|拆除|拆了|注销|撤销|吊销|没收|查封|扣押|取消|关停|停产|不批|不予)",
        "re:(证|执照|许可证|登记).{0,4}被.{0,8}(注销|撤销|吊销|收回)", "注销了", "被注销",
        # asking how to sue an organ (行政诉讼法 Art 2)
        "行政诉讼", "民告官", "行政行为", "re:(告|起诉|状告)(了)?.{0,4}(政府|局|行政机关|派出所|城管)",
        # an organ named, then its fine further on in the same sentence ("…局说…，…罚了我…")
        "re:(局|政府|执法队|城管|交警|大队|管委会)[^。！？!?；;]{13,30}(罚了|罚我|罚款|处罚|罚单)",
        # a social-insurance or medical-insurance office refusing or cutting a benefit (社会保险法 Art 83)
        "re:(医保局|社保局|医保中心|社保中心|医保经办|社保经办|人社局).{0,14}(不能|不予|不给|不让|拒绝|扣回|追回|停发|取消|减少|算错)",
    ),
    "labour": (
        "工资", "欠薪", "薪水", "加班费", "劳动合同", "辞退", "开除", "解雇", "裁员", "经济补偿",
        "社保", "社会保险", "五险一金", "公积金", "用人单位", "包工头", "农民工", "试用期",
        "劳务费", "年假", "劳动关系", "劳动仲裁", "工伤", "工钱", "拖欠工钱", "欠工钱", "辞职",
        # papers an employer owes at the end of a job (劳动合同法 Art 50)
        "离职证明", "解除劳动合同证明", "转档案", "档案转", "社保转移",
    ),
    "rural_land": (
        "承包地", "土地承包", "承包合同", "承包经营", "责任田", "口粮田", "土地流转", "流转",
        "承包权", "收回承包地", "调整土地", "调地", "承包的地", "承包的土地",
        "re:(承包地|承包的地|责任田|口粮田).{0,8}(收回|收走|调整|占了|给了)",
    ),
    "medical": (
        "医院", "医疗事故", "医疗纠纷", "误诊", "手术", "医生", "医疗损害", "漏诊", "护士",
        "住院", "药物过敏", "病历", "治疗",
    ),
    "consumer": (
        "假货", "网购", "商家", "退货", "退款", "质量问题", "售后", "消费者", "预付卡", "会员卡",
        "健身卡", "充值卡", "过期食品", "食品安全", "三无", "店家", "商场", "超市", "网店", "客服",
        "以次充好", "缺斤短两", "买到", "卖家", "直播间", "美容院", "办卡",
        # shops and services the market regulator oversees (消费者权益保护法 Art 39, 46)
        "保健品", "保修", "三包", "不够数", "少给", "计量", "re:(没有?|不)消毒", "脏兮兮", "脏乱",
        "re:(办了|办的|充了|充值|预付|会员|学费|卡|店|门店|机构).{0,15}(跑路|关门|倒闭|退不)",
        # food and drug safety
        "保质期", "re:过期(的)?(药|食品|牛奶|面包|零食|饮料|肉|商品|货|东西)", "re:(药|食品|牛奶|零食|饮料|肉|货).{0,6}过期",
        "变质", "发霉", "地沟油", "病死猪", "死猪肉", "注水肉", "黑作坊", "小作坊", "无证经营",
        "无照经营", "没有营业执照", "没有执照", "黑诊所", "卫生条件", "不卫生", "食物中毒",
        "吃坏", "拉肚子", "假药", "老鼠", "苍蝇", "蟑螂",
        # prices, weights, advertising
        "乱涨价", "乱收费", "价格欺诈", "宰客", "天价", "哄抬", "明码标价", "没标价",
        "不标价", "短斤少两", "少秤", "鬼秤", "缺秤", "re:秤.{0,4}(有问题|不准|不够|做了手脚)", "re:一斤少",
        "虚假广告", "虚假宣传", "电视购物", "翻新机", "假冒", "山寨", "强制消费", "霸王条款",
    ),
    "family": (
        "离婚", "抚养费", "抚养权", "探视", "赡养", "不养老人", "继承", "遗产", "遗嘱", "彩礼",
        "家暴", "扶养", "分家", "婚姻", "前夫", "前妻", "老公", "丈夫", "妻子", "儿女不管", "子女不管",
        # old parents left without support (民法典 Art 1067)
        "re:赶出了?家门", "不给生活费", "儿媳", "不孝", "不赡养", "虐待老人", "不管老人",
    ),
    "environment": (
        "污染", "排污", "偷排", "废水", "废气", "臭味", "异味", "粉尘", "扬尘", "噪声", "黑烟",
        "污水", "垃圾焚烧", "化工厂", "环保", "排放", "生态", "油烟", "烟尘", "恶臭", "光污染",
        "辐射", "乱倒垃圾", "倾倒", "排到",
        # more of what the environment authority acts on (环境保护法 Art 57)
        "粪", "养殖场", "养猪场", "养鸡场", "发臭", "臭气", "re:臭(得|烘烘|不可闻)", "冒烟", "烟囱",
        "呛", "刺鼻", "熏得", "采砂", "挖沙", "盗采", "河道", "焚烧", "烧垃圾", "烧秸秆", "秸秆",
        "废渣", "废料", "危废", "危险废物", "填埋", "扰民", "施工噪音", "施工噪声", "夜间施工",
        "半夜施工", "晚上施工", "打桩", "发黑", "水质", "变色", "砍伐", "滥伐", "毁林", "排污口",
        "尾气", "怪味", "灰尘", "采石场", "石场", "电镀", "印染", "造纸厂", "制药厂", "死鱼", "鱼都死",
        "re:(厂|工厂|企业|作坊).{0,10}(水|污水|废水|废油).{0,6}(流到|流进|排进|排到|灌进|渗到)",
        "re:(厂|工厂|企业|作坊|工地|ktv|酒吧|夜市).{0,12}(吵|噪音|噪声|响)",
        "re:吵得.{0,6}(没法睡|睡不着|不能睡|无法入睡|没法休息|休息不好)",
        "re:(晚上|半夜|夜里|深夜|凌晨).{0,10}(打桩|施工|开工|作业|机器)",
    ),
    "civil": (
        "邻居", "借钱", "借了我", "不还", "还钱", "欠钱", "re:借.{0,6}块钱", "re:借(了|给).{0,6}万", "拉黑", "借款", "欠款", "借条", "不还钱", "合同纠纷", "租房", "房东", "房租",
        "押金", "物业", "装修", "交通事故", "撞了", "侵权", "围墙", "院墙", "漏水", "采光", "噪音",
        "占道", "地界", "开发商", "商品房", "债务", "欠条", "打伤", "名誉", "侵占", "合伙",
        "货款", "工程款", "宠物", "狗咬",
        # contracts, property and companies between equal parties (民事, 民法典 Art 188)
        "合同", "违约", "定金", "订金", "担保", "抵押", "保证人", "买卖", "赔偿", "赔钱", "损失",
        "过户", "房产证", "二手房", "中介", "理赔", "保险公司", "股东", "股权", "分红", "商标",
        "专利", "著作权", "版权", "侵犯", "转让", "租赁", "承租", "出租", "追尾",
        # torts, companies, intellectual property, property and carriage between equal parties
        "肖像", "隐私权", "名誉权", "高空抛物", "坠物", "损害赔偿", "赔偿责任", "公司章程", "法定代表人",
        "注册资本", "清算", "董事", "监事", "合伙企业", "公司法", "知识产权", "盗版", "抄袭", "房产",
        "买房", "购房", "房款", "产权", "海运", "船舶", "提单", "货代", "运费", "涉外", "外国公司",
        # personal injury from a road accident (民法典 Art 1179, 1208)
        "撞伤", "被撞", "车祸", "肇事", "误工费", "护理费", "营养费", "人身损害",
    ),
    "suggestion": (
        "建议", "提议", "呼吁", "提个意见", "提点意见", "意见建议", "增设", "希望能增加", "希望增加",
        "希望政府", "能不能多", "献计",
    ),
}

#: Words that only set the scene (a workplace, a boss): half a point each, so that "the
#: building site next door is noisy at night" is about the environment, not a labour dispute.
_CONTEXT_WORDS: dict[str, tuple[str, ...]] = {
    "labour": ("老板", "打工", "上班", "工地", "工厂", "厂里"),
    # "骗" alone is said of cheating shops too; it tips the scale only when nothing else does
    "crime": ("骗我", "被骗", "骗了我", "骗子", "转走"),
    "consumer": (
        "饭馆", "饭店", "餐馆", "餐厅", "后厨", "外卖", "菜市场", "摊贩", "摊主", "摊位", "药店",
        "药房", "酒店", "宾馆", "旅行社", "导游", "景区", "门票", "培训机构", "快递", "电商", "带货",
        "主播", "理发店", "洗衣店", "4s店", "会员", "充值", "储值", "广告", "洗浴", "浴室", "澡堂",
        "游泳馆", "美甲", "网吧", "加油站", "小卖部", "蛋糕店", "商店", "店里", "门店",
    ),
}
_CONTEXT_WEIGHT = 0.5

#: tie-break: earlier wins when two kinds score the same
_PRIORITY = (
    "crime", "official_misconduct", "petition_reply", "admin_act", "labour", "rural_land",
    "medical", "consumer", "family", "environment", "civil", "suggestion",
)

_INACTION = (
    "不作为", "不履行职责", "不履行法定职责", "拒不履行", "不予答复", "一直不答复", "不给答复",
    "不处理", "不管", "推诿", "拖着不办", "迟迟不办", "不给办理", "不予办理", "没人管", "不受理",
)
_ORGANS = ("局", "政府", "部门", "派出所", "执法", "街道", "乡里", "镇里", "管委会", "大队", "机关", "公安")

_ON_SPOT = ("当场", "现场开", "现场罚", "简易程序", "路边开罚单", "当面开了罚单")
_NATURAL_RESOURCE = ("林权", "山林", "草原", "滩涂", "采矿权", "水域", "海域", "林地", "荒山", "土地使用权")
_TAX = ("税务", "纳税", "补税", "税款", "欠税", "个税", "偷税", "漏税")
_INFO_REFUSED = ("re:信息公开.{0,15}(不予公开|不公开|拒绝|不给|不予提供|不提供)",
                 "re:(不予公开|拒绝公开|不给公开)")

_PENDING = {
    "court": (
        "已经起诉", "起诉了", "正在打官司", "在打官司", "官司还在打", "法院已经立案", "法院立案了",
        "已经立案", "法院正在审理", "还没判", "正在审理", "等开庭", "已经开庭", "上诉了",
        "已经上诉", "案子在法院", "法院受理了", "法院已受理", "法院已经受理", "二审中", "审理中",
    ),
    "review": (
        "已经申请复议", "申请了复议", "申请了行政复议", "已经申请行政复议", "复议正在", "复议还在",
        "复议机关已受理", "复议机关受理了", "正在复议", "复议结果还没", "复议决定还没",
    ),
    "arbitration": (
        "已经申请仲裁", "申请了仲裁", "申请了劳动仲裁", "仲裁委已受理", "仲裁委受理了", "仲裁正在",
        "仲裁还没", "等仲裁结果", "正在仲裁", "仲裁中", "已经申请了仲裁", "已经申请劳动仲裁",
    ),
}
_NOTHING_PENDING = ("没有起诉", "还没起诉", "没打官司", "没有打官司", "没去法院", "没有申请仲裁",
                    "没有复议", "没申请复议", "还没有起诉")

_JUDGMENT = {
    "criminal": ("判刑", "刑事判决", "有期徒刑", "服刑", "被判了", "定罪", "判了缓刑", "刑事裁定", "re:判了.{0,3}年"),
    "admin": ("行政判决", "re:行政(诉讼|官司).{0,12}(判决|判了|败诉|驳回)"),
    "civil": (
        "判决生效", "判决已经生效", "已经生效", "终审判决", "二审判决", "二审判了", "二审维持",
        "法院判了", "法院判决", "判决书", "生效判决", "已经判了", "判决下来", "判我输", "败诉",
        "民事调解书", "民事判决",
    ),
}
_UNPERFORMED = (
    "不执行", "拒不执行", "不履行", "拒不履行", "没有履行", "未履行", "不给钱", "一分没给", "一分钱没给",
    "一分钱也没给", "分文未付", "赖账", "老赖", "执行不了", "执行不到", "申请执行", "强制执行",
    "re:(一直|就是|还是|到现在|至今|迟迟)(不给|没给|不还|没还|不付|没付|不赔|没赔)",
    "re:(都|也)(没|不)(还|给|付|赔)",
)
#: other papers a court enforces like a judgment (民事诉讼法 Art 247 para 2, 248)
_AWARD = ("裁决书", "调解书", "re:裁决(已经)?生效", "re:裁决.{0,10}(付|赔|支付|给我)")
_FILING_REFUSED = (
    "不给立案", "不予立案", "不立案", "拒绝立案", "不肯立案", "立不了案", "不受理报案", "报案不受理",
    "re:报(了)?案.{0,12}(不受理|不理|没人管|没有下文|没下文|不给立)",
)
_RETRIAL_REFUSED = ("再审被驳回", "驳回再审", "驳回了再审", "再审申请被驳回", "申请再审被驳回",
                    "不给再审", "再审没有答复", "再审一直没", "逾期未对再审", "驳回了我的再审")
_REVIEW_DECISION = ("复议决定书", "复议维持", "复议驳回", "re:复议.{0,6}(决定|结果)(下来|出来|维持|驳回|收到)",
                    "收到复议决定", "复议决定维持", "复议结果是")
_ARB_AGREEMENT = ("仲裁条款", "约定仲裁", "约定了仲裁", "仲裁协议", "re:约定.{0,12}仲裁委员会",
                  "re:合同.{0,8}(写|写明|约定|规定).{0,8}仲裁", "re:提交.{0,8}仲裁委员会仲裁")
#: neighbours and harm between strangers: no contract between the parties, so no arbitration clause
_NO_CONTRACT = ("邻居", "邻里", "隔壁", "围墙", "院墙", "地界", "打伤", "被打", "狗咬", "名誉", "交通事故",
                "撞了", "追尾")
_CONTRACT = ("合同", "协议", "约定", "签了", "签过", "租", "房东", "买", "保险", "仲裁")
#: the citizen holds a 复核 / 复查 answer ("复核意见", "已经复查复核过了", "复查维持")
_RECHECK_DONE = ("复核意见", "re:复核(过|完|结果|维持|也|决定|都)")
_REVIEW_DONE = ("复查意见", "re:复查(过|完|结果|维持|也|决定|都)")
_ACCEPTED = ("已经受理", "已受理", "正在办理", "还在办理", "正在处理中", "受理了", "还没办结", "正在调查")
_HARDSHIP = ("经济困难", "生活困难", "家庭困难", "没钱请律师", "请不起律师", "低保户", "残疾", "困难户",
             "没有收入", "没钱打官司", "孤寡", "五保", "特困", "没钱看病",
             "re:(家里|家庭|生活|经济|家境|日子)(很|非常|比较|特别|十分)?(困难|拮据)")
_REAL_PROPERTY = ("房屋", "房子", "土地", "宅基地", "不动产", "拆迁", "征地", "林地", "耕地", "承包地",
                  "住房", "厂房", "门面房", "商铺")
_WAGES = ("拖欠工资", "欠薪", "欠工资", "不发工资", "没发工资", "工资没发", "工资不发", "拖欠",
          "克扣工资", "没给工资", "工资没给", "工资一直没", "欠我", "不给工资", "不给钱", "工资拖")
_WORK_INJURY = ("工伤", "re:(工地|厂里|车间|上班|干活|工作时|施工|作业).{0,12}(摔|砸|受伤|伤了|伤到|断了|压伤|烫伤|割伤|骨折|致残)")
_ENDED = ("离职", "辞职", "被辞退", "辞退", "开除", "解除劳动合同", "合同到期", "不干了", "已经不在",
          "被裁", "裁员", "解雇", "工程结束", "干完活", "活干完", "工程完工", "走人")
_EMPLOYED = ("还在上班", "仍在上班", "还在公司", "在职", "还在干", "目前在职", "还在那上班", "继续上班")


def _score_dispute(text: str) -> str | None:
    # Negation does not matter here: "没发工资" is as much a labour matter as "工资".
    # A kind's score: (points, whether any of them names the matter itself). At equal points a
    # matter word beats scene words only ("工地" twice vs "半夜…机器": the noise is the matter).
    scores: dict[str, tuple[float, bool]] = {}
    for kind, words in _DISPUTE_WORDS.items():
        matter = len(_find(text, words))
        n = matter + _CONTEXT_WEIGHT * len(_find(text, _CONTEXT_WORDS.get(kind, ())))
        if n:
            scores[kind] = (n, matter > 0)
    if not scores:
        return None
    best = max(scores.values())
    for kind in _PRIORITY:
        if scores.get(kind) == best:
            return kind
    return None  # pragma: no cover


def facts_from_text(text: str, today: date) -> TriageFacts:
    """Facts readable from the citizen's own words alone."""
    t = normalise_text(text)
    if not t:
        return TriageFacts()
    dispute = _score_dispute(t)
    f: dict[str, Any] = {"dispute": dispute}

    # Procedure already under way / finished (independent of the kind of dispute).
    pending = None
    for kind, words in _PENDING.items():
        if _flag(t, words):
            pending = kind
            break
    if pending is None and _any(t, _NOTHING_PENDING):
        pending = "none"
    f["procedure_pending"] = pending
    judgment = None
    for kind, words in _JUDGMENT.items():
        if _flag(t, words):
            judgment = kind
            break
    if judgment == "civil" and ("行政" in t and ("诉讼" in t or "官司" in t)):
        judgment = "admin"
    f["effective_judgment"] = judgment
    if judgment:
        f["retrial_refused"] = True if _any(t, _RETRIAL_REFUSED) else None
    if judgment is None and pending is None and _any(t, _AWARD) and _any(t, _UNPERFORMED):
        judgment = f["effective_judgment"] = "civil"  # an award or mediation paper is enforced alike
    if judgment == "civil" and _any(t, _UNPERFORMED):
        f["judgment_unperformed"] = True
    if _any(t, _FILING_REFUSED):
        f["filing_refused"] = True
    f["has_review_decision"] = True if pending != "review" and _flag(t, _REVIEW_DECISION) else None

    inaction = bool(_flag(t, _INACTION)) and _any(t, _ORGANS)
    if inaction and dispute in ("civil", "other", None):
        # an organ that will not act is the matter now (复议法 Art 11(11), 23(3))
        dispute = f["dispute"] = "admin_act"
    if dispute in ("admin_act", None):
        f["admin_inaction"] = True if inaction else None
        hit_admin = bool(_flag(t, _DISPUTE_WORDS["admin_act"])) or bool(inaction) or bool(f["has_review_decision"])
        if hit_admin:
            f["dispute"] = "admin_act"
            f["admin_act"] = True
            mandatory = (
                _flag(t, _ON_SPOT)
                or _any(t, _TAX)
                or _any(t, _INFO_REFUSED)
                or (_any(t, _NATURAL_RESOURCE) and not _any(t, ("征收", "征地")))
            )
            f["review_mandatory"] = True if mandatory else (False if _flag(t, _ON_SPOT) is False else None)
    if f["dispute"] == "petition_reply":
        f["petition_reply_received"] = True
        f["petition_stage"] = "recheck" if _any(t, _RECHECK_DONE) else ("review" if _any(t, _REVIEW_DONE) else "reply")
    elif "信访" in t and _flag(t, _ACCEPTED) and pending in (None, "none"):
        f["already_accepted"] = True
    if f["dispute"] == "labour":
        if _flag(t, _WORK_INJURY):
            f["work_injury"] = True
        if _flag(t, _WAGES):
            f["wages_unpaid_during_employment"] = True
        ended = _flag(t, _ENDED)
        if _flag(t, _EMPLOYED):
            f["employment_ended"] = False
        elif ended:
            f["employment_ended"] = True
    if f["dispute"] not in ("labour", "rural_land", "family", "admin_act"):
        agreement = _flag(t, _ARB_AGREEMENT)
        if agreement is not None:
            f["arbitration_agreement"] = agreement
        elif _any(t, _NO_CONTRACT) and not _any(t, _CONTRACT):
            f["arbitration_agreement"] = False
    if _flag(t, _HARDSHIP):
        f["hardship"] = True
    if _any(t, _REAL_PROPERTY):
        f["real_property"] = True

    ranges = find_date_ranges(t, today)
    if ranges:
        # A reply / decision / judgment starts its clock at the latest step the citizen
        # mentions; otherwise the clock starts at the earliest event (the safe side).
        latest_counts = bool(f.get("petition_reply_received") or f.get("has_review_decision") or judgment)
        lo, hi = max(ranges) if latest_counts else min(ranges)
        f["known_date"] = lo
        f["known_date_latest"] = hi if hi != lo else None
    return TriageFacts(**f)


# --------------------------------------------------------------------------- answers

_YES = {"yes", "y", "true", "1", "是", "是的", "有", "对", "对的", "已经", "已", "嗯"}
_NO = {"no", "n", "false", "0", "否", "不是", "没有", "无", "没", "未", "不"}
_UNKNOWN = {"unknown", "unsure", "dont_know", "不清楚", "不知道", "不确定", "说不清", "?", "？", ""}

_BOOL_FACTS = (
    "admin_act", "admin_inaction", "review_mandatory", "arbitration_agreement", "retrial_refused",
    "judgment_unperformed", "filing_refused",
    "has_review_decision", "petition_reply_received", "already_accepted",
    "wages_unpaid_during_employment", "work_injury", "employment_ended", "hardship", "real_property",
)
_ENUMS: dict[str, tuple[str, ...]] = {
    "dispute": DISPUTES,
    "procedure_pending": ("court", "review", "arbitration", "none"),
    "effective_judgment": ("civil", "admin", "criminal", "none"),
    "petition_stage": ("reply", "review", "recheck"),
}
_MANDATORY_KINDS = {"on_spot", "natural_resource", "tax", "info_disclosure", "inaction"}
#: answers to the ``prior_procedure`` question (same codes as the petition slot)
_PRIOR: dict[str, dict[str, Any]] = {
    "none": {"procedure_pending": "none", "effective_judgment": "none"},
    "litigation": {"procedure_pending": "court"},
    "administrative_review": {"procedure_pending": "review"},
    "arbitration": {"procedure_pending": "arbitration"},
    "effective_judgment": {"procedure_pending": "none", "effective_judgment": "civil"},
    "criminal_judgment": {"procedure_pending": "none", "effective_judgment": "criminal"},
    "admin_judgment": {"procedure_pending": "none", "effective_judgment": "admin"},
    "petition_reply": {"procedure_pending": "none", "petition_reply_received": True},
}
#: rough answers to the date question: (months ago used for routing)
_DATE_BUCKETS = {"within_60d": ("d", 30), "60d_6m": ("m", 4), "6m_5y": ("m", 24), "over_5y": ("m", 72),
                 "over_20y": ("m", 252)}


def _norm_answer(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip().lower()
    return value


def _is_unknown(value: Any) -> bool:
    return value is None or (isinstance(value, str) and _norm_answer(value) in _UNKNOWN)


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    v = _norm_answer(value)
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise InvalidField(key, f"not a yes/no answer: {value!r}", user_message="请您选择“是”“否”或“不清楚”。")


def _as_date(key: str, value: Any, today: date) -> tuple[date, date | None, bool]:
    """(earliest day, latest day or None when exact, approximate bucket?)."""
    if isinstance(value, date):
        return value, None, False
    v = _norm_answer(value)
    if isinstance(v, str) and v in _DATE_BUCKETS:
        unit, n = _DATE_BUCKETS[v]
        return (today - timedelta(days=n) if unit == "d" else add_months(today, -n)), None, True
    parsed = parse_date_range(str(value), today)
    if parsed is None:
        raise InvalidField(key, f"not a date: {value!r}", user_message="日期没看明白，请您写成“2026年3月5日”这样的格式。")
    lo, hi = parsed
    return lo, (hi if hi != lo else None), False


def apply_answers(facts: TriageFacts, answers: Mapping[str, Any] | None, today: date) -> TriageFacts:
    """Overlay explicit answers (question ids or fact names) on ``facts``. Unknown keys are ignored."""
    if not answers:
        return facts
    if not isinstance(answers, Mapping):
        raise InvalidField("answers", "answers must be an object")
    upd: dict[str, Any] = {}
    unsure = set(facts.unsure)
    for key, value in answers.items():
        if value is not None and not isinstance(value, (str, bool, int, float, date)):
            # lists / objects from a JSON body are no answer (found by tests/fuzz)
            raise InvalidField(str(key), f"not an answer: {type(value).__name__}",
                               user_message="这个选项我没看明白，请您从列出的选项中选择。")
        if _is_unknown(value):
            if key == "prior_procedure":
                # "不清楚" adds nothing; it does not erase a judgment the citizen's text states
                unsure.add("prior_procedure")
                upd["procedure_pending"] = None
            elif key in _BOOL_FACTS or key in _ENUMS or key in ("known_date", "employment_end"):
                unsure.add(key)
                upd[key] = None
                if key == "known_date":
                    upd["known_date_latest"] = None
            continue
        if key in _BOOL_FACTS:
            if key == "review_mandatory" and _norm_answer(value) in _MANDATORY_KINDS:
                upd["review_mandatory"] = True
                upd["admin_act"] = True
            elif key == "review_mandatory" and _norm_answer(value) == "none":
                upd["review_mandatory"] = False
            else:
                upd[key] = _as_bool(key, value)
        elif key in _ENUMS:
            v = _norm_answer(value)
            if v not in _ENUMS[key]:
                raise InvalidField(key, f"unknown value {value!r}", user_message="这个选项我没看明白，请您从列出的选项中选择。")
            upd[key] = v
            if key == "dispute" and v == "admin_act":
                upd.setdefault("admin_act", True)
            if key == "dispute" and v == "petition_reply":
                upd.setdefault("petition_reply_received", True)
        elif key == "prior_procedure":
            v = _norm_answer(value)
            if v not in _PRIOR:
                raise InvalidField(key, f"unknown value {value!r}", user_message="这个选项我没看明白，请您从列出的选项中选择。")
            upd.update(_PRIOR[v])
        elif key == "known_date":
            upd["known_date"], upd["known_date_latest"], upd["known_date_approx"] = _as_date(key, value, today)
        elif key == "employment_end":
            upd["employment_end"], _, _ = _as_date(key, value, today)
            upd.setdefault("employment_ended", True)
        # anything else: ignored (the chat may send more slots than triage needs)
    if "dispute" in upd and upd["dispute"] != "admin_act":
        # the citizen said what the matter is: drop administrative facts guessed from the text
        for key in ("admin_act", "admin_inaction", "review_mandatory"):
            if key not in answers:
                upd[key] = None
    unsure -= {k for k, v in upd.items() if v is not None}
    if "procedure_pending" in upd and upd["procedure_pending"] is not None:
        unsure.discard("prior_procedure")
    merged = replace(facts, **upd, unsure=frozenset(unsure))
    if merged.dispute == "admin_act" and merged.admin_act is None:
        merged = replace(merged, admin_act=True)
    if merged.admin_act is True and merged.dispute is None:
        merged = replace(merged, dispute="admin_act")
    return merged


def extract_facts(text: str, answers: Mapping[str, Any] | None, today: date) -> TriageFacts:
    """Facts from the free ``text`` with explicit ``answers`` laid over them."""
    if text is not None and not isinstance(text, str):
        raise InvalidField("text", "text must be a string")
    return apply_answers(facts_from_text(text or "", today), answers, today)

