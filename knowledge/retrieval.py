"""Ranking a resident's question against the handbook's questions.

Three views of the same normalised text are scored with BM25 and added up: jieba's search-mode
words (precise when the dictionary knows the word), single characters (survive typos and words
jieba splits oddly) and character pairs (keep word order for unknown compounds). Synonyms are
rewritten to one word first, so "敬老院" and "养老院" are the same term in every view.

Scores are returned as a share of the question's own weight (0–1): the sum of what the entry
matched divided by the most the question could have matched. A question full of words the
handbook never uses scores low even when it shares a particle or two with an entry, which is
what lets the caller say "not covered" honestly.

`unknown_nouns` names what a question is about when the handbook never mentions it at all (保险,
房租, 签注, 护目镜): a near miss shares the handbook's everyday words (隔离, 口罩, 出门) and asks
about something else, so its score alone looks like a weak match to a real question.
"""

import heapq
import logging
import math
import re
from collections import Counter
from pathlib import Path

import jieba

from knowledge.normalize import normalize, strip_punctuation

JIEBA_CACHE_DIR = Path(__file__).resolve().parents[1] / "var" / "cache" / "jieba"

# How much each view counts, chosen on tests/handbook_eval.yaml. Words at half weight: on dev batch 5,
# before it was tuned on, 0.5 read top-1 83.8% against 81.8% at 1.0 (0.25–1.5 per view tried), the
# older batches unchanged; jieba splits dialect and typos oddly, characters and pairs survive them.
# A second signal, TF-IDF cosine over character 2–3-grams of the entries (or of their answers), fused
# by score or by rank, never raised batch 5 (66.9–81.8% against 81.8%), so it is not used.
FIELD_WEIGHTS = {"word": 0.5, "char": 1.0, "pair": 1.0}
K1 = 1.2
MIN_QUESTION_CHARS = 2  # after dropping fillers; "你好" leaves "好", which is no question
B = 0.75

# The lines of jieba's dictionary ("word frequency tag") whose word of two or more characters is tagged
# as a thing: a common noun, place, organisation, other proper noun, verbal noun. Person names (nr)
# are left out: jieba's dictionary tags many everyday words so.
_DICTIONARY_NOUN = re.compile(r"^([^ \n]{2,}) \d+ (?:n|ns|nt|nz|vn)\r?$", re.MULTILINE)

_tokenizer: jieba.Tokenizer | None = None
_nouns: frozenset[str] | None = None


def tokenizer() -> jieba.Tokenizer:
    """The process's jieba tokenizer, built once (~0.6 s) with its cache in var/cache/jieba."""
    global _tokenizer
    if _tokenizer is None:
        JIEBA_CACHE_DIR.mkdir(parents=True, exist_ok=True)
        jieba.setLogLevel(logging.WARNING)
        built = jieba.Tokenizer()
        built.tmp_dir = str(JIEBA_CACHE_DIR)
        built.initialize()
        _tokenizer = built
    return _tokenizer


def dictionary_nouns() -> frozenset[str]:
    """The words jieba's dictionary tags as nouns, read once (~0.1 s).

    Read from the dictionary file rather than with jieba.posseg, whose tagger costs ~0.4 ms per
    question (its HMM) against a set lookup here."""
    global _nouns
    if _nouns is None:
        with tokenizer().get_dict_file() as file:
            _nouns = frozenset(_DICTIONARY_NOUN.findall(file.read().decode("utf-8")))
    return _nouns


