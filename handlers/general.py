"""Welcome, help, small talk, asking for a person, leaving a flow, paging, and the polite
answers to things we can't read or don't do."""

import re

from bot import config
from bot.bookings import calendar
from bot.messages import Inbound, Session
from bot.replies import Text, TransferToStaff
from bot.wechat.render import with_more_hint
from knowledge import menu
from knowledge.normalize import compact

WELCOME = "您好，欢迎关注“同舟”！这里是湖南民政疫情期间的服务助手。"

WHAT_I_DO = "我可以帮您预约结婚登记、解答防疫问题、指引官方捐赠渠道。"

# The main menu: the intent each digit opens, and its line.
MENU = (
    ("booking", "预约结婚登记（错峰办理，避免扎堆）"),
    ("handbook_menu", "防疫知识问答（直接提问，如“口罩怎么戴”）"),
    ("donation", "爱心捐赠指引（只认官方渠道）"),
)
MENU_TEXT = "\n".join(
    [
        "您可以直接回复数字或文字：",
        *(f"{number} {line}" for number, (_intent, line) in enumerate(MENU, 1)),
        "随时回复“取消”退出当前操作，“帮助”查看本菜单。",
    ]
)
# Who offered a list of intents (the menu, a clarifying question): the router runs the one picked.
INTENT_CHOOSER = "intent"
HOTLINE = "12345政务服务便民热线"

# Small talk: what people say to be polite, and the line that answers each. A message is small
# talk only when nothing is left once these words and fillers are taken out ("谢谢，我想预约" is not).
SMALL_TALK = (
    # A complaint first: "你好笨" holds "你好", and a frustrated person must not be greeted.
    (("你好笨", "好笨", "真笨", "太笨", "笨蛋", "没用", "冇用", "答非所问", "听不懂人话", "垃圾", "太差", "真差"),
     "抱歉，没能帮上您。可以换个说法再说一次；需要人工帮助，请回复“人工”。"),
    (("谢谢", "多谢", "感谢", "谢了", "谢啦", "辛苦了", "唔该", "thanks", "thankyou", "thx"),
     "不客气，能帮上忙我们很高兴！"),
    (("你是谁", "你是什么", "你叫什么", "是机器人吗", "是真人吗", "你是机器人", "你是人吗"),
     "我是“同舟”，湖南民政疫情期间的自动服务助手（不是真人）。"),
    (("你能做什么", "你会什么", "你会做什么", "能干什么", "能干嘛", "有什么功能", "怎么用"),
     WHAT_I_DO),
    (("再见", "拜拜", "bye", "goodbye"), "再见，祝您和家人平安健康！"),
    (("你好", "您好", "在吗", "在不在", "有人吗", "哈喽", "嗨", "hello", "hi", "早上好", "上午好", "中午好",
      "下午好", "晚上好", "早安", "晚安"), "您好！很高兴为您服务。"),
    (("好的", "好", "嗯", "嗯嗯", "哦", "噢", "ok", "收到", "知道了", "明白了", "行", "要得", "没问题", "冇问题",
      "好嘞"), "好的，有需要随时找我。"),
)  # fmt: skip
# Longest first, so "你好笨" goes before "你好" takes its first two characters (ties in a fixed order).
_EVERY_PHRASE = sorted({phrase for phrases, _line in SMALL_TALK for phrase in phrases}, key=lambda p: (-len(p), p))
_FILLERS = re.compile(r"[啊呀呢吧哈嘛吗了的哦喔啦咯嘞哒哟晒你您们同舟小助手]")  # 晒: Cantonese "多谢晒"
_EMOJI_ONLY = re.compile(r"^[^\w]+$")  # after compact: no letter, digit or Chinese character left
_ENGLISH = re.compile(r"^[a-z][a-z0-9'\s,.!?]*$")

OUT_OF_SCOPE = f"抱歉，这个我帮不上忙。{WHAT_I_DO}"


def with_menu(session: Session, lead: str, intent: str = "") -> Text:
    """`lead`, then the main menu, whose digits the next message may answer."""
    session.offer(INTENT_CHOOSER, [{"intent": name} for name, _line in MENU])
    return Text(f"{lead}\n\n{MENU_TEXT}" if lead else MENU_TEXT, intent=intent)


def welcome(message: Inbound, session: Session) -> Text:
    return with_menu(session, WELCOME, "welcome")


def help_menu(message: Inbound, session: Session) -> Text:
    return with_menu(session, "", "help")


def small_talk_line(text: str) -> str | None:
    """The line that answers a message that is only small talk (thanks, who are you, an emoji,
    English); None for anything with more in it."""
    words = compact(text)
    if words and _EMOJI_ONLY.match(words):
        return "收到您的表情啦😊"
    rest = words
    for phrase in _EVERY_PHRASE:
        rest = rest.replace(phrase, "")
    if words and not _FILLERS.sub("", rest):
        return next(line for phrases, line in SMALL_TALK if any(phrase in words for phrase in phrases))
    if _ENGLISH.match(text.strip().lower()):
        return "Hello! 本号目前只提供中文服务（This account serves in Chinese）。"
    return None


def greeting(message: Inbound, session: Session) -> Text:
    """Small talk: one or two warm lines and the menu's digits."""
    return _aside(session, small_talk_line(message.text) or "您好！很高兴为您服务。", "greeting")


def decline(message: Inbound, session: Session) -> Text:
    """Clearly not this account's business (tickets, shopping, weather…): say so in one line."""
    return _aside(session, OUT_OF_SCOPE, "out_of_scope")


def _aside(session: Session, lead: str, intent: str) -> Text:
    """Outside a flow, `lead` and the menu. Inside one the router follows it with the flow's own
    question, and a menu would only compete with that question's numbers."""
    return Text(lead, intent=intent) if session.flow else with_menu(session, lead, intent)


def to_staff(message: Inbound, session: Session) -> Text | TransferToStaff:
    """转人工: WeChat's customer-service staff during staffed hours; otherwise when, and the hotline."""
    window = config.current().staffed_window
    if window is None:
        return Text(f"本号暂未开通在线人工客服。需要人工帮助，请拨打{HOTLINE}。", intent="human")
    now = message.received_at
    start, end = window
    if not calendar.calendar_reason(now.date()) and start <= now.strftime("%H:%M") < end:
        return TransferToStaff(intent="human")
    return Text(
        f"人工客服在工作日{start}至{end}在线，现在不在服务时间，请到时再回复“转人工”。急事可拨打{HOTLINE}。",
        intent="human",
    )


def offer_a_person() -> str:
    """Said after the same user was not understood several times in a row."""
    return f"抱歉，我好像一直没听明白。需要人工帮助可以回复“转人工”，或拨打{HOTLINE}。"


def leave_free_chat(session: Session) -> Text:
    return with_menu(session, "好的。有需要随时找我。")


def more(message: Inbound, session: Session) -> Text:
    if not session.pages:
        return Text("没有更多内容了。回复“帮助”查看菜单。", intent="more")
    page = session.pages.pop(0)
    return Text(with_more_hint(page, bool(session.pages)), intent="more")


def please_type(message: Inbound, session: Session) -> Text:
    return with_menu(session, "抱歉，我暂时看不懂图片、语音、视频和链接，请用文字把问题发给我。", "media")


def menu_label(key: str) -> str:
    return menu.label(key)
