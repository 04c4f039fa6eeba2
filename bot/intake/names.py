"""The petitioner's name: found in a sentence ('我叫张三') or given as a direct answer."""
from __future__ import annotations

import re

from bot.errors import InvalidField
from bot.intake._text import halfwidth

FIELD = "petitioner_name"
MSG_EMPTY = "请您告诉我您的姓名，写真实姓名就可以，例如“张三”。"
MSG_DIGITS = "姓名里不能有数字哦。请您写一下真实姓名，例如“张三”；少数民族姓名可以用“·”分隔，例如“买买提·艾力”。"
MSG_LENGTH = "姓名一般是2到20个字，请您写一下完整的真实姓名，例如“张三”。"
MSG_CHARS = "姓名只能包含汉字、英文字母或“·”，请您再写一下，例如“张三”或“买买提·艾力”。"

_DOTS = re.compile(r"\s*[·•・‧∙⋅．.]\s*")
_HAN = r"[\u4e00-\u9fff]"
# Surnames (single and compound) that make '我是X'/'本人X' read as a name rather than a description.
_COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "南宫", "西门", "独孤"]
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑"
    "景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
    "官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖"
    "漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹"
    "诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
_STOP_CHARS = set("的了吗呢吧啊是在有没不要想会能个这那我你他她们说叫错对改号码电话身份证住址地址")

_NAME = rf"(?P<name>{_HAN}{{2,10}}(?:·{_HAN}{{1,10}})+|{_HAN}{{2,4}})"
_END = r"(?=$|[\s,，。.!！;；、:：)）]|电话|手机|联系|身份证|住在|家住|住址|今年|男|女|现年|是|来自)"
_STRONG = re.compile(r"(?:我叫|我名叫|名叫|我的名字叫|我的名字是|我名字叫|我名字是|姓名\s*[:：是为]?|名字\s*[:：])\s*" + _NAME + _END)
_WEAK = re.compile(r"(?:我是|本人(?:是|叫)?|信访人[:：]?|反映人[:：]?)\s*" + _NAME + _END)
_PREFIX = re.compile(r"^(?:您好|你好)?[,，\s]*(?:我叫|我名叫|我的名字叫|我的名字是|我名字叫|我名字是|我是|本人是|本人|姓名\s*[:：是为]?|名字\s*[:：是]?|叫)\s*")


def _has_surname(name: str) -> bool:
    return name[0] in _SURNAMES or name[:2] in _COMPOUND_SURNAMES


def _plausible(name: str, *, need_surname: bool) -> bool:
    if "·" in name:
        return True
    if any(ch in _STOP_CHARS for ch in name[1:]):
        return False
    return _has_surname(name) or not need_surname


def find_name(text: str) -> str | None:
    """A name introduced in a sentence: '我叫张三', '姓名：王五', '我是李四，', '本人赵六'."""
    plain = _DOTS.sub("·", halfwidth(text or ""))
    for pattern, need_surname in ((_STRONG, False), (_WEAK, True)):
        for match in pattern.finditer(plain):
            name = match["name"]
            if _plausible(name, need_surname=need_surname):
                return name
    return None


def validate_name(text: str) -> str:
    """A direct answer to 'what is your name': strip 我叫/我是, accept 2-20 Chinese/Latin/· characters."""
    plain = _DOTS.sub("·", halfwidth(text or "").strip())
    plain = _PREFIX.sub("", plain).strip(" ,，。.!！~～")
    plain = re.sub(r"\s+", " ", plain)
    if not plain:
        raise InvalidField(FIELD, "empty", user_message=MSG_EMPTY)
    if re.search(r"[0-9]", plain):
        raise InvalidField(FIELD, "digits", user_message=MSG_DIGITS)
    if not re.fullmatch(r"[\u4e00-\u9fffA-Za-z·][\u4e00-\u9fffA-Za-z· ]*", plain) or plain.endswith("·"):
        raise InvalidField(FIELD, "characters", user_message=MSG_CHARS)
    if not 2 <= len(plain.replace(" ", "")) <= 20:
        raise InvalidField(FIELD, "length", user_message=MSG_LENGTH)
    return plain
