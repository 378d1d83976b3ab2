"""Sessions and routing as a citizen experiences them."""

import threading

from bot.chat import router, sessions
from bot.replies import Text
from bot.wechat import simulate
from tests.chat import session_of


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
    assert sorted(session_of(chat.openid).data["seen"]) == sorted(texts)


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
    chat.say("预约结婚登记")
    assert chat.say("取消").startswith("好的，已退出当前操作")
    assert session_of(chat.openid).flow is None


def test_a_question_in_the_middle_of_a_booking_is_answered_and_the_booking_resumes(chat):
    question = chat.say("预约结婚登记")
    assert "请问在哪个登记处办理" in question
    reply = chat.say("口罩怎么戴")
    assert reply.startswith("【") and "来源：" in reply, "the handbook answers the digression"
    assert "请问在哪个登记处办理" in reply.split("来源：")[1], "then the booking's question comes again"
    assert "可预约的日期" in chat.say("芙蓉区"), "and the next answer continues the booking"


def test_booking_words_inside_a_request_to_cancel_or_look_up_do_not_start_a_new_booking(chat):
    for request in ("取消预约", "我的预约", "改约"):
        reply = chat.say(request)
        assert reply.startswith("您目前没有有效的结婚登记预约"), request
        assert session_of(chat.openid).flow is None


def test_an_account_number_is_warned_about_before_anything_else_reads_it(chat):
    reply = chat.say("预约捐款请转账到6222 0212 3456 7890 123")
    assert reply.startswith("请当心诈骗") and "6222" not in reply


def test_a_flood_from_one_user_is_slowed_politely(chat):
    from bot.chat import turns

    limit = turns.MESSAGES_PER_MINUTE
    replies = [chat.say(f"你好{i}") for i in range(limit + 2)]
    assert all("太频繁" not in reply for reply in replies[:limit])
    assert all("太频繁" in reply for reply in replies[limit:])


def test_writing_to_the_account_opens_the_48_hour_customer_service_window(chat, r):
    from bot.wechat import outbound

    chat.say("你好", created=1795000000)
    window = r.hgetall(outbound._window_key(chat.openid))
    assert float(window["last_at"]) == 1795000000 and window["custom_sent"] == "0"
