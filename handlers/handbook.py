# TEMPORARY STUB written by the lead so the router imports; the handbook engineer replaces this file entirely.
from bot.replies import Text


def ask(message, session):
    return Text("防疫问答即将开放。")


def categories(message, session):
    return Text("防疫问答即将开放。")


def pick(message, session):
    return None
