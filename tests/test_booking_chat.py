"""Booking a marriage registration by chat, end to end through the signed /wechat endpoint.

Every message carries a fixed CreateTime (the week of Monday 2026-11-23, Asia/Shanghai), which
the flow uses as "now", so these conversations read the same whatever day the tests run.
"""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.bookings import engine, wording
from bot.bookings.slots import BookingRules
from bot.chat import sessions
from bot.wechat import simulate
from knowledge import offices
from tests.chat import session_of
from tests.test_applicants import make_id

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
NEXT_WEDNESDAY = date(2026, 12, 2)
HIM = make_id("19950615", "男")
HER = make_id("19970320", "女")
CODE = re.compile(r"确认码：([2-9A-Z]{6})")


class Citizen:
    """A person chatting on their phone; each message is sent a few seconds after the last."""

    def __init__(self, chat, at: datetime = MONDAY):
        self.chat = chat
        self.openid = chat.openid
        self.clock = at

    def at(self, moment: datetime) -> "Citizen":
        self.clock = moment
        return self

    def _created(self) -> int:
        self.clock += timedelta(seconds=5)
        return int(self.clock.timestamp())

    def _send(self, xml: str) -> str:
        reply = simulate.readable(self.chat.reply_xml(xml))
        assert len(reply.encode()) <= 2048
        assert HIM not in reply and HER not in reply, "a full ID number was echoed"
        return reply

    def say(self, text: str) -> str:
        return self._send(simulate.text(self.openid, text, created=self._created()))

    def click(self, key: str) -> str:
        return self._send(simulate.click(self.openid, key, created=self._created()))

    def send_location(self, lat: float, lng: float) -> str:
        return self._send(simulate.location(self.openid, lat, lng, created=self._created()))

    def scan(self, scene: str) -> str:
        return self._send(simulate.scan(self.openid, scene, created=self._created()))

    @property
    def session(self):
        return session_of(self.openid)


@pytest.fixture
def citizen(chat):
    return Citizen(chat)


def fill_in_couple(citizen: Citizen, him: str = HIM, her: str = HER) -> str:
    citizen.say("张三")
    citizen.say(him)
    citizen.say("李四")
    return citizen.say(her)


def book_next_wednesday_930(citizen: Citizen, him: str = HIM, her: str = HER, slot: str = "2") -> str:
    """The whole booking (slot 2 is 09:30); returns the confirmation code."""
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say(slot)
    fill_in_couple(citizen, him, her)
    reply = citizen.say("确认")
    assert "预约成功" in reply, reply
    return CODE.search(reply).group(1)


def fill_slot(day: date, hhmm: str, office_id: str = "changsha-furong") -> None:
    """Other couples take every place of a slot."""
    office = offices.current().get(office_id)
    for n in range(office.capacity):
        people = [
            {"name": "王五", "id_number": make_id("19900101", "男", serial=f"{50 + n}")},
            {"name": "赵六", "id_number": make_id("19920202", "女", serial=f"{50 + n}")},
        ]
        outcome = engine.book(office, day, hhmm, people, now=MONDAY, openid=f"o_other_{n}", rules=BookingRules())
        assert outcome.kind == engine.CONFIRMED


# ---- starting and choosing where and when ------------------------------------------------------


def test_one_message_fills_in_the_office_the_day_and_the_half_day(citizen):
    reply = citizen.say("下周三上午在芙蓉区登记结婚")
    assert "长沙市芙蓉区婚姻登记处 12月2日（周三）上午的时段" in reply
    assert "1. 09:00 余3个" in reply and "5. 11:00 余3个" in reply
    assert "14:00" not in reply


def test_the_menu_button_starts_by_asking_which_office(citizen):
    reply = citizen.click("booking")
    assert "哪个登记处" in reply and "发送位置" in reply
    assert "1. 长沙市" in reply and "14. 湘西土家族苗族自治州" in reply


def test_an_office_is_picked_by_numbers_and_open_days_show_remaining_places(citizen):
    citizen.click("booking")
    assert "1. 长沙市芙蓉区婚姻登记处" in citizen.say("1")
    reply = citizen.say("1")
    assert "长沙市芙蓉区婚姻登记处可预约的日期" in reply
    assert "1. 11月24日（周二） 余33个" in reply
    assert "11月28日（周末）" in reply  # a Saturday, and why it can't be booked


def test_sending_a_location_offers_the_three_nearest_offices(citizen):
    reply = citizen.send_location(28.19, 113.03)
    assert "离您最近的婚姻登记处" in reply
    assert "1. 长沙市芙蓉区婚姻登记处（约0.0公里）" in reply and "3. " in reply and "4. " not in reply
    assert "长沙市芙蓉区婚姻登记处可预约的日期" in citizen.say("1")


