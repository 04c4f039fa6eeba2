"""Whole families of everyday words for the kinds of matter that go to a regulator or to the
discipline inspection organs, and the scoring that keeps scene words from deciding a matter.

Sentences written for these tests (never taken from bench/data). Fixed today: 2026-11-23.
"""
from __future__ import annotations

from datetime import date

import pytest

from bot.triage import triage
from bot.triage.facts import facts_from_text

TODAY = date(2026, 11, 23)

MARKET = [
    "楼下那家饭馆后厨脏得要命，老鼠乱窜，我想反映一下",
    "小区门口的药店卖的药已经过期了",
    "菜市场有个摊贩的秤有问题，一斤少二两",
    "这家理发店办了会员后就关门了，钱退不回来",
    "景区门票乱涨价，停车费也乱收",
    "有个黑作坊在居民楼里做食品，卫生条件很差",
    "我们镇上有家无证经营的诊所在给人打针",
    "电视购物广告说保健品能治病，我爸买了好几千",
    "饭店菜单上没标价，结账时一盘菜收了我三百",
    "餐馆用地沟油炒菜，我亲眼看到的",
    "卖肉的摊位卖的是病死猪肉",
    "培训机构收了一年学费后跑路了",
    "附近一家洗浴中心没有消毒，毛巾脏兮兮的",
    "蛋糕店卖的面包里吃出了头发，还发霉了",
    "那个加油站加的油不够数，跑不了几公里",
    "小卖部把过期的零食卖给小学生",
]

ENVIRONMENT = [
    "旁边的养猪场粪水直接流进河里，臭得没法住人",
    "晚上十二点了隔壁工地还在打桩施工",
    "厂里的烟囱天天冒黄烟，呛得人咳嗽",
    "有人在河道里非法采砂，河岸都塌了",
    "村里有人露天焚烧垃圾和塑料，味道刺鼻",
    "小区旁边的加工厂把废渣倒在农田边上",
    "我家附近新开的KTV半夜还很吵，扰民严重",
    "河水发黑发臭，好像上游有厂子排东西",
    "村口的砖厂天天烧煤，黑烟滚滚",
    "采石场放炮，灰尘把庄稼都盖住了",
    "开发区有家电镀厂的水流到了我们的鱼塘",
]

MISCONDUCT = [
    "我们村主任把上面拨的扶贫款私分了",
    "镇长的亲戚拿低保，自己家条件很好，这是关系保",
    "局长天天用公车接送孩子上学",
    "有个科长上班时间打麻将，还经常喝得醉醺醺的",
    "村书记在工程招标里搞暗箱操作，把活给了他小舅子",
    "我要举报一个干部，他收了别人的钱给人办证",
    "街道办主任大吃大喝都是公家报销",
    "村会计做假账，虚报冒领了粮食补贴",
    "这个所长买官卖官，大家都知道",
    "村干部把集体土地偷偷卖了，钱去哪了没人知道",
    "有个公务员吃空饷，好几年没上过班",
    "派出所有个民警收了好处放了人",
    "学校校长把营养餐的钱贪了",
    "村委会的账目从来不公开，干部们在侵占集体资产",
    "我想检举一名官员滥用权力打压群众",
    "我们乡的书记逢年过节收下属的礼金",
    "街道的工作人员办低保要我给他两千块钱",
    "我要反映我们村的会计，他把修桥的钱挪去放贷了",
    "有个派出所辅警给别人通风报信",
    # keeping back money paid out to villagers
    "村长把发给我们的粮补扣下了一半",
    "社区主任克扣低保户的救济款",
    "乡里的干部把残疾补助扣着不发",
    "村支书把救灾物资分给了自家亲戚",
]

FAMILY_AND_INJURY = [
    ("女儿把我的房子占了，还把我赶出家门，一分钱生活费都不给", "family"),
    ("我儿媳天天骂我，儿子也不管老人，我都八十了", "family"),
    ("过马路被一辆货车撞伤了腿，对方只赔了一部分", "civil"),
    ("出了车祸，肇事司机的保险公司不给赔误工费和护理费", "civil"),
]

FRAUD = [
    "有人冒充公安打电话，说我涉嫌洗钱，让我转账到安全账户",
    "网上认识一个人，带我刷单返利，前面赚了点，后来五万块全没了",
    "对方假冒快递员说包裹丢了要赔钱，骗我转了三千",
    "我妈被人哄着往一个账户打钱，说是投资养老项目",
    "我的钱被转走了，是一个自称银行的人干的",
]


@pytest.mark.parametrize("story", MARKET, ids=[s[:10] for s in MARKET])
def test_market_and_food_safety_go_to_the_regulator(story: str) -> None:
    result = triage(story, None, TODAY)
    assert result.legal_channel == "regulator_report", result.rule_id
    assert result.rule_id == "R19_consumer"