class Synonyms:
    """Rewrites every word of a group to the group's first word and drops filler words.

    Longest words match first, so a group's short word never splits a longer one. Fillers
    (particles, pronouns, "怎么办") are dropped because every entry shares them: left in, they
    make an unrelated question look half-answered.
    """

    def __init__(
        self,
        groups: list[list[str]],
        fillers: list[str] = (),
        off_topic: list[str] = (),
        everyday: list[str] = (),
    ):
        self.canonical = {normalize(word): normalize(group[0]) for group in groups for word in group}
        self.off_topic = tuple(normalize(word) for word in off_topic)
        self.everyday = tuple(normalize(word) for word in everyday)
        self.canonical.update({normalize(word): "" for word in fillers})
        words = sorted(self.canonical, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, words))) if words else None

    def rewrite(self, text: str, gap: str = "") -> str:
        """`text` with each synonym in its group's word and each filler replaced by `gap`."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.canonical[m.group(0)] or gap, text)

    def is_off_topic(self, text: str) -> bool:
        """Whether the text names something the handbook never covers (a stock, a parcel's tracking…)."""
        text = normalize(text)
        return any(word in text for word in self.off_topic)


# A temperature said in words, as voice typing writes it ("三十七度六", "三十八度多"): the fever entries
# and most residents write digits ("37度6").
_SPOKEN_TEMPERATURE = re.compile(r"(三|四)十([一二三四五六七八九])?度([一二三四五六七八九])?")
_DIGITS = {numeral: str(value) for value, numeral in enumerate("零一二三四五六七八九")}


def _digits(match: re.Match) -> str:
    tens, units, tenths = match.groups()
    return _DIGITS[tens] + _DIGITS[units or "零"] + "度" + (_DIGITS[tenths] if tenths else "")


def _clean(text: str) -> str:
    """Normalised, without punctuation, temperatures in digits."""
    return _SPOKEN_TEMPERATURE.sub(_digits, strip_punctuation(normalize(text)))


def terms(text: str, synonyms: Synonyms) -> dict[str, list[str]]:
    """The text's terms in each view, after normalising and rewriting synonyms."""
    text = synonyms.rewrite(_clean(text))
    return {
        "word": [w for w in tokenizer().cut_for_search(text) if w.strip()],
        "char": list(text),
        "pair": [text[i : i + 2] for i in range(len(text) - 1)],
    }


def _plain(text: str, synonyms: Synonyms) -> str:
    """Normalised with synonyms rewritten and fillers as spaces, so that no word spans a filler."""
    return synonyms.rewrite(_clean(text), gap=" ")


class _Field:
    """A BM25 index of one view. Term weights are computed once here, so a query only adds."""

    def __init__(self, documents: list[list[str]]):
        count = len(documents)
        average = sum(map(len, documents)) / count if count else 0.0
        frequency = Counter(term for document in documents for term in set(document))
        self.unseen_weight = math.log(1 + (count + 0.5) / 0.5)  # a term no entry uses: the rarest there is
        self.postings: dict[str, dict[int, float]] = {}
        for number, document in enumerate(documents):
            norm = K1 * (1 - B + B * len(document) / average) if average else K1
            for term, tf in Counter(document).items():
                idf = math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
                self.postings.setdefault(term, {})[number] = idf * tf * (K1 + 1) / (tf + norm)
        self.best = {term: max(weights.values()) for term, weights in self.postings.items()}


class Index:
    """BM25 over the three views of each document; `rank` gives (document number, share) pairs."""

    def __init__(self, documents: list[list[str]], synonyms: Synonyms, mentions: list[str] = ()):
        """`documents`: for each document, its phrasings (each is tokenised on its own, so no
        character pair spans two phrasings). `mentions`: other text whose words the documents
        speak of without being ranked by them (the answers)."""
        self.synonyms = synonyms
        self.fields = {}
        views = [[terms(phrasing, synonyms) for phrasing in phrasings] for phrasings in documents]
        for name in FIELD_WEIGHTS:
            self.fields[name] = _Field([[term for view in document for term in view[name]] for document in views])
        dictionary_nouns()  # read now, at start-up, rather than on a resident's first question
        spoken = [_plain(text, synonyms) for text in [*mentions, *synonyms.everyday]]
        self.vocabulary = set(self.fields["word"].postings).union(*(tokenizer().cut_for_search(t) for t in spoken))

    def unknown_nouns(self, question: str) -> list[str]:
        """The question's nouns that no phrasing, mention or everyday word uses."""
        nouns = dictionary_nouns()
        words = tokenizer().cut(_plain(question, self.synonyms), HMM=False)
        return [word for word in words if word in nouns and word not in self.vocabulary]

    def rank(self, question: str, limit: int) -> list[tuple[int, float]]:
        if self.synonyms.is_off_topic(question):
            return []
        views = terms(question, self.synonyms)
        if len(views["char"]) < MIN_QUESTION_CHARS:
            return []
        # Sharing characters but no word with the handbook is coincidence ("张三", "99"): every dev
        # question shares at least one word with its entry.
        if not any(word in self.fields["word"].postings for word in views["word"]):
            return []
        scores: dict[int, float] = {}
        possible = 0.0
        for name, query_terms in views.items():
            field, weight = self.fields[name], FIELD_WEIGHTS[name]
            for term in set(query_terms):
                possible += weight * field.best.get(term, field.unseen_weight)
                for number, term_weight in field.postings.get(term, {}).items():
                    scores[number] = scores.get(number, 0.0) + weight * term_weight
        if not possible:
            return []
        best = heapq.nlargest(limit, scores.items(), key=lambda item: item[1])
        return [(number, score / possible) for number, score in best]
