"""Sessions and routing as a citizen experiences them."""

import threading

from bot.chat import router, sessions
from bot.replies import Text
from bot.wechat import simulate


def test_session_expires_after_30_minutes_idle(chat, r):
    chat.say("你好")
    ttl = r.ttl(sessions.key(chat.openid))
    assert 29 * 60 < ttl <= 30 * 60


def test_concurrent_messages_of_one_user_lose_no_update(chat, monkeypatch):
    def remember(message, session):
        session.data.setdefault("seen", []).append(message.text)
        return Text("收到")

    monkeypatch.setattr(router, "route", remember)
    texts = [f"第{i}条" for i in range(12)]
    threads = [threading.Thread(target=chat.say, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sessions.load(chat.openid).data["seen"]) == sorted(texts)


def test_unsubscribing_drops_the_session(chat, r):
    chat.say("你好")
    assert r.exists(sessions.key(chat.openid))
    assert chat.reply_xml(simulate.event(chat.openid, "unsubscribe")) == "success"
    assert not r.exists(sessions.key(chat.openid))


def test_help_and_menu_words_show_the_menu(chat):
    for word in ("帮助", "菜单", "幫助"):
        assert "1 预约结婚登记" in chat.say(word)


def test_following_the_account_gets_a_welcome_with_the_menu(chat):
    reply = simulate.readable(chat.reply_xml(simulate.event(chat.openid, "subscribe")))
    assert "欢迎" in reply and "防疫" in reply and "捐赠" in reply


def test_a_digit_after_the_menu_opens_that_item(chat):
    chat.say("帮助")
    assert "防疫" in chat.say("2")


def test_an_unknown_menu_key_gets_help(chat):
    assert "1 预约结婚登记" in chat.click("NO_SUCH_KEY")


def test_pictures_get_a_polite_please_type(chat):
    xml = simulate._xml(chat.openid, "image", {"PicUrl": "http://x/y.jpg", "MediaId": "m", "MsgId": 99}, None)
    assert "文字" in simulate.readable(chat.reply_xml(xml))


def test_cancel_leaves_any_flow(chat):
    chat.say("我想捐款")
    reply = chat.say("取消")
    assert "退出" in reply or "好的" in reply
    assert sessions.load(chat.openid).flow is None


def test_a_question_in_the_middle_of_a_flow_is_answered_and_the_flow_resumes(chat, monkeypatch):
    asked = {}

    def step(message, session):
        if message.text == "张三":
            asked["name"] = message.text
            return Text("好的，张三。")
        return None  # not an answer to our question: a digression

    monkeypatch.setitem(router.FLOWS, "demo", router.Flow(step, lambda session: "请继续告诉我您的姓名。"))

    def start_demo(message, session):
        session.start("demo")
        return Text("请告诉我您的姓名。")

    monkeypatch.setattr(router, "INTENTS", (router.Intent("demo", start_demo, words=("演示",)), *router.INTENTS))
    chat.say("演示")
    reply = chat.say("你好")
    assert reply.endswith("请继续告诉我您的姓名。")
    assert chat.say("张三") == "好的，张三。" and asked["name"] == "张三"


def test_intents_are_tried_in_the_written_order():
    names = [intent.name for intent in router.INTENTS]
    assert names.index("payment_warning") == 0
    assert names.index("cancel_booking") < names.index("booking")
    assert names.index("my_booking") < names.index("booking")


def test_a_flood_from_one_user_is_slowed_politely(chat, monkeypatch):
    from bot.chat import turns

    monkeypatch.setattr(turns, "MESSAGES_PER_MINUTE", 5)
    replies = [chat.say(f"你好{i}") for i in range(7)]
    assert all("太频繁" not in reply for reply in replies[:5])
    assert all("太频繁" in reply for reply in replies[5:])


def test_writing_to_the_account_opens_the_48_hour_customer_service_window(chat, r):
    from bot.wechat import outbound

    chat.say("你好", created=1795000000)
    window = r.hgetall(outbound._window_key(chat.openid))
    assert float(window["last_at"]) == 1795000000 and window["custom_sent"] == "0"
