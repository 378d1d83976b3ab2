"""The copy of a data file the bot answers from, for every file in knowledge/ (offices, handbook,
charity list): loaded on first use, replaced whole by `reload`, which keeps the old copy when the
new file is broken (the loader raises and nothing is swapped)."""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class InService(Generic[T]):
    def __init__(self, load: Callable[..., T]):
        self._load = load
        self._value: T | None = None
        self._swap = threading.Lock()

    def current(self) -> T:
        if self._value is None:
            with self._swap:
                if self._value is None:
                    self._value = self._load()
        return self._value

    def reload(self, *args) -> T:
        """Load afresh (with `args`, the loader's own: another path, another key) and put it in service."""
        fresh = self._load(*args)
        with self._swap:
            self._value = fresh
        return fresh
