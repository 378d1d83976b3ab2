"""What a citizen's free text asks for: a classifier trained at start-up on the utterance bank.

The bank (`knowledge/utterances/`, see its README) has a train split, four dev splits and held-out
test splits. The model learns from train only; the candidates were compared on the dev splits
together (`python -m knowledge.intents` prints the comparison) and the clarifying thresholds are
chosen by `choose_thresholds` on guesses cross-validated over train and dev (`thresholds.yaml`), so
nothing here is a hand-tuned weight. The test splits are
read only by the evaluation test.

The model is knowledge/textmodel.py's (character n-grams and jieba words, TF-IDF, a linear
classifier), kept as plain arrays (`Scorer`), cached in
var/cache/intents until the bank changes, and only read when predicting, so one model serves every
thread of a worker.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from knowledge import retrieval, textmodel
from knowledge.normalize import compact
from knowledge.textmodel import CANDIDATES, Classifier, Guess, Scorer

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
CHOSEN = "linear_svc"  # the lowest cost on the dev splits (`python -m knowledge.intents`, README)


def development(names: tuple[str, ...] = DEV_SPLITS) -> list[tuple[str, str]]:
    """The dev splits together (or the ones named): what the model and the thresholds are chosen on."""
    return [pair for name in names for pair in split(name)]


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
        scorer = Classifier(split("train"), CHOSEN).scorer
        scorer.save(path)
    return Model(scorer, load_thresholds())


def _fingerprint(*sources: Path) -> str:
    return textmodel.fingerprint(*(source.read_bytes() for source in (Path(__file__), *sources)))


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
