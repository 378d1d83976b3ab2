"""What a citizen's free text asks for: a classifier trained at start-up on the utterance bank.

The bank (`knowledge/utterances/`, see its README) has a train, a dev and a held-out test split.
The model learns from train only; the candidates were compared on dev (`python -m knowledge.intents`
prints the comparison) and the clarifying thresholds are chosen on dev by `choose_thresholds`, so
nothing here is a hand-tuned weight. The test split is read only by the evaluation test.

Features are character 1–3-grams (robust to typos, dialect and missing punctuation) plus jieba
words, both TF-IDF, over the `compact` form (Traditional → Simplified, no punctuation). A fitted
scikit-learn pipeline is only read when predicting, so one model serves every thread of a worker.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from knowledge import retrieval
from knowledge.normalize import compact

BANK = Path(__file__).with_name("utterances")
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
    """(text, intent) pairs of one split: "train", "dev", or a held-out "test"/"test2" (grouped by persona)."""
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


def _words(text: str) -> list[str]:
    return retrieval.tokenizer().lcut(text)  # the handbook's tokenizer: jieba is initialised once


def _features():
    return make_union(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        TfidfVectorizer(tokenizer=_words, token_pattern=None, lowercase=False, sublinear_tf=True),
    )


# The candidates compared on dev. Each is a scikit-learn estimator with its library defaults.
CANDIDATES = {
    "logistic_regression": lambda: LogisticRegression(max_iter=2000),
    "linear_svc": lambda: LinearSVC(random_state=0),  # liblinear shuffles: fixed, so every worker agrees
    "nearest_neighbours": lambda: KNeighborsClassifier(n_neighbors=5, metric="cosine", weights="distance"),
    "complement_nb": lambda: ComplementNB(),
    "logistic_regression_c10": lambda: LogisticRegression(C=10, max_iter=2000),
}
CHOSEN = "linear_svc"  # the lowest cost on dev (`python -m knowledge.intents`); README "Understanding messages"


class Classifier:
    """A candidate fitted on labelled examples; `guess` scores one message in well under 1 ms.

    scikit-learn's own `predict` validates its input at every call (several ms for one short
    message), so a fitted linear model is also kept as plain arrays — each vectoriser's vocabulary
    and IDF, the coefficients — and one message is scored from them with the same arithmetic
    (sublinear TF × IDF, L2 per vectoriser, then `coef · x + intercept`). A test checks both agree.
    """

    def __init__(self, examples: list[tuple[str, str]], candidate: str = CHOSEN):
        texts, labels = zip(*examples, strict=True)
        self.pipeline = make_pipeline(_features(), CANDIDATES[candidate]())
        self.pipeline.fit([compact(text) for text in texts], labels)
        self._classes = [str(name) for name in self.pipeline.classes_]
        estimator = self.pipeline[-1]
        self._linear = hasattr(estimator, "coef_")
        if self._linear:
            vectorisers = [vectoriser for _, vectoriser in self.pipeline[0].transformer_list]
            self._vectorisers = [(v.build_analyzer(), v.vocabulary_, v.idf_) for v in vectorisers]
            self._offsets = np.cumsum([0] + [len(vocabulary) for _, vocabulary, _ in self._vectorisers])
            self._coef, self._intercept = np.asarray(estimator.coef_), np.asarray(estimator.intercept_)

    def guesses(self, texts: list[str]) -> list[Guess]:
        return [self.guess(text) for text in texts]

    def guess(self, text: str) -> Guess:
        return self._guess(self.probabilities(text))

    def probabilities(self, text: str) -> np.ndarray:
        """The model's probability for each of `classes`, in that order."""
        text = compact(text)
        if not self._linear:
            return self.pipeline.predict_proba([text])[0]
        columns, weights = self._features(text)
        return _softmax(self._coef[:, columns] @ weights + self._intercept)

    @property
    def classes(self) -> list[str]:
        return self._classes

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        columns, weights = [], []
        for (analyse, vocabulary, idf), offset in zip(self._vectorisers, self._offsets, strict=False):
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

    def _guess(self, row: np.ndarray) -> Guess:
        first, second = np.argsort(row)[::-1][:2]
        return Guess(self._classes[first], float(row[first]), self._classes[second], float(row[second]))


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Logistic regression's multinomial probabilities; for a linear SVM, its margins made comparable."""
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


