"""The language stage's cost per message and at start-up (issue 12: ≤ 1 ms and ≤ 2 s).

Run: .venv/bin/python -m bench.nlu
Start-up is timed in fresh processes for each part: jieba (shared with the handbook, which pays
it anyway), importing scikit-learn, then training the intent classifier and choosing its
thresholds on dev; wall and CPU seconds (CPU is what other agents on a shared machine can't inflate). Per message,
the messages are the held-out test split and the dev split, each made distinct by a suffix so no
cache answers; timed for the classifier alone and for the whole stage (`nlu.understand`: rules,
classifier, and the date, office and ID-number parsers). The baseline in the same run is
scikit-learn's own `predict_proba`/`decision_function` on the same fitted pipeline, one message at a time.
"""

import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5
TARGET_MS, TARGET_START_S = 1.0, 2.0

_START_UP = """
import time
marks = [(time.perf_counter(), time.process_time())]
from knowledge import retrieval
retrieval.tokenizer()
marks.append((time.perf_counter(), time.process_time()))
from knowledge import intents
marks.append((time.perf_counter(), time.process_time()))
intents.current()
marks.append((time.perf_counter(), time.process_time()))
print(*(f"{b[0] - a[0]} {b[1] - a[1]}" for a, b in zip(marks, marks[1:])))
"""
PARTS = ("jieba", "import scikit-learn", "train + thresholds")
_MEMORY = """
import tracemalloc
from knowledge import retrieval
retrieval.tokenizer()
import sklearn.feature_extraction.text, sklearn.pipeline, sklearn.svm
tracemalloc.start()
from knowledge import intents
intents.current()
print(tracemalloc.get_traced_memory()[0])
"""


def model_memory_mb() -> float:
    """Memory the trained model keeps (Python allocations after training, libraries already imported)."""
    done = subprocess.run([sys.executable, "-c", _MEMORY], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(done.stdout) / 1e6


def start_up() -> list[tuple[float, float]]:
    """(wall s, CPU s) of each of PARTS in a fresh interpreter, as a gunicorn worker starts."""
    done = subprocess.run([sys.executable, "-c", _START_UP], cwd=ROOT, capture_output=True, text=True, check=True)
    numbers = list(map(float, done.stdout.split()))
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def per_message_ms(function, texts: list[str]) -> tuple[float, float, float]:
    """(mean wall, p99 wall, mean CPU) milliseconds of function(text) over texts."""
    latencies = []
    cpu_started = time.process_time()
    for text in texts:
        started = time.perf_counter()
        function(text)
        latencies.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(texts)
    latencies.sort()
    return statistics.fmean(latencies), latencies[int(len(latencies) * 0.99)], cpu_ms


def _verdict(measured: float, target: float) -> str:
    return "met" if measured <= target else "MISSED"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bot.chat import nlu
    from knowledge import intents
    from knowledge.normalize import compact

    runs = [start_up() for _ in range(3)]
    print("start-up, median of 3 fresh processes (wall s / CPU s; the machine is shared, CPU is the steadier):")
    for index, part in enumerate(PARTS):
        wall = statistics.median(run[index][0] for run in runs)
        cpu = statistics.median(run[index][1] for run in runs)
        print(f"  {part:<22}{wall:>6.2f} / {cpu:.2f}")
    model_wall = statistics.median(run[1][0] + run[2][0] for run in runs)
    model_cpu = statistics.median(run[1][1] + run[2][1] for run in runs)
    print(
        f"classifier start-up (import + train {len(intents.split('train'))} utterances + dev thresholds): "
        f"{model_wall:.2f} s wall, {model_cpu:.2f} s CPU — target ≤ {TARGET_START_S} s: "
        f"CPU {_verdict(model_cpu, TARGET_START_S)}, wall {_verdict(model_wall, TARGET_START_S)}"
    )
    print(f"memory the trained model keeps per worker: {model_memory_mb():.1f} MB")

    classifier = intents.current().classifier
    base = [text for text, _ in intents.split("test") + intents.split("dev")]
    texts = [f"{text}{n}" for n in range(ROUNDS) for text in base]  # distinct: no cache answers
    now = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    pipeline = classifier.pipeline
    rows = [
        ("scikit-learn predict (baseline)", lambda t: pipeline.decision_function([compact(t)])),
        ("classifier.guess", classifier.guess),
        ("nlu.understand (whole stage)", lambda t: nlu.understand(t, now)),
    ]
    print(f"{len(texts)} distinct messages each{'':<16}{'mean ms':>9}{'p99 ms':>9}{'CPU ms':>9}")
    measured = {}
    for name, function in rows:
        function(base[0])  # warm
        measured[name] = per_message_ms(function, texts)
        mean, p99, cpu = measured[name]
        print(f"{name:<44}{mean:>9.3f}{p99:>9.3f}{cpu:>9.3f}")
    mean, _, cpu = measured["classifier.guess"]
    baseline = measured["scikit-learn predict (baseline)"][2]
    print(f"prediction {mean:.3f} ms wall, {cpu:.3f} ms CPU per message ({baseline / cpu:.0f}× less CPU than baseline)")
    print(f"target ≤ {TARGET_MS} ms: CPU {_verdict(cpu, TARGET_MS)}, wall {_verdict(mean, TARGET_MS)}")


if __name__ == "__main__":
    main()
