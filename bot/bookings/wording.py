"""Every booking wording that more than one channel says: what to bring, dates and durations,
status names, the notices and reminders. The chat (handlers/booking_text.py), the pages, the API
and the engine all take them from here, so a couple reads the same words everywhere.
"""

from datetime import date, datetime

WEEKDAYS = "一二三四五六日"
ORDINALS = ("第一位", "第二位")

# 《婚姻登记条例》(2003) 第五条; the declaration of no spouse and no close kinship is signed at the office.
WHAT_TO_BRING = "请双方携带本人身份证，全程佩戴口罩，到场不早于预约时间前10分钟。"

# Keyed by the engine's statuses (bot/bookings/engine.py); a test checks every status has its name.
STATUS_NAMES = {
    "confirmed": "已预约",
    "cancelled": "已取消",
    "cancelled_by_office": "登记处暂停登记，已取消",
    "checked_in": "已签到",
    "no_show": "未到场",
}

CEREMONIES_SUSPENDED = "疫情防控期间，结婚颁证仪式暂停举办；婚姻登记照常办理，须提前预约、错峰到场。"

# What the outbound messenger sends. {date}, {reason} and {options} are filled in Python; the
# scripts fill {code}, {office} and {time} per booking, since one closure reaches many bookings.
NOTICE_TEMPLATES = {
    "waitlist_promoted": (
        "您候补的{office}{date} {time}有了空位，已自动为您预约，确认码 {code}。"
        f"{WHAT_TO_BRING}不能前往请回复“取消预约”。"
    ),
    "cancelled_by_office": (
        "抱歉，{office}{date}因{reason}暂停登记，您的预约（确认码 {code}）已取消。{options}回复“预约”即可重新选择时间。"
    ),
    "waitlist_closed": (
        "{office}{date}因{reason}暂停登记，您在这一天的候补已取消。{options}回复“预约”即可重新选择时间。"
    ),
}

REMINDER_LEAD_WORDS = {"24h": "明天", "2h": "今天"}


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


def closed(reason: str) -> str:
    """Why a day that staff closed cannot be booked."""
    return f"该日已暂停登记：{reason}"


def rebooking_options(days: list[date]) -> str:
    return f"近期可预约的日期有{'、'.join(date_cn(d) for d in days)}。" if days else ""


def reminder(office_name: str, lead: str, day: date, hhmm: str, code: str) -> str:
    """The reminder `lead` ("24h" or "2h") before a booking."""
    return (
        f"【婚姻登记预约提醒】您预约的{office_name}婚姻登记时间为{REMINDER_LEAD_WORDS[lead]} {slot_cn(day, hhmm)}，"
        f"确认码 {code}。{WHAT_TO_BRING}不能前往请回复“取消预约”。"
    )
