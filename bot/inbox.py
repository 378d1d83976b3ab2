"""Notices waiting for a user's next message.

A couple booked from the waitlist, or whose booking an office closure cancelled, is told by an
outbound message — and, in case that never reaches them, again in the reply to whatever they write
next. The booking scripts fill the inbox in the same step that queues the outbound notice; the
webhook's turn empties it.
"""

KEY = "inbox:%s"
KEEP_SECONDS = 7 * 24 * 3600  # past the booking window: an older notice has nothing left to act on


def key(openid: str) -> str:
    return KEY % openid


def with_notices(notices: list[str], reply_text: str) -> str:
    """The reply with the waiting notices before it."""
    return "\n\n".join([*(f"【通知】{notice}" for notice in notices), reply_text])
