"""Free-text stories (written for these tests) with the expected channel and deadline.

Each row: (story, legal_channel, rule_id or None, deadline period or None, extra checks).
The deadline period is (kind, amount), e.g. ("years", 1); ("none", None) for no period.
Fixed today: 2026-11-23. Never reused in bench/data/triage_heldout.yml.
"""
from __future__ import annotations

from typing import Any

Scenario = tuple[str, str, "str | None", "tuple[str, int | None] | None", dict[str, Any]]

SCENARIOS: list[Scenario] = [
    # --- labour
    ("我在一家物流公司上班，公司已经拖欠我三个月工资了，老板一直说下个月发。", "labor_arbitration", None, ("years", 1), {}),
    ("在工地干了半年活，包工头欠我两万块工钱不给，现在工程结束了。", "labor_arbitration", "R13_labour", ("years", 1), {}),
    ("我还在职，单位从今年5月开始就不发工资了，我该找谁？", "labor_arbitration", "R13_wages_in_employment", ("none", None), {}),
    ("上个月公司突然把我辞退了，没给任何经济补偿。", "labor_arbitration", "R13_labour", ("years", 1), {"due_date": "2027-10-01"}),
    ("公司入职三年一直没给我交社保，我想让单位补缴。", "labor_arbitration", "R13_labour", ("years", 1), {}),
    ("我在厂里受了工伤，老板不肯出医药费，说是我自己不小心。", "regulator_report", "R13_work_injury", ("years", 1), {"alternatives": ["labor_arbitration"]}),
    ("2026年9月3日在车间干活被机器压伤了手，单位到现在也没给申报工伤。", "regulator_report", "R13_work_injury", ("years", 1), {"due_date": "2027-09-03"}),
    # --- administrative acts
    ("两周前交警罚了我200块钱，说我压线，我觉得冤枉。", "administrative_review", "R08_admin_within_60d", ("days", 60), {"alternatives": ["administrative_litigation"]}),
    ("城管上周把我摆摊的三轮车没收了，也没给我什么手续。", "administrative_review", "R08_admin_within_60d", ("days", 60), {}),
    ("交警当场开了罚单罚款100元，说我闯红灯，其实是黄灯。", "administrative_review", "R07_review_mandatory", ("days", 60), {"alternatives": []}),
    ("税务局三周前让我补税还要交滞纳金，我认为计算错了。", "administrative_review", "R07_review_mandatory", ("days", 60), {}),
    ("我向县政府申请信息公开征地批文，对方答复不予公开。", "administrative_review", "R07_review_mandatory", ("days", 60), {}),
    ("2026年8月10日市场监管局对我的小店作出罚款5万元的处罚决定，我不服。", "administrative_litigation", "R09_admin_within_6m", ("months", 6), {"due_date": "2027-02-10"}),
    ("2018年街道强拆了我家的养殖棚，当时没有任何补偿。", "petition", "R12_admin_old", ("none", None), {}),
    ("我去年3月收到区政府的拆除决定，到现在都没处理。", "administrative_litigation", "R09_admin_late", ("months", 6), {"expired": True}),
    ("我多次向派出所申请处理邻居侵占我家通道的事情，派出所一直不作为。", "administrative_review", "R11_inaction", ("none", None), {}),
    ("我已经收到复议决定书了，复议维持了区政府的罚款决定，我还是不服，三天前收到的。", "administrative_litigation", "R10_review_decision", ("days", 15), {"due_date": "2026-12-05"}),
    ("人社局说我不算工伤，作出了不予认定工伤的决定，上个月收到的。", "administrative_review", "R08_admin_within_60d", ("days", 60), {}),
    # --- pending procedures and judgments
    ("我和房东的押金纠纷已经起诉了，法院正在审理，我想问问能不能加快。", "existing_procedure", "R03_pending_procedure", ("none", None), {}),
    ("我已经申请了劳动仲裁，仲裁委受理了但还没开庭，能不能找政府催一下？", "existing_procedure", "R03_pending_procedure", ("none", None), {}),
    ("借款纠纷二审判决已经生效了，我觉得判错了，判决是2026年9月30日生效的。", "retrial", "R04_judgment_civil", ("months", 6), {"due_date": "2027-03-30"}),
    ("我弟弟被判了三年有期徒刑，家里觉得判重了，想申诉。", "retrial", "R06_criminal_judgment", ("none", None), {}),
    ("民事判决生效后我申请再审被驳回了，还有别的办法吗？", "retrial", "R05_retrial_refused", ("none", None), {}),
    # --- crime and misconduct
    ("现在有人在我店门口砸店打人，怎么办？", "police", "R01_crime", ("none", None), {}),
    ("我昨天接到电话被骗走了三万元，对方冒充公安。", "police", "R01_crime", ("none", None), {}),
    ("我们村的村支书收受开发商贿赂，还挪用了修路的钱。", "discipline_inspection", "R02_official_misconduct", ("none", None), {}),
    ("镇里有个干部办事要收红包，不给就拖着不办。", "discipline_inspection", "R02_official_misconduct", ("none", None), {}),
    # --- civil and family
    ("邻居家盖房子把围墙砌到了我家的地上，协商不成。", "civil_litigation", "R18_civil", ("years", 3), {"alternatives": ["mediation"]}),
    ("朋友2025年6月借了我五万块钱，写了借条，到现在不还。", "civil_litigation", "R18_civil", ("years", 3), {"due_date": "2028-06-01"}),
    ("楼上邻居家漏水把我家天花板泡坏了，他们不肯赔。", "civil_litigation", "R18_civil", ("years", 3), {}),
    ("我想和丈夫离婚，孩子抚养权怎么争取？", "civil_litigation", "R17_family", ("none", None), {"alternatives": ["mediation"]}),
    ("前夫离婚后一直不给孩子抚养费，已经欠了一年多。", "civil_litigation", "R17_family", ("none", None), {}),
    ("我父亲去世后，哥哥把遗产房子占了不让我们继承。", "civil_litigation", "R17_family", ("none", None), {}),
    ("装修公司的合同里写明了发生争议提交本市仲裁委员会仲裁，现在他们装修质量很差。", "commercial_arbitration", "R16_arbitration_agreement", ("years", 3), {}),
    # --- consumer, environment, medical
    ("我在网上买的名牌包是假货，商家不给退货退款。", "regulator_report", "R19_consumer", ("years", 3), {"where_has": "12315"}),
    ("健身房办卡后老板跑路了，预付卡里还有三千块。", "regulator_report", "R19_consumer", ("years", 3), {}),
    ("村旁边的化工厂晚上偷排废水，河里的鱼都死了，气味很大。", "regulator_report", "R19_environment", ("years", 3), {}),
    ("附近工地的扬尘和噪声特别严重，影响休息。", "regulator_report", "R19_environment", ("years", 3), {}),
    ("我母亲在县医院做手术后出现感染，医院说不是他们的责任，我们认为是医疗事故。", "mediation", "R20_medical", ("years", 3), {"alternatives": ["civil_litigation"]}),
    # --- rural land
    ("村委会要收回我家承包的土地给别人种，承包合同还没到期。", "rural_land_arbitration", "R15_rural_land", ("years", 2), {}),
    ("我把承包地流转给合作社，对方两年没付流转费。", "rural_land_arbitration", "R15_rural_land", ("years", 2), {}),
    # --- petition family of rules
    ("我建议在我们小区门口的路口增设一个红绿灯，孩子上学过马路太危险。", "petition", "R21_suggestion", ("none", None), {"where_has": "12345"}),
    ("我对信访部门的答复意见不满意，是2026年11月10日收到的处理意见书。", "petition_review", "R23_petition_review", ("days", 30), {"due_date": "2026-12-10"}),
    ("收到了复查意见，还是维持原来的处理，我不服，2026年10月28日收到的。", "petition_review", "R23_petition_recheck", ("days", 30), {"due_date": "2026-11-27", "warning": True}),
    ("复核意见也下来了，还是不满意，我还能怎么办？", "petition", "R23_petition_final", ("none", None), {}),
    ("这件事省里已经复查、复核都做过了，结论维持，我还想继续往上反映。", "petition", "R23_petition_final", ("none", None), {}),
    ("上级机关复查完了还是不支持我，下一步该找谁？", "petition_review", "R23_petition_recheck", ("days", 30), {}),
    ("镇里给的处理意见我不认可，2026年11月18日拿到的。", "petition_review", "R23_petition_review", ("days", 30), {"due_date": "2026-12-18"}),
    ("我的信访事项已经受理了，正在办理，我想去省里再反映一次。", "existing_procedure", "R24_already_accepted", ("none", None), {}),
    ("我们小区的路灯坏了很久，希望有关部门来看看。", "petition", "R22_catch_all", ("none", None), {}),
    # --- legal aid addendum
    ("公司欠我工资不给，我家里生活困难，请不起律师。", "labor_arbitration", "R13_labour", ("years", 1), {"where_has": "12348", "legal_aid": True}),
    # --- wider vocabulary (organ revoking a licence, burglary, cooking fumes, 信访办 reply, small loans)
    ("区政府三周前撤销了我的不动产登记，说材料有问题。", "administrative_review", "R08_admin_within_60d", ("days", 60), {}),
    ("半夜有人撬锁进了我家偷东西，我该怎么办？", "police", "R01_crime", ("none", None), {}),
    ("对面烧烤店的油烟熏得我家根本没法开窗。", "regulator_report", "R19_environment", ("years", 3), {}),
    ("县信访办给我的答复意见书我2026年11月20日收到了，问题根本没解决。", "petition_review", "R23_petition_review", ("days", 30), {"due_date": "2026-12-20"}),
    ("同事借了我三千块钱，半年了一直不还钱。", "civil_litigation", "R18_civil", ("years", 3), {}),
    ("单位三个月没发工资了，我家里很困难。", "labor_arbitration", "R13_labour", ("years", 1), {"legal_aid": True}),
    # --- a building site as the scene, not the workplace (found by a new-user trial: noise at night
    #     next to a compound was advised labour arbitration)
    ("小区旁边工地天天晚上十一二点还在打桩，吵得孩子没法睡觉，跟工地说了也没用", "regulator_report", "R19_environment", ("years", 3), {}),
    ("旁边工地半夜还开着机器干，声音特别大，找了工地好几次了。", "regulator_report", "R19_environment", ("years", 3), {}),
    ("我在工地干了半年活，老板不给工钱，工地上的人都找不到老板了。", "labor_arbitration", "R13_labour", ("years", 1), {}),
    # --- a report the police would not register; a judgment the other side ignores (new-user trial)
    ("我去派出所报案说被人打了，派出所一直不给立案。", "police", "R01_filing_refused", ("none", None), {}),
    ("被人骗了两万块，报了案派出所说不予立案，我该怎么办？", "police", "R01_filing_refused", ("none", None), {}),
    ("法院判决已经生效半年了，对方就是不执行，钱一分没给。", "existing_procedure", "R04_enforcement", ("years", 2), {}),
    ("法院判了对方赔我五万，判决书2026年3月1日生效，他到现在一分钱也没给。", "existing_procedure", "R04_enforcement", ("years", 2), {"due_date": "2028-03-01"}),
    ("劳动仲裁裁决公司付我两万补偿金，裁决已经生效，公司就是不给。", "existing_procedure", "R04_enforcement", ("years", 2), {}),
    ("法院出了调解书，写明他分期还钱，结果一期都没还。", "existing_procedure", "R04_enforcement", ("years", 2), {}),
    ("二审判决维持原判，我觉得判错了，想申请再审。", "retrial", "R04_judgment_civil", ("months", 6), {}),
    ("单位不给我开离职证明，新单位没法入职。", "labor_arbitration", "R13_labour", ("years", 1), {}),
    # --- an insurance office's refusal is an administrative act, even about a hospital bill
    ("医保局说我的住院费用不能报销，2026年11月10日给的答复。", "administrative_review", "R08_admin_within_60d", ("days", 60), {"due_date": "2027-01-09"}),
    # --- traditional characters
    ("公司拖欠我兩個月工資，老闆不接電話。", "labor_arbitration", "R13_labour", ("years", 1), {}),
]
