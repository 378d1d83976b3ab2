"""What the page tests share: an app serving the pages on a fixed clock, and couples booked directly."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.bookings import engine
from knowledge import offices
from tests.test_applicants import make_id

TZ = ZoneInfo("Asia/Shanghai")
# The week these tests live in: Monday 2026-11-23, so the booking window is 24 Nov – 7 Dec.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
FURONG = "changsha-furong"
CSRF = re.compile(r'(?:name="csrf_token" value|data-csrf)="([^"]+)"')


class Clock:
    """The pages' "now": fixed, stepping a few seconds per reading, as a real conversation would."""

    def __init__(self, at: datetime = MONDAY):
        self.at = at

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=5)
        return self.at


def pages_app(make_app, clock: Clock, **config):
    config.setdefault("simulator_enabled", True)
    app = make_app(**config)
    app.config["PAGES_CLOCK"] = clock
    return app


def book_couple(day, hhmm: str, serial: int = 20, office_id: str = FURONG) -> engine.Booking:
    """A couple booked by phone, as if earlier in the week."""
    people = [
        {"name": "王五", "id_number": make_id("19900101", "男", serial=f"{serial}")},
        {"name": "赵六", "id_number": make_id("19920202", "女", serial=f"{serial}")},
    ]
    office = offices.current().get(office_id)
    outcome = engine.book(office, day, hhmm, people, now=MONDAY, channel=engine.PHONE, phone="13800001234")
    assert outcome.kind == engine.CONFIRMED, outcome
    return outcome.booking


def csrf_token(client, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)
