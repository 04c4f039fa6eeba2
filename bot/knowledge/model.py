"""Value objects of the policy FAQ: a legal citation and one FAQ topic."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Chinese article numbering as used in statutes: 第十七条, 第一百一十一条, 第二百二十条.
ARTICLE_RE = re.compile(r"^第[零〇一二三四五六七八九十百千]+条$")
#: A law name in Chinese title marks: 《信访工作条例》.
LAW_RE = re.compile(r"^《[^《》]+》$")

#: Laws an FAQ answer may cite, mapped to the stem of the statute text kept for checking
#: (``../shared/domain/statutes/<stem>.md``). Adding a law here is a deliberate act: put its text
#: beside the others first so every article number can be verified.
KNOWN_LAWS: dict[str, str] = {
    "《信访工作条例》": "信访工作条例(2022-02-25)",
    "《信访条例》": "信访条例(2005-01-10)",
    "《个人信息保护法》": "个人信息保护法",
    "《法律援助法》": "法律援助法(2021-08-20)",
    "《民法典》": "民法典总则",
    "《最高人民法院关于审理民事案件适用诉讼时效制度若干问题的规定》": "诉讼时效规定2020",
    "《劳动争议调解仲裁法》": "劳动争议调解仲裁法(2007-12-29)",
    "《最高人民法院关于审理劳动争议案件适用法律问题的解释（一）》": (
        "最高人民法院关于审理劳动争议案件适用法律问题的解释（一）(2020-12-29)"
    ),
    "《劳动保障监察条例》": "劳动保障监察条例(2004-11-01)",
    "《工伤保险条例》": "工伤保险条例(2010-12-20)",
    "《社会保险法》": "社会保险法(2018-12-29)",
    "《行政复议法》": "行政复议法(2023-09-01)",
    "《行政诉讼法》": "行政诉讼法(2017-06-27)",
    "《最高人民法院关于适用〈中华人民共和国行政诉讼法〉的解释》": (
        "最高人民法院关于适用《行政诉讼法》的解释(2018-02-06)"
    ),
    "《农村土地承包经营纠纷调解仲裁法》": "农村土地承包经营纠纷调解仲裁法(2009-06-27)",
    "《仲裁法》": "仲裁法(2017-09-01)",
    "《民事诉讼法》": "民事诉讼法(2023-09-01)",
    "《刑事诉讼法》": "刑事诉讼法(2018-10-26)",
    "《人民调解法》": "人民调解法(2010-08-28)",
    "《消费者权益保护法》": "消费者权益保护法(2013-10-25)",
    "《医疗纠纷预防和处理条例》": "医疗纠纷预防和处理条例(2018-07-31)",
    "《国有土地上房屋征收与补偿条例》": "国有土地上房屋征收与补偿条例(2011-01-21)",
    "《土地管理法》": "土地管理法(2019-08-26)",
    "《环境保护法》": "环境保护法(2014-04-24)",
    "《教育法》": "教育法(2021-04-29)",
    "《监察法》": "监察法(2024-12-25)",
}

#: Prefix of the retrieval intent (``faq/<id>``) and of its responses (``utter_faq/<id>``).
RETRIEVAL_INTENT = "faq"


@dataclass(frozen=True)
class Citation:
    """One legal basis: law name in 《》 and an article in Chinese numbering."""

    law: str
    article: str

    @property
    def text(self) -> str:
        """``《信访工作条例》第二十二条``."""
        return f"{self.law}{self.article}"


@dataclass(frozen=True)
class FaqTopic:
    """One policy question the assistant answers, with its training phrases."""

    id: str
    title: str
    answer: str
    citations: tuple[Citation, ...]
    examples: tuple[str, ...]
    heldout: tuple[str, ...]

    @property
    def intent(self) -> str:
        """The Rasa retrieval intent, ``faq/<id>``."""
        return f"{RETRIEVAL_INTENT}/{self.id}"

    @property
    def response_name(self) -> str:
        """The Rasa response of the retrieval intent, ``utter_faq/<id>``."""
        return f"utter_{RETRIEVAL_INTENT}/{self.id}"

    @property
    def citation_text(self) -> str:
        """Citations joined by '；'."""
        return "；".join(c.text for c in self.citations)

    @property
    def reply_text(self) -> str:
        """The chat reply: the answer, then a last line ``依据：…`` listing the citations."""
        return f"{self.answer}\n依据：{self.citation_text}"