def test_traditional_characters_are_understood(citizen):
    citizen.say("我想預約結婚登記")
    assert "可預約" not in citizen.say("芙蓉區")
    reply = citizen.say("下週三上午")
    assert "12月2日（周三）上午的时段" in reply


def test_a_closed_day_is_explained_and_the_dates_offered_again(citizen):
    citizen.say("在芙蓉区登记结婚")
    reply = citizen.say("本周六")
    assert reply.startswith("11月28日（周六）不能预约：周末。")
    assert "可预约的日期" in reply


def test_a_time_can_be_said_in_words(citizen):
    citizen.say("下周三在芙蓉区登记结婚")
    assert citizen.say("9点半") == "请发送第一位申请人的姓名（男方、女方谁先都可以）。"


def test_a_peak_day_warns_it_fills_first_and_offers_quieter_days(chat):
    citizen = Citizen(chat, at=datetime(2026, 5, 12, 9, 0, tzinfo=TZ))
    reply = citizen.say("5月20号在芙蓉区登记结婚")
    assert "5月20日（周三）是登记高峰日（5月20日），名额最先约满" in reply
    assert "人少一些的日子有5月19日（周二）、5月18日（周一）" in reply  # 5月21日 is a peak too


# ---- the applicants --------------------------------------------------------------------------


def test_a_full_booking_ends_with_a_code_and_what_to_bring(citizen, r):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    summary = fill_in_couple(citizen)
    assert f"第一位申请人：张三 **************{HIM[-4:]}" in summary
    assert f"第二位申请人：李四 **************{HER[-4:]}" in summary
    reply = citizen.say("确认")
    assert "预约成功！确认码：" in reply
    assert "张三" not in reply and "张*" in reply, "names are shown in full only at the summary"
    assert "长沙市芙蓉区婚姻登记处" in reply and "12月2日（周三） 09:30" in reply
    assert "身份证" in reply and "口罩" in reply and "前10分钟" in reply
    assert "取消预约" in reply and "待核实" in reply
    [booking] = engine.active_for_openid(citizen.openid)
    assert booking.code in reply and booking.channel == "wechat"
    assert citizen.session.flow is None


def test_names_and_id_numbers_never_rest_in_the_session_in_clear(citizen, r):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    fill_in_couple(citizen)
    stored = r.get(sessions.key(citizen.openid))
    assert HIM not in stored and HER not in stored and "张三" not in stored


