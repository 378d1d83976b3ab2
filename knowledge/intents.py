"""What a citizen's free text asks for: a classifier trained at start-up on the utterance bank.

The bank (`knowledge/utterances/`, see its README) has a train split, four dev splits and held-out
test splits. The model learns from train only; the candidates were compared on the dev splits
together (`python -m knowledge.intents` prints the comparison) and the clarifying thresholds are
chosen by `choose_thresholds` on guesses cross-validated over train and dev (`thresholds.yaml`), so
nothing here is a hand-tuned weight. The test splits are
read only by the evaluation test.

Features are character 1–3-grams (robust to typos, dialect and missing punctuation) plus jieba
words, both TF-IDF, over `model_text` (the `compact` form: Traditional → Simplified, no punctuation;
and each emoji one symbol). The fitted model is kept as plain arrays (`Scorer`), cached in
var/cache/intents until the bank changes, and only read when predicting, so one model serves every
thread of a worker.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import re
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from knowledge import retrieval
from knowledge.normalize import compact

BANK = Path(__file__).with_name("utterances")
CACHE_DIR = retrieval.JIEBA_CACHE_DIR.parent / "intents"  # var/cache/intents: the trained arrays
INTENTS = (
    "my_booking",
    "cancel_booking",
    "reschedule",
    "ceremony",
    "booking",
    "volunteer",
    "donation",
    "handbook",
    "greeting",
    "out_of_scope",
    "human",
)


class UtteranceDataError(ValueError):
    """The utterance bank is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Guess:
    intent: str
    confidence: float  # the model's probability for `intent`, 0–1
    runner_up: str
    runner_up_confidence: float

    @property
    def margin(self) -> float:
        return self.confidence - self.runner_up_confidence


def split(name: str) -> list[tuple[str, str]]:
    """(text, intent) pairs of one split: "train", a "dev*" or a held-out "test*" (the later ones by persona)."""
    path = BANK / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups = [persona["says"] for persona in raw["personas"]] if "personas" in raw else [raw]
    pairs = [(text, intent) for group in groups for intent, texts in group.items() for text in texts]
    for text, intent in pairs:
        if intent not in INTENTS:
            raise UtteranceDataError(f"{path.name}: unknown intent {intent!r}")
        if not isinstance(text, str) or not compact(text):
            raise UtteranceDataError(f"{path.name}: {intent}: {text!r} is not a sentence (quote it)")
    return pairs


DEV_SPLITS = ("dev", "dev2", "dev3", "dev4")  # model choice and thresholds; never trained on


def development(names: tuple[str, ...] = DEV_SPLITS) -> list[tuple[str, str]]:
    """The dev splits together (or the ones named): what the model and the thresholds are chosen on."""
    return [pair for name in names for pair in split(name)]


# An emoji reads as one symbol, so an emoji-only message the bank never saw ("🥰", "👋") still looks
# like the emoji it did see. A pictograph may carry a variation selector or a skin tone, and
# zero-width joiners make one emoji of several (👨‍👩‍👧).
_PICTOGRAPH = "[\u2600-\u27bf\U0001f000-\U0001faff][\ufe0f\U0001f3fb-\U0001f3ff]*"
_EMOJI_SEQUENCE = re.compile(f"{_PICTOGRAPH}(?:\u200d{_PICTOGRAPH})*")
EMOJI = "☺"


def model_text(text: str) -> str:
    """What the features are read from: the compact form with every emoji folded into `EMOJI`."""
    return _EMOJI_SEQUENCE.sub(EMOJI, compact(text))


def _words(text: str) -> list[str]:
    return retrieval.tokenizer().lcut(text)  # the handbook's tokenizer: jieba is initialised once


CHAR_NGRAMS = (1, 3)


def _features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    return make_union(
        TfidfVectorizer(analyzer="char", ngram_range=CHAR_NGRAMS, sublinear_tf=True),
        TfidfVectorizer(tokenizer=_words, token_pattern=None, lowercase=False, sublinear_tf=True),
    )


