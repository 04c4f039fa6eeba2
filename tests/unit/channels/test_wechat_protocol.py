"""WeChat protocol helpers: signatures, crypto, XML, buttons, dedupe — no network, no Rasa."""
from __future__ import annotations

import hashlib

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat_protocol import (
    ButtonMemory,
    Choice,
    Crypto,
    SeenCache,
    WeChatRequestError,
    choice_number,
    dedupe_key,
    parse_wechat_message,
    parse_xml,
    render_messages,
    sign,
    signature_ok,
    split_text,
    text_reply_xml,
    timestamp_fresh,
)

TOKEN = "tok"
APPID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TEXT_XML = (
    "<xml><ToUserName><![CDATA[gh_acc]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[你好]]></Content><MsgId>1234567890123456</MsgId></xml>"
)
EVENT_XML = (
    "<xml><ToUserName><![CDATA[gh_acc]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>"
    "<CreateTime>1700000001</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[HELP]]></EventKey></xml>"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---- signatures ------------------------------------------------------------------------------
def test_sign_is_sha1_of_sorted_parts() -> None:
    expected = hashlib.sha1("".join(sorted([TOKEN, "1700000000", "nonce"])).encode()).hexdigest()
    assert sign(TOKEN, "1700000000", "nonce") == expected


def test_signature_ok() -> None:
    sig = sign(TOKEN, "1700000000", "nonce")
    assert signature_ok(TOKEN, sig, "1700000000", "nonce")
    assert not signature_ok(TOKEN, sig, "1700000001", "nonce")
    assert not signature_ok("other", sig, "1700000000", "nonce")
    assert not signature_ok(TOKEN, "", "1700000000", "nonce")
    assert not signature_ok("", sign("", "1", "2"), "1", "2")  # no token configured: nothing passes


def test_timestamp_fresh() -> None:
    assert timestamp_fresh("1000", 1000.0)
    assert timestamp_fresh("700", 1000.0)
    assert not timestamp_fresh("699", 1000.0)
    assert not timestamp_fresh("1301", 1000.0)
    assert not timestamp_fresh("abc", 1000.0)
    assert not timestamp_fresh("", 1000.0)


# ---- crypto ------------------------------------------------------------------------------------
def _envelope(xml: str, token: str = TOKEN, nonce: str = "n1", ts: str = "1700000000") -> tuple[str, str]:
    env = WeChatCrypto(token, AES_KEY, APPID).encrypt_message(xml, nonce, ts)
    outer = parse_xml(env)
    return env, outer["MsgSignature"]


def test_decrypt_roundtrip() -> None:
    env, msg_sig = _envelope(TEXT_XML)
    assert Crypto(TOKEN, AES_KEY, APPID).decrypt(env, msg_sig, "1700000000", "n1") == TEXT_XML


def test_decrypt_refuses_forged_signature_and_other_appid() -> None:
    env, msg_sig = _envelope(TEXT_XML)
    crypto = Crypto(TOKEN, AES_KEY, APPID)
    with pytest.raises(WeChatRequestError) as err:
        crypto.decrypt(env, msg_sig, "1700000001", "n1")
    assert err.value.status == 403
    with pytest.raises(WeChatRequestError) as err:
        crypto.decrypt(env, "", "1700000000", "n1")
    assert err.value.status == 403
    other_app = Crypto(TOKEN, AES_KEY, "wxotherappid000000")
    with pytest.raises(WeChatRequestError) as err:
        other_app.decrypt(env, msg_sig, "1700000000", "n1")
    assert err.value.status == 403


def test_decrypt_garbage_is_400() -> None:
    garbage = "<xml><Encrypt><![CDATA[bm90IGEgcmVhbCBtZXNzYWdl]]></Encrypt></xml>"
    sig = sign(TOKEN, "1", "n", "bm90IGEgcmVhbCBtZXNzYWdl")
    with pytest.raises(WeChatRequestError) as err:
        Crypto(TOKEN, AES_KEY, APPID).decrypt(garbage, sig, "1", "n")
    assert err.value.status == 400
    with pytest.raises(WeChatRequestError) as err:
        Crypto(TOKEN, AES_KEY, APPID).decrypt("<xml><Other>1</Other></xml>", sig, "1", "n")
    assert err.value.status == 400


def test_encrypted_reply_decrypts_with_wechatpy() -> None:
    reply = Crypto(TOKEN, AES_KEY, APPID).encrypt("<xml><Content>好</Content></xml>", "n2", "1700000005")
    outer = parse_xml(reply)
    assert outer["TimeStamp"] == "1700000005" and outer["Nonce"] == "n2"
    plain = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(reply, outer["MsgSignature"], "1700000005", "n2")
    assert plain == "<xml><Content>好</Content></xml>"


# ---- XML -------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    "", "not xml", "<xml><a></xml>", "<other/>", "<xml>text only</xml>",
    '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>',
])
def test_parse_xml_malformed(body: str) -> None:
    with pytest.raises(WeChatRequestError) as err:
        parse_xml(body)
    assert err.value.status == 400