def test_a_wrong_check_digit_names_the_second_applicant(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    citizen.say("张三")
    citizen.say(HIM)
    citizen.say("李四")
    reply = citizen.say(HER[:17] + ("0" if HER[17] != "0" else "1"))
    assert reply.startswith("第二位申请人的身份证号校验位不对，请核对最后一位。")
    assert reply.endswith("请发送第二位申请人的18位身份证号（仅用于核验和预约，回复中只显示末4位）。")


def test_an_underage_applicant_is_told_the_legal_age(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    reply = fill_in_couple(citizen, her=make_id("20080101", "女"))
    assert reply.startswith("第二位申请人登记当天未满20周岁（女方法定婚龄）。")


def test_after_three_wrong_tries_the_bot_offers_to_stop_or_come_back_later(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    citizen.say("张三")
    assert "已经试了3次" not in citizen.say("4301021995")
    assert "已经试了3次" not in citizen.say("4301021995")
    reply = citizen.say("4301021995")
    assert "身份证号应为18位，现在是10位" in reply
    assert "已经试了3次" in reply and "回复“取消”结束预约" in reply and "30分钟内回来接着填" in reply
    assert "预约成功" in (citizen.say(HIM) and citizen.say("李四") and citizen.say(HER) and citizen.say("确认"))


def test_an_applicant_without_the_id_number_at_hand_is_not_told_it_has_the_wrong_length(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    citizen.say("王小明")
    reply = citizen.say("王小明的身份證號碼我等下發")
    assert reply.startswith("好的，不着急") and "位，现在是" not in reply
    assert "第一位申请人的18位身份证号" in reply
    assert citizen.say("不记得了").startswith("这一步需要身份证号（18位）")
    assert "第二位申请人的姓名" in citizen.say(HIM)


def test_the_same_person_cannot_hold_two_bookings(citizen):
    office = offices.current().get("changsha-tianxin")
    other = [{"name": "张三", "id_number": HIM}, {"name": "王芳", "id_number": make_id("19960101", "女")}]
    assert engine.book(office, NEXT_WEDNESDAY, "14:00", other, now=MONDAY, rules=BookingRules()).kind == "confirmed"
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    fill_in_couple(citizen)
    reply = citizen.say("确认")
    assert reply.startswith("第一位申请人已有一个有效预约，每人同时只能有一个预约")
    assert engine.active_for_openid(citizen.openid) == []


# ---- detours, corrections and leaving --------------------------------------------------------


def test_a_handbook_question_mid_booking_is_answered_then_the_booking_resumes(citizen):
    citizen.say("在芙蓉区登记结婚")
    date_question = citizen.session.data["step"]
    reply = citizen.say("口罩怎么戴")
    assert "口罩" in reply.split("长沙市芙蓉区婚姻登记处可预约的日期")[0]
    assert "长沙市芙蓉区婚姻登记处可预约的日期" in reply
    assert citizen.session.data["step"] == date_question == "date"
    assert "上午的时段" in citizen.say("下周三上午")


def test_cancel_leaves_the_booking(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    assert "已退出当前操作" in citizen.say("取消")
    assert citizen.session.flow is None


def test_changing_the_date_keeps_the_applicants(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    fill_in_couple(citizen)
    assert "可预约的日期" in citizen.say("改日期")
    assert "12月3日（周四）上午的时段" in citizen.say("下周四上午")
    summary = citizen.say("3")
    assert summary.startswith("请核对预约信息") and "12月3日（周四） 10:00" in summary
    assert f"**************{HIM[-4:]}" in summary


def test_changing_the_time_at_the_summary_goes_back_to_the_slots(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    fill_in_couple(citizen)
    assert "12月2日（周三）的时段" in citizen.say("改时间")
    assert "12月2日（周三） 10:30" in citizen.say("10点半")


def test_a_full_slot_offers_the_nearest_free_places_and_the_waitlist(citizen):
    fill_slot(NEXT_WEDNESDAY, "09:00")
    citizen.say("下周三上午在芙蓉区登记结婚")
    reply = citizen.say("1")
    assert reply.startswith("12月2日（周三） 09:00已约满。")
    assert "1. 长沙市芙蓉区婚姻登记处 12月2日（周三） 09:30 余3个" in reply
    assert "候补" in reply
    assert citizen.say("候补上午") == "请发送第一位申请人的姓名（男方、女方谁先都可以）。"
    summary = fill_in_couple(citizen)
    assert "候补：12月2日（周三）上午" in summary
    assert citizen.say("确认").startswith("已加入候补，您排第1位")


def test_a_couple_booked_from_the_waitlist_is_told_when_they_next_write(citizen):
    fill_slot(NEXT_WEDNESDAY, "09:00")
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    citizen.say("候补上午")
    fill_in_couple(citizen)
    citizen.say("确认")
    taken = engine.active_for_openid("o_other_0")[0]
    assert engine.cancel(taken.code, now=MONDAY, openid="o_other_0").kind == engine.CANCELLED

    reply = citizen.say("你好")
    assert reply.startswith("【通知】您候补的长沙市芙蓉区婚姻登记处12月2日")
    assert "已自动为您预约" in reply and "很高兴为您服务" in reply
    assert "【通知】" not in citizen.say("你好")  # told once


def test_picking_a_nearby_free_place_after_a_full_slot(citizen):
    fill_slot(NEXT_WEDNESDAY, "09:00")
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    assert citizen.say("1").startswith("请发送第一位申请人的姓名")
    assert "12月2日（周三） 09:30" in fill_in_couple(citizen)


# ---- after booking: look it up, cancel, move, check in -------------------------------------------


def test_my_booking_shows_the_code_office_and_time(citizen):
    code = book_next_wednesday_930(citizen)
    reply = citizen.say("我的预约")
    assert f"确认码 {code}｜长沙市芙蓉区婚姻登记处｜12月2日（周三） 09:30｜张*、李*" in reply


def test_without_a_booking_my_booking_says_how_to_book(citizen):
    assert "没有有效的结婚登记预约" in citizen.say("我的预约")


def test_cancelling_asks_first_then_frees_the_place(citizen):
    code = book_next_wednesday_930(citizen)
    question = citizen.say("取消预约")
    assert "要取消这个预约吗" in question and code in question
    assert citizen.say("确认").startswith(f"已取消预约（确认码 {code}")
    assert engine.get(code).status == "cancelled"
    assert engine.active_for_openid(citizen.openid) == []


def test_cancelling_within_two_hours_of_the_slot_is_refused(citizen):
    code = book_next_wednesday_930(citizen)
    citizen.at(datetime(2026, 12, 2, 8, 0, tzinfo=TZ))
    citizen.say("取消预约")
    assert "预约开始前2小时内不能在线取消或改约" in citizen.say("确认")
    assert engine.get(code).status == "confirmed"


def test_rescheduling_walks_date_then_slot_then_confirm(citizen):
    code = book_next_wednesday_930(citizen)
    assert "可预约的日期" in citizen.say("改约")
    assert "12月3日（周四）下午的时段" in citizen.say("下周四下午")
    summary = citizen.say("1")
    assert "原来：长沙市芙蓉区婚姻登记处 12月2日（周三） 09:30" in summary
    assert "改为：长沙市芙蓉区婚姻登记处 12月3日（周四） 14:00" in summary
    assert citizen.say("确认").startswith(f"改约成功！确认码不变：{code}")
    moved = engine.get(code)
    assert (moved.date, moved.time, moved.status) == (date(2026, 12, 3), "14:00", "confirmed")


def test_scanning_the_office_qr_code_checks_the_couple_in(citizen):
    code = book_next_wednesday_930(citizen)
    citizen.at(datetime(2026, 12, 2, 9, 10, tzinfo=TZ))
    assert citizen.scan("checkin:changsha-tianxin") == "这个预约在长沙市芙蓉区婚姻登记处，不是本登记处。"
    reply = citizen.scan("checkin:changsha-furong")
    assert reply.startswith("签到成功") and code in reply
    assert engine.get(code).status == "checked_in"


def test_scanning_too_early_says_when_check_in_opens(citizen):
    book_next_wednesday_930(citizen)
    citizen.at(datetime(2026, 12, 2, 8, 0, tzinfo=TZ))
    assert citizen.scan("checkin:changsha-furong") == "还没到签到时间，请于 09:00 以后签到。"


def test_other_qr_scenes_are_not_check_ins(citizen):
    assert "签到" not in citizen.scan("poster-2026")


def test_asking_about_the_ceremony_says_it_is_suspended(citizen):
    assert "颁证仪式暂停" in citizen.say("颁证仪式还办吗")


def test_following_the_account_by_scanning_the_office_code_also_checks_in(citizen):
    code = book_next_wednesday_930(citizen)
    citizen.at(datetime(2026, 12, 2, 9, 20, tzinfo=TZ))
    xml = simulate.event(citizen.openid, "subscribe", "qrscene_checkin:changsha-furong", created=citizen._created())
    assert citizen._send(xml).startswith("签到成功")
    assert engine.get(code).status == "checked_in"


def test_with_two_bookings_the_user_picks_which_one_to_cancel(citizen):
    first = book_next_wednesday_930(citizen)
    second = book_next_wednesday_930(
        citizen, make_id("19900101", "男", serial="77"), make_id("19910101", "女", serial="77"), slot="3"
    )
    question = citizen.say("取消预约")
    assert "您有2个预约，要取消哪一个" in question and first in question and second in question
    assert f"确认码 {second}" in citizen.say("2")
    citizen.say("确认")
    assert [b.code for b in engine.active_for_openid(citizen.openid)] == [first]


def test_a_name_and_id_number_can_come_in_one_message(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    assert citizen.say(f"张三 {HIM}") == "请发送第二位申请人的姓名。"


def test_asking_to_book_again_mid_way_keeps_what_was_filled_in(citizen):
    citizen.say("下周三在芙蓉区登记结婚")
    reply = citizen.say("我要预约结婚登记")
    assert reply.count("12月2日（周三）的时段") == 1
    assert citizen.say("10点") == "请发送第一位申请人的姓名（男方、女方谁先都可以）。"


def test_changing_the_office_keeps_the_day_and_time(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("1")
    fill_in_couple(citizen)
    assert "哪个登记处" in citizen.say("改登记处")
    summary = citizen.say("天心区")
    assert "登记处：长沙市天心区婚姻登记处" in summary and "12月2日（周三） 09:00" in summary


# ---- what the law asks: what to bring, where to register (《婚姻登记条例》第四条、第五条) ---------------


def test_the_couple_confirm_that_one_of_them_is_registered_where_the_office_is(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    summary = fill_in_couple(citizen)
    assert "本处受理一方户口在芙蓉区的登记，请确认你们有一方的常住户口在芙蓉区。" in summary
    assert "无误请回复“确认”" in summary


def test_choosing_an_office_by_number_says_whose_registrations_it_takes(citizen):
    citizen.click("booking")
    citizen.say("1")  # 长沙市
    assert "本处受理一方户口在芙蓉区的登记" in citizen.say("1")


def test_the_nearest_offices_come_with_the_place_of_residence_rule(citizen):
    reply = citizen.send_location(28.19, 113.03)
    assert "须到一方常住户口所在地的婚姻登记处办理" in reply and "离您最近的婚姻登记处" in reply


def test_the_confirmation_lists_household_registers_id_cards_and_photos(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    fill_in_couple(citizen)
    reply = citizen.say("确认")
    assert wording.WHAT_TO_BRING in reply
    assert "户口簿、身份证" in reply and "3张2寸近期半身免冠合影" in reply and "现场签署" in reply
