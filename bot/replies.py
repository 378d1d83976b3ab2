"""What a handler returns. The pipeline renders these into WeChat XML (and pages long text).

Handlers build replies with these values and nothing else, so they never see XML,
byte limits or encryption.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    content: str
    intent: str = ""  # what the router decided, for the request log


@dataclass(frozen=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    image: str = ""


@dataclass(frozen=True)
class News:
    """A card reply. WeChat shows at most one article in a reply to a user message."""

    article: Article
    intent: str = ""


@dataclass(frozen=True)
class Silent:
    """Nothing to say: WeChat gets `success` and shows the user nothing."""

    intent: str = ""


SILENT = Silent()


@dataclass(frozen=True)
class TransferToStaff:
    """Hand the chat to the account's customer-service staff (WeChat's transfer_customer_service)."""

    intent: str = ""


Reply = Text | News | Silent | TransferToStaff


def numbered(items: Iterable[str]) -> list[str]:
    """The lines of a list the user answers with a digit: "1. …", "2. …"."""
    return [f"{number}. {item}" for number, item in enumerate(items, 1)]
