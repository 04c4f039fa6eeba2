from __future__ import annotations

import pytest

from bot.intake import category
from bot.intake.category import (
    NO_CATEGORY,
    OTHER,
    category_classifier,
    category_probabilities,
    category_scores,
    combine,
    decide,
    load_examples,
    load_lexicon,
    match_category,
    suggest_category,
)
from bot.intake.fields import CATEGORY_LABELS
from bot.nlu.linear import Example


def test_lexicon_covers_every_category_but_other() -> None:
    assert set(load_lexicon()) == set(CATEGORY_LABELS) - {"other"}
    assert all(weight > 0 for words in load_lexicon().values() for weight in words.values())


@pytest.mark.parametrize(
    "text, code",
    [
        ("公司拖欠工资三个月，社保也没交", "labor_social_security"),
        ("在工地受了工伤，老板不签劳动合同", "labor_social_security"),
        ("村里征地的土地补偿一直没有发", "land_expropriation"),
        ("宅基地征收补偿太低", "land_expropriation"),
        ("开发商强拆我家的房子，拆迁补偿不合理", "housing_demolition"),
        ("房屋征收没有给安置房", "housing_demolition"),
        ("工厂排污，河水发黑有异味", "environment"),
        ("楼下饭店噪音太大", "environment"),
        ("国企改制时被下岗买断工龄", "enterprise_restructuring"),
        ("孩子入学被学校拒绝，学费乱收", "education"),
        ("医院发生医疗事故", "healthcare"),
        ("医保报销不了", "labor_social_security"),
        ("小区物业不维修电梯", "housing"),
        ("买的房子烂尾了，房产证办不下来", "housing"),
        ("城管没收了我的摊位，门口违建没人管", "urban_management"),
        ("路灯坏了半年", "urban_management"),
        ("公交车改线后不方便，出租车拒载", "transport"),
        ("交通罚款不合理，驾照被扣", "transport"),
        ("承包地被村集体收回", "agriculture_rural"),
        ("土地流转的钱没给，农业补贴被截留", "agriculture_rural"),
        ("派出所不立案，警察推诿", "law_enforcement_judicial"),
        ("法院判决后一直执行不了", "law_enforcement_judicial"),
        ("村干部贪污征地补偿款", "discipline"),
        ("办事窗口吃拿卡要", "discipline"),
        ("商家卖假货不给退款", "commerce_consumer"),
        ("超市出售过期食品，食品安全有问题", "commerce_consumer"),
    ],
)
def test_suggest_category(text: str, code: str) -> None:
    assert suggest_category(text) == code


def test_no_keyword_no_suggestion() -> None:
    assert suggest_category("今天天气不错") is None
    assert suggest_category("") is None
    assert category_scores("你好") == {}


@pytest.mark.parametrize(
    "text, code",
    [
        ("labor_social_security", "labor_social_security"),
        ("劳动和社会保障", "labor_social_security"),
        ("劳动", "labor_social_security"),
        ("社保", "labor_social_security"),
        ("3", "labor_social_security"),
        ("第三个", "labor_social_security"),
        ("1", "land_expropriation"),
        ("15", "other"),
        ("十五", "other"),
        ("公安", "law_enforcement_judicial"),
        ("环保问题", "environment"),
        ("纪检监察", "discipline"),
        ("属于教育类", "education"),
        ("其他", "other"),
        ("市场和消费", "commerce_consumer"),
    ],
)
def test_match_category(text: str, code: str) -> None:
    assert match_category(text) == code


@pytest.mark.parametrize("text", ["", "是的", "对", "不是", "16", "0", "征收", "我也不知道是哪一类呀这个问题很复杂"])
def test_match_category_none(text: str) -> None:
    assert match_category(text) is None


# --- the classifier trained on category_examples.yml ------------------------------------------

