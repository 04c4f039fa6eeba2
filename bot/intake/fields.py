"""Petition slot names and the Chinese labels shown to citizens and staff (see DESIGN.md)."""
from __future__ import annotations

PETITION_SLOTS: list[str] = [
    "petition_type",
    "petitioner_name",
    "id_number",
    "phone",
    "address",
    "issue_region",
    "category",
    "respondent",
    "occurred_on",
    "facts",
    "demand",
    "people_count",
    "prior_procedure",
    "consent",
    "confirm",
]

FIELD_LABELS: dict[str, str] = {
    "petition_type": "信访类型",
    "petitioner_name": "姓名",
    "id_number": "身份证号码",
    "phone": "联系电话",
    "address": "住址",
    "issue_region": "事发地",
    "category": "问题类别",
    "respondent": "被反映对象",
    "occurred_on": "发生时间",
    "facts": "事实和理由",
    "demand": "诉求",
    "people_count": "涉及人数",
    "prior_procedure": "此前处理情况",
    "consent": "个人信息处理同意",
    "confirm": "确认提交",
}

# Order matters: match_category accepts the numbers 1-15 in this order.
CATEGORY_LABELS: dict[str, str] = {
    "land_expropriation": "土地征收",
    "housing_demolition": "房屋征收拆迁",
    "labor_social_security": "劳动和社会保障",
    "environment": "生态环境",
    "enterprise_restructuring": "企业改制",
    "education": "教育",
    "healthcare": "医疗卫生",
    "housing": "住房和物业",
    "urban_management": "城市管理",
    "transport": "交通运输",
    "agriculture_rural": "农业农村",
    "law_enforcement_judicial": "政法（公安、司法）",
    "discipline": "纪检监察（干部作风、违纪违法）",
    "commerce_consumer": "市场和消费",
    "other": "其他",
}

PETITION_TYPE_LABELS: dict[str, str] = {
    "suggestion": "建议意见",
    "accusation": "检举控告",
    "grievance": "申诉求决",
}

PRIOR_PROCEDURE_LABELS: dict[str, str] = {
    "none": "没有走过其他程序",
    "litigation": "已起诉/在法院审理中",
    "administrative_review": "已申请行政复议",
    "arbitration": "已申请仲裁",
    "effective_judgment": "已有生效判决",
    "petition_reply": "已收到信访处理意见",
}
