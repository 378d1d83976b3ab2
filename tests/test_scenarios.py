"""Whole conversations through the signed /wechat endpoint, one per dialogue rule of issue 12, each
as a citizen experiences it: what they type, what they read back, what the staff's lists keep.

Messages carry a fixed CreateTime (Monday 2026-11-23, 09:00 Asia/Shanghai, plus a few seconds each),
so the conversations read the same whatever day the tests run.
"""

import re
import shutil
from datetime import timedelta

import pytest
import xmltodict

from bot import faq_misses
from bot.bookings import engine
from bot.bookings.slots import BookingRules
from bot.replies import TransferToStaff
from bot.wechat import render
from knowledge import charity, offices
from tests.chat import Chat
from tests.conftest import FIXTURES
from tests.test_applicants import make_id
from tests.test_booking_chat import (
    HER,
    HIM,
    MONDAY,
    NEXT_WEDNESDAY,
    Citizen,
    book_next_wednesday_930,
    fill_in_couple,
    fill_slot,
)

OTHER_MAN = make_id("19930101", "男", serial="77")
OTHER_WOMAN = make_id("19940404", "女", serial="88")
CODE = re.compile(r"确认码[：:\s]*([2-9A-Z]{6})")


@pytest.fixture
def citizen(chat):
    return Citizen(chat)


def at_the_summary(citizen: Citizen) -> str:
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")  # 09:30
    return fill_in_couple(citizen)


def misses() -> list[str]:
    return [miss["text"] for miss in faq_misses.top(50)]


# ---- the last list shown: a digit always picks from it --------------------------------------------


def test_after_a_not_covered_list_the_main_menus_1_opens_booking_not_the_stale_category(citizen):
    assert "1. 口罩" in citizen.say("隔离在家水电费怎么交")
    assert "1 预约结婚登记" in citizen.say("帮助")
    assert "请问在哪个登记处办理" in citizen.say("1")


def test_a_digit_picks_from_the_newest_list_whoever_showed_it(citizen):
    citizen.say("隔离在家水电费怎么交")  # categories, numbered
    answer = citizen.say("口罩多久换一次")  # an answer with its related questions, numbered
    related = re.search(r"1\. (\S+?)\s", answer).group(1)
    assert citizen.say("1").startswith(f"【{related}】")


def test_a_reply_without_a_list_clears_the_old_one(citizen):
    citizen.say("隔离在家水电费怎么交")
    citizen.say("我想捐款")  # asks money or materials: no list on screen
    assert not citizen.say("1").startswith("【口罩】")


def test_the_handbook_menus_digits_open_a_category_then_a_question(citizen):
    citizen.say("帮助")
    assert "防疫问答：回复数字查看分类" in citizen.say("2")
    assert citizen.say("1").startswith("【口罩】回复数字查看回答")


def test_a_digit_with_no_list_on_screen_shows_the_menu(citizen):
    citizen.say("隔离在家水电费怎么交")  # categories, numbered
    citizen.say("颁证仪式还办吗")  # an answer with nothing numbered
    assert citizen.say("1").startswith("您可以直接回复数字或文字")
    assert "请问在哪个登记处办理" in citizen.say("1"), "and now the menu's 1 is booking"


# ---- 取消 / 算了 / 退出 ----------------------------------------------------------------------------


def test_leaving_a_booking_without_any_booking_just_leaves(citizen):
    citizen.say("我想预约结婚登记")
    reply = citizen.say("算了")
    assert reply.startswith("好的，已退出当前操作") and "仍然保留" not in reply
    assert citizen.session.flow is None


def test_leaving_a_new_booking_says_the_existing_booking_is_still_kept(citizen):
    code = book_next_wednesday_930(citizen)
    citizen.say("我想再预约一个")
    reply = citizen.say("退出")
    assert "您的预约仍然保留" in reply and code in reply
    assert engine.get(code).active


def test_cancel_alone_with_a_booking_asks_whether_to_cancel_that_booking(citizen):
    code = book_next_wednesday_930(citizen)
    question = citizen.say("取消")
    assert question.startswith("要取消这个预约吗？") and question.count("取消") == 3, "asked once, not twice"
    assert code in question and "长沙市芙蓉区婚姻登记处" in question and "12月2日" in question
    assert engine.get(code).active, "nothing is cancelled before the couple says so"
    assert "已取消预约" in citizen.say("确认")
    assert not engine.get(code).active


