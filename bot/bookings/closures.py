"""Staff changes to the calendar, kept in Redis so they take effect at once: closures and peak capacity.

A closure is a reason stored under the date, for the whole province (field "*") or one office.
Closing is done by `bookings.close()`, which writes the closure and cancels that day's bookings
in one atomic script; this module owns the key layout, reading, reopening and peak overrides.
Seed closures (known in advance, e.g. 2020-02-02) are data below and apply without Redis.
"""

from datetime import date

from bot import store

PROVINCE = "*"

# Known closures: (date, office id or PROVINCE) → reason. Staff add more at run time.
SEED_CLOSURES = {
    (date(2020, 2, 2), PROVINCE): "疫情防控，全省暂停办理婚姻登记",
}


# Key layouts (%s = ISO date); the engine's Lua scripts are given the same templates.
CLOSURE_KEY = "closures:%s"
PEAK_KEY = "peak:%s"


def closure_key(day: date) -> str:
    return CLOSURE_KEY % day.isoformat()


def peak_key(day: date) -> str:
    return PEAK_KEY % day.isoformat()


def fields_for(office_id: str) -> list[str]:
    """The closures that close `office_id`, in the order their reason is told: the province's, then its own."""
    return [PROVINCE, office_id]


def reason_in(stored: dict[str, str], office_id: str, day: date | None) -> str:
    """The closure reason for `office_id` from a date's stored closures or the seed ("" when it is open).

    The booking scripts check the same fields_for() atomically and hand back what they found here.
    """
    for field in fields_for(office_id):
        found = stored.get(field) or SEED_CLOSURES.get((day, field))
        if found:
            return found
    return ""


def reason(office_id: str, day: date) -> str:
    return reason_in(store.client().hgetall(closure_key(day)), office_id, day)


def reopen(day: date, office_id: str = PROVINCE) -> None:
    """Lift a staff closure. Bookings cancelled by it stay cancelled; couples rebook."""
    store.client().hdel(closure_key(day), office_id)


def closures_on(day: date) -> dict[str, str]:
    """Staff closures stored for `day`: office id (or "*") → reason."""
    return store.client().hgetall(closure_key(day))


def set_peak(day: date, capacity: int, label: str = "高峰日") -> None:
    """Mark `day` as a peak with its own capacity per slot (also overrides a built-in peak's capacity)."""
    if capacity < 0:
        raise ValueError("capacity must not be negative")
    store.client().hset(peak_key(day), mapping={"capacity": capacity, "label": label})


def clear_peak(day: date) -> None:
    store.client().delete(peak_key(day))


def peak_from(stored: dict[str, str]) -> tuple[int, str] | None:
    """(capacity, label) from a stored peak hash, None when staff set none."""
    return (int(stored["capacity"]), stored.get("label", "")) if stored else None


def peak(day: date) -> tuple[int, str] | None:
    return peak_from(store.client().hgetall(peak_key(day)))
