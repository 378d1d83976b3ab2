"""The language stage: one message's text (and whether a flow is open) → the decision the chat acts on.

The chat (`router`), `POST /api/v1/nlu/parse` and the console all ask `understand`, so the API
shows exactly what the chat decides. In this order:

1. exact commands stay rules: 取消/退出/算了 (leave), 帮助/菜单 (help), 更多 (more);
2. safety stays a rule: anything that looks like a payment request or a bank-card number is warned
   about before anything can echo it (so a bare card number is no pick from a list; a valid ID
   number is never a payment);
3. a bare number is a pick from the last numbered list (the router knows which list); the
   防疫问答 menu words open the handbook's menu;
4. everything else goes to the intent classifier trained on the utterance bank
   (`knowledge.intents`). When it is unsure — confidence or lead over the runner-up below the
   thresholds chosen on cross-validated guesses — and no flow owns the digits, the decision is "clarify": one short
   question with the two likeliest intents as numbered options, never a guess.

Entities come from the project's own parsers: the date and time (`bot.bookings.dates`), office
names (`knowledge.offices`), and valid ID numbers (`bot.bookings.idcard`, shown masked only).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.bookings import dates, idcard
from handlers import donation
from knowledge import intents, offices
from knowledge.normalize import compact, normalize

LEAVE, HELP, MORE, CHOICE, CLARIFY = "leave", "help", "more", "choice", "clarify"
PAYMENT_WARNING, HANDBOOK_MENU = "payment_warning", "handbook_menu"

_COMMANDS = {
    LEAVE: {"取消", "退出", "算了", "不办了"},
    HELP: {"帮助", "菜单", "help", "?", "？", "主菜单"},
    MORE: {"更多", "继续", "下一页", "more"},
}
_HANDBOOK_MENU_WORDS = {"防疫问答", "防疫知识", "防疫手册", "防疫知识问答"}

# What a clarifying question offers for each intent (all but `intents.NEVER_OFFERED`).
OPTION_LABELS = {
    "my_booking": "查看我的预约",
    "cancel_booking": "取消已有预约",
    "reschedule": "改约（换日期、时间或登记处）",
    "ceremony": "了解颁证仪式",
    "booking": "预约结婚登记",
    "volunteer": "报名志愿服务",
    "donation": "爱心捐赠",
    "handbook": "防疫知识问答",
    "human": "找工作人员",
}

_ID_CANDIDATE = re.compile(r"(?<![0-9])[0-9]{17}[0-9xX](?![0-9])")


@dataclass(frozen=True)
class Decision:
    intent: str  # an intent of knowledge.intents, payment_warning, handbook_menu, or a command above
    confidence: float = 1.0  # 1.0 for rules; the classifier's probability otherwise
    runner_up: str | None = None
    entities: dict = field(default_factory=dict)
    options: tuple[str, ...] = ()  # CLARIFY: the intents offered, in the order numbered

    def to_json(self) -> dict:
        answer = {"intent": self.intent, "confidence": round(self.confidence, 3), "runner_up": self.runner_up}
        answer["entities"] = self.entities
        if self.options:
            answer["options"] = [{"intent": name, "label": OPTION_LABELS[name]} for name in self.options]
        return answer


def understand(text: str, now: datetime, in_flow: bool = False) -> Decision:
    """What the chat does with this text. `in_flow`: a flow is open and owns numbered replies."""
    words = compact(text)
    for command, spellings in _COMMANDS.items():
        if words in spellings or text.strip() in spellings:
            return Decision(command)
    found = entities(text, now)
    if donation.looks_like_payment(text) and "id_numbers" not in found:
        return Decision(PAYMENT_WARNING, entities=found)  # before digits: a bare card number is no choice
    if words.isascii() and words.isdigit():
        return Decision(CHOICE, entities={"number": int(words)})
    if words in _HANDBOOK_MENU_WORDS:
        return Decision(HANDBOOK_MENU, entities=found)
    model = intents.current()
    guess = model.classifier.guess(text)
    if not in_flow and model.thresholds.asks_back(guess):
        return Decision(CLARIFY, guess.confidence, guess.runner_up, found, (guess.intent, guess.runner_up))
    return Decision(guess.intent, guess.confidence, guess.runner_up, found)


def entities(text: str, now: datetime) -> dict:
    """Date, half-day or time, office(s) and masked valid ID numbers the text names."""
    found = {}
    when = dates.parse_when(text, now)
    if when.date:
        found["date"] = when.date.isoformat()
    elif when.unclear:
        found["date_unclear"] = when.unclear  # "月底前": the chat re-asks with examples
    if when.time or when.half:
        found["time"] = when.time or when.half
    named = offices.current().find(text)
    if len(named) == 1:
        found["office_id"] = named[0].id
    elif named:
        found["office_ids"] = [office.id for office in named]
    numbers = [number for number in _ID_CANDIDATE.findall(normalize(text)) if _valid_id(number)]
    if numbers:
        found["id_numbers"] = [idcard.mask(number) for number in numbers]
    return found


def clarifying_question(decision: Decision) -> str:
    lines = ["您是想：", *(f"{n}. {OPTION_LABELS[name]}" for n, name in enumerate(decision.options, 1))]
    lines.append("请回复数字；都不是的话，换个说法告诉我就好。")
    return "\n".join(lines)


def _valid_id(number: str) -> bool:
    try:
        idcard.parse(number)
    except idcard.InvalidIdNumber:
        return False
    return True
