"""Seeded draws that stay identical across Python versions.

Python guarantees only that ``random.Random(seed).random()`` yields the same sequence in
every version; ``choice``/``gauss``/``shuffle`` carry no such promise. Every draw the
demo generator stores in its manifest is therefore derived from ``random()`` alone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Draw:
    """A reproducible stream of choices for one clip (or one planning step)."""

    def __init__(self, *key: int | str):
        # a string seed is hashed with sha512 (seed version 2), stable across versions
        self._rng = random.Random("/".join(str(k) for k in key))

    def unit(self) -> float:
        """Uniform in [0, 1)."""
        return self._rng.random()

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self._rng.random()

    def index(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        return min(n - 1, int(self._rng.random() * n))

    def pick(self, items: Sequence[T]) -> T:
        return items[self.index(len(items))]

    def shuffled(self, items: Sequence[T]) -> list[T]:
        """Fisher-Yates on a copy, driven by :meth:`index`."""
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = self.index(i + 1)
            out[i], out[j] = out[j], out[i]
        return out