def test_a_plain_yes_as_people_type_it_answers_the_cancel_question(citizen):
    code = book_next_wednesday_930(citizen)
    assert citizen.say("把预约退了").startswith("要取消这个预约吗？")
    assert "已取消预约" in citizen.say("嗯")
    assert not engine.get(code).active


def test_changing_ones_mind_after_cancel_keeps_the_booking_and_says_so(citizen):
    code = book_next_wednesday_930(citizen)
    citizen.say("取消")
    reply = citizen.say("算了")
    assert "您的预约仍然保留" in reply and code in reply
    assert engine.get(code).active


def test_cancel_alone_without_a_booking_is_a_polite_goodbye_with_the_menu(citizen):
    reply = citizen.say("取消")
    assert reply.startswith("好的。有需要随时找我") and "1 预约结婚登记" in reply


@pytest.mark.parametrize("request_", ["取消预约", "改约", "我的预约"])
def test_managing_a_booking_one_does_not_have_says_so_and_offers_to_book(citizen, request_):
    reply = citizen.say(request_)
    assert reply.startswith("您目前没有有效的结婚登记预约") and "回复“1”或“预约”" in reply
    assert "请问在哪个登记处办理" in citizen.say("1")


# ---- corrections at the summary --------------------------------------------------------------------


def test_the_summary_shows_both_full_names_and_masks_the_id_numbers(citizen):
    summary = at_the_summary(citizen)
    assert "第一位申请人：张三 " in summary and "第二位申请人：李四 " in summary
    assert HIM[-4:] in summary and HIM[4:14] not in summary


def test_a_wrong_second_id_number_is_changed_alone_and_the_summary_comes_again(citizen):
    at_the_summary(citizen)
    reply = citizen.say(f"第二个人身份证输错了，应该是{OTHER_WOMAN}")
    assert "已改好第二位申请人的身份证号" in reply and "请核对预约信息" in reply
    assert OTHER_WOMAN[-4:] in reply and HER[-4:] not in reply and HIM[-4:] in reply
    assert "张三" in reply and "李四" in reply


def test_a_new_id_number_without_saying_whose_replaces_the_applicant_of_its_sex(citizen):
    at_the_summary(citizen)
    reply = citizen.say(f"身份证号错了 {OTHER_MAN}")
    assert "已改好第一位申请人的身份证号" in reply and OTHER_MAN[-4:] in reply and HER[-4:] in reply


def test_name_misspelt_asks_whose_then_takes_the_new_name_and_keeps_the_rest(citizen):
    at_the_summary(citizen)
    which = citizen.say("名字打错了")
    assert "是哪一位申请人的姓名要改" in which and "1. 第一位申请人 张三" in which
    assert "第二位申请人的姓名" in citizen.say("2")
    summary = citizen.say("李思")
    assert "第二位申请人：李思 " in summary and "第一位申请人：张三 " in summary
    assert "12月2日（周三） 09:30" in summary


def test_a_name_correction_that_names_the_new_name_goes_straight_back_to_the_summary(citizen):
    at_the_summary(citizen)
    reply = citizen.say("第一位的名字应该是张叁")
    assert "已改好第一位申请人的姓名" in reply and "第一位申请人：张叁 " in reply


def test_the_brides_id_said_to_be_wrong_is_asked_for_again_and_nothing_else(citizen):
    at_the_summary(citizen)
    assert "第二位申请人的18位身份证号" in citizen.say("女方身份证号不对")
    summary = citizen.say(OTHER_WOMAN)
    assert "请核对预约信息" in summary and OTHER_WOMAN[-4:] in summary and "李四" in summary


def test_moving_a_booking_to_the_afternoon_keeps_its_day(citizen):
    book_next_wednesday_930(citizen)
    reply = citizen.say("我想把时间改成下午")
    assert "已记下：长沙市芙蓉区婚姻登记处｜12月2日（周三）｜下午。" in reply and "下午的时段" in reply


def test_a_new_day_at_the_summary_changes_the_day_and_keeps_the_couple(citizen):
    at_the_summary(citizen)
    slots_shown = citizen.say("改到下周四上午")
    assert "12月3日（周四）上午的时段" in slots_shown
    summary = citizen.say("1")
    assert "12月3日（周四） 09:00" in summary and "张三" in summary and "李四" in summary


def test_time_said_to_be_wrong_asks_the_slot_again_and_keeps_the_couple(citizen):
    at_the_summary(citizen)
    assert "的时段" in citizen.say("时间选错了")
    summary = citizen.say("14:30")
    assert "12月2日（周三） 14:30" in summary and "张三" in summary


