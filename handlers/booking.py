"""Marriage-registration booking by chat. Placeholder until the booking flow lands (issue 3)."""

from bot.messages import Inbound, Session
from bot.replies import Text

_SOON = "结婚登记网上预约即将开放。疫情期间婚姻登记实行预约制，错峰办理，请勿直接前往登记处。"


def start(message: Inbound, session: Session) -> Text:
    return Text(_SOON)


my_booking = cancel = reschedule = nearby = start


def scan(message: Inbound, session: Session) -> Text | None:
    return None


def ceremony(message: Inbound, session: Session) -> Text:
    return Text("疫情防控期间，结婚登记颁证仪式暂停举办；登记实行预约制、错峰办理。")


def continue_flow(message: Inbound, session: Session) -> Text | None:
    return None


def resume_prompt(session: Session) -> str:
    return ""