# New sentences, written for these tests and absent from the training file (checked below).
NEW_SENTENCES: list[tuple[str, str]] = [
    ("镇上修工业园把我家五亩水田征走了，每亩补偿比县里公布的标准少了一半", "land_expropriation"),
    ("请问集体土地被征收以后，安置补助费是发给个人还是留在村集体", "land_expropriation"),
    ("关于我组耕地被征用修物流园补偿未到位的反映", "land_expropriation"),
    ("老街片区征收，我家两层楼的评估价只有周边房价的一半，拆迁办不肯重新评估", "housing_demolition"),
    ("签了安置协议搬出来四年，回迁楼还没封顶，临时安置费也断了", "housing_demolition"),
    ("夜里一伙人开着挖机把我家老屋推倒了，事先没有任何补偿协议", "housing_demolition"),
    ("餐馆老板欠了我们几个服务员两个月的工钱，现在店关了人也找不到", "labor_social_security"),
    ("我在快递分拣中心上夜班，公司一直不给交养老保险和医疗保险", "labor_social_security"),
    ("爸爸退休一年了，养老金一直没有核定下来，社保中心让等通知", "labor_social_security"),
    ("河对岸的皮革厂每天傍晚往河里放黄水，整条河一股臭味", "environment"),
    ("楼下新开的酒吧每天放音乐到半夜两点，吵得人睡不着", "environment"),
    ("后山有人偷偷挖沙采石，树砍了一大片，雨一下就滑坡", "environment"),
    ("原国营纺织厂改制时每人只给了几千块就把我们打发了，工龄全部买断", "enterprise_restructuring"),
    ("当年粮站改制，说好的职工安置费到现在也没有兑现", "enterprise_restructuring"),
    ("厂子破产清算，我们这些老职工的集资款和安置费谁来管", "enterprise_restructuring"),
    ("孩子户口就在本片区，可是小学报名时说学位满了，让去五公里外的学校", "education"),
    ("班主任让每个家长交三百块买指定的练习册和试卷", "education"),
    ("新区的公办幼儿园太少，私立园一学期要一万多", "education"),
    ("我母亲在县医院做完手术伤口感染，医院说不是他们的责任", "healthcare"),
    ("社区医院的医生开药只开最贵的，普通的药都说没有", "healthcare"),
    ("想问一下独生子女父母的奖励费退休后去哪里领", "healthcare"),
    ("物业收了停车管理费，可小区里的车被划了好几辆也不管", "housing"),
    ("交房三年了开发商一直不给办不动产证，说是手续还在走", "housing"),
    ("今年冬天家里暖气只有温乎气，供热站说是管道问题要明年修", "housing"),
    ("我家门口的人行道被饭店摆满了桌子，晚上还在路边烧烤", "urban_management"),
    ("这条街的路灯坏了好几盏，下水道盖子也松了，晚上走路很危险", "urban_management"),
    ("隔壁邻居在楼顶加盖了一层铁皮房，举报了半年城管也没来拆", "urban_management"),
    ("88路公交车改线以后我们小区附近就没有站了，老人去医院要走很远", "transport"),
    ("在高铁站打车，出租车司机不打表，一口价要一百块", "transport"),
    ("寄回老家的快递被弄丢了，快递公司只肯赔二十块钱", "transport"),
    ("村里的承包地被村委会收回去租给了种植大户，我们一分租金都没拿到", "agriculture_rural"),
    ("今年的耕地地力保护补贴怎么还没发到一卡通上", "agriculture_rural"),
    ("村里的自来水管子常年漏水，一到夏天就停水，村委会说没钱修", "agriculture_rural"),
    ("我在小区门口被人抢了手机，去派出所报案，民警说监控坏了没法查", "law_enforcement_judicial"),
    ("官司赢了三年，法院一直执行不到钱，执行法官电话也不接", "law_enforcement_judicial"),
    ("接到冒充公安的电话，说我涉嫌洗钱，骗走了我两万块", "law_enforcement_judicial"),
    ("村书记把村集体的鱼塘低价租给了他小舅子，账目也不公开", "discipline"),
    ("去镇里办证，工作人员暗示要给点好处才能快点办", "discipline"),
    ("举报某局副局长长期公车私用，周末开着公车送孩子上学", "discipline"),
    ("在一家母婴店买的奶粉是过期的，店家不给退", "commerce_consumer"),
    ("美容店关门跑路了，我卡里还有六千多块钱没用完", "commerce_consumer"),
    ("景区里一瓶矿泉水卖十五块，还强制游客坐观光车", "commerce_consumer"),
    ("家里老人去世，公墓一个墓位要十几万，太贵了", "other"),
    ("我们这一片的手机信号特别差，在家里打电话经常断线", "other"),
    ("结婚登记网上预约一直约不上，请问还有什么办法", "other"),
]
NOT_A_MATTER = ["谢谢您", "好的，我同意", "没有了，就这些", "我叫陈建华", "对，提交吧", "嗯", "您好，在吗？", "请帮我转人工服务"]


