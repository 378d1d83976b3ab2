"""The language stage's cost per message and at start-up (issue 12: ≤ 1 ms and ≤ 2 s).

Run: .venv/bin/python -m bench.nlu
Start-up is timed in fresh processes, cold (the first start after the utterance bank changed:
import scikit-learn, train, save the arrays) and warm (load the arrays); wall and CPU seconds
(CPU is what other agents on a shared machine can't inflate). Per message,
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
import sys, time
from knowledge import retrieval
retrieval.tokenizer()  # jieba: the handbook pays it at start-up anyway
from knowledge import intents
if sys.argv[1] == "cold":
    for old in intents.CACHE_DIR.glob("model-*.npz"):
        old.unlink()
started = (time.perf_counter(), time.process_time())
intents.current()
print(time.perf_counter() - started[0], time.process_time() - started[1], "sklearn" in sys.modules)
"""
_MEMORY = """
import tracemalloc
from knowledge import retrieval
retrieval.tokenizer()
from knowledge import intents
intents.current()  # once, so the arrays are cached
intents._model = None
tracemalloc.start()
intents.current()
print(tracemalloc.get_traced_memory()[0])
"""


def model_memory_mb() -> float:
    """Memory the model keeps per worker (Python allocations of a start that loads the cached arrays)."""
    done = subprocess.run([sys.executable, "-c", _MEMORY], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(done.stdout) / 1e6


def start_up(kind: str) -> tuple[float, float, bool]:
    """(wall s, CPU s, scikit-learn imported) of `intents.current()` in a fresh interpreter.

    "cold": the first start after the bank changed (import scikit-learn, train, save the arrays);
    "warm": every later start (load the arrays); both choose the thresholds on dev.
    """
    command = [sys.executable, "-c", _START_UP, kind]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    wall, cpu, imported = done.stdout.split()
    return float(wall), float(cpu), imported == "True"


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
    from knowledge import intents, textmodel
    from knowledge.normalize import compact

    print("start-up of the classifier, median of 3 fresh processes (jieba excluded: the handbook pays it):")
    for kind, what in (
        ("cold", "first start after an edit: import scikit-learn, train, save"),
        ("warm", "later starts: load"),
    ):
        runs = [start_up(kind) for _ in range(3)]
        wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(
            f"  {kind} ({what}): {wall:.2f} s wall, {cpu:.2f} s CPU, scikit-learn imported: {runs[0][2]}"
            f" — ≤ {TARGET_START_S} s: CPU {_verdict(cpu, TARGET_START_S)}, wall {_verdict(wall, TARGET_START_S)}"
        )
    print(f"memory the model keeps per worker: {model_memory_mb():.1f} MB; train split {len(intents.split('train'))}")

    classifier = intents.current().classifier
    pipeline = textmodel.Classifier(
        intents.split("train"), intents.CHOSEN
    ).pipeline  # the same model, as scikit-learn serves it
    base = [text for text, _ in intents.split("test") + intents.split("dev")]
    texts = [f"{text}{n}" for n in range(ROUNDS) for text in base]  # distinct: no cache answers
    now = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
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