def test_the_wrong_office_is_asked_again_and_the_day_time_and_couple_are_kept(citizen):
    at_the_summary(citizen)
    question = citizen.say("登记处选错了")
    assert "请问在哪个登记处办理" in question
    summary = citizen.say("天心区")
    assert "长沙市天心区婚姻登记处" in summary and "12月2日（周三） 09:30" in summary and "李四" in summary


# ---- a refused confirmation keeps the draft ------------------------------------------------------


def _booked_elsewhere(id_number: str) -> engine.Booking:
    office = offices.current().get("changsha-yuelu")
    partner = make_id("19960101", "女", serial="66")
    people = [{"name": "王五", "id_number": id_number}, {"name": "赵六", "id_number": partner}]
    outcome = engine.book(office, NEXT_WEDNESDAY, "14:00", people, now=MONDAY, channel=engine.WEB, rules=BookingRules())
    assert outcome.kind == engine.CONFIRMED
    return outcome.booking


def test_an_applicant_booked_through_another_channel_keeps_the_draft_and_says_how_to_find_it(citizen):
    other = _booked_elsewhere(HIM)
    at_the_summary(citizen)
    refused = citizen.say("确认")
    assert "第一位申请人已有一个有效预约" in refused
    assert "/book" in refused and "登记处" in refused and other.code not in refused
    assert "这次填写的内容都还保留着" in refused
    summary = citizen.say(f"第一位身份证应该是{OTHER_MAN}")
    assert "请核对预约信息" in summary and "李四" in summary
    assert "预约成功" in citizen.say("确认")


def test_an_applicant_with_a_booking_of_this_account_is_pointed_to_it(citizen):
    code = book_next_wednesday_930(citizen)
    citizen.say("下周四上午在芙蓉区登记结婚")
    citizen.say("1")
    fill_in_couple(citizen)
    refused = citizen.say("确认")
    assert "就是本微信号的这个预约" in refused and code in refused and "改约" in refused
    assert citizen.session.data["step"] == "confirm"


def test_a_slot_taken_while_confirming_offers_alternatives_and_the_pick_books_with_the_same_couple(citizen):
    at_the_summary(citizen)
    fill_slot(NEXT_WEDNESDAY, "09:30")
    full = citizen.say("确认")
    assert "已约满" in full and "1. " in full
    summary = citizen.say("1")
    assert "请核对预约信息" in summary and "张三" in summary and "李四" in summary
    assert "预约成功" in citizen.say("确认")