def _estimator(candidate: str):
    """A fresh, unfitted candidate; scikit-learn is imported only when something is trained."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import ComplementNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import LinearSVC

    return {
        "logistic_regression": lambda: LogisticRegression(max_iter=2000),
        "linear_svc": lambda: LinearSVC(random_state=0),  # liblinear shuffles: fixed, so every worker agrees
        "nearest_neighbours": lambda: KNeighborsClassifier(n_neighbors=5, metric="cosine", weights="distance"),
        "complement_nb": lambda: ComplementNB(),
        "logistic_regression_c10": lambda: LogisticRegression(C=10, max_iter=2000),
    }[candidate]()


# The candidates compared on the dev splits, each with its library defaults (LogisticRegression also at C=10).
CANDIDATES = ("logistic_regression", "linear_svc", "nearest_neighbours", "complement_nb", "logistic_regression_c10")
CHOSEN = "linear_svc"  # the lowest cost on the dev splits (`python -m knowledge.intents`, README)


TEXTS_KEPT = 4096  # guesses kept per model: a few hours of distinct messages, well under a megabyte


class Scorer:
    """A fitted linear model as plain arrays — what predicting needs, without scikit-learn.

    scikit-learn's own `predict` validates its input at every call (≈2 ms of CPU for one short
    message), and importing it costs about a second at start-up; so the fitted model is kept as
    each vectoriser's vocabulary and IDF plus the coefficients, and one message is scored with the
    same arithmetic (character n-grams and jieba words, sublinear TF × IDF, L2 per vectoriser, then
    `coef · x + intercept`). tests/test_nlu.py checks it gives scikit-learn's own answers.
    """

    def __init__(self, classes, vocabularies, idfs, coef, intercept):
        self.classes = [str(name) for name in classes]
        self._parts = [(self._chars, vocabularies[0], idfs[0]), (_words, vocabularies[1], idfs[1])]
        self._offsets = np.cumsum([0, len(vocabularies[0])])
        self._coef, self._intercept = np.asarray(coef), np.asarray(intercept)
        # Citizens send the same short texts again and again (你好, 预约, 谢谢, 取消预约): a text's guess
        # is kept, so a repeat costs a lookup instead of the features and the product.
        self._guesses = functools.lru_cache(maxsize=TEXTS_KEPT)(self._guess)

    @classmethod
    def of(cls, pipeline) -> Scorer:
        chars, words = (vectoriser for _, vectoriser in pipeline[0].transformer_list)
        estimator = pipeline[-1]
        vocabularies = (chars.vocabulary_, words.vocabulary_)
        return cls(pipeline.classes_, vocabularies, (chars.idf_, words.idf_), estimator.coef_, estimator.intercept_)

    def guesses(self, texts: list[str]) -> list[Guess]:
        return [self.guess(text) for text in texts]

    def guess(self, text: str) -> Guess:
        return self._guesses(text)

    def _guess(self, text: str) -> Guess:
        return _best_two(self.classes, self.probabilities(text))

    def probabilities(self, text: str) -> np.ndarray:
        """The model's probability for each of `classes`, in that order."""
        columns, weights = self._features(model_text(text))
        return _softmax(self._coef[:, columns] @ weights + self._intercept)

    @staticmethod
    def _chars(text: str) -> list[str]:
        """scikit-learn's "char" analyser: the lower-cased text's 1–3-character n-grams."""
        text = _WHITE_SPACES.sub(" ", text.lower())
        low, high = CHAR_NGRAMS
        return [text[i : i + n] for n in range(low, min(high, len(text)) + 1) for i in range(len(text) - n + 1)]

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        columns, weights = [], []
        for (analyse, vocabulary, idf), offset in zip(self._parts, self._offsets, strict=True):
            counts = Counter(term for term in analyse(text) if term in vocabulary)
            if not counts:
                continue
            found = np.fromiter((vocabulary[term] for term in counts), dtype=np.int64, count=len(counts))
            values = (1 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * idf[found]
            columns.append(found + offset)
            weights.append(values / np.linalg.norm(values))
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(columns), np.concatenate(weights)

    def save(self, path: Path) -> None:
        """Write the arrays to `path` atomically (several workers may start at once)."""
        terms = [sorted(vocabulary, key=vocabulary.get) for _, vocabulary, _ in self._parts]
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
            np.savez(
                handle,
                classes=np.array(self.classes),
                char_terms=np.array(terms[0]),
                word_terms=np.array(terms[1]),
                char_idf=self._parts[0][2],
                word_idf=self._parts[1][2],
                coef=self._coef,
                intercept=self._intercept,
            )
        os.replace(handle.name, path)

    @classmethod
    def load(cls, path: Path) -> Scorer:
        with np.load(path, allow_pickle=False) as saved:
            vocabularies = [{str(t): i for i, t in enumerate(saved[f"{kind}_terms"])} for kind in ("char", "word")]
            idfs = (saved["char_idf"], saved["word_idf"])
            return cls(saved["classes"], vocabularies, idfs, saved["coef"], saved["intercept"])


_WHITE_SPACES = re.compile(r"\s\s+")


class Classifier:
    """A candidate fitted with scikit-learn (training, the dev comparison and tests only)."""

    def __init__(self, examples: list[tuple[str, str]], candidate: str = CHOSEN):
        from sklearn.pipeline import make_pipeline

        texts, labels = zip(*examples, strict=True)
        self.pipeline = make_pipeline(_features(), _estimator(candidate))
        self.pipeline.fit([model_text(text) for text in texts], labels)
        self.classes = [str(name) for name in self.pipeline.classes_]
        self.scorer = Scorer.of(self.pipeline) if hasattr(self.pipeline[-1], "coef_") else None

    def guesses(self, texts: list[str]) -> list[Guess]:
        if self.scorer:
            return self.scorer.guesses(texts)
        rows = self.pipeline.predict_proba([model_text(text) for text in texts])
        return [_best_two(self.classes, row) for row in rows]


def _best_two(classes: list[str], row: np.ndarray) -> Guess:
    first, second = np.argsort(row)[::-1][:2]
    return Guess(classes[first], float(row[first]), classes[second], float(row[second]))


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Logistic regression's multinomial probabilities; for a linear SVM, its margins made comparable."""
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


# Small talk and out-of-scope requests are no service to pick, so a clarifying question never
# offers them: a guess with one of them among its best two is acted on even when unsure.
NEVER_OFFERED = ("greeting", "out_of_scope")


def offered(guess: Guess) -> bool:
    """Whether a clarifying question could offer both of the guess's best two intents."""
    return guess.intent not in NEVER_OFFERED and guess.runner_up not in NEVER_OFFERED


@dataclass(frozen=True)
class Thresholds:
    """Below `confidence`, or with the runner-up within `margin`, the chat asks instead of guessing."""

    confidence: float
    margin: float

    def unsure(self, confidence, margin):
        """For one guess's figures, or element-wise for arrays of them."""
        return (confidence < self.confidence) | (margin < self.margin)

    def asks_back(self, guess: Guess) -> bool:
        return offered(guess) and bool(self.unsure(guess.confidence, guess.margin))


WRONG_COSTS_QUESTIONS = 3  # a wrong answer (a booking cancelled, not looked up) costs like 3 questions asked back


def decision_cost(guesses: list[Guess], labels: list[str], thresholds: Thresholds) -> tuple[int, int]:
    """(wrong answers given, questions asked back) on labelled messages."""
    asked = [thresholds.asks_back(guess) for guess in guesses]
    wrong = sum(not a and g.intent != label for a, g, label in zip(asked, guesses, labels, strict=True))
    return wrong, asked.count(True)


def choose_thresholds(guesses: list[Guess], labels: list[str]) -> Thresholds:
    """The thresholds with the lowest cost (`WRONG_COSTS_QUESTIONS`) on these guesses; lowest on ties."""
    confidences = np.array([g.confidence for g in guesses])
    margins = np.array([g.margin for g in guesses])
    can_ask = np.array([offered(g) for g in guesses])
    right = np.array([g.intent == label for g, label in zip(guesses, labels, strict=True)])
    best, best_cost = Thresholds(0.0, 0.0), None
    for confidence in np.arange(0, 0.61, 0.01):
        for margin in np.arange(0, 0.31, 0.01):
            thresholds = Thresholds(round(float(confidence), 2), round(float(margin), 2))
            asked = can_ask & thresholds.unsure(confidences, margins)
            cost = WRONG_COSTS_QUESTIONS * int((~asked & ~right).sum()) + int(asked.sum())
            if best_cost is None or cost < best_cost:
                best, best_cost = thresholds, cost
    return best


FOLDS = 5
# Which fold a message falls in moves the chosen margin by up to 0.04 (seen on 2026-12-07), so the
# cross-validation is repeated with three shuffles and the thresholds chosen on all their guesses.
REPEATS = 3


def cross_validated_guesses(pairs: list[tuple[str, str]], candidate: str = CHOSEN) -> list[Guess]:
    """Each message guessed by models trained on the other folds, once per repeat (REPEATS guesses
    per message, in repeat order): how the model meets text it has never seen. The dev splits cannot
    show that any more: train grew with lines written against their errors, so their few remaining
    close calls are nearly all right, and thresholds chosen on them asked nothing back (0.00 / 0.00
    on 2026-12-04)."""
    guesses: list[Guess] = []
    for repeat in range(REPEATS):
        order = list(range(len(pairs)))
        random.Random(repeat).shuffle(order)
        this_repeat: list[Guess | None] = [None] * len(pairs)
        for fold in range(FOLDS):
            held = set(order[fold::FOLDS])
            classifier = Classifier([pair for i, pair in enumerate(pairs) if i not in held], candidate)
            kept = sorted(held)
            for i, guess in zip(kept, classifier.guesses([pairs[i][0] for i in kept]), strict=True):
                this_repeat[i] = guess
        guesses += this_repeat
    return guesses


@dataclass(frozen=True)
class Model:
    classifier: Scorer
    thresholds: Thresholds


_model: Model | None = None
_lock = threading.Lock()


def current() -> Model:
    """The model trained on the train split, with the thresholds of `thresholds.yaml`; built once per process.

    Training happens whenever the bank or this file changed since the arrays in var/cache/intents
    were written (their name is a hash of both, and of the scikit-learn version): the first start
    after an edit trains (≈0.1 s, plus ≈1 s importing scikit-learn), later starts just load.
    """
    global _model
    with _lock:
        if _model is None:
            _model = _load_or_train()
        return _model


def _load_or_train() -> Model:
    path = CACHE_DIR / f"model-{_fingerprint(BANK / 'train.yaml')}.npz"
    if path.exists():
        scorer = Scorer.load(path)
    else:
        scorer = Classifier(split("train")).scorer
        scorer.save(path)
    return Model(scorer, load_thresholds())


def _fingerprint(*sources: Path) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(version("scikit-learn").encode())
    for source in (Path(__file__), *sources):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


# The clarifying thresholds, chosen on cross-validated guesses over train and dev together (fifteen
# trainings, ~15 s: too slow for every start, so written to a file `make intents-thresholds`
# regenerates; a test fails when the bank changed and the file was not).
THRESHOLDS_FILE = BANK / "thresholds.yaml"


def _thresholds_fingerprint() -> str:
    return _fingerprint(BANK / "train.yaml", *(BANK / f"{name}.yaml" for name in DEV_SPLITS))


def write_thresholds() -> dict:
    pairs = split("train") + development()
    guesses = cross_validated_guesses(pairs)
    labels = [label for _, label in pairs] * REPEATS
    chosen = choose_thresholds(guesses, labels)
    wrong, asked = decision_cost(guesses, labels, chosen)
    never_asked, _ = decision_cost(guesses, labels, Thresholds(0.0, 0.0))
    record = {
        "fingerprint": _thresholds_fingerprint(),
        "confidence": chosen.confidence,
        "margin": chosen.margin,
        "chosen_on": {
            "messages": len(pairs),
            "folds": FOLDS,
            "repeats": REPEATS,
            "wrong": wrong,
            "asked": asked,
            "wrong_never_asking": never_asked,
        },
    }
    header = "# Written by `make intents-thresholds` (python -m knowledge.intents --write-thresholds); do not edit.\n"
    THRESHOLDS_FILE.write_text(header + yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    return record


def load_thresholds() -> Thresholds:
    record = yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    return Thresholds(record["confidence"], record["margin"])


def thresholds_are_current() -> bool:
    return yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8"))["fingerprint"] == _thresholds_fingerprint()


# The comparison's groups: dev + dev2 were tuned on for days, dev3 in the first round of 2026-12-04;
# dev4 (newer people still) shows what the older ones no longer can.
DEV_GROUPS = (("dev+dev2", ("dev", "dev2")), ("dev3", ("dev3",)), ("dev4", ("dev4",)))


@dataclass(frozen=True)
class DevResult:
    candidate: str
    top1: dict[str, float]  # per group of DEV_GROUPS: top-1 accuracy
    declined: dict[str, float]  # per group: share of out_of_scope messages guessed out_of_scope
    thresholds: Thresholds  # chosen on its guesses cross-validated over train and dev
    wrong: int  # on those guesses, at those thresholds
    asked: int


def compare_on_dev() -> list[DevResult]:
    """Each candidate trained on train and measured on each dev group; its thresholds and their
    cost from its cross-validated guesses over train and dev, as the served model's are chosen."""
    train = split("train")
    groups = {group: development(names) for group, names in DEV_GROUPS}
    everything = train + development()
    labels = [label for _, label in everything] * REPEATS
    results = []
    for name in CANDIDATES:
        classifier = Classifier(train, name)
        top1, declined = {}, {}
        for group, pairs in groups.items():
            outcomes = list(zip(classifier.guesses([t for t, _ in pairs]), [label for _, label in pairs], strict=True))
            top1[group] = sum(g.intent == label for g, label in outcomes) / len(pairs)
            # a clarifying question never offers out_of_scope, so the top-1 guess is what the chat does
            out = [g for g, label in outcomes if label == "out_of_scope"]
            declined[group] = sum(g.intent == "out_of_scope" for g in out) / len(out)
        guesses = cross_validated_guesses(everything, name)
        thresholds = choose_thresholds(guesses, labels)
        wrong, asked = decision_cost(guesses, labels, thresholds)
        results.append(DevResult(name, top1, declined, thresholds, wrong, asked))
    return results


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Compare the candidate intent classifiers on the dev splits.")
    parser.add_argument(
        "--write-thresholds",
        action="store_true",
        help=f"choose the clarifying thresholds, write {THRESHOLDS_FILE.name}",
    )
    if parser.parse_args().write_thresholds:
        print(write_thresholds())
        raise SystemExit
    sizes = ", ".join(f"{group} {len(development(names))}" for group, names in DEV_GROUPS)
    print(f"dev messages: {sizes}; cost = {WRONG_COSTS_QUESTIONS} × wrong + asked, on cross-validated guesses")
    width = 9 * len(DEV_GROUPS)
    print(f"{'':<24}{'top-1':^{width}}{'out of scope declined':^{width}}")
    print(
        f"{'candidate':<24}" + "".join(f"{group:>9}" for group, _ in DEV_GROUPS) * 2 + "  thresholds  wrong asked cost"
    )
    for result in compare_on_dev():
        groups = [group for group, _ in DEV_GROUPS]
        print(
            f"{result.candidate:<24}"
            + "".join(f"{result.top1[group]:>9.1%}" for group in groups)
            + "".join(f"{result.declined[group]:>9.1%}" for group in groups)
            + f"   {result.thresholds.confidence:.2f}/{result.thresholds.margin:.2f}"
            f"  {result.wrong:>5} {result.asked:>5} {WRONG_COSTS_QUESTIONS * result.wrong + result.asked:>4}"
        )