@pytest.mark.parametrize("story", ENVIRONMENT, ids=[s[:10] for s in ENVIRONMENT])
def test_pollution_goes_to_the_environment_authority(story: str) -> None:
    result = triage(story, None, TODAY)
    assert result.legal_channel == "regulator_report", result.rule_id
    assert result.rule_id == "R19_environment"


@pytest.mark.parametrize("story", MISCONDUCT, ids=[s[:10] for s in MISCONDUCT])
def test_an_official_misusing_office_goes_to_discipline_inspection(story: str) -> None:
    result = triage(story, None, TODAY)
    assert result.legal_channel == "discipline_inspection", result.rule_id


@pytest.mark.parametrize("story", FRAUD, ids=[s[:10] for s in FRAUD])
def test_online_and_phone_fraud_goes_to_the_police(story: str) -> None:
    result = triage(story, None, TODAY)
    assert facts_from_text(story, TODAY).dispute == "crime"
    assert result.legal_channel == "police", result.rule_id


@pytest.mark.parametrize(("story", "dispute"), FAMILY_AND_INJURY, ids=[s[:10] for s, _ in FAMILY_AND_INJURY])
def test_parents_left_without_support_and_road_injuries_are_civil_matters(story: str, dispute: str) -> None:
    assert facts_from_text(story, TODAY).dispute == dispute
    assert triage(story, None, TODAY).legal_channel == "civil_litigation"


@pytest.mark.parametrize(("story", "dispute"), [
    ("想问一下民告官的官司怎么打", "admin_act"),
    ("我想起诉县政府，行政诉讼要准备什么材料", "admin_act"),
    ("楼上高空抛物砸坏了我的车，找不到是谁扔的", "civil"),
    ("别人未经同意用我的照片做广告，侵犯我的肖像", "civil"),
    ("公司的法定代表人把注册资本抽走了，我作为小股东怎么办", "civil"),
    ("我写的小说被人抄袭后放到网上卖", "civil"),
    ("买房时交了房款，开发商迟迟不给办产权", "civil"),
    ("货代公司把我的货弄丢了，提单上写的运费也多收了", "civil"),
], ids=lambda v: v[:10] if len(v) > 9 else v)
def test_more_everyday_words_for_civil_and_administrative_matters(story: str, dispute: str) -> None:
    assert facts_from_text(story, TODAY).dispute == dispute


def test_an_organs_fine_named_far_into_the_sentence_is_an_administrative_act() -> None:
    story = "县交通运输局的人拦下我的面包车，查了半天说我是非法营运，当场罚了我五千块"
    assert facts_from_text(story, TODAY).dispute == "admin_act"


# The same new words must not pull other matters away from their own channel.
CONTRASTS = [
    ("我在景区当导游，工资已经两个月没发了", "labour"),
    ("我在饭店打工，老板欠我三个月工资", "labour"),
    ("在快递公司上班，突然被辞退了，没有补偿", "labour"),
    ("公司领导克扣我的工资，还不给加班费", "labour"),
    ("单位领导违规把我辞退了", "labour"),
    ("物业一直不维修电梯，我们交了物业费", "civil"),
    ("房东突然要涨房租，还不退押金", "civil"),
    ("邻居家晚上噪音很大，吵得睡不着", "civil"),
    ("村干部把我家的承包地收回给了他亲戚种", "rural_land"),
    ("城管队长上周没收了我的三轮车", "admin_act"),
    ("有人在店里偷东西被我抓到了", "crime"),
    ("镇政府违法征地，补偿款一分没给", "admin_act"),
    ("商家骗我说是正品，结果买到的是假货", "consumer"),
    ("网店客服骗我说七天能退货，现在不给退款", "consumer"),
    ("交警扣了我的车，说我手续不全", "admin_act"),
    ("公司扣了我半个月工资，说我迟到", "labour"),
    ("超市卖过期牛奶，我去市场监管局投诉，希望他们处罚这家店", "consumer"),
    ("老板把工资打到了他亲戚的账户上，我一直没拿到钱", "labour"),
]


@pytest.mark.parametrize(("story", "dispute"), CONTRASTS, ids=[s[:10] for s, _ in CONTRASTS])
def test_new_words_do_not_steal_other_matters(story: str, dispute: str) -> None:
    assert facts_from_text(story, TODAY).dispute == dispute


def test_scene_words_alone_still_point_to_labour() -> None:
    # "老板" / "工地" only set the scene, but with nothing else said they still mean work.
    assert facts_from_text("工地老板不让我走", TODAY).dispute == "labour"


def test_a_scene_word_loses_against_a_real_complaint() -> None:
    # half a point for the building site, a full point for the night-time pile driving
    assert facts_from_text("工地晚上施工", TODAY).dispute == "environment"
    assert facts_from_text("工地欠我工钱", TODAY).dispute == "labour"
