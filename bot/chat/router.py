"""Which handler answers a message. Priority is explicit and reads top to bottom:

1. the kind of message (follow, menu click, QR scan, location, media, silent events);
2. global commands: 取消/退出 leave any flow, 帮助/菜单 show the menu, 更多 pages;
3. a digit picks from the numbered list the user last saw, whoever showed it (session.choices;
   a flow's own lists are read by the flow's step); a reply that shows no list clears it;
4. the session's active flow; a flow that doesn't recognise the text lets it fall through,
   and after the digression is answered the flow's prompt is repeated so it resumes;
5. intent detection over INTENTS, first match wins, in the order written;
6. the handbook, which answers or honestly says what it doesn't cover.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot import messages as m
from bot.messages import Inbound, Session
from bot.replies import SILENT, News, Reply, Silent, Text
from handlers import booking, donation, general, handbook
from knowledge.normalize import compact

Handler = Callable[[Inbound, Session], Reply]


@dataclass(frozen=True)
class Intent:
    name: str  # also the menu CLICK key that opens it
    handler: Handler
    words: tuple[str, ...] = ()  # any of these in the compacted text selects the intent
    matches: Callable[[str], bool] | None = None  # for intents that need more than words

    def wants(self, text: str) -> bool:
        return any(w in text for w in self.words) or bool(self.matches and self.matches(text))


# First match wins. Payment warnings come first so an account number is never echoed by
# anything else; the specific booking intents (and ceremonies) precede the generic "预约".
INTENTS: tuple[Intent, ...] = (
    Intent("payment_warning", donation.payment_warning, matches=donation.looks_like_payment),
    Intent("my_booking", booking.my_booking, words=("我的预约", "查预约", "查询预约", "预约查询", "我约的")),
    Intent("cancel_booking", booking.cancel, words=("取消预约", "退约", "不约了", "取消登记")),
    Intent("reschedule", booking.reschedule, words=("改约", "改期", "改预约", "换个时间", "改时间")),
    Intent("ceremony", booking.ceremony, words=("颁证仪式", "颁证", "结婚仪式")),
    Intent("booking", booking.start, words=("预约", "结婚登记", "登记结婚", "领证", "婚姻登记", "领结婚证", "扯证")),
    Intent("volunteer", donation.volunteer, words=("志愿者", "志愿服务", "社工", "当志愿")),
    Intent("donation", donation.start, matches=donation.matches),
    Intent("handbook_menu", handbook.categories, words=("防疫问答", "防疫知识", "防疫手册")),
    Intent("greeting", general.greeting, matches=general.is_greeting),
    Intent("donation_materials", donation.start),  # the menu's 捐赠物资 button; free text goes to "donation"
)
INTENT_BY_NAME = {intent.name: intent for intent in INTENTS}


@dataclass(frozen=True)
class Flow:
    step: Handler  # the answer to the flow's question; None = "not an answer to my question"
    resume_prompt: Callable[[Session], str]  # brings the user back after a digression
    own_intents: frozenset = frozenset()  # intents that restart or steer this flow: not digressions


FLOWS: dict[str, Flow] = {
    "booking": Flow(
        booking.continue_flow,
        booking.resume_prompt,
        frozenset({"booking", "my_booking", "cancel_booking", "reschedule"}),
    ),
    "donation": Flow(donation.continue_flow, donation.resume_prompt, frozenset({"donation", "donation_materials"})),
}


def route(message: Inbound, session: Session) -> Reply:
    reply = _route(message, session)
    if not (session.offered or isinstance(reply, Silent) or getattr(reply, "intent", "") == "more"):
        session.forget_choices()  # the user no longer sees a list: a digit must not pick from an old one
    return reply


def _route(message: Inbound, session: Session) -> Reply:
    by_kind = _by_kind(message, session)
    if by_kind is not None:
        return by_kind
    text = compact(message.text)
    if not text:
        return general.help_menu(message, session)
    return _command(text, message, session) or _numbered(text, message, session) or _in_flow(text, message, session)


def _by_kind(message: Inbound, session: Session) -> Reply | None:
    if message.kind == m.SUBSCRIBE:
        return general.welcome(message, session)
    if message.kind == m.CLICK:
        intent = INTENT_BY_NAME.get(message.key)
        if intent is None:
            return general.help_menu(message, session)
        # A button behaves like typing its label, so flows can prefill from it ("捐赠物资").
        return _tag(intent.handler(replace(message, text=general.menu_label(message.key)), session), intent.name)
    if message.kind == m.SCAN:
        # A registry's check-in QR code is booking's; any other scene just opens the conversation.
        scanned = booking.scan(message, session)
        if scanned is not None:
            return _tag(scanned, "checkin")
        return general.welcome(message, session) if message.text == "subscribe" else general.help_menu(message, session)
    if message.kind == m.LOCATION:
        return booking.nearby(message, session)
    if message.kind == m.MEDIA:
        return general.please_type(message, session)
    if message.kind in (m.SILENT, m.UNSUBSCRIBE):
        return SILENT
    return None


_LEAVE = {"取消", "退出", "算了", "不办了"}
_HELP = {"帮助", "菜单", "help", "?", "？", "主菜单"}
_MORE = {"更多", "继续", "下一页", "more"}


def _command(text: str, message: Inbound, session: Session) -> Reply | None:
    if text in _LEAVE:
        return _tag(general.leave(message, session), "leave")
    if text in _HELP or message.text.strip() in _HELP:
        return general.help_menu(message, session)
    if text in _MORE:
        return general.more(message, session)
    return None


def _numbered(text: str, message: Inbound, session: Session) -> Reply | None:
    choice = session.picked(text)
    if choice is None or session.chooser in FLOWS:  # a flow's list: the flow's step reads the digit
        if session.flow is None and not session.choices and len(text) <= 2 and text.isdigit():
            return general.help_menu(message, session)  # a digit with no list on screen: show the menu
        return None
    if session.chooser == general.INTENT_CHOOSER:
        intent = INTENT_BY_NAME[choice["intent"]]
        return _tag(intent.handler(message, session), intent.name)
    return _tag(handbook.pick(choice, message, session), "handbook")


def _in_flow(text: str, message: Inbound, session: Session) -> Reply:
    flow = FLOWS.get(session.flow)
    if flow is not None:
        reply = flow.step(message, session)
        if reply is not None:
            return _tag(reply, session.flow)
        name = session.flow
        answer = _by_intent(text, message, session)
        if session.flow == name and isinstance(answer, Text) and answer.intent not in flow.own_intents:
            # A digression (say a handbook question mid-booking): answer, then resume the flow.
            return Text(f"{answer.content}\n\n{flow.resume_prompt(session)}", intent=answer.intent)
        return answer
    return _by_intent(text, message, session)


def intent_of(text: str) -> Intent | None:
    """The first intent in INTENTS that wants this (compacted) text; None: a handbook question."""
    return next((intent for intent in INTENTS if intent.wants(text)), None)


def _by_intent(text: str, message: Inbound, session: Session) -> Reply:
    intent = intent_of(text)
    if intent is None:
        return _tag(handbook.ask(message, session), "handbook")
    return _tag(intent.handler(message, session), intent.name)


def _tag(reply: Reply, intent: str) -> Reply:
    """Record which intent answered, for the request log, unless the handler already said."""
    if isinstance(reply, (Text, News)) and not reply.intent:
        return replace(reply, intent=intent)
    return reply
