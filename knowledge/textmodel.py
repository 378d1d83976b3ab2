"""A linear classifier of short Chinese texts, trained with scikit-learn and served as plain arrays.

Used for the intents of free text (knowledge/intents.py) and for ranking the handbook's entries
(knowledge/handbook.py). Features are character 1–3-grams (robust to typos, dialect and missing
punctuation) plus jieba words, both TF-IDF, over `model_text` (the `compact` form: Traditional →
Simplified, no punctuation; and each emoji one symbol).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge import retrieval
from knowledge.normalize import compact


@dataclass(frozen=True)
class Guess:
    intent: str
    confidence: float  # the model's probability for `intent`, 0–1
    runner_up: str
    runner_up_confidence: float

    @property
    def margin(self) -> float:
        return self.confidence - self.runner_up_confidence


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


# The candidates compared on dev (intents: `python -m knowledge.intents`), each with its library defaults
# (LogisticRegression also at C=10).
CANDIDATES = ("logistic_regression", "linear_svc", "nearest_neighbours", "complement_nb", "logistic_regression_c10")


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

    def __init__(self, examples: list[tuple[str, str]], candidate: str):
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


def fingerprint(*parts: bytes) -> str:
    """A hash of what a model was trained from, this file and the scikit-learn version: a cached
    model's name, so an edit to any of them trains again."""
    from importlib.metadata import version

    digest = hashlib.sha256(version("scikit-learn").encode() + Path(__file__).read_bytes())
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:16]
