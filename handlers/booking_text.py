"""What the booking chat says: every question, list and confirmation, in one place.

Pure functions of the values they are given (no store, no session), so the wording can be read
and changed without touching the dialogue. ID numbers arrive here already masked; names too,
except in the summary the couple's own account checks before confirming.
"""

from collections.abc import Sequence
from datetime import date

from bot.bookings import dates
from bot.bookings.engine import Alternative, Booking
from bot.bookings.slots import DayAvailability
from bot.bookings.wording import ON_THE_DAY, ORDINALS, WHAT_TO_BRING, date_cn, day_cn, when_cn
from bot.replies import numbered
from knowledge.offices import UNVERIFIED, Office

HOW_TO_CHANGE = (
    "有错直接告诉我，如“第二位的身份证号输错了，应该是…”“改到明天下午”；"
    "也可回复“改日期”“改时间”“改登记处”或“改申请人”，回复“取消”放弃。"
)
NO_BOOKING = "您目前没有有效的结婚登记预约（用本微信号办理的）。回复“1”或“预约”即可开始预约。"
NOT_SUBMITTED = "您还没有约上：这份预约填完、回复“确认”后才算约上。"
DROP_DRAFT_QUESTION = "这份预约还没提交。要放弃它，请回复“取消”；想接着填的话："
STRAY_ID_NUMBER = (
    "这看起来是一个身份证号。只有在预约结婚登记、填写申请人时才需要发送它，本号不会保存这条消息。要预约请回复“预约”。"
)
KEPT_DRAFT = "这次填写的内容都还保留着。"
APPLICANTS_ARE_FIXED = (
    "预约已经约上，申请人的姓名和身份证号不能在这里修改。信息有误的话，请先回复“取消预约”，"
    "再重新预约并填写正确的信息（取消后原来的时段会让给别人）。"
)
FIND_ELSEWHERE = (
    "这个预约不是用本微信号办理的（可能是网上、电话或另一个微信号约的）。如果是你们的，"
    "可以在网上预约页面（/book）用确认码和身份证号查询或取消，也可以联系登记处查询。"
)
TRY_LATER = (
    "已经试了3次还没成功。您可以核对证件后再发一次；也可以回复“取消”结束预约，"
    "或者先去核对，30分钟内回来接着填，已填写的内容都会保留。"
)
BAD_CHECKIN_CODE = "这个签到码无法识别，请找现场工作人员帮您签到。"
NO_CHECKIN_BOOKING = (
    "没有找到您待签到的预约。如已签到，请按工作人员指引办理；如果是他人帮您预约的，请向工作人员出示确认码签到。"
)
CEREMONY_HELD = "目前婚姻登记须提前预约、错峰到场；颁证仪式的安排请向登记处咨询。"


def ask_city(cities: Sequence[str]) -> str:
    return "\n".join(
        [
            "请问在哪个登记处办理？可以直接回复区县名（如“芙蓉区”），发送位置找最近的登记处，或回复数字选择城市：",
            *numbered(cities),
        ]
    )


def ask_office(city: str, offices: Sequence[Office]) -> str:
    return "\n".join([f"{city}的婚姻登记处，回复数字选择：", *numbered([o.name for o in offices])])


def ask_nearby(nearest: Sequence[tuple[Office, float]], rule: str = "") -> str:
    """`rule`: where a couple may register (slots.nearby_rule), said before the list."""
    lines = [f"{office.name}（约{km:.1f}公里）" for office, km in nearest]
    return "\n".join(
        [
            *([rule] if rule else []),
            "离您最近的婚姻登记处，回复数字选择：",
            *numbered(lines),
            "都不合适的话，可以直接回复区县名。",
        ]
    )


def ask_date(office: Office, days: Sequence[DayAvailability], where: str = "") -> str:
    """`where`: what the office accepts (slots.where_to_register), told as soon as it is chosen."""
    open_days = [d for d in days if d.open]
    if not open_days:
        return f"{office.name}近期没有可以预约的日期。可以回复“改登记处”换一个登记处，或过几天再来看看。"
    lines = [*([where] if where else []), f"{office.name}可预约的日期（回复数字，或直接说{dates.EXAMPLES}）："]
    lines += numbered(
        [f"{day_cn(d.date)} 余{d.remaining}个{'（' + d.peak + '，名额紧张）' if d.peak else ''}" for d in open_days]
    )
    closed = [f"{date_cn(d.date)}（{d.reason}）" for d in days if not d.open]
    if closed:
        lines.append("不能预约：" + "、".join(closed))
    return "\n".join(lines)