def test_examples_cover_every_category_with_enough_varied_messages() -> None:
    examples = load_examples()
    assert set(examples) == set(CATEGORY_LABELS) | {NO_CATEGORY}
    for code in CATEGORY_LABELS:
        assert len(examples[code]) >= 60, code
        assert sum(len(t) >= 60 for t in examples[code]) >= 5, f"{code}: too few long, letter-like messages"
    every = [t for texts in examples.values() for t in texts]
    assert len(every) == len(set(every)), "an example is listed twice"


def test_test_sentences_are_not_training_examples() -> None:
    every = {t for texts in load_examples().values() for t in texts}
    assert not every & {t for t, _ in NEW_SENTENCES}
    assert not every & set(NOT_A_MATTER)
    assert {code for _, code in NEW_SENTENCES} == set(CATEGORY_LABELS)


@pytest.mark.parametrize("text, code", NEW_SENTENCES)
def test_suggestion_for_new_sentences(text: str, code: str) -> None:
    assert suggest_category(text) == code


def test_the_classifier_alone_generalises_to_new_sentences() -> None:
    model = category_classifier()
    right = 0
    for text, code in NEW_SENTENCES:
        ranking = [label for label, _ in model.ranking(Example(text), 0) if label != NO_CATEGORY]
        right += ranking[0] == code
    assert right / len(NEW_SENTENCES) >= 0.9


@pytest.mark.parametrize("text", NOT_A_MATTER)
def test_no_suggestion_for_messages_that_name_no_matter(text: str) -> None:
    assert suggest_category(text) is None


def test_the_classifier_is_trained_once() -> None:
    assert category_classifier() is category_classifier()


def test_probabilities_cover_the_codes_and_leave_room_for_no_category() -> None:
    probabilities = category_probabilities("小区物业不维修电梯，业主多次反映无果")
    assert set(probabilities) == set(CATEGORY_LABELS)
    assert 0.5 < sum(probabilities.values()) <= 1.0 + 1e-9
    assert max(probabilities, key=lambda c: probabilities[c]) == "housing"
    assert sum(category_probabilities("好的，谢谢").values()) < 0.5
    assert category_probabilities("") == {}


def test_a_strong_keyword_hit_outweighs_a_mild_statistical_preference() -> None:
    classifier = {"housing": 0.5, "environment": 0.4, OTHER: 0.1}
    assert combine(classifier, {}) == pytest.approx(classifier)
    strong = combine(classifier, {"environment": 3 * category.LEXICON_TEMPERATURE})
    assert strong["environment"] > 0.8
    weak = combine(classifier, {"environment": 0.5})
    assert weak["housing"] > weak["environment"]
    assert sum(strong.values()) == pytest.approx(1.0)


def test_decide_suggests_the_best_code_only_when_confident() -> None:
    low = category.MIN_CONFIDENCE
    assert decide({}) is None
    assert decide({"housing": low + 0.05, "transport": low - 0.05}) == "housing"
    assert decide({"housing": low - 0.01, "transport": low - 0.02}) is None
    assert decide({OTHER: low + 0.1, "housing": low}) == OTHER
