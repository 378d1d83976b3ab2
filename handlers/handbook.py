"""防疫问答: answering residents' questions from the prevention handbook.

What the router can rely on:
- `ask` answers any free text meant for the handbook, also in the middle of another flow;
  `session.flow` is never changed here, so that flow resumes afterwards.
- Numbered lists shown here are offered as the session's choices (chooser CHOOSER: items
  {"category": name} or {"entry": id}); the router hands `pick` the item a digit names.
- Only outside any flow are lists numbered. Inside another flow (a booking waiting for a slot
  number) suggestions and related questions are shown as questions to send, and no choices are
  kept, so the flow's own digits stay its own.
- `looks_like_question` says whether the handbook would answer a text outright.
"""

import re

from bot import faq_misses
from bot.messages import Inbound, Session
from bot.replies import Text, numbered
from knowledge import handbook
from knowledge.normalize import compact, is_question

CHOOSER = "handbook"
TOPIC = "handbook"  # the entry just answered: "那小孩呢" asks the same about someone else
_ELLIPSIS = re.compile(r"^(?:那么?|那要是|那如果)?(.{1,8}?)(?:呢|怎么样|怎么办|咋办|也[要能是]吗?|也一样吗?)$")
_LONG_NUMBER = re.compile(r"\d{7,}")  # a phone or ID number: personal, whatever else the message says
_NAME_LIKE_CHARS = 4  # a short statement is more likely a name than a question

# Answers about registration itself (what to bring, where, why a day was cancelled) end by offering
# the booking, which the question was not yet asking for.
REGISTRATION = "婚姻登记"
OFFER_BOOKING = "需要预约结婚登记的话，回复“预约”即可开始。"

HOTLINE_ADVICE = (
    "其他问题请拨打12345政务服务便民热线，或咨询当地卫生健康部门、所在社区。"
    "有发热等症状请到发热门诊就诊，急症请拨打120。"
)


def ask(message: Inbound, session: Session) -> Text:
    """Answer a free-text question: the answer, up to 3 numbered guesses, or an honest "not covered"."""
    book = handbook.current()
    decision = book.decide(message.text)
    if decision.kind == handbook.ANSWER:
        entry, _score = decision.matches[0]
        return _answer(book, entry, session)
    recorded = worth_recording(message.text)
    if recorded:
        faq_misses.record(message.text, message.received_at)
    if decision.kind == handbook.SUGGESTIONS:
        return _suggestions([entry for entry, _score in decision.matches], session)
    return _not_covered(book, session, recorded, [entry for entry, _score in decision.matches])


def follow_up(message: Inbound, session: Session) -> Text | None:
    """ "那小孩呢" right after an answer: the entries about what the follow-up names, nearest the
    question just answered first — the one answered when it is alone, else up to three offered;
    None when no entry is about it."""
    short = _ELLIPSIS.match(compact(message.text))
    book = handbook.current()
    entry = book.by_id.get(session.topic.get("entry", ""))
    if short is None or entry is None:
        return None
    named = {e.id for e, score in book.search(short.group(1), limit=10) if score >= handbook.ANSWER_SCORE}
    nearest = [e for e, _ in book.search(f"{entry.question} {short.group(1)}", limit=20) if e.id in named]
    if len(nearest) > 1:
        return _suggestions(nearest[: handbook.MAX_SUGGESTIONS], session)
    return _answer(book, nearest[0], session) if nearest else None


def worth_recording(text: str) -> bool:
    """Whether a missed question goes to the editors' list: in-domain questions, never a name, an
    ID or phone number, or a word or two ("张三", "13812345678" and "好" are nobody's question)."""
    words = compact(text)
    if _LONG_NUMBER.search(words):
        return False
    return is_question(text) or len(words) > _NAME_LIKE_CHARS


