"""Booking under load (issue 3): Tongzhou's POST /api/v1/bookings under gunicorn against real Redis.

    python bench/booking.py [--workers 2] [--attempts 1000] [--capacity 5] [--connections 32] [--seconds 10] [--quick]

1. Contention: `--attempts` distinct, valid couples ask for the same slot at the same moment (one
   connection each, all opened at once). The slot is 09:00 at 长沙市芙蓉区 on the first open day of
   the booking window, given `--capacity` places the way staff would: a peak-capacity override
   (bot.bookings.closures.set_peak) on that day. Prints confirmed (must equal the capacity), slot_full, other
   answers, attempts/s and latency, then checks the count in Redis.
2. Steady load: wrk sends a new couple with every request, spread over every slot of every office
   on every open day of the window (bench/booking.lua), for `--seconds`. Prints req/s, bookings/s,
   p50/p99 and, measured in the same run with the same requests, a bare Flask app answering
   `success`, and the ratio. Target: ≥ 800 bookings/s on 2 workers.

The channel is "phone" with the staff token (ADMIN_TOKEN), so the web channel's per-address limit
(10/min) does not turn the load into 429s; phone bookings skip only the no-show suspension check.
Needs `wrk` (Debian package) and Redis: REDIS_URL, default redis://127.0.0.1:6379/13, which is flushed.
"""

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime

from harness import (
    ADMIN_TOKEN,
    Answer,
    allow_many_sockets,
    couple,
    flush,
    gunicorn,
    open_days,
    percentile,
    redis_url,
    request,
    wrk,
    wrk_line,
)

from bot import store
from bot.bookings import closures, engine, slots
from bot.bookings.slots import BookingRules
from bot.config import Config
from knowledge import offices

CONTENDED_OFFICE = "changsha-furong"
STEADY_FIRST_COUPLE = 2_500_000  # 0.. race for the contended slot, 100,000.. warm up; < 5,000,000 stay adults
WARM_UP_FIRST_COUPLE = 100_000
TARGET_BOOKINGS_PER_SECOND = 800


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--capacity", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a short smoke run: 200 attempts, 3 s of load")
    args = parser.parse_args()
    if args.quick:
        args.attempts, args.seconds = min(args.attempts, 200), min(args.seconds, 3)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    allow_many_sockets(args.attempts + 256)

    url = redis_url()
    flush(url)
    store.connect(url)
    now = datetime.now(Config.from_env().tz)
    rules = BookingRules.from_config(Config.from_env())
    days = open_days(now, rules)
    if not days:
        raise SystemExit("no open day in the booking window")
    env = {"REDIS_URL": url, "ADMIN_TOKEN": ADMIN_TOKEN, "WECHAT_TOKEN": "bench-token"}
    print(f"gunicorn -w {args.workers}, Redis {url}, {len(days)} open days from {days[0]} to {days[-1]}", flush=True)

    with gunicorn("app:app", args.workers, env) as ours:
        contention(ours, days[0], now, rules, args)
        flush(url)
        with places_file(days) as (path, count):
            print(f"\nsteady load: wrk -c{args.connections}, {args.seconds} s, {count} places", flush=True)
            lua_env = {"BENCH_PLACES_FILE": path, "ADMIN_TOKEN": ADMIN_TOKEN}
            steady(ours.url, args, {**lua_env, "BENCH_FIRST_COUPLE": str(WARM_UP_FIRST_COUPLE)}, seconds=2)
            flush(url)
            ours_result = steady(ours.url, args, {**lua_env, "BENCH_FIRST_COUPLE": str(STEADY_FIRST_COUPLE)})
            booked = store.client().zcard(engine.KEYS["upcoming"])
            with gunicorn("bench.bare_app:app", args.workers, {}) as bare:
                steady(bare.url, args, lua_env, seconds=2)
                bare_result = steady(bare.url, args, lua_env)

    per_second = booked / args.seconds
    met = "met" if per_second >= TARGET_BOOKINGS_PER_SECOND else "MISSED"
    print(wrk_line("bare Flask (success)", bare_result))
    print(wrk_line("Tongzhou POST /bookings", ours_result))
    print(
        f"bookings confirmed {booked} = {per_second:.0f} bookings/s "
        f"(target ≥ {TARGET_BOOKINGS_PER_SECOND} on 2 workers: {met}); "
        f"non-201 answers {ours_result['non2xx']}"
    )
    print(f"ratio ours/bare: {ours_result['rps'] / bare_result['rps']:.2f}x")