def closed_day(day: date, reason: str) -> str:
    return f"{day_cn(day)}不能预约：{reason}。"


def ask_slot(office: Office, day: DayAvailability, half: str, times: Sequence[str]) -> str:
    shown = [s for s in day.slots if s.time in times]
    lines = [f"{office.name} {day_cn(day.date)}{half}的时段（回复数字，或直接说“9点半”）："]
    lines += numbered([f"{s.time} {'余' + str(s.remaining) + '个' if s.remaining else '已约满'}" for s in shown])
    if half:
        lines.append("回复“上午”或“下午”可以看另半天的时段。")
    if any(not s.remaining for s in shown):
        lines.append("想等约满时段的空位，可以回复“候补”（或“候补上午”“候补下午”），有人取消时自动为您预约。")
    return "\n".join(lines)


def peak_warning(day: date, peak: str, quieter: Sequence[date]) -> str:
    others = "、".join(day_cn(d) for d in quieter)
    offer = f"人少一些的日子有{others}，想换的话回复“改日期”。" if others else ""
    return f"提醒：{day_cn(day)}是登记高峰日（{peak}），名额最先约满。{offer}"


def slot_full(day: date, hhmm: str, alternatives: Sequence[Alternative], can_wait: bool) -> str:
    lines = [f"{when_cn(day, hhmm)}已约满。"]
    if alternatives:
        lines.append("离它最近的空位，回复数字选择：")
        lines += numbered([f"{a.office_name} {when_cn(a.date, a.time)} 余{a.remaining}个" for a in alternatives])
    else:
        lines.append("近期附近也没有空位了。")
    if can_wait:
        lines.append(
            f"也可以回复“候补”排队等{date_cn(day)}的空位（“候补上午”“候补下午”只等半天），"
            "有人取消时自动为您预约并通知您。"
        )
    return "\n".join(lines)


def ask_name(who: int) -> str:
    hint = "（男方、女方谁先都可以）" if who == 0 else ""
    return f"请发送{ORDINALS[who]}申请人的姓名{hint}。"


def ask_id(who: int) -> str:
    return f"请发送{ORDINALS[who]}申请人的18位身份证号（仅用于核验和预约，回复中只显示末4位）。"


def applicant_lines(names: Sequence[str], numbers: Sequence[str]) -> list[str]:
    return [
        f"{ORDINALS[i]}申请人：{name} {number}" for i, (name, number) in enumerate(zip(names, numbers, strict=True))
    ]


def summary(office: Office, day: date, hhmm: str, names: Sequence[str], numbers: Sequence[str], where: str = "") -> str:
    return "\n".join(
        [
            "请核对预约信息：",
            f"登记处：{office.name}",
            *([where] if where else []),
            f"时间：{when_cn(day, hhmm)}",
            *applicant_lines(names, numbers),
            f"无误请回复“确认”。{HOW_TO_CHANGE}",
        ]
    )


def waitlist_summary(
    office: Office, day: date, half: str, names: Sequence[str], numbers: Sequence[str], where: str = ""
) -> str:
    return "\n".join(
        [
            "请核对候补信息：",
            f"登记处：{office.name}",
            *([where] if where else []),
            f"候补：{day_cn(day)}{half or '任意时段'}，有空位时按排队顺序自动为您预约并通知您",
            *applicant_lines(names, numbers),
            f"无误请回复“确认”。{HOW_TO_CHANGE}",
        ]
    )


def reschedule_summary(booking: Booking, office: Office, day: date, hhmm: str) -> str:
    return (
        f"请核对改约：确认码 {booking.code}\n"
        f"原来：{booking.office_name} {when_cn(booking.date, booking.time)}\n"
        f"改为：{office.name} {when_cn(day, hhmm)}\n"
        "无误请回复“确认”（新时段约上后才会释放原时段）；回复“改日期”“改时间”重新选，回复“取消”放弃改约。"
    )


def cancel_question(booking: Booking) -> str:
    return (
        f"要取消这个预约吗？\n{booking_line(booking)}\n"
        "确定请回复“确认”；不取消请回复“算了”。取消后名额会让给排队的新人。"
    )


