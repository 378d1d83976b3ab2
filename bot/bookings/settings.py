"""Switches staff flip at run time, kept in Redis so every app and scheduler process sees them at once.

The environment gives each switch's default (EPIDEMIC_MODE → BookingRules.epidemic_mode); once
staff flip it in the console, their choice holds until they flip it back.
"""

from dataclasses import replace

from bot import store
from bot.bookings import slots
from bot.bookings.slots import BookingRules

EPIDEMIC_MODE_KEY = "settings:epidemic_mode"


def epidemic_mode(default: bool) -> bool:
    """Whether certificate ceremonies are suspended: staff's choice, else `default`."""
    stored = store.client().get(EPIDEMIC_MODE_KEY)
    return default if stored is None else stored == "1"


def set_epidemic_mode(on: bool) -> None:
    store.client().set(EPIDEMIC_MODE_KEY, "1" if on else "0")


def in_force(rules: BookingRules) -> BookingRules:
    """`rules` with staff's run-time switches applied (one Redis read)."""
    return replace(rules, epidemic_mode=epidemic_mode(rules.epidemic_mode))


def ceremony_notice() -> str:
    """What to tell couples about certificate ceremonies now ("" while they are held)."""
    return slots.ceremony_notice(in_force(slots.current_rules()))