def contention(server, day, now: datetime, rules: BookingRules, args) -> None:
    office = offices.current().get(CONTENDED_OFFICE)
    hhmm = slots.slot_times(office)[0]
    closures.set_peak(day, args.capacity, "基准测试")
    slot = engine.availability(office, day, now=now, rules=rules).slot(hhmm)
    if slot is None or slot.capacity != args.capacity:
        raise SystemExit(f"{office.name} {day} {hhmm} is not bookable with capacity {args.capacity}: {slot}")
    host, port = server.host_port

    def attempt(n: int, place_day=day, place_time=hhmm):
        body = {"channel": "phone", "office_id": office.id, "date": place_day.isoformat(), "time": place_time}
        body["applicants"] = couple(n)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"}
        return request(host, port, "POST", "/api/v1/bookings", json.dumps(body, ensure_ascii=False).encode(), headers)

    async def race() -> tuple[list[Answer], float]:
        # Warm each worker first (lazy imports, script registration) on another slot, then race.
        await asyncio.gather(*(attempt(n, place_time=slots.slot_times(office)[1]) for n in range(8)))
        started = time.perf_counter()
        answers = await asyncio.gather(*(attempt(n) for n in range(8, 8 + args.attempts)))
        return answers, time.perf_counter() - started

    print(f"\ncontention: {args.attempts} couples at once for {office.name} {day} {hhmm}, capacity {args.capacity}")
    answers, seconds = asyncio.run(race())
    outcomes = Counter(_outcome(a) for a in answers)
    confirmed, full = outcomes.pop("confirmed", 0), outcomes.pop("slot_full", 0)
    latencies = [a.seconds * 1000 for a in answers]
    stored = int(store.client().hget(engine.KEYS["taken"] % (office.id, day.isoformat()), hhmm) or 0)
    holders = [b for b in engine.on_day(office.id, day) if b.time == hhmm and b.active]
    verdict = "ok" if confirmed == stored == len(holders) == args.capacity else "WRONG"
    print(
        f"confirmed {confirmed} (must be {args.capacity}: {verdict}; Redis: taken {stored}, "
        f"{len(holders)} confirmed records)  slot_full {full}  errors {sum(outcomes.values())} {dict(outcomes)}"
    )
    print(
        f"{args.attempts / seconds:.0f} attempts/s ({seconds:.2f} s for all)  "
        f"p50 {percentile(latencies, 50):.0f} ms  p99 {percentile(latencies, 99):.0f} ms  "
        f"max {max(latencies):.0f} ms",
        flush=True,
    )
    closures.clear_peak(day)


def _outcome(answer: Answer) -> str:
    if answer.status == 0:
        return "connection error"
    if answer.status == 201:
        return "confirmed"
    try:
        return f"{answer.status} {json.loads(answer.body).get('error')}".replace("409 slot_full", "slot_full")
    except ValueError:
        return str(answer.status)


@contextmanager
def places_file(days):
    """Every (office, day, slot) of the window, one "office_id,date,time" a line, in the order the
    load visits them: slot time, then day, then office, so consecutive requests hit different places."""
    every = offices.current().all()
    places = sorted((t, d.isoformat(), o.id) for o in every for d in days for t in slots.slot_times(o))
    with tempfile.NamedTemporaryFile("w", suffix=".places") as file:
        file.write("".join(f"{office},{day},{hhmm}\n" for hhmm, day, office in places))
        file.flush()
        yield file.name, len(places)


def steady(url: str, args, env: dict, seconds: int | None = None) -> dict:
    return wrk(url, "booking.lua", args.connections, seconds or args.seconds, env)


if __name__ == "__main__":
    main()
