"""Welcome, help, leaving a flow, paging, and the polite answers to things we can't read."""

from bot.messages import Inbound, Session
from bot.replies import Text
from bot.wechat.render import with_more_hint
from knowledge import menu

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


def with_menu(session: Session, lead: str, intent: str = "") -> Text:
    """`lead`, then the main menu, whose digits the next message may answer."""
    session.offer(INTENT_CHOOSER, [{"intent": name} for name, _line in MENU])
    return Text(f"{lead}\n\n{MENU_TEXT}" if lead else MENU_TEXT, intent=intent)


def welcome(message: Inbound, session: Session) -> Text:
    return with_menu(session, WELCOME, "welcome")


def help_menu(message: Inbound, session: Session) -> Text:
    return with_menu(session, "", "help")


def greeting(message: Inbound, session: Session) -> Text:
    return with_menu(session, "您好！很高兴为您服务。")


def decline(message: Inbound, session: Session) -> Text:
    """Clearly not this account's business (tickets, shopping, weather…): say so in one line."""
    return with_menu(session, f"抱歉，这件事我帮不上忙。{WHAT_I_DO}", "out_of_scope")


def to_staff(message: Inbound, session: Session) -> Text:
    """Asked for a person: the public hotline, which always answers."""
    return with_menu(session, "需要人工帮助的话，请拨打12345政务服务便民热线，会有工作人员为您解答。", "human")


def leave(message: Inbound, session: Session) -> Text:
    if session.flow is None:
        return with_menu(session, "好的。有需要随时找我。")
    session.leave()
    return Text("好的，已退出当前操作，已填写的内容不会保存。\n回复“帮助”查看菜单。")


def more(message: Inbound, session: Session) -> Text:
    if not session.pages:
        return Text("没有更多内容了。回复“帮助”查看菜单。", intent="more")
    page = session.pages.pop(0)
    return Text(with_more_hint(page, bool(session.pages)), intent="more")


def please_type(message: Inbound, session: Session) -> Text:
    return with_menu(session, "抱歉，我暂时看不懂图片、语音、视频和链接，请用文字把问题发给我。", "media")


def menu_label(key: str) -> str:
    return menu.label(key)
