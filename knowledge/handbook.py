"""The prevention handbook: its data file's loader and validator, search, and the current copy.

`current()` is the handbook the bot answers from. It is loaded and validated on first use (the
app calls it at start-up so a broken file stops the start and jieba's ~0.6 s is paid then);
`reload()` swaps in a freshly loaded file and keeps the old one if the new one is broken.
"""

import datetime
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from knowledge import retrieval, textmodel
from knowledge.loading import InService
from knowledge.retrieval import Index, Synonyms

HANDBOOK_PATH = Path(__file__).with_name("handbook.yaml")
SYNONYMS_PATH = Path(__file__).with_name("synonyms.yaml")
QUESTIONS_PATH = Path(__file__).with_name("handbook_questions.yaml")  # the entry classifier's residents' questions

MAX_ANSWER_BYTES = 2048  # one WeChat text reply
MIN_ALTERNATIVES = 2

# Decision thresholds on the 0–1 score (share of the question matched), set on tests/handbook_eval.yaml.
ANSWER_SCORE = 0.4  # at or above: answer directly...
CLEAR_LEAD = 0.93  # ...unless the runner-up scores at least this fraction of the top: then ask which
FLOOR_SCORE = 0.25  # below: the handbook does not cover it
NAMED_TOPIC_SCORE = 0.4  # below, a question naming a thing the handbook never mentions is not covered
# A question not covered still names the entry nearest to it when that entry matches at least this
# share: long messages that tell a story before asking score low, and on the ninth dev batch (written
# blind, not tuned on) the nearest entry was the right one for 63 of the 78 questions turned away
# (65 at any share, 44 from 0.2).
NEAREST_SCORE = 0.1
MAX_SUGGESTIONS = 3
# The order of the entries is BM25's share plus this many times the probability a classifier gives
# each entry (textmodel's features: character n-grams and jieba words), trained on the entries' own
# phrasings and on residents' questions written for it (QUESTIONS_PATH). The share alone still
# decides whether the handbook covers a question. Chosen on dev, which the classifier never saw
# (README): weight 24 read top-1 96.6% on all of dev against 95.2% for BM25 alone (12, 32, 64:
# 95.5–96.3%), and 94.3% against 88.2% on the ninth batch, the one never tuned on.
CLASSIFIER_WEIGHT = 24.0
CACHE_DIR = retrieval.JIEBA_CACHE_DIR.parent / "handbook"  # var/cache/handbook: the trained arrays

ANSWER, SUGGESTIONS, NOT_COVERED = "answer", "suggestions", "not_covered"

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ENTRY_FIELDS = {"id", "category", "question", "alternatives", "answer", "source", "reviewed", "urgent"}


class HandbookError(ValueError):
    """The data file cannot be used; the message names the entry id and the field."""


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    question: str
    alternatives: tuple[str, ...]
    answer: str
    source: str  # the full citation, e.g. 国家卫生健康委《…》
    reviewed: datetime.date
    urgent: bool = False  # fever, cough, contact with a case: a list of guesses would cost most here


@dataclass(frozen=True)
class Decision:
    kind: str  # ANSWER, SUGGESTIONS or NOT_COVERED
    # ANSWER: the one entry; SUGGESTIONS: up to 3; NOT_COVERED: the nearest entry (NEAREST_SCORE), if any
    matches: tuple[tuple[Entry, float], ...]


QUESTIONS_KEPT = 4096  # decisions kept per handbook: a few hours of distinct questions