def test_an_under_age_applicant_is_asked_for_again_and_the_next_number_continues(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    citizen.say("张三")
    citizen.say(HIM)
    citizen.say("李四")
    refused = citizen.say(make_id("20100101", "女"))
    assert "未满20周岁" in refused and "第二位申请人的18位身份证号" in refused
    assert "请核对预约信息" in citizen.say(HER)


def test_a_suspended_applicant_keeps_the_draft_and_hears_to_phone_the_office(citizen):
    office, rules = offices.current().get("changsha-yuelu"), BookingRules()
    for week in range(rules.no_show_limit):
        day = NEXT_WEDNESDAY - timedelta(days=7 * (week + 2))
        days_from_monday = timedelta(days=(day - MONDAY.date()).days)
        partner = make_id("19960101", "女", serial=f"{60 + week}")
        people = [{"name": "张三", "id_number": HIM}, {"name": "钱七", "id_number": partner}]
        booked = engine.book(
            office, day, "09:00", people, now=MONDAY + days_from_monday - timedelta(days=1), rules=rules
        )
        assert booked.kind == engine.CONFIRMED, booked.message
        engine.mark_no_show(booked.booking.code, now=MONDAY + days_from_monday + timedelta(hours=3), rules=rules)
    at_the_summary(citizen)
    refused = citizen.say("确认")
    assert "暂不能在微信或网上预约" in refused and "致电登记处" in refused
    assert "这次填写的内容都还保留着" in refused and citizen.session.data["step"] == "confirm"


# ---- ID numbers, names and payments -------------------------------------------------------------


def test_a_valid_id_number_outside_any_flow_is_no_payment_and_is_not_logged(citizen):
    reply = citizen.say(HIM)
    assert "身份证号" in reply and "诈骗" not in reply
    assert misses() == []


def test_a_valid_id_number_sent_before_its_question_is_kept_as_applicant_data(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    reply = citizen.say(HIM)
    assert "已记下第一位申请人的身份证号" in reply and "的时段" in reply and "诈骗" not in reply
    assert "第一位申请人的姓名" in citizen.say("2")
    assert "第二位申请人的姓名" in citizen.say("张三"), "the number given early is not asked again"
    citizen.say("李四")
    summary = citizen.say(HER)
    assert "请核对预约信息" in summary and HIM[-4:] in summary


def test_a_name_and_number_sent_together_before_their_question_are_both_kept(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    assert "已记下第一位申请人的姓名和身份证号" in citizen.say(f"张三 {HIM}")
    assert "第二位申请人的姓名" in citizen.say("2"), "neither is asked again"
    citizen.say("李四")
    assert "第一位申请人：张三" in citizen.say(HER)


def test_a_lone_name_typed_while_the_day_is_asked_is_kept_and_the_day_asked_again(citizen):
    citizen.say("我要在芙蓉区预约结婚登记")
    reply = citizen.say("张三")
    assert reply.startswith("已记下第一位申请人的姓名：张三。") and "可预约的日期" in reply
    citizen.say("下周三")
    assert "第一位申请人的18位身份证号" in citizen.say("2"), "the name is not asked again"
    citizen.say(HIM)
    citizen.say("李四")
    assert "第一位申请人：张三" in citizen.say(HER)


def test_a_first_message_with_office_day_name_and_id_number_keeps_them_all(citizen):
    reply = citizen.say(f"你好 我和女朋友想下周五上午去岳麓区登记 我叫张伟 身份证{HIM}")
    assert "已记下第一位申请人的姓名和身份证号：张伟。" in reply and "上午的时段" in reply
    assert citizen.say("她叫李娜").startswith("已记下第二位申请人的姓名：李娜。")
    assert citizen.say(HER).startswith("已记下第二位申请人的身份证号。")
    summary = citizen.say("10点")
    assert "第一位申请人：张伟" in summary and "第二位申请人：李娜" in summary


def test_one_message_with_office_day_time_and_both_applicants_goes_straight_to_the_summary(citizen):
    citizen.say("我想预约")
    summary = citizen.say(f"岳麓区 下周一上午十点 我叫张伟 身份证{HIM} 她叫李娜 身份证{HER}")
    assert "请核对预约信息" in summary and "第一位申请人：张伟" in summary and "第二位申请人：李娜" in summary


def test_names_introduced_at_the_name_question_are_kept_without_the_introduction(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    citizen.say("我叫王五")
    citizen.say(f"身份证是{HIM}")
    citizen.say("女方是赵六")
    summary = citizen.say(HER)
    assert "第一位申请人：王五" in summary and "第二位申请人：赵六" in summary


def test_a_name_said_to_be_wrong_before_the_summary_is_changed_and_the_open_question_asked_again(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("王小明")
    reply = citizen.say("第一个名字错了 应该是王晓明")
    assert reply.startswith("好的，已改好第一位申请人的姓名。") and "的时段" in reply
    citizen.say("2")
    citizen.say(HIM)
    citizen.say("李四")
    assert "第一位申请人：王晓明" in citizen.say(HER)


def test_an_id_number_ending_in_x_that_fails_its_check_is_a_typo_not_a_payment(citizen):
    mistyped = HER[:17] + "X"
    assert HER[-1] != "X", "the test needs a number whose right check character is not X"
    citizen.say("下周三上午在芙蓉区登记结婚")
    reply = citizen.say(mistyped)
    assert reply.startswith("第一位申请人的身份证号校验位不对") and "诈骗" not in reply


def test_asking_for_my_booking_half_way_through_hears_it_is_not_made_yet(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    reply = citizen.say("我的预约")
    assert reply.startswith("您还没有约上") and "的时段" in reply, "and the open question comes again"


def test_saying_no_more_half_way_through_a_booking_is_asked_back_and_cancel_drops_the_draft(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    citizen.say("张三")
    reply = citizen.say("不约了")
    assert reply.startswith("这份预约还没提交。要放弃它，请回复“取消”") and "第一位申请人的18位身份证号" in reply
    assert citizen.session.flow == "booking", "a misread message must not lose the draft"
    assert citizen.say("取消").startswith("好的，已退出当前操作。")
    assert citizen.session.flow is None


def test_a_cantonese_yes_confirms_the_booking(citizen):
    at_the_summary(citizen)
    assert "预约成功" in citizen.say("係")


def test_a_hunan_booking_in_dialect_is_understood_to_the_end(citizen):
    citizen.say("我屋里伢子想约个日子扯结婚证 在宁乡")
    citizen.say("后天")
    assert "下午的时段" in citizen.say("下昼")
    assert "第一位申请人的姓名" in citizen.say("第一个")
    citizen.say("劉德華")
    citizen.say(HIM)
    assert citizen.say("那个女的叫周慧敏").startswith("请发送第二位申请人的18位身份证号")
    assert "第二位申请人：周慧敏" in citizen.say(HER)
    assert "预约成功" in citizen.say("要得")


@pytest.mark.parametrize("text", ["马上", "周末", "方便"])
def test_words_that_could_pass_as_names_are_not_taken_for_one(citizen, text):
    citizen.say("我要在芙蓉区预约结婚登记")
    assert "申请人的姓名" not in citizen.say(text)


@pytest.mark.parametrize("text", ["候补", "马上", "算了吧"])
def test_everyday_words_at_the_name_question_are_not_stored_as_a_name(citizen, text):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    assert "第一位申请人的姓名" in citizen.say(text), "the name is asked again"
    citizen.say("欧阳娜娜")
    citizen.say(HIM)
    citizen.say("李四")
    assert "第一位申请人：欧阳娜娜" in citizen.say(HER)


@pytest.mark.parametrize("text", ["确认", "好的"])
def test_saying_yes_before_the_summary_is_neither_a_name_nor_no_booking(citizen, text):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    reply = citizen.say(text)
    assert "还差一点信息才能确认" in reply and "第一位申请人的姓名" in reply and "没有有效" not in reply
    citizen.say("张三")
    citizen.say(HIM)
    citizen.say("李四")
    assert "第一位申请人：张三" in citizen.say(HER)


def test_thanks_at_the_name_question_is_not_taken_as_a_name(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    citizen.say("2")
    reply = citizen.say("谢谢")
    assert "不客气" in reply and "第一位申请人的姓名" in reply and "1 预约结婚登记" not in reply, "no menu mid-booking"
    assert "第一位申请人的18位身份证号" not in reply


def test_a_first_message_naming_office_day_and_time_says_how_it_was_read(citizen):
    reply = citizen.say("我想预约 下周三下午 芙蓉区 两点")
    assert "已记下：长沙市芙蓉区婚姻登记处｜12月2日（周三）｜14:00。" in reply
    assert "第一位申请人的姓名" in reply


def test_a_half_day_before_the_day_is_kept_and_the_day_asked_for(citizen):
    citizen.say("我要在芙蓉区预约结婚登记")
    reply = citizen.say("上午")
    assert reply.startswith("好的，上午。还要选一天") and "可预约的日期" in reply
    assert "上午的时段" in citizen.say("下周三")


def first_day_listed(reply: str) -> str:
    return re.search(r"^1\. (\d+月\d+日（周.）)", reply, re.M).group(1)


def test_asking_for_the_soonest_day_books_toward_the_first_day_with_room(citizen):
    earliest = first_day_listed(citizen.say("我要在芙蓉区预约结婚登记"))
    reply = citizen.say("越快越好")
    assert reply.startswith(f"好的，最早能约的是{earliest}。") and f"{earliest}的时段" in reply


def test_the_soonest_day_in_the_afternoon_keeps_the_afternoon(citizen):
    earliest = first_day_listed(citizen.say("我要在芙蓉区预约结婚登记"))
    reply = citizen.say("尽快吧 下午")
    assert f"最早能约的是{earliest}" in reply and "下午的时段" in reply


def test_a_bank_card_number_in_the_middle_of_a_booking_is_warned_about_and_the_booking_stays(citizen):
    citizen.say("下周三上午在芙蓉区登记结婚")
    reply = citizen.say("6222021234567890123")
    assert reply.startswith("请当心诈骗") and "6222" not in reply
    assert citizen.session.flow == "booking"


@pytest.mark.parametrize("text", ["把你们的收款码发给我", "对方让我扫码付款", "钱打到他的个人账户可以吗"])
def test_payment_words_and_requests_to_scan_get_the_warning(citizen, text):
    assert citizen.say(text).startswith("请当心诈骗")


def test_asking_staff_to_phone_back_is_no_payment_request(citizen):
    reply = citizen.say("打字麻烦 让工作人员打给我")
    assert "诈骗" not in reply and "12345" in reply


def test_a_name_typed_at_the_wrong_moment_never_reaches_the_miss_list(citizen):
    citizen.say("张三")
    citizen.say("13812345678")
    assert misses() == []


def test_an_in_domain_question_the_handbook_lacks_reaches_the_miss_list(citizen):
    citizen.say("隔离期间的费用谁来出")
    assert misses() == ["隔离期间的费用谁来出"]


# ---- donors ------------------------------------------------------------------------------------------


@pytest.fixture
def signed_list(tmp_path):
    """The shipped list as a deployment would run it: signed with the department's (test) key."""
    private_key, public_key = charity.keygen(tmp_path / "keys")
    path = tmp_path / "charity.yaml"
    shutil.copy(charity.DEFAULT_FILE, path)
    charity.sign(path, private_key)
    charity.use_public_key(public_key)
    charity.reload(path)
    yield path
    charity.use_public_key()
    charity.reload()


def test_a_couple_moving_their_day_by_a_day_keeps_the_time_and_reaches_the_summary(citizen):
    code = book_next_wednesday_930(citizen)  # 12月2日 09:30
    reply = citizen.say("我们想提前一天")
    assert "改为：长沙市芙蓉区婚姻登记处 12月1日（周二） 09:30" in reply
    assert "改约成功" in citizen.say("确认") and engine.get(code).date.isoformat() == "2026-12-01"
    assert "改为：长沙市芙蓉区婚姻登记处 12月3日（周四） 09:30" in citizen.say("还是往后推两天吧")


@pytest.mark.parametrize("text", ["我老婆身份证号码填错了", "还能改名字吗"])
def test_a_couple_who_booked_with_a_wrong_id_or_name_hears_how_to_put_it_right(citizen, text):
    code = book_next_wednesday_930(citizen)
    reply = citizen.say(text)
    assert reply.startswith("预约已经约上，申请人的姓名和身份证号不能在这里修改") and "取消预约" in reply
    assert code in reply and "帮不上忙" not in reply and engine.get(code).active


def test_a_day_and_half_day_given_while_the_registry_is_asked_are_kept_and_said(citizen):
    citizen.say("我想喺長沙登記結婚 有冇位")
    reply = citizen.say("聽日下晝")  # Cantonese: tomorrow afternoon
    assert reply.startswith("已记下：长沙市｜11月24日（周二）｜下午。") and "1. 长沙市芙蓉区婚姻登记处" in reply
    assert "11月24日（周二）下午的时段" in citizen.say("第三個")


def test_a_couple_naming_a_lucky_lunar_day_hears_its_solar_date(citizen):
    reply = citizen.say("我们想农历十月十八在芙蓉区登记")  # Monday 23 November 2026 is the 15th
    assert "已记下：长沙市芙蓉区婚姻登记处｜11月26日（周四）。" in reply and "11月26日（周四）的时段" in reply
    assert "12月30日（周三）不能预约" in citizen.say("那冬月廿二呢")


def test_a_couple_moving_to_another_registry_is_asked_which_one(citizen):
    code = book_next_wednesday_930(citizen)
    reply = citizen.say("我想换个登记处")
    assert "在哪个登记处办理" in reply and "芙蓉区婚姻登记处可预约的日期" not in reply
    assert "长沙市天心区婚姻登记处可预约的日期" in citizen.say("天心区")
    citizen.say("下周三")
    assert "改为：长沙市天心区婚姻登记处 12月2日（周三） 09:30" in citizen.say("9点半")
    assert "改约成功" in citizen.say("确认") and engine.get(code).office_id == "changsha-tianxin"


def test_a_donor_naming_a_city_federation_gets_it_in_the_first_reply(citizen, signed_list):
    reply = citizen.say("我想给长沙市慈善总会捐款")
    assert "长沙市慈善总会" in reply and "捐款，还是捐物资" not in reply


def test_a_donor_asking_about_a_platform_gets_the_online_way_at_once(citizen, signed_list):
    reply = citizen.say("腾讯公益上能捐吗")
    assert "网上捐款" in reply and "腾讯公益" in reply and "捐款，还是捐物资" not in reply


def test_a_donor_asking_for_a_phone_gets_the_federations_phone_line(citizen, signed_list):
    reply = citizen.say("株洲捐赠的咨询电话是多少")
    assert "株洲市慈善总会" in reply and "咨询电话" in reply


def test_overseas_materials_go_to_the_provincial_federation_in_one_reply(citizen, signed_list):
    reply = citizen.say("我在海外想寄口罩回来捐")
    assert "湖南省慈善总会" in reply and "境外" in reply


def test_giving_outside_hunan_is_told_this_account_serves_hunan(citizen, signed_list):
    reply = citizen.say("我想给武汉捐口罩")
    assert reply.startswith("本号服务湖南省内的爱心捐赠") and "官方渠道" in reply


def test_a_donor_turned_from_another_province_who_asks_for_a_hunan_city_gets_its_channels(citizen, signed_list):
    citizen.say("我想捐点钱给武汉")
    reply = citizen.say("那长沙的呢")
    assert reply.startswith("【捐款】\n长沙市慈善总会") and "帮不上忙" not in reply


def test_a_donor_asking_for_a_phone_after_the_channels_hears_about_that_federations_line(citizen, signed_list):
    citizen.say("我想给长沙捐款")
    for follow_up in ("有没有电话", "怎么联系他们"):
        reply = citizen.say(follow_up)
        assert reply.startswith("长沙市慈善总会的咨询电话正在核实") and "12345" in reply
        assert "人工客服" not in reply and "帮不上忙" not in reply


def test_a_donor_asking_about_another_city_after_the_channels_keeps_the_gift(citizen, signed_list):
    citizen.say("我想给长沙捐款")
    reply = citizen.say("那株洲呢")
    assert reply.startswith("【捐款】\n株洲市慈善总会") and "捐物资" not in reply
    assert citizen.say("捐物资呢").startswith("【捐物资】\n株洲市慈善总会")


def test_a_donor_asking_where_to_send_overseas_materials_hears_to_confirm_with_the_federation(citizen, signed_list):
    citizen.say("我想捐一批口罩 从香港寄过来")
    reply = citizen.say("收货地址在哪")
    assert reply.startswith("湖南省慈善总会的收货地址正在核实") and "先与接收单位联系" in reply


def test_a_question_on_another_subject_after_the_channels_is_answered_as_usual(citizen, signed_list):
    citizen.say("我想给长沙捐款")
    reply = citizen.say("口罩怎么戴")
    assert reply.startswith("【口罩怎么戴才正确？】") and "慈善总会" not in reply
    assert "长沙市慈善总会" not in citizen.say("有没有电话"), "the channels are no longer the subject"


def test_a_donor_of_masks_asked_for_the_city_gets_the_channels_for_materials(citizen, signed_list):
    assert "哪个市州" in citizen.say("我有一批口罩想捐")
    assert citizen.say("长沙").startswith("【捐物资】\n长沙市慈善总会")


def test_a_donor_who_names_nothing_is_asked_only_money_or_materials(citizen, signed_list):
    reply = citizen.say("我想献爱心")
    assert "捐款，还是捐物资" in reply and "哪个市州" not in reply


# ---- small talk and things we don't do ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("谢谢你啊", "不客气"),
        ("你是谁", "我是“同舟”"),
        ("你能做什么", "我可以帮您预约结婚登记"),
        ("👍", "收到您的表情"),
        ("hello, can you help me", "Hello"),
        ("你好", "您好"),
        ("你是机器人吗", "我是“同舟”"),
        ("多谢晒", "不客气"),
        ("你好笨啊", "抱歉，没能帮上您"),
    ],
)
def test_small_talk_gets_a_warm_line_and_the_menu_and_is_not_logged(citizen, text, line):
    reply = citizen.say(text)
    assert reply.startswith(line) and "1 预约结婚登记" in reply
    assert len(reply.splitlines()) <= 8 and "已记下" not in reply
    assert misses() == []


@pytest.mark.parametrize(
    "text", ["帮我买张去北京的火车票", "明天天气怎么样", "我的快递到哪了", "最近买什么股票好", "怎么办护照"]
)
def test_clearly_out_of_scope_requests_are_declined_in_one_line_with_what_we_do(citizen, text):
    reply = citizen.say(text)
    assert reply.startswith("抱歉，这个我帮不上忙") and "1 预约结婚登记" in reply
    assert misses() == []


def test_a_question_about_registration_is_answered_then_the_booking_is_offered(citizen):
    answer = citizen.say("结婚登记要带什么材料？")
    assert answer.startswith("【结婚登记要带什么材料") and "户口簿" in answer
    assert answer.endswith("需要预约结婚登记的话，回复“预约”即可开始。")
    assert citizen.session.flow is None, "answering is not starting a booking"
    assert "请问在哪个登记处办理" in citizen.say("预约")


def test_asking_whether_both_must_come_is_answered_from_the_registration_rules(citizen):
    reply = citizen.say("扯结婚证是不是要我们两个都到场 老公出差了我先去行不")
    first = reply.splitlines()[0] if reply.startswith("【") else reply.splitlines()[1]
    assert "结婚登记要两个人都到场吗？能找人代办吗？" in first, "answered, or offered first"


def test_a_handbook_question_about_parcels_is_answered_not_declined(citizen):
    assert citizen.say("收快递会不会传染病毒").startswith("【")


@pytest.mark.parametrize(
    ("asked", "follow_up", "answer"),
    [
        ("老人怎么预防", "那孕妇呢", "【孕妇要注意什么？"),
        ("家里要怎么消毒", "那快递呢", "【收快递、拿外卖会不会被传染？】"),
    ],
)
def test_a_follow_up_right_after_an_answer_asks_the_same_about_what_it_names(citizen, asked, follow_up, answer):
    citizen.say(asked)
    assert citizen.say(follow_up).startswith(answer)


def test_a_request_of_its_own_after_an_answer_is_not_read_as_a_follow_up(citizen):
    citizen.say("口罩多久换一次")
    assert citizen.say("那我的预约呢").startswith("您目前没有有效的结婚登记预约")


def test_a_follow_up_that_fits_several_answers_offers_them_nearest_first(citizen):
    citizen.say("发烧了怎么办")
    reply = citizen.say("那小孩呢")
    assert reply.startswith("您想问的是不是下面这些？") and "1. 孩子发烧了要去医院吗？" in reply


# ---- where the user is ------------------------------------------------------------------------------


def test_a_registry_outside_hunan_named_in_words_is_explained_and_the_county_asked(citizen):
    reply = citizen.say("杭州的婚姻登记处怎么预约")
    assert reply.startswith("杭州不在湖南省内") and "户口所在" in reply and "哪个登记处" in reply
    assert citizen.say("深圳").startswith("深圳不在湖南省内")
    assert "浏阳市婚姻登记处可预约的日期" in citizen.say("浏阳")


def test_working_elsewhere_with_a_hunan_household_register_books_at_home(citizen):
    assert "已记下：浏阳市婚姻登记处。" in citizen.say("我在深圳打工 户口在浏阳 想预约登记")


def test_a_location_outside_hunan_says_so_and_asks_for_the_county(citizen):
    reply = citizen.send_location(39.90, 116.40)  # Beijing
    assert "不在湖南省内" in reply and "区县" in reply and "离您最近" not in reply
    assert "可预约的日期" in citizen.say("芙蓉区")


# ---- asking for a person ----------------------------------------------------------------------------


@pytest.fixture
def staffed(make_app):
    return Chat(make_app(staffed_hours="09:00-17:00"))


def test_asking_for_a_person_in_staffed_hours_hands_the_chat_to_staff(staffed):
    citizen = Citizen(staffed)
    assert citizen.say("转人工") == "[transfer_customer_service]"


def test_asking_for_a_person_after_hours_says_when_and_gives_the_hotline(staffed):
    citizen = Citizen(staffed, at=MONDAY.replace(hour=20))
    reply = citizen.say("我要找工作人员")
    assert "09:00至17:00" in reply and "12345" in reply


def test_asking_for_a_person_where_no_staff_are_set_up_gives_the_hotline(citizen):
    reply = citizen.say("转人工")
    assert "暂未开通" in reply and "12345" in reply


def test_three_misunderstandings_in_a_row_offer_a_person(citizen):
    first, second = citizen.say("隔离结束的证明在哪里开"), citizen.say("集中隔离要交住宿费吗")
    assert "转人工" not in first and "转人工" not in second
    assert "转人工" in citizen.say("返岗要开健康证明吗")
    assert "转人工" not in citizen.say("疫情期间房租能减免吗"), "the count starts again"


def test_three_declines_in_a_row_offer_a_person_too(citizen):
    assert "转人工" not in citizen.say("asdfgh") and "转人工" not in citizen.say("帮我订张机票")
    reply = citizen.say("明天天气怎么样")
    assert reply.startswith("抱歉，这个我帮不上忙") and "转人工" in reply and "12345" in reply


def test_the_hand_over_is_wechats_own_transfer_customer_service_reply():
    fixture = xmltodict.parse((FIXTURES / "reply_transfer_customer_service.xml").read_text())["xml"]
    ours = render.to_xml(TransferToStaff(), openid=fixture["ToUserName"], account=fixture["FromUserName"])
    without_time = lambda xml: {k: v for k, v in xml.items() if k != "CreateTime"}  # noqa: E731
    assert without_time(xmltodict.parse(ours)["xml"]) == without_time(fixture)
