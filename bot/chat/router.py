"""Which handler answers a message. Priority is explicit and reads top to bottom:

1. the kind of message (follow, menu click, QR scan, location, media, silent events);
2. global commands: 取消/退出/算了 leave any flow (saying a booking the user has is kept) or,
   outside one, ask whether to cancel the user's booking; 帮助/菜单 show the menu, 更多 pages;
3. a digit picks from the numbered list the user last saw, whoever showed it (session.choices;
   a flow's own lists are read by the flow's step); a reply that shows no list clears it;
4. the session's active flow; a flow that doesn't recognise the text lets it fall through,
   and after the digression is answered the flow's prompt is repeated so it resumes; outside a
   flow, a follow-up to the last answer (session.topic: "有没有电话" after a federation's
   channels) is answered by that answer's handler;
5. the intent the language stage (`bot.chat.nlu`: rules, then a trained classifier) decides,
   or its clarifying question (a numbered list of intents) when it is unsure; the handbook
   answers in-domain questions or honestly says what it doesn't cover. A message that is only a
   valid ID number is applicant data: never a payment, a handbook question or a miss.

The same user not understood NOT_UNDERSTOOD_LIMIT times in a row is offered a person (转人工).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot import faq_misses
from bot import messages as m
from bot.chat import nlu
from bot.messages import Inbound, Session
from bot.replies import SILENT, News, Reply, Silent, Text
from handlers import booking, donation, general, handbook
from knowledge.normalize import compact

Handler = Callable[[Inbound, Session], Reply]


@dataclass(frozen=True)
class Intent:
    name: str  # also the menu CLICK key that opens it
    handler: Handler


# Who answers each decision of the language stage (and each menu key).
INTENTS: tuple[Intent, ...] = (
    Intent(nlu.PAYMENT_WARNING, donation.payment_warning),
    Intent("my_booking", booking.my_booking),
    Intent("cancel_booking", booking.cancel),
    Intent("reschedule", booking.reschedule),
    Intent("ceremony", booking.ceremony),
    Intent("booking", booking.start),
    Intent("volunteer", donation.volunteer),
    Intent("donation", donation.start),
    Intent(nlu.HANDBOOK_MENU, handbook.categories),
    Intent("handbook", handbook.ask),
    Intent("greeting", general.greeting),
    Intent("out_of_scope", general.decline),
    Intent("human", general.to_staff),
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

# What a message asks for whatever was answered before it ("那我的预约呢" after a handbook answer).
REQUESTS = frozenset({"booking", "my_booking", "cancel_booking", "reschedule", "ceremony", "volunteer", "donation"})
# Who reads a follow-up to an answer on each topic (None: the message is about something else).
FOLLOW_UPS: dict[str, Callable[[Inbound, Session], Reply | None]] = {
    donation.TOPIC: donation.follow_up,
    handbook.TOPIC: handbook.follow_up,
}


# Replies that mean "I did not understand you"; a run of them offers a person. A decline counts:
# three in a row and the person is not finding what they came for, whoever misread whom.
NOT_UNDERSTOOD = {"faq.not_covered", nlu.CLARIFY, "out_of_scope"}
NOT_UNDERSTOOD_LIMIT = 3


def route(message: Inbound, session: Session) -> Reply:
    reply = _route(message, session)
    if isinstance(reply, Silent) or getattr(reply, "intent", "") == "more":
        return reply  # nothing new on the user's screen: the list and the count stand
    if not session.offered:
        session.forget_choices()  # the user no longer sees a list: a digit must not pick from an old one
    if not session.told:
        session.topic = {}  # nor the answer a follow-up would ask about
    return _count_understanding(reply, session)


def _count_understanding(reply: Reply, session: Session) -> Reply:
    if getattr(reply, "intent", "") not in NOT_UNDERSTOOD:
        session.not_understood = 0
        return reply
    session.not_understood += 1
    if session.not_understood < NOT_UNDERSTOOD_LIMIT or not isinstance(reply, Text):
        return reply
    session.not_understood = 0
    return replace(reply, content=f"{reply.content}\n\n{general.offer_a_person()}")


def _route(message: Inbound, session: Session) -> Reply:
    by_kind = _by_kind(message, session)
    if by_kind is not None:
        return by_kind
    text = compact(message.text)
    if not text:
        return general.help_menu(message, session)
    decision = nlu.understand(message.text, message.received_at, in_flow=session.flow is not None)
    return (
        _command(decision, message, session)
        or _numbered(text, message, session)
        or _in_flow(decision, message, session)
    )


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


def _command(decision: nlu.Decision, message: Inbound, session: Session) -> Reply | None:
    if decision.intent == nlu.LEAVE:
        return _tag(booking.leave(message, session), "leave")
    if decision.intent == nlu.HELP:
        return general.help_menu(message, session)
    if decision.intent == nlu.MORE:
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
        return _tag(intent.handler(replace(message, text=choice.get("text", message.text)), session), intent.name)
    return _tag(handbook.pick(choice, message, session), "handbook")


def _in_flow(decision: nlu.Decision, message: Inbound, session: Session) -> Reply:
    flow = FLOWS.get(session.flow)
    if flow is not None:
        reply = flow.step(message, session)
        if reply is not None:
            return _tag(reply, session.flow)
        name = session.flow
        answer = _by_intent(decision, message, session)
        if session.flow == name and isinstance(answer, Text) and answer.intent not in flow.own_intents:
            # A digression (say a handbook question mid-booking): answer, then resume the flow.
            return Text(f"{answer.content}\n\n{flow.resume_prompt(session)}", intent=answer.intent)
        return answer
    topic = session.topic.get("topic")
    follow_up = FOLLOW_UPS.get(topic) if decision.intent == topic or decision.intent not in REQUESTS else None
    answer = follow_up(message, session) if follow_up else None
    return answer or _by_intent(decision, message, session)


def _by_intent(decision: nlu.Decision, message: Inbound, session: Session) -> Reply:
    if booking.is_applicant_data(message.text):
        return _tag(booking.applicant_data(message, session), "applicant_data")
    fixes = booking.fixes_after_booking(message, session)
    if fixes is not None:
        return _tag(fixes, "applicant_fix")
    if decision.intent == nlu.CLARIFY:
        # Each option keeps the words it was asked about, so the pick answers them ("那个退了" → cancel);
        # ID and phone numbers masked: the session keeps applicants' numbers only encrypted.
        words = faq_misses.mask_numbers(message.text)
        offered = [{"intent": name, "text": words} for name in decision.options]
        session.offer(general.INTENT_CHOOSER, offered)
        return Text(nlu.clarifying_question(decision), intent="clarify")
    intent = INTENT_BY_NAME.get(decision.intent, INTENT_BY_NAME["handbook"])  # a number no list wanted
    return _tag(intent.handler(message, session), intent.name)


def _tag(reply: Reply, intent: str) -> Reply:
    """Record which intent answered, for the request log, unless the handler already said."""
    if isinstance(reply, (Text, News)) and not reply.intent:
        return replace(reply, intent=intent)
    return reply
