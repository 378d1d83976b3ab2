"""Scoring a labelled set of residents' questions against the handbook, and printing its table.

Shared by the dev split (test_handbook_eval.py) and the held-out test split (test_handbook_heldout.py).
"""

import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from knowledge import handbook
from knowledge.normalize import normalize, strip_punctuation


def padded(name: str, width: int) -> str:
    """`name` left-aligned in `width` terminal columns (a Chinese character takes two)."""
    return name + " " * (width - sum(2 if ord(ch) > 0x2E80 else 1 for ch in name))


def is_traditional(text: str) -> bool:
    """Whether OpenCC changes the text (full-width punctuation alone does not count)."""
    return normalize(text) != unicodedata.normalize("NFKC", text).strip().lower()


def copied_from_handbook(book: handbook.Handbook, questions: list[str]) -> list[str]:
    """Questions that are one of the handbook's own phrasings (they would measure nothing)."""
    phrasings = {strip_punctuation(normalize(p)) for e in book.entries for p in (e.question, *e.alternatives)}
    return [q for q in questions if strip_punctuation(normalize(q)) in phrasings]


@dataclass
class Score:
    asked: int
    top1: int
    top3: int
    misses: list[str]

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.asked

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.asked


def score(book: handbook.Handbook, items: list[dict], category_of: dict[str, str], show_misses: bool = True) -> Score:
    """Rank every question, print the per-category table, and return the totals.

    `category_of` maps each expected id to its topic (an id the handbook lacks always misses).
    `show_misses=False` for a held-out split: its questions are never shown, even by a failing run.
    """
    tally = defaultdict(lambda: [0, 0, 0])  # category → [asked, top-1 right, top-3 right]
    misses = []
    for item in items:
        found = [entry.id for entry, _score in book.search(item["q"], limit=3)]
        row = tally[category_of[item["id"]]]
        row[0] += 1
        row[1] += found[:1] == [item["id"]]
        row[2] += item["id"] in found
        if found[:1] != [item["id"]]:
            misses.append(f"  {item['q']}  → {found} (expected {item['id']})")
    total = Score(*(sum(row[i] for row in tally.values()) for i in range(3)), misses)
    print(f"\n{padded('category', 20)}{'asked':>6}{'top-1':>8}{'top-3':>8}")
    for category in [c for c in book.categories if c in tally]:
        asked, top1, top3 = tally[category]
        print(f"{padded(category, 20)}{asked:>6}{top1 / asked:>8.0%}{top3 / asked:>8.0%}")
    print(f"{padded('all', 20)}{total.asked:>6}{total.top1_rate:>8.1%}{total.top3_rate:>8.1%}")
    print("not first:", *(misses if show_misses else [f"  {len(misses)} (held out: not shown)"]), sep="\n")
    return total