def categories(message: Inbound, session: Session) -> Text:
    """The 防疫问答 menu: the categories, numbered; a digit then opens one (see `pick`)."""
    book = handbook.current()
    session.offer(CHOOSER, [{"category": name} for name in book.categories])
    lines = ["防疫问答：回复数字查看分类", *numbered(book.categories)]
    lines.append("也可以直接发问题，比如“口罩多久换一次”。")
    return Text("\n".join(lines), intent="faq.categories")


def pick(choice: dict, message: Inbound, session: Session) -> Text:
    """Open the item of the last list shown here that the user's digit named."""
    book = handbook.current()
    if "category" in choice and choice["category"] in book.categories:
        return _category(book, choice["category"], session)
    entry = book.by_id.get(choice.get("entry", ""))
    if entry is None:  # the handbook was reloaded since the list was shown
        return Text("问答库刚刚更新过，请重新发送“防疫问答”或直接提问。", intent="faq.stale_choice")
    return _answer(book, entry, session)


def looks_like_question(text: str) -> bool:
    """True when the handbook can answer `text` outright: the router's test for a digression."""
    return handbook.current().decide(text).kind == handbook.ANSWER


def _answer(book: handbook.Handbook, entry: handbook.Entry, session: Session) -> Text:
    session.tell(TOPIC, entry=entry.id)
    reviewed = entry.reviewed
    lines = [
        f"【{entry.question}】",
        entry.answer,
        f"来源：{entry.source}，{reviewed.year}年{reviewed.month}月{reviewed.day}日审核",
    ]
    related = book.related(entry)
    if session.flow is None:
        session.offer(CHOOSER, [{"entry": other.id} for other in related])
        offers = "  ".join(f"{number}. {other.question}" for number, other in enumerate(related, 1))
        lines.append(f"相关问题（回复数字查看）：{offers}")
        if entry.category == REGISTRATION:
            lines.append(OFFER_BOOKING)
    else:
        lines.append(f"相关问题（直接发送即可）：{'／'.join(other.question for other in related)}")
    return Text("\n".join(lines), intent="faq.answer")


def _suggestions(entries: list[handbook.Entry], session: Session) -> Text:
    if session.flow is None:
        session.offer(CHOOSER, [{"entry": entry.id} for entry in entries])
        lines = ["您想问的是不是下面这些？回复数字查看：", *numbered(entry.question for entry in entries)]
    else:
        lines = ["您想问的是不是下面这些？直接发送问题即可：", *(f"· {entry.question}" for entry in entries)]
    lines.append("都不是的话，请换个说法再问，或发送“防疫问答”查看全部分类。")
    return Text("\n".join(lines), intent="faq.suggest")


def _category(book: handbook.Handbook, category: str, session: Session) -> Text:
    entries = book.in_category(category)
    session.offer(CHOOSER, [{"entry": entry.id} for entry in entries])
    lines = [f"【{category}】回复数字查看回答：", *numbered(entry.question for entry in entries)]
    return Text("\n".join(lines), intent="faq.category")


def _not_covered(book: handbook.Handbook, session: Session, recorded: bool, nearest: list[handbook.Entry]) -> Text:
    """Not covered, said plainly; the nearest entry first when there is one (a long message telling
    its story before the question often scores too low to answer and is still about that entry)."""
    noted = "，我们已记下，会请工作人员补充" if recorded else ""
    lines = [f"抱歉，防疫知识手册里暂时没有这个问题的答案{noted}。"]
    if session.flow is None:
        choices = [{"entry": entry.id} for entry in nearest] + [{"category": name} for name in book.categories]
        session.offer(CHOOSER, choices)
        listed = numbered([*(entry.question for entry in nearest), *book.categories])
        if nearest:
            lines.append(f"您问的可能是：{listed.pop(0)}")
        lines.append("您可以换个说法再问，或回复数字查看分类：")
        lines.extend(listed)
    else:
        if nearest:
            lines.append(f"您问的可能是：{nearest[0].question}（直接发送即可）")
        lines.append(f"您可以换个说法再问。手册包括：{'、'.join(book.categories)}。")
    lines.append(HOTLINE_ADVICE)
    return Text("\n".join(lines), intent="faq.not_covered")
