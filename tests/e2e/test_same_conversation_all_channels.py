"""The same conversations, word for word, through REST, Telegram and WeChat.

One table of scripted conversations runs against the real stack with all three channels enabled
(Telegram: Update JSON to the webhook, replies from the stand-in Bot API; WeChat: AES-encrypted
XML pushes, replies passive or as customer-service messages). Step by step, each channel's
answer must be the REST answer (rendered alike, case numbers aside), and each channel's petition
must reach the back-office queue with its channel, its sender and the picture sent on the way.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.e2e.channel_adapters import ADAPTERS, CASE_NO, ChannelAdapter, Turn, stored_attachments
from tests.rasa_fixtures import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

#: one citizen per channel (the same person filing the same matter three times would be a repeat
#: petition); the script says "{name}" etc. and answers are compared with these put back
PERSONAS = {
    "rest": {"name": "李秀英", "id_number": "330106198503121231", "phone": "13912345678"},
    "telegram": {"name": "王建国", "id_number": "440305197906281235", "phone": "13812340001"},
    "wechat": {"name": "张桂兰", "id_number": "510107199201171238", "phone": "13712340002"},
}
#: a small JPEG (the signature is what the store checks)
PICTURE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8


@dataclass(frozen=True)
class Step:
    action: str  # say | press | picture
    value: str = ""
    expect: tuple[str, ...] = ()  # fragments the answer must contain (checked on every channel)

    def __str__(self) -> str:
        return f"{self.action} {self.value!r}"


def say(text: str, *expect: str) -> Step:
    return Step("say", text, expect)


def press(title: str, *expect: str) -> Step:
    return Step("press", title, expect)


def picture(*expect: str) -> Step:
    return Step("picture", "", expect)


@dataclass(frozen=True)
class Conversation:
    name: str
    steps: tuple[Step, ...]
    files_case: bool = False


CONVERSATIONS = (
    Conversation("petition", (
        say("你好", "信访服务助手"),
        press("登记信访事项", "您同意吗"),
        press("同意", "请问您这次是想"),
        press("反映问题、要求解决（申诉求决）", "姓名"),
        picture("已收到您发送的图片", "一并附上"),
        say("我叫{name}，电话{phone}，身份证{id_number}，住在浙江省杭州市西湖区文三路1号", "发生在哪里"),
        press("和我的住址相同", "单位"),
        say("杭州市西湖区住建局", "什么时候"),
        say("去年三月", "经过"),
        say("小区电梯坏了三个月，向区住建局反映多次一直没人管，老人上下楼很困难", "住房和物业"),
        press("是的", "诉求"),
        say("要求尽快督促修好电梯", "多少人"),
        press("只有我自己", "其他程序"),
        press("没有", "行政复议", "仍然希望提交"),
        press("仍然提交信访", "请您核对登记内容", "姓名：{name}", "联系电话：{phone}", "{id_number}"),
        press("确认提交", "登记成功", "<编号>", "1个文件/图片已作为材料附在"),
        say("查询进度", "<编号>：已登记"),
    ), files_case=True),
    Conversation("faq", (
        say("信访事项一般多长时间能办完？", "第三十四条"),
        say("谢谢", "不客气"),
    )),
    Conversation("status_without_case", (
        say("查询进度", "没有查到"),
    )),
)


def run_step(adapter: ChannelAdapter, user: str, step: Step, expect: str | None) -> Turn:
    persona = PERSONAS[adapter.channel]
    if step.action == "say":
        return adapter.say(user, step.value.format(**persona), expect and personalize(expect, persona))
    if step.action == "press":
        return adapter.press(user, step.value, expect and personalize(expect, persona))
    return Turn(adapter.attach_picture(user, PICTURE))


def personalize(text: str, persona: dict[str, str]) -> str:
    return text.replace("{name}", persona["name"]).replace("{phone}", persona["phone"]) \
        .replace("{id_number}", persona["id_number"])


def generalize(text: str, persona: dict[str, str]) -> str:
    """The answer with this channel's citizen taken out, comparable across channels."""
    return text.replace(persona["id_number"], "{id_number}").replace(persona["phone"], "{phone}") \
        .replace(persona["name"], "{name}")


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.name for c in CONVERSATIONS])
def test_same_conversation_on_every_channel(stack: Stack, conversation: Conversation) -> None:
    adapters = [cls(stack) for cls in ADAPTERS]
    users = {a.channel: a.new_user() for a in adapters}
    last: dict[str, Turn] = {}
    for number, step in enumerate(conversation.steps, start=1):
        reference: str | None = None
        for adapter in adapters:  # REST first: its answer is what the others must say
            turn = run_step(adapter, users[adapter.channel], step, reference)
            where = f"step {number} ({step}) on {adapter.channel}"
            assert turn.text, f"no answer at {where}\n{stack.logs()}"
            answer = generalize(turn.comparable, PERSONAS[adapter.channel])
            if reference is None:
                reference = answer
            else:
                assert answer == reference, f"{where} differs from REST"
            for fragment in step.expect:
                assert fragment in answer, f"{fragment!r} missing at {where}:\n{turn.text}"
            last[adapter.channel] = turn

    if not conversation.files_case:
        return
    for adapter in adapters:
        channel, user = adapter.channel, users[adapter.channel]
        numbers = CASE_NO.findall(last[channel].text)
        assert numbers, f"no case number in the {channel} status answer: {last[channel].text}"
        case_no = numbers[0]
        case = stack.api("GET", f"/api/cases/{case_no}", params={"reveal": "1"}).json()
        assert (case["channel"], case["sender_id"], case["status"]) == (channel, user, "registered")
        persona = PERSONAS[channel]
        assert (case["petitioner_name"], case["phone"], case["id_number"]) == (
            persona["name"], persona["phone"], persona["id_number"])
        queue = stack.api("GET", "/api/cases", params={"channel": channel, "limit": 200}).json()
        items = queue["items"] if isinstance(queue, dict) else queue
        assert case_no in [item["case_no"] for item in items], f"{case_no} not in the {channel} queue"
        [attachment] = stored_attachments(stack, case_no)
        assert attachment["kind"] == ("photo" if channel == "telegram" else "image")
        assert attachment["size"] == len(PICTURE) and attachment["content_type"] == "image/jpeg"
        download = stack.api("GET", attachment["url"])
        assert download.status_code == 200 and download.content == PICTURE
