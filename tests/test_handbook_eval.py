"""How often residents' own wording finds the right handbook entry (tests/handbook_eval.yaml).

Run with -s to see the table per category.
"""

from collections import defaultdict
from pathlib import Path

import yaml

from knowledge import handbook
from knowledge.normalize import normalize, strip_punctuation

EVAL_PATH = Path(__file__).with_name("handbook_eval.yaml")
TOP1_TARGET = 0.90
TOP3_TARGET = 0.97


def padded(name: str, width: int) -> str:
    """`name` left-aligned in `width` terminal columns (a Chinese character takes two)."""
    return name + " " * (width - sum(2 if ord(ch) > 0x2E80 else 1 for ch in name))


def is_traditional(text: str) -> bool:
    return normalize(text) != text.lower()


def test_residents_questions_find_the_right_entry():
    book = handbook.load()
    questions = yaml.safe_load(EVAL_PATH.read_text(encoding="utf-8"))
    assert len(questions) >= 150
    assert sum(is_traditional(item["q"]) for item in questions) >= 30
    phrasings = {strip_punctuation(normalize(p)) for e in book.entries for p in (e.question, *e.alternatives)}
    copied = [item["q"] for item in questions if strip_punctuation(normalize(item["q"])) in phrasings]
    assert not copied, f"eval questions copied from the handbook: {copied}"

    tally = defaultdict(lambda: [0, 0, 0])  # category → [asked, top-1 right, top-3 right]
    misses = []
    for item in questions:
        expected = book.by_id[item["id"]]
        found = [entry.id for entry, _score in book.search(item["q"], limit=3)]
        row = tally[expected.category]
        row[0] += 1
        row[1] += found[:1] == [expected.id]
        row[2] += expected.id in found
        if found[:1] != [expected.id]:
            misses.append(f"  {item['q']}  → {found} (expected {expected.id})")

    total = [sum(row[i] for row in tally.values()) for i in range(3)]
    print(f"\n{padded('category', 20)}{'asked':>6}{'top-1':>8}{'top-3':>8}")
    for category in book.categories:
        asked, top1, top3 = tally[category]
        print(f"{padded(category, 20)}{asked:>6}{top1 / asked:>8.0%}{top3 / asked:>8.0%}")
    print(f"{padded('all', 20)}{total[0]:>6}{total[1] / total[0]:>8.1%}{total[2] / total[0]:>8.1%}")
    print("not first:", *misses, sep="\n")

    assert total[1] / total[0] >= TOP1_TARGET
    assert total[2] / total[0] >= TOP3_TARGET