@dataclass(frozen=True)
class Thresholds:
    """Below `confidence`, or with the runner-up within `margin`, the chat asks instead of guessing."""

    confidence: float
    margin: float

    def sure(self, guess: Guess) -> bool:
        return guess.confidence >= self.confidence and guess.margin >= self.margin


WRONG_COSTS_QUESTIONS = 3  # a wrong answer (a booking cancelled, not looked up) costs like 3 questions asked back


def decision_cost(guesses: list[Guess], labels: list[str], thresholds: Thresholds) -> tuple[int, int]:
    """(wrong answers given, questions asked back) on labelled messages."""
    sure = [thresholds.sure(guess) for guess in guesses]
    wrong = sum(s and g.intent != label for s, g, label in zip(sure, guesses, labels, strict=True))
    return wrong, sure.count(False)


def choose_thresholds(guesses: list[Guess], labels: list[str]) -> Thresholds:
    """The thresholds with the lowest cost on dev (`WRONG_COSTS_QUESTIONS`); lowest thresholds on ties."""
    confidences = np.array([g.confidence for g in guesses])
    margins = np.array([g.margin for g in guesses])
    right = np.array([g.intent == label for g, label in zip(guesses, labels, strict=True)])
    best, best_cost = Thresholds(0.0, 0.0), None
    for confidence in np.arange(0, 0.61, 0.01):
        for margin in np.arange(0, 0.31, 0.01):
            sure = (confidences >= confidence) & (margins >= margin)
            cost = WRONG_COSTS_QUESTIONS * int((sure & ~right).sum()) + int((~sure).sum())
            if best_cost is None or cost < best_cost:
                best, best_cost = Thresholds(round(float(confidence), 2), round(float(margin), 2)), cost
    return best


@dataclass(frozen=True)
class Model:
    classifier: Classifier
    thresholds: Thresholds


_model: Model | None = None
_lock = threading.Lock()


def current() -> Model:
    """The model trained on the train split, with thresholds chosen on dev; built once per process."""
    global _model
    with _lock:
        if _model is None:
            classifier = Classifier(split("train"))
            dev = split("dev")
            thresholds = choose_thresholds(classifier.guesses([t for t, _ in dev]), [i for _, i in dev])
            _model = Model(classifier, thresholds)
        return _model


def compare_on_dev() -> list[tuple[str, float, Thresholds, tuple[int, int]]]:
    """Each candidate trained on train: dev top-1 accuracy, its dev thresholds, (wrong, asked) there."""
    train, dev = split("train"), split("dev")
    texts, labels = [t for t, _ in dev], [i for _, i in dev]
    results = []
    for name in CANDIDATES:
        guesses = Classifier(train, name).guesses(texts)
        accuracy = sum(g.intent == label for g, label in zip(guesses, labels, strict=True)) / len(dev)
        thresholds = choose_thresholds(guesses, labels)
        results.append((name, accuracy, thresholds, decision_cost(guesses, labels, thresholds)))
    return results


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description="Compare the candidate intent classifiers on the dev split.").parse_args()
    print(f"dev: {len(split('dev'))} messages; cost = {WRONG_COSTS_QUESTIONS} × wrong + asked")
    for name, accuracy, thresholds, (wrong, asked) in compare_on_dev():
        print(
            f"{name:<20} top-1 {accuracy:6.1%}   thresholds {thresholds.confidence:.2f}/{thresholds.margin:.2f}"
            f"   wrong {wrong:>2}  asked {asked:>2}  cost {WRONG_COSTS_QUESTIONS * wrong + asked}"
        )
