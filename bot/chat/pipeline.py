"""The path of one WeChat POST, independent of Flask: verify → open → parse → dedupe → session
→ route → page → render → seal.

Nothing a signed request does ends in a 500: a handler's exception becomes a Chinese apology
(logged with the request id), and an unreachable Redis becomes "系统繁忙" within about a second.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot import inbox, store
from bot import messages as m
from bot.chat import router, sessions, turns
from bot.replies import Reply, Text
from bot.wechat import outbound, protocol, render

log = logging.getLogger(__name__)

APOLOGY = "抱歉，系统刚才开了个小差，请稍后再发一次。给您带来不便，敬请谅解。"
BUSY = "系统繁忙，请稍后再试。您的信息没有丢失。"
STILL_WORKING = "您的上一条消息还在处理中，请稍候再发。"
MAX_TEXT_CHARS = 600  # about what WeChat lets a person type in one message
TOO_FAST = "您发送消息太频繁了，请休息一分钟再试。"


@dataclass
class Outcome:
    body: str
    openid: str = ""
    msg_type: str = ""
    intent: str = ""


def handle_post(config, envelope: protocol.Envelope, body: bytes, request_id: str) -> Outcome:
    protocol.check_envelope(config, envelope)
    xml = protocol.open_body(config, envelope, body)
    inbound, key = protocol.parse(xml, config.tz)
    try:
        reply_xml, intent = _once(inbound, key, request_id, protocol.replay_claim(config, envelope, body))
    except store.UNAVAILABLE as error:
        log.warning("request %s: store unavailable", request_id)
        store.note_unavailable("chat", error)
        reply_xml, intent = _text_xml(inbound, BUSY), "unavailable"
    sealed = protocol.seal(config, envelope, reply_xml, envelope.nonce or request_id)
    return Outcome(sealed, inbound.openid, inbound.wechat_type, intent)


def _once(inbound: m.Inbound, key: str, request_id: str, replay: protocol.ReplayClaim) -> tuple[str, str]:
    """Run the message the first time it arrives; give retries the first reply's exact bytes."""
    try:
        turn = turns.begin(
            inbound.openid, key, take_notices=inbound.kind not in (m.UNSUBSCRIBE, m.SILENT), replay=replay
        )
    except turns.Replayed:
        raise protocol.Rejected(403, protocol.REPLAYED_REASON) from None
    except turns.Busy:
        return _text_xml(inbound, STILL_WORKING), "busy"
    except turns.Limited as limited:
        reply_xml = _text_xml(inbound, TOO_FAST)
        turns.end(limited.turn, reply_xml)
        return reply_xml, "rate_limited"
    if turn.session is None:
        return turn.earlier_reply, "retry"
    if inbound.kind == m.UNSUBSCRIBE:
        sessions.drop(inbound.openid)  # nothing of theirs is kept for a conversation that ended
    session = turn.session
    try:
        reply = answer(inbound, session, turn.notices)
    except store.UNAVAILABLE:
        _abandon(turn)
        raise
    except Exception:
        log.exception("request %s: handler failed for %s", request_id, inbound.wechat_type)
        reply, session = Text(APOLOGY, intent="error"), None  # keep the session as it was before
    reply_xml = render.to_xml(reply, inbound.openid, inbound.account)
    if inbound.kind in (m.UNSUBSCRIBE, m.SILENT):
        turns.end(turn, reply_xml)  # nothing the user did: no session to keep, no window to open
    else:
        # The user just did something: outbound messages may use the customer-service channel for 48 h.
        turns.end(turn, reply_xml, session, also=outbound.window_opened(inbound.openid, inbound.received_at))
    return reply_xml, getattr(reply, "intent", "")


def _abandon(turn: turns.Turn) -> None:
    """Unlock and unclaim a turn the store failed in the middle of (a replica's WAIT ran out), so the
    user's next message and WeChat's resend run at once instead of waiting out the lock's lease."""
    try:
        turns.end(turn, reply_xml="")
    except store.UNAVAILABLE:
        pass  # Redis is gone altogether: the lease frees the user within LOCK_LEASE_MS


def _text_xml(inbound: m.Inbound, content: str) -> str:
    return render.to_xml(Text(content), inbound.openid, inbound.account)


def answer(inbound: m.Inbound, session: m.Session, notices: Sequence[str] = ()) -> Reply:
    """The reply to one message, given its sender's (locked) session, which it may update, and the
    notices that waited for them (told before the answer)."""
    # Handlers analyse at most MAX_TEXT_CHARS: a 20,000-digit text would overflow int conversion and
    # 20,000 characters cost seconds of word segmentation, and no real question is that long.
    if len(inbound.text) > MAX_TEXT_CHARS:
        inbound = replace(inbound, text=inbound.text[:MAX_TEXT_CHARS])
    reply = router.route(inbound, session)
    if notices and isinstance(reply, Text):
        reply = replace(reply, content=inbox.with_notices(notices, reply.content))
    return _paged(reply, session)


def _paged(reply: Reply, session: m.Session) -> Reply:
    """Long text: send the first page and keep the rest for "更多"; any other answer drops old pages."""
    if isinstance(reply, Text) and reply.intent == "more":
        return reply
    if not isinstance(reply, Text):
        session.pages = []
        return reply
    pages = render.paginate(reply.content)
    session.pages = pages[1:]
    content = render.with_more_hint(pages[0], len(pages) > 1)
    return reply if content == reply.content else replace(reply, content=content)  # most replies fit as they are
