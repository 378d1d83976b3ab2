"""Handbook search speed: start-up time, then queries/s and latency at 3 knowledge-base sizes.

Run: .venv/bin/python -m bench.faq
The queries are the evaluation questions (tests/handbook_eval.yaml), asked in turn. The larger
knowledge bases repeat the shipped entries under new ids, which keeps the vocabulary and makes
every posting list proportionally longer: the slow case for an inverted index.
"""

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import yaml

from knowledge import handbook, retrieval

EVAL_PATH = Path(__file__).resolve().parents[1] / "tests" / "handbook_eval.yaml"
QUERIES_PER_SIZE = 5000
TARGET_MS_AT_1000 = 1.0


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help, and nothing else
    started = time.perf_counter()
    retrieval.tokenizer()
    jieba_ready = time.perf_counter()
    shipped = handbook.load()
    loaded = time.perf_counter()
    print(
        f"start-up: {loaded - started:.2f} s (jieba {jieba_ready - started:.2f} s, "
        f"load + validate + index {len(shipped.entries)} entries {loaded - jieba_ready:.2f} s)"
    )

    questions = [item["q"] for item in yaml.safe_load(EVAL_PATH.read_text(encoding="utf-8"))]
    synonyms = handbook.load_synonyms()
    print(f"{'entries':>8}{'index s':>9}{'queries/s':>11}{'mean ms':>9}{'p50 ms':>8}{'p99 ms':>8}")
    for size in (len(shipped.entries), 1000, 5000):
        entries = [
            replace(entry, id=f"{entry.id}-{n // len(shipped.entries)}")
            for n, entry in zip(range(size), _cycle(shipped.entries), strict=False)
        ]
        building = time.perf_counter()
        book = handbook.Handbook(entries, list(shipped.categories), synonyms)
        built = time.perf_counter() - building
        latencies = []
        for n in range(QUERIES_PER_SIZE):
            asked = time.perf_counter()
            book.decide(questions[n % len(questions)])
            latencies.append((time.perf_counter() - asked) * 1000)
        latencies.sort()
        mean = statistics.fmean(latencies)
        print(
            f"{size:>8}{built:>9.2f}{1000 / mean:>11.0f}{mean:>9.3f}{latencies[len(latencies) // 2]:>8.3f}"
            f"{latencies[int(len(latencies) * 0.99)]:>8.3f}" + ("  ← target ≤ 1 ms" if size == 1000 else "")
        )


def _cycle(entries):
    while True:
        yield from entries


if __name__ == "__main__":
    main()