class Handbook:
    def __init__(
        self,
        entries: list[Entry],
        categories: list[str],
        synonyms: Synonyms,
        questions: dict[str, list[str]] | None = None,
    ):
        """`questions`: residents' questions per entry id, for the classifier only (never BM25's phrasings)."""
        questions = questions or {}
        self.entries = tuple(entries)
        self.categories = tuple(categories)
        self.by_id = {entry.id: entry for entry in entries}
        phrasings = [[entry.question, *entry.alternatives] for entry in entries]
        self._index = Index(phrasings, synonyms, [e.answer for e in entries])
        # One entry has nothing to be told apart from (a minimal file, a test): its order is BM25's.
        examples = [
            (text, entry.id)
            for entry, texts in zip(entries, phrasings, strict=True)
            for text in [*texts, *questions.get(entry.id, [])]
        ]
        self._classifier = _entry_classifier(entries, examples) if len(entries) > 1 else None
        self._related: dict[tuple[str, int], tuple[Entry, ...]] = {}
        # The same question comes again (from many residents, and twice in one message when the router
        # asks whether a digression is a question): its decision is kept for this handbook's life.
        self._decisions = functools.lru_cache(maxsize=QUESTIONS_KEPT)(self._decide)

    def search(self, question: str, limit: int = MAX_SUGGESTIONS) -> list[tuple[Entry, float]]:
        """The best-matching entries, best first, each with its 0–1 share of the question matched."""
        return [(self.entries[number], share) for number, share, _order in self._ranked(question)[:limit]]

    def _ranked(self, question: str) -> list[tuple[int, float, float]]:
        """(entry number, BM25 share, ordering score) of every entry BM25 matches, best first."""
        shares = self._index.rank(question, len(self.entries))
        if not shares:  # off-topic, too short or no word in common: nothing to order
            return []
        probability = self._classifier(question) if self._classifier else np.zeros(len(self.entries))
        scored = [(number, share, share + CLASSIFIER_WEIGHT * probability[number]) for number, share in shares]
        return sorted(scored, key=lambda match: match[2], reverse=True)

    def decide(self, question: str) -> Decision:
        return self._decisions(question)

    def _decide(self, question: str) -> Decision:
        ranked = self._ranked(question)
        best_share = max((share for _number, share, _order in ranked), default=0.0)
        nearest = ((self.entries[ranked[0][0]], ranked[0][1]),) if best_share >= NEAREST_SCORE else ()
        if best_share < FLOOR_SCORE:
            return Decision(NOT_COVERED, nearest)
        first, share, order = ranked[0]
        # A near miss ("狗狗要打什么疫苗", "隔离期间驾照过期了") matches the handbook's everyday words
        # and names something it never speaks of. An urgent entry is answered all the same: a fever
        # question with an odd word in it must still get the fever answer.
        urgent = self.entries[first].urgent
        if best_share < NAMED_TOPIC_SCORE and not urgent and self._index.unknown_nouns(question):
            return Decision(NOT_COVERED, nearest)
        runner_up = ranked[1][2] if len(ranked) > 1 else 0.0
        if urgent or (share >= ANSWER_SCORE and runner_up < CLEAR_LEAD * order):
            return Decision(ANSWER, ((self.entries[first], share),))
        # Suggest only the entries in the same league as the best one.
        shown = ranked[:MAX_SUGGESTIONS]
        return Decision(SUGGESTIONS, tuple((self.entries[n], s) for n, s, o in shown if o >= order / 2))

    def in_category(self, category: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.category == category]

    def related(self, entry: Entry, limit: int = 2) -> list[Entry]:
        """Other entries a reader of `entry` is likely to want next: the nearest by its own question."""
        # The same for every reader of the entry, and ranking costs more than answering: kept per
        # entry for this handbook's life (a reload builds a new Handbook).
        key = (entry.id, limit)
        if key not in self._related:
            nearest = self.search(entry.question, limit + 1)
            self._related[key] = tuple(other for other, _score in nearest if other.id != entry.id)[:limit]
        return list(self._related[key])


def _entry_classifier(entries: list[Entry], examples: list[tuple[str, str]]):
    """A question's probability for each entry (in the handbook's order), from a classifier trained
    on the (text, entry id) examples. Its arrays are cached in CACHE_DIR under a hash of the examples,
    so a start with an unchanged handbook only loads them (no scikit-learn)."""
    path = CACHE_DIR / f"model-{textmodel.fingerprint(repr(examples).encode())}.npz"
    if path.exists():
        scorer = textmodel.Scorer.load(path)
    else:
        scorer = textmodel.Classifier(examples, "linear_svc").scorer
        scorer.save(path)
    column_of = {entry_id: number for number, entry_id in enumerate(scorer.classes)}
    columns = np.array([column_of[entry.id] for entry in entries])
    return lambda question: scorer.probabilities(question)[columns]


def load(
    path: Path | str = HANDBOOK_PATH,
    synonyms_path: Path | str = SYNONYMS_PATH,
    questions_path: Path | str = QUESTIONS_PATH,
) -> Handbook:
    """Read, validate and index the handbook. Raises HandbookError naming what is wrong."""
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise HandbookError(f"{path}: expected a mapping with categories, sources and entries")
    categories = data.get("categories")
    sources = data.get("sources")
    raw_entries = data.get("entries")
    if not isinstance(categories, list) or not categories or not all(isinstance(c, str) and c for c in categories):
        raise HandbookError(f"{path}: 'categories' must be a non-empty list of names")
    if not isinstance(sources, dict) or not sources:
        raise HandbookError(f"{path}: 'sources' must map short keys to citations")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise HandbookError(f"{path}: 'entries' must be a non-empty list")
    entries, seen = [], set()
    for position, raw in enumerate(raw_entries, 1):
        entry = _entry(raw, position, categories, sources)
        if entry.id in seen:
            raise HandbookError(f"entry {entry.id}: id: duplicate id")
        seen.add(entry.id)
        entries.append(entry)
    empty = [category for category in categories if not any(e.category == category for e in entries)]
    if empty:
        raise HandbookError(f"{path}: categories without entries: {'、'.join(empty)}")
    return Handbook(entries, categories, load_synonyms(synonyms_path), load_questions(questions_path))


