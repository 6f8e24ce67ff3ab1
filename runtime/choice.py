"""The rule that picks among candidates by speed and fidelity: the int8 recipe of a format
(export/recipes.py), the variant to run on a target (the doctor, `make report`'s choice table).

Speed first, but a few percent of it is noise on a shared machine and worth less than agreeing with
Keras: every candidate within LATENCY_BAND of the fastest counts as fast, and among those the one
that agrees best wins; ties go to the faster.
"""

from collections.abc import Callable, Sequence
from typing import TypeVar

LATENCY_BAND = 0.10  # a candidate may be this much slower than the fastest and still win
RULE = "within 10% of the fastest at batch 1, the highest agreement with Keras (ties: the faster)"

T = TypeVar("T")


def choose(candidates: Sequence[T], seconds: Callable[[T], float], agreement: Callable[[T], float]) -> T:
    """The candidate the rule picks; ValueError when there is none."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    fastest = min(seconds(c) for c in candidates)
    eligible = [c for c in candidates if seconds(c) <= fastest * (1 + LATENCY_BAND)]
    return max(eligible, key=lambda c: (agreement(c), -seconds(c)))