def ask_pick(active: Sequence[Booking], action: str) -> str:
    return "\n".join(
        [f"您有{len(active)}个预约，要{action}哪一个？回复数字：", *numbered([booking_line(b) for b in active])]
    )


def booking_line(booking: Booking) -> str:
    names = "、".join(booking.names)
    return f"确认码 {booking.code}｜{booking.office_name}｜{when_cn(booking.date, booking.time)}｜{names}"


def office_contact(office: Office) -> str:
    if office.address == UNVERIFIED or office.phone == UNVERIFIED:
        return "地址和电话待核实，请以当地民政局公布的为准，或拨打12345政务服务热线确认。"
    return f"地址：{office.address}；电话：{office.phone}。"


def booked(booking: Booking, office: Office, cutoff: str, ceremony_notice: str) -> str:
    return "\n".join(
        [
            f"预约成功！确认码：{booking.code}",
            f"登记处：{booking.office_name}",
            f"时间：{when_cn(booking.date, booking.time)}",
            *applicant_lines(booking.names, booking.id_numbers),
            WHAT_TO_BRING + ON_THE_DAY,
            office_contact(office),
            *([ceremony_notice] if ceremony_notice else []),
            f"需要取消请回复“取消预约”，改时间请回复“改约”（最晚在预约开始前{cutoff}）。",
        ]
    )


def rescheduled(booking: Booking) -> str:
    return (
        f"改约成功！确认码不变：{booking.code}\n"
        f"新的时间：{booking.office_name} {when_cn(booking.date, booking.time)}\n{WHAT_TO_BRING}{ON_THE_DAY}"
    )


def cancelled(booking: Booking) -> str:
    where = f"{booking.office_name} {when_cn(booking.date, booking.time)}"
    return f"已取消预约（确认码 {booking.code}，{where}）。需要时回复“预约”重新预约。"


def my_bookings(active: Sequence[Booking]) -> str:
    if not active:
        return NO_BOOKING
    return "\n".join(
        [
            "您的预约：",
            *[booking_line(b) for b in active],
            WHAT_TO_BRING + ON_THE_DAY,
            "需要取消请回复“取消预约”，改时间请回复“改约”。",
        ]
    )


def still_kept(active: Sequence[Booking]) -> str:
    kept = "；".join(booking_line(b) for b in active)
    return f"您的预约仍然保留：{kept}。要取消预约请回复“取消预约”。"


def outside_hunan(km: float) -> str:
    return (
        f"您发送的位置不在湖南省内（离最近的婚姻登记处约{km:.0f}公里）。本号只办理湖南省内的婚姻登记预约，"
        "请告诉我要在哪个区县办理。"
    )


def named_outside_hunan(place: str) -> str:
    return (
        f"{place}不在湖南省内，本号只预约湖南省内的婚姻登记处。结婚登记要到一方常住户口所在地的婚姻登记处办理："
        "户口在湖南的，回复户口所在的区县名（如“浏阳”）就能预约；双方户口都不在湖南的，请向户口所在地的民政部门咨询。"
    )


def already_booked_keeping_draft(problem: str, own: Booking | None, held: Sequence[int]) -> str:
    """An applicant already holds a booking: where to find it, and how to go on with this one."""
    where = f"就是本微信号的这个预约：{booking_line(own)}。要换时间请回复“改约”。" if own else FIND_ELSEWHERE
    who = "、".join(ORDINALS[i] for i in held) or "相应"
    go_on = f"如果{who}申请人的身份证号填错了，直接发送正确的号码；那个预约取消后，回复“确认”即可继续。"
    return "\n".join([f"{problem}。", where, KEPT_DRAFT + go_on])


def suspended_keeping_draft(problem: str) -> str:
    return "\n".join(
        [f"{problem}。", KEPT_DRAFT + "如果申请人填错了，直接发送正确的身份证号；回复“取消”结束本次预约。"]
    )


def already_has_booking(active: Sequence[Booking]) -> str:
    return f"提示：您已有预约（{booking_line(active[0])}）。每人同时只能有一个有效预约，如需更改请回复“改约”。"


def checked_in(booking: Booking, message: str) -> str:
    where = f"{booking.office_name} {when_cn(booking.date, booking.time)}"
    return f"{message}。\n{where}，确认码 {booking.code}。请全程佩戴口罩。"