def load_questions(path: Path | str = QUESTIONS_PATH) -> dict[str, list[str]]:
    """Residents' questions per entry id. Questions of an id the handbook lacks are not used (an entry
    removed keeps its questions here until an editor removes them too)."""
    data = _read_yaml(path)
    if not isinstance(data, dict) or not all(
        isinstance(texts, list) and all(isinstance(t, str) and t.strip() for t in texts) for texts in data.values()
    ):
        raise HandbookError(f"{path}: expected each entry id to map to a list of questions")
    return data


def load_synonyms(path: Path | str = SYNONYMS_PATH) -> Synonyms:
    data = _read_yaml(path)
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise HandbookError(f"{path}: expected 'groups', a list of word lists")
    owner: dict[str, int] = {}
    for number, group in enumerate(groups, 1):
        if not isinstance(group, list) or len(group) < 2 or not all(isinstance(w, str) and w.strip() for w in group):
            raise HandbookError(f"{path}: group {number}: needs at least two non-empty words")
        for word in group:
            if word in owner and owner[word] != number:
                raise HandbookError(f"{path}: '{word}' is in groups {owner[word]} and {number}")
            owner[word] = number
    fillers = data.get("fillers") or []
    if not isinstance(fillers, list) or not all(isinstance(w, str) and w.strip() for w in fillers):
        raise HandbookError(f"{path}: 'fillers' must be a list of words")
    clash = next((word for word in fillers if word in owner), None)
    if clash:
        raise HandbookError(f"{path}: '{clash}' is both a filler and in synonym group {owner[clash]}")
    off_topic = data.get("off_topic") or []
    if not isinstance(off_topic, list) or not all(isinstance(w, str) and w.strip() for w in off_topic):
        raise HandbookError(f"{path}: 'off_topic' must be a list of words")
    clash = next((word for word in off_topic if word in owner), None)
    if clash:
        raise HandbookError(f"{path}: '{clash}' is both off-topic and in synonym group {owner[clash]}")
    everyday = data.get("everyday") or []
    if not isinstance(everyday, list) or not all(isinstance(w, str) and w.strip() for w in everyday):
        raise HandbookError(f"{path}: 'everyday' must be a list of words")
    return Synonyms(groups, fillers, off_topic, everyday)


def _read_yaml(path: Path | str):
    try:
        with open(path, encoding="utf-8") as file:
            return yaml.safe_load(file)
    except OSError as error:
        raise HandbookError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise HandbookError(f"{path}: not valid YAML: {error}") from None


def _entry(raw, position: int, categories: list[str], sources: dict) -> Entry:
    if not isinstance(raw, dict):
        raise HandbookError(f"entry #{position}: expected a mapping of fields")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise HandbookError(f"entry #{position}: id: must be lowercase letters, digits and '-', got {entry_id!r}")

    def fail(field: str, problem: str):
        raise HandbookError(f"entry {entry_id}: {field}: {problem}")

    unknown = set(raw) - _ENTRY_FIELDS
    if unknown:
        fail(sorted(unknown)[0], "unknown field (typo?)")
    for field in ("category", "question", "answer", "source"):
        if not isinstance(raw.get(field), str) or not raw[field].strip():
            fail(field, "missing or empty")
    alternatives = raw.get("alternatives")
    if not isinstance(alternatives, list) or not all(isinstance(a, str) and a.strip() for a in alternatives):
        fail("alternatives", "must be a list of phrasings")
    if len(alternatives) < MIN_ALTERNATIVES:
        fail("alternatives", f"needs at least {MIN_ALTERNATIVES} other phrasings")
    answer = raw["answer"].strip()
    size = len(answer.encode("utf-8"))
    if size > MAX_ANSWER_BYTES:
        fail("answer", f"{size} bytes, more than the {MAX_ANSWER_BYTES} a reply can hold")
    if raw["category"] not in categories:
        fail("category", f"'{raw['category']}' is not one of the listed categories")
    if raw["source"] not in sources:
        fail("source", f"'{raw['source']}' is not a key of 'sources'")
    reviewed = raw.get("reviewed")
    if not isinstance(reviewed, datetime.date):
        fail("reviewed", "must be a date like 2020-02-10")
    if not isinstance(raw.get("urgent", False), bool):
        fail("urgent", "must be true or false")
    return Entry(
        id=entry_id,
        category=raw["category"],
        question=raw["question"].strip(),
        alternatives=tuple(a.strip() for a in alternatives),
        answer=answer,
        source=sources[raw["source"]],
        reviewed=reviewed,
        urgent=raw.get("urgent", False),
    )


_in_service = InService(load)
current = _in_service.current  # the handbook in service (loaded from knowledge/handbook.yaml on first use)


def reload(path: Path | str | None = None) -> tuple[bool, str]:
    """Load `path` (default: the shipped file) and put it in service; on any error keep the old one."""
    try:
        fresh = _in_service.reload(path or HANDBOOK_PATH)
    except HandbookError as error:
        return False, f"未更新，仍使用原问答库：{error}"
    return True, f"问答库已更新：{len(fresh.entries)} 条，{len(fresh.categories)} 个分类"
