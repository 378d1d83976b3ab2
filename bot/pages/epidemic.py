"""The staff's run-time epidemic-mode switch (ceremonies suspended while on), kept in Redis.

EPIDEMIC_MODE in the environment is the default; once staff flip the switch in the console,
their choice holds until they flip it back.
"""

from bot import store

KEY = "settings:epidemic_mode"


def is_on(default: bool) -> bool:
    stored = store.client().get(KEY)
    return default if stored is None else stored == "1"


def switch(on: bool) -> None:
    store.client().set(KEY, "1" if on else "0")
