"""The typed message and session handlers receive; the message is made from whatever WeChat sent.

wechatpy parses the XML into a dozen classes; handlers only need to know who wrote, what kind
of thing arrived, and its few useful fields. A voice message with speech recognition arrives
here as text, so every handler that understands words understands speech too.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

# Kinds a handler can see.
TEXT = "text"
LOCATION = "location"
CLICK = "click"  # menu button; `key` is the menu key
SCAN = "scan"  # QR code scanned (SCAN, or subscribe via a QR); `key` is the scene
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
MEDIA = "media"  # image, video, short video, link, voice without recognition: nothing to read
SILENT = "silent"  # events WeChat sends for information only: answer `success`


_NUMERALS = "一二三四五六七八九十"
_ORDINAL = re.compile(rf"第([1-9]|[{_NUMERALS}])个?")


@dataclass(frozen=True)
class Inbound:
    openid: str
    kind: str
    received_at: datetime
    text: str = ""
    key: str = ""
    latitude: float | None = None
    longitude: float | None = None
    wechat_type: str = ""  # the raw MsgType/Event, for logs
    account: str = ""  # our Official Account's id (ToUserName); replies come from it


@dataclass
class Session:
    """One user's conversation state, kept in Redis as JSON and locked while a message runs.

    `flow` names the dialogue the user is in (None: free chat); `data` is that flow's own state;
    `pages` holds the unread rest of a long answer for "更多". `choices` is the numbered list the
    user last saw and `chooser` who showed it: a digit picks from that list, whatever produced it,
    and a reply that shows no list clears it (the router does, unless `offered` says one was shown).
    `topic` is what the last answer was about (its handler's name and facts), so a follow-up
    ("有没有电话", "那株洲呢") is read in its light; like the list, a reply that sets none clears it.
    `not_understood` counts the replies in a row that did not understand the user.
    `turn` caches what one message reads more than once (the user's bookings); it is never saved.
    """

    openid: str
    flow: str | None = None
    data: dict = field(default_factory=dict)
    pages: list = field(default_factory=list)
    choices: list = field(default_factory=list)
    chooser: str = ""
    not_understood: int = 0  # replies in a row that did not understand the user
    topic: dict = field(default_factory=dict)
    offered: bool = field(default=False, compare=False, repr=False)
    told: bool = field(default=False, compare=False, repr=False)  # this turn's reply set `topic`
    turn: dict = field(default_factory=dict, compare=False, repr=False)

    def start(self, flow: str, **data) -> None:
        self.flow = flow
        self.data = dict(data)

    def leave(self) -> None:
        self.flow = None
        self.data = {}

    def offer(self, chooser: str, choices: list[dict]) -> None:
        """Show a numbered list: item n of `choices` is what the digit n in the next message means."""
        self.chooser, self.choices, self.offered = chooser, [dict(c) for c in choices], True

    def picked(self, text: str) -> dict | None:
        """The item of the last list shown that `text` (already compacted) names: a bare digit, or
        an ordinal ("第一个", "第2个")."""
        ordinal = _ORDINAL.fullmatch(text)
        if ordinal:
            text = ordinal.group(1) if ordinal.group(1).isdigit() else str(_NUMERALS.index(ordinal.group(1)) + 1)
        if text.isascii() and text.isdigit() and 1 <= int(text) <= len(self.choices):
            return dict(self.choices[int(text) - 1])
        return None

    def forget_choices(self) -> None:
        self.chooser, self.choices = "", []

    def tell(self, topic: str, **facts) -> None:
        """The reply answers `topic` with these facts: the next message may ask more about it."""
        self.topic, self.told = {"topic": topic, **facts}, True

    def to_json(self) -> dict:
        saved = {"flow": self.flow, "data": self.data, "pages": self.pages}
        shown = {"choices": self.choices, "chooser": self.chooser, "topic": self.topic}
        return {**saved, **shown, "not_understood": self.not_understood}

    @classmethod
    def from_json(cls, openid: str, raw: dict) -> "Session":
        return cls(
            openid,
            raw.get("flow"),
            raw.get("data") or {},
            raw.get("pages") or [],
            raw.get("choices") or [],
            raw.get("chooser") or "",
            raw.get("not_understood") or 0,
            raw.get("topic") or {},
        )
