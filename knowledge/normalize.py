"""Text normalisation shared by routing, date understanding, the handbook and donations.

Citizens type full-width digits, Traditional characters and stray punctuation; every module
that reads their words first calls `normalize` so one rule decides what "the same text" means.
"""

import re
import unicodedata
from functools import lru_cache

import opencc

_t2s = opencc.OpenCC("t2s")

# OpenCC's t2s keeps some variants Mainland usage writes otherwise; fix the ones that matter here.
_VARIANT_FIXES = str.maketrans({"帐": "账"})

_PUNCTUATION = re.compile(
    r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65!-/:-@\[-`{-~·…—“”‘’、]+"
)


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """NFKC (full-width → half-width), Traditional → Simplified, lower case, trimmed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _t2s.convert(text).translate(_VARIANT_FIXES)
    return text.strip().lower()


def strip_punctuation(text: str) -> str:
    """The text with punctuation and spaces removed (for matching commands and keywords)."""
    return _PUNCTUATION.sub("", text)


@lru_cache(maxsize=4096)
def compact(text: str) -> str:
    """normalize + strip_punctuation: the form commands and menu words are compared in.

    Cached like normalize: one message's text is compacted by the router, the language stage and
    several handlers."""
    return strip_punctuation(normalize(text))


# Words that make a message a question rather than an answer ("口罩怎么戴" is no name, "长沙呢" no city).
QUESTION_WORDS = (
    "吗", "呢", "怎么", "怎样", "什么", "如何", "哪", "为什么", "多少", "几", "能不能", "有没有", "是不是", "?",
)  # fmt: skip


def is_question(text: str) -> bool:
    normal = normalize(text)
    return any(word in normal for word in QUESTION_WORDS)
