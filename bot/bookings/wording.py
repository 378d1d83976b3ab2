"""Every booking wording that more than one channel says: what to bring, dates and durations,
status names, the notices and reminders. The chat (handlers/booking_text.py), the pages, the API
and the engine all take them from here, so a couple reads the same words everywhere.
"""

from datetime import date, datetime

WEEKDAYS = "一二三四五六日"
ORDINALS = ("第一位", "第二位")

# 《婚姻登记条例》(2003) 第五条 and the registration work rules: each party's own 户口簿 and 身份证, three
# joint photos; the declaration of no spouse and no close kinship is signed at the office. The
# handbook's answer (knowledge/handbook.yaml, marriage-materials) carries this same string.
WHAT_TO_BRING = (
    "双方各带本人的户口簿、身份证，以及3张2寸近期半身免冠合影；"
    "无配偶以及与对方当事人没有直系血亲和三代以内旁系血亲关系的签字声明，在登记处现场签署。"
)
# The epidemic-time part of the visit.
ON_THE_DAY = "请全程佩戴口罩，到场不早于预约时间前10分钟。"
# 《婚姻登记条例》(2003) 第四条, said where a couple chooses among offices.
WHERE_TO_REGISTER = "按《婚姻登记条例》第四条，结婚登记须到一方常住户口所在地的婚姻登记处办理。"

# Keyed by the engine's statuses (bot/bookings/engine.py); a test checks every status has its name.
STATUS_NAMES = {
    "confirmed": "已预约",
    "cancelled": "已取消",
    "cancelled_by_office": "登记处暂停登记，已取消",
    "checked_in": "已签到",
    "no_show": "未到场",
}

# Not "登记照常办理": some days all registration was cancelled (2020-02-02, closures.SEED_CLOSURES).
CEREMONIES_SUSPENDED = (
    "疫情防控期间，结婚颁证仪式暂停举办；婚姻登记须通过电话、网络或微信提前预约、错峰到场，"
    "全省暂停登记的日子（如2020年2月2日）不办理。"
)

# What the outbound messenger sends. {date}, {reason} and {options} are filled in Python; the
# scripts fill {code}, {office} and {time} per booking, since one closure reaches many bookings.
NOTICE_TEMPLATES = {
    "waitlist_promoted": (
        "您候补的{office}{date} {time}有了空位，已自动为您预约，确认码 {code}。"
        f"{WHAT_TO_BRING}{ON_THE_DAY}不能前往请回复“取消预约”。"
    ),
    "cancelled_by_office": (
        "抱歉，{office}{date}因{reason}暂停登记，您的预约（确认码 {code}）已取消。{options}回复“预约”即可重新选择时间。"
    ),
    "waitlist_closed": (
        "{office}{date}因{reason}暂停登记，您在这一天的候补已取消。{options}回复“预约”即可重新选择时间。"
    ),
}

REMINDER_LEAD_WORDS = {"24h": "明天", "2h": "今天"}

# What the engine says about each outcome (bot/bookings/engine.py), filled by says(); the chat,
# the API and the pages show these messages as they are.
SAYS = {
    "slot_full": "{office}{date} {time}已约满",
    "slot_full_kept": "{office}{date} {time}已约满，原预约保持不变",
    "idempotency_mismatch": "这个幂等键已用于另一份预约请求，请为新的请求换一个键",
    "cancelled": "预约已取消",
    "rescheduled": "已改约",
    "same_slot": "新时段和原来的相同",
    "checked_in": "签到成功，请按工作人员指引办理登记",
    "already_checked_in": "这对新人已于 {at} 签到",
    "wrong_office": "这个预约在{office}，不是本登记处",
    "not_today_past": "这个预约是{date}的，已过期，只能在预约当天签到",
    "not_today_ahead": "这个预约是{date}的，还没到，只能在预约当天签到",
    "checkin_too_early": "还没到签到时间，请于 {at} 以后签到",
    "checkin_too_late": "已超过预约时段（{at}）的签到时间，请咨询现场工作人员或重新预约",
    "no_active_booking": "您目前没有有效的预约",
    "waiting": "已加入候补，您排第{position}位；有空位会自动为您预约并通知您",
    "already_waiting": "您已在这一天的候补中，排第{position}位",
    "no_show": "已记为未到场",
    "no_show_suspending": "已记为未到场，{count}位申请人因多次未到场暂停微信和网上预约{days}天",
    "no_show_too_early": "预约时段还没开始，{at} 以后才能记为未到场",
    "day_refused": "{date}不能预约：{reason}",
    "suspended": "{who}申请人近期有{limit}次预约未到场，{until}前暂不能在微信或网上预约，可致电登记处预约",
    # It does not say where: whoever typed the number may not be its owner.
    "already_booked": "{who}申请人已有一个有效预约，每人同时只能有一个预约；如需更改请先取消或改约",
    "not_found": "没有找到这个预约，请核对确认码",
    "not_active": "这个预约的状态是“{status}”，不能再更改",
    "too_late": "预约开始前{cutoff}内不能在线取消或改约，请直接联系登记处",
}


def says(case: str, **values) -> str:
    """The engine's message for `case` (a key of SAYS) with its values filled in."""
    return SAYS[case].format(**values)


def date_cn(day: date) -> str:
    """5月20日"""
    return f"{day.month}月{day.day}日"


def day_cn(day: date) -> str:
    """5月20日（周三）"""
    return f"{date_cn(day)}（周{WEEKDAYS[day.weekday()]}）"


def when_cn(day: date, hhmm: str) -> str:
    """5月20日（周三） 09:30"""
    return f"{day_cn(day)} {hhmm}"


def slot_cn(day: date, hhmm: str) -> str:
    """5月20日 09:30"""
    return f"{date_cn(day)} {hhmm}"


def minutes_cn(minutes: int) -> str:
    """120 → 2小时, 90 → 90分钟"""
    return f"{minutes // 60}小时" if minutes % 60 == 0 else f"{minutes}分钟"


def clock_cn(moment: datetime) -> str:
    """14:05"""
    return moment.strftime("%H:%M")


def registered_here(district: str) -> str:
    """What an office accepts, to be confirmed by the couple when they choose it (条例 第四条)."""
    return f"本处受理一方户口在{district}的登记，请确认你们有一方的常住户口在{district}。"


def official_days_missing(years: list[int]) -> str:
    """Staff's warning while the booking window reaches a year whose 放假/调休 days nobody entered."""
    named = "、".join(f"{year}年" for year in years)
    return (
        f"{named}的放假和调休安排尚未录入：目前只按《全国年节及纪念日放假办法》关闭法定节假日和周末，"
        "调休上班日不会开放。请在“停办与容量”页录入国务院办公厅公布的安排。"
    )


def closed(reason: str) -> str:
    """Why a day that staff closed cannot be booked."""
    return f"该日已暂停登记：{reason}"


def rebooking_options(days: list[date]) -> str:
    return f"近期可预约的日期有{'、'.join(date_cn(d) for d in days)}。" if days else ""


def reminder(office_name: str, lead: str, day: date, hhmm: str, code: str) -> str:
    """The reminder `lead` ("24h" or "2h") before a booking."""
    return (
        f"【婚姻登记预约提醒】您预约的{office_name}婚姻登记时间为{REMINDER_LEAD_WORDS[lead]} {slot_cn(day, hhmm)}，"
        f"确认码 {code}。{WHAT_TO_BRING}{ON_THE_DAY}不能前往请回复“取消预约”。"
    )