def test_parse_message_and_dedupe_keys() -> None:
    msg = parse_wechat_message(TEXT_XML)
    assert (msg.type, msg.source, msg.target, msg.content) == ("text", "oUser1", "gh_acc", "你好")
    assert dedupe_key(msg) == "msg:1234567890123456"
    event = parse_wechat_message(EVENT_XML)
    assert (event.type, event.event, event.key) == ("event", "click", "HELP")
    assert dedupe_key(event) == "evt:oUser1:1700000001:CLICK"
    with pytest.raises(WeChatRequestError):
        parse_wechat_message("<xml><Content>x</Content></xml>")


def test_text_reply_xml_swaps_sender_and_recipient() -> None:
    msg = parse_wechat_message(TEXT_XML)
    xml = text_reply_xml(msg, "您好 <&> 欢迎", now=1700000009)
    reply = parse_xml(xml)
    assert reply == {
        "ToUserName": "oUser1", "FromUserName": "gh_acc", "CreateTime": "1700000009",
        "MsgType": "text", "Content": "您好 <&> 欢迎",
    }


def test_split_text() -> None:
    assert split_text("短") == ["短"]
    long_lines = "\n".join(["一二三四五六七八九十"] * 100)  # 3000 bytes
    chunks = split_text(long_lines, limit=1000)
    assert all(len(c.encode()) <= 1000 for c in chunks)
    assert "\n".join(chunks) == long_lines
    one_line = "长" * 1000
    chunks = split_text(one_line, limit=300)
    assert all(len(c.encode()) <= 300 for c in chunks) and "".join(chunks) == one_line


# ---- buttons -----------------------------------------------------------------------------------
def test_render_buttons_numbered_across_the_turn() -> None:
    text, choices = render_messages([
        {"text": "请选择信访类型："},
        {"text": "您的诉求属于：", "buttons": [
            {"title": "建议意见", "payload": '/inform{"petition_type": "suggestion"}'},
            {"title": "检举控告", "payload": "/inform_accusation"},
        ]},
        {"text": "或者：", "buttons": [{"title": "申诉求决", "payload": "/grievance"}, {"payload": "/x"}, "junk"]},
    ])
    assert text == (
        "请选择信访类型：\n\n您的诉求属于：\n回复 1：建议意见\n回复 2：检举控告\n\n"
        "或者：\n回复 3：申诉求决\n回复 4：/x"
    )
    assert choices[0] == Choice(1, "建议意见", '/inform{"petition_type": "suggestion"}')
    assert [c.number for c in choices] == [1, 2, 3, 4]


def test_render_images_attachments_custom() -> None:
    text, choices = render_messages([
        {"image": "https://x/y.png"}, {"attachment": "https://x/a.pdf"}, {"custom": {"text": "自定义"}}, {},
    ])
    assert text == "[图片] https://x/y.png\n\n[附件] https://x/a.pdf\n\n自定义"
    assert choices == []


@pytest.mark.parametrize(("text", "number"), [
    ("1", 1), (" 2 ", 2), ("１", 1), ("回复1", 1), ("回复 2", 2), ("3。", 3), ("选2", 2), ("第1个", 1),
    ("12", 12), ("1人", None), ("123", None), ("一", None), ("我选1号方案", None), ("", None),
])
def test_choice_number(text: str, number: int | None) -> None:
    assert choice_number(text) == number


def test_button_memory_resolves_once_and_by_title() -> None:
    clock = Clock()
    memory = ButtonMemory(ttl=60, clock=clock)
    choices = [Choice(1, "同意", "/affirm"), Choice(2, "不同意", "/deny")]
    memory.remember("u", choices)
    assert memory.resolve("other", "1") == "1"
    assert memory.resolve("u", "5") == "5"            # out of range: stays text, choices kept
    assert memory.resolve("u", "２") == "/deny"
    assert memory.resolve("u", "1") == "1"            # used up
    memory.remember("u", choices)
    assert memory.resolve("u", "同意") == "/affirm"   # the exact title works too
    memory.remember("u", choices)
    memory.remember("u", [])                          # a turn without buttons forgets them
    assert memory.resolve("u", "1") == "1"
    memory.remember("u", choices)
    clock.now += 61
    assert memory.resolve("u", "1") == "1"            # expired


def test_button_memory_is_bounded() -> None:
    memory = ButtonMemory(max_users=2)
    for user in ("a", "b", "c"):
        memory.remember(user, [Choice(1, "好", "/affirm")])
    assert memory.choices("a") == []
    assert memory.resolve("c", "1") == "/affirm"


# ---- dedupe cache ------------------------------------------------------------------------------
def test_seen_cache_expiry_and_bound() -> None:
    clock = Clock()
    cache = SeenCache(ttl=10, max_items=3, clock=clock)
    assert cache.add("k", 1) == (True, 1)
    assert cache.add("k", 2) == (False, 1)
    cache.set("k", 3)
    assert cache.get("k") == 3
    clock.now += 11
    assert cache.add("k", 4) == (True, 4)
    for key in ("a", "b", "c"):
        cache.add(key)
    assert cache.get("k") is None  # the oldest left when the bound was reached
