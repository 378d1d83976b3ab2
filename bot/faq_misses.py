"""Questions the handbook could not answer confidently, kept for the editors.

One sorted set counts each question (normalised, punctuation dropped, so "口罩？" and "口罩"
are one); a hash remembers when it was last asked. Only
the most-asked MAX_QUESTIONS are kept, so a flood of nonsense cannot grow Redis without bound.
Long digit runs are masked before storing: residents paste ID and phone numbers into questions.
"""

import logging
import re
from datetime import datetime

from bot import store
from knowledge.normalize import normalize, strip_punctuation

log = logging.getLogger(__name__)

COUNTS = "faq:misses"  # sorted set: question → times asked
LAST_SEEN = "faq:misses:last"  # hash: question → ISO time it was last asked
MAX_QUESTIONS = 2000
MAX_CHARS = 100

# 18-digit ID numbers (last may be X) and 11-digit mobile numbers, inside any text.
_ID_NUMBER = re.compile(r"(?<!\d)\d{14}(\d{3}[\dx])(?![\dx])", re.IGNORECASE)  # X as typed, or x once normalised
_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")


def mask_numbers(text: str, hide: str = "*") -> str:
    """**************123X for ID numbers (the last 4 only, as bookings store them), 138****5678 for mobile numbers."""
    text = _ID_NUMBER.sub(lambda m: hide * 14 + m.group(1).upper(), text)
    return _PHONE.sub(lambda m: m.group(1) + hide * 4 + m.group(2), text)


def record(text: str, now: datetime) -> None:
    """Count one unanswered or low-confidence question. A Redis outage loses the count, not the reply."""
    # Mask before dropping punctuation ("身份证…，电话…" must not fuse two numbers into one run),
    # hiding digits behind "•", which strip_punctuation keeps, then showing them as "*".
    question = strip_punctuation(mask_numbers(normalize(text), hide="•")).replace("•", "*")[:MAX_CHARS]
    if not question:
        return
    try:
        pipe = store.client().pipeline()
        pipe.zincrby(COUNTS, 1, question)
        pipe.hset(LAST_SEEN, question, now.isoformat(timespec="seconds"))
        pipe.zcard(COUNTS)
        *_, size = pipe.execute()
        if size > MAX_QUESTIONS:
            _forget_least_asked(size - MAX_QUESTIONS)
    except store.UNAVAILABLE as error:
        log.warning("faq miss not recorded: store unavailable (%s)", error)


def top(limit: int = 50) -> list[dict]:
    """The most-asked missed questions: [{"text", "count", "last_seen"}], most asked first."""
    client = store.client()
    ranked = client.zrevrange(COUNTS, 0, limit - 1, withscores=True)
    if not ranked:
        return []
    seen = client.hmget(LAST_SEEN, [question for question, _count in ranked])
    return [
        {"text": question, "count": int(count), "last_seen": last}
        for (question, count), last in zip(ranked, seen, strict=True)
    ]


def _forget_least_asked(excess: int) -> None:
    client = store.client()
    dropped = client.zrange(COUNTS, 0, excess - 1)
    if dropped:
        pipe = client.pipeline()
        pipe.zrem(COUNTS, *dropped)
        pipe.hdel(LAST_SEEN, *dropped)
        pipe.execute()
