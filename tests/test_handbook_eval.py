"""How often residents' own wording finds the right handbook entry: the DEV split
(tests/handbook_eval.yaml), the set thresholds, weights, synonyms and alternatives are tuned on.
The held-out figures are test_handbook_heldout.py's.

Run with -s to see the table per category.
"""

from pathlib import Path

import yaml

from knowledge import handbook
from tests.handbook_eval_table import copied_from_handbook, is_traditional, score

EVAL_PATH = Path(__file__).with_name("handbook_eval.yaml")
TOP1_TARGET = 0.95
TOP3_TARGET = 0.99
# Batches 1–6 alone read 97.5% declined; batches 7–8 (2026-12-04) are near misses written to find
# failures (insurance claims, exams, pets, vaccines abroad), and the whole file reads 94.7%.
DECLINED_TARGET = 0.94
# Residents' dev questions answered or offered suggestions, not declined; and fever, cough, contact
# answered outright by the right entry. Batch 9 (2026-12-07: long messages telling circumstances
# before the question) took them from 98.3% and 95% to 93.8% and 92.9%. A round that raised them
# on dev (scoring each clause, word families; 98.1%, 95.9%) did not carry over to the held-out split
# (measured once: top-1 85.9 → 85.6%, top-3 94.8 → 95.2%, declined 90.7 → 86.0%), so it was not
# landed and these floors are the dev level without it.
NOT_TURNED_AWAY_TARGET = 0.93
URGENT_DIRECT_TARGET = 0.92
OUT_OF_SCOPE_PATH = Path(__file__).with_name("handbook_eval_out_of_scope.yaml")


def test_residents_questions_find_the_right_entry():
    book = handbook.load()
    questions = yaml.safe_load(EVAL_PATH.read_text(encoding="utf-8"))
    assert len(questions) >= 150
    assert sum(is_traditional(item["q"]) for item in questions) >= 30
    copied = copied_from_handbook(book, [item["q"] for item in questions])
    assert not copied, f"eval questions copied from the handbook: {copied}"

    total = score(book, questions, {entry.id: entry.category for entry in book.entries})

    assert total.top1_rate >= TOP1_TARGET
    assert total.top3_rate >= TOP3_TARGET


def test_dev_requests_outside_the_handbook_are_declined():
    book = handbook.load()
    requests = yaml.safe_load(OUT_OF_SCOPE_PATH.read_text(encoding="utf-8"))
    answered = [q for q in requests if book.decide(q).kind != handbook.NOT_COVERED]
    print(f"\ndev out of scope: {len(requests)} asked, declined {1 - len(answered) / len(requests):.1%}", *answered)
    assert 1 - len(answered) / len(requests) >= DECLINED_TARGET


def test_dev_questions_are_not_turned_away_as_not_covered():
    """The "not covered" rules (the floor, a named thing the handbook never mentions) must not
    decline the residents' own questions while they catch the near misses."""
    book = handbook.load()
    questions = yaml.safe_load(EVAL_PATH.read_text(encoding="utf-8"))
    declined = [item["q"] for item in questions if book.decide(item["q"]).kind == handbook.NOT_COVERED]
    kept = 1 - len(declined) / len(questions)
    print(f"\ndev questions: {len(questions)} asked, not declined {kept:.1%}", *declined)
    assert kept >= NOT_TURNED_AWAY_TARGET


def test_dev_fever_cough_and_contact_questions_get_their_answer_outright():
    """Where a list of guesses costs most (urgent entries), the resident gets the right answer at
    once, with its "seek care when …", not suggestions or "not covered"."""
    book = handbook.load()
    questions = yaml.safe_load(EVAL_PATH.read_text(encoding="utf-8"))
    urgent = [item for item in questions if book.by_id[item["id"]].urgent]
    direct = [item for item in urgent if _answered_by(book, item)]
    missed = [item["q"] for item in urgent if item not in direct]
    print(f"\ndev urgent questions: {len(urgent)} asked, answered outright {len(direct) / len(urgent):.1%}", *missed)
    assert len(direct) / len(urgent) >= URGENT_DIRECT_TARGET


def _answered_by(book: handbook.Handbook, item: dict) -> bool:
    decision = book.decide(item["q"])
    return decision.kind == handbook.ANSWER and decision.matches[0][0].id == item["id"]
