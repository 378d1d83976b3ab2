"""Welcome, help, leaving a flow, paging, and the polite answers to things we can't read."""

from bot.messages import Inbound, Session
from bot.replies import Text
from bot.wechat.render import with_more_hint
from knowledge import menu
from knowledge.normalize import compact

WELCOME = "您好，欢迎关注“同舟”！这里是湖南民政疫情期间的服务助手。"

MENU_TEXT = (
    "您可以直接回复数字或文字：\n"
    "1 预约结婚登记（错峰办理，避免扎堆）\n"
    "2 防疫知识问答（直接提问，如“口罩怎么戴”）\n"
    "3 爱心捐赠指引（只认官方渠道）\n"
    "随时回复“取消”退出当前操作，“帮助”查看本菜单。"
)

_GREETINGS = {"你好", "您好", "在吗", "在不在", "hello", "hi", "哈喽", "早上好", "下午好", "晚上好", "嗨", "有人吗"}


def welcome(message: Inbound, session: Session) -> Text:
    return Text(f"{WELCOME}\n\n{MENU_TEXT}", intent="welcome")


def help_menu(message: Inbound, session: Session) -> Text:
    return Text(MENU_TEXT, intent="help")


def is_greeting(text: str) -> bool:
    return compact(text) in _GREETINGS


def greeting(message: Inbound, session: Session) -> Text:
    return Text(f"您好！很高兴为您服务。\n\n{MENU_TEXT}")


def leave(message: Inbound, session: Session) -> Text:
    if session.flow is None:
        return Text(f"好的。有需要随时找我。\n\n{MENU_TEXT}")
    session.leave()
    return Text("好的，已退出当前操作，已填写的内容不会保存。\n回复“帮助”查看菜单。")


def more(message: Inbound, session: Session) -> Text:
    if not session.pages:
        return Text("没有更多内容了。回复“帮助”查看菜单。", intent="more")
    page = session.pages.pop(0)
    return Text(with_more_hint(page, bool(session.pages)), intent="more")


def please_type(message: Inbound, session: Session) -> Text:
    return Text(f"抱歉，我暂时看不懂图片、语音、视频和链接，请用文字把问题发给我。\n\n{MENU_TEXT}", intent="media")


def menu_label(key: str) -> str:
    return menu.label(key)
