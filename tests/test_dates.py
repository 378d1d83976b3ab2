"""Dates and times as citizens type them when booking; the evaluation set is tests/dates_eval.yaml."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from bot.bookings.dates import When, parse_when

EVAL = yaml.safe_load((Path(__file__).with_name("dates_eval.yaml")).read_text(encoding="utf-8"))
assert all(isinstance(case["text"], str) for case in EVAL["cases"]), "quote texts YAML reads as numbers or dates"
NOWS = {name: datetime.fromisoformat(str(moment)) for name, moment in EVAL["nows"].items()}


def expected(case: dict) -> When:
    return When(case.get("date"), case.get("half"), case.get("time"))


def test_every_expression_in_the_evaluation_set_is_understood():
    rows, wrong = [], 0
    for case in EVAL["cases"]:
        got = parse_when(case["text"], NOWS[case["now"]])
        ok = got == expected(case)
        wrong += not ok
        rows.append(f"{'ok ' if ok else 'BAD'} {case['now']:<8} {case['text']:<16} {got.date} {got.half} {got.time}")
    print("\n".join(rows))
    print(f"{len(rows) - wrong}/{len(rows)} understood")
    assert len(rows) >= 40
    assert wrong == 0, "\n".join(row for row in rows if row.startswith("BAD"))


@pytest.mark.parametrize("case", EVAL["cases"], ids=lambda case: f"{case['now']}:{case['text']}")
def test_expression(case):
    assert parse_when(case["text"], NOWS[case["now"]]) == expected(case)


def test_words_without_a_date_or_time_give_nothing():
    assert parse_when("我想预约结婚登记", NOWS["sat"]) == When()
    assert parse_when("", NOWS["sat"]) == When()


def test_the_parser_gives_the_same_answers_from_many_threads_at_once():
    cases = EVAL["cases"] * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda case: parse_when(case["text"], NOWS[case["now"]]), cases))
    assert results == [expected(case) for case in cases]


def test_the_date_is_a_plain_date():
    assert isinstance(parse_when("明天", NOWS["sat"]).date, date)
