"""What one benchmark session measured: timings and facts per subject, or why a subject has none.

A subject is a variant name (`tflite-int8`, `keras`, ...) or a reference (`numpy`, `process`);
a case names one measurement of it (`b1`, `bare`, `b1024`, `predict-b1`, `predict-cli`, ...).
Everything is kept in seconds and bytes; rounding happens only where it is shown.
"""

from dataclasses import asdict, dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Timing:
    """Seconds per call over `rounds` timed calls of a batch of `batch` images."""

    rounds: int
    min: float
    p50: float
    p99: float
    iqr: float  # third quartile minus first: how noisy the run was
    batch: int = 1

    @classmethod
    def of(cls, seconds, batch: int = 1) -> "Timing":
        s = np.asarray(seconds, dtype=np.float64)
        q1, p50, q3, p99 = np.percentile(s, [25, 50, 75, 99])
        return cls(len(s), float(s.min()), float(p50), float(p99), float(q3 - q1), batch)

    @property
    def throughput(self) -> float:
        """Images per second at the median."""
        return self.batch / self.p50

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median: 0.02 is a quiet run, 0.5 a noisy one."""
        return self.iqr / self.p50


@dataclass
class Results:
    timings: dict[str, dict[str, Timing]] = field(default_factory=dict)
    facts: dict[str, dict[str, float | str]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # subject -> why it has no figures
    skipped: set[str] = field(default_factory=set)  # subjects whose problem is a skip, not an error

    def add(self, subject: str, case: str, timing: Timing) -> None:
        self.timings.setdefault(subject, {})[case] = timing

    def note(self, subject: str, name: str, value: float | str) -> None:
        self.facts.setdefault(subject, {})[name] = value

    def fail(self, subject: str, reason: str, skipped: bool = False) -> None:
        """Keep the first reason: later failures of the same subject follow from it."""
        if subject not in self.problems:
            self.problems[subject] = reason
            if skipped:
                self.skipped.add(subject)

    def get(self, subject: str, case: str) -> Timing | None:
        return self.timings.get(subject, {}).get(case)

    def p50(self, subject: str, case: str) -> float | None:
        timing = self.get(subject, case)
        return timing.p50 if timing else None

    def throughput(self, subject: str, case: str) -> float | None:
        timing = self.get(subject, case)
        return timing.throughput if timing else None

    def fastest(self) -> "Results":
        """The same measurements with every median replaced by the fastest call."""
        timings = {
            subject: {case: replace(t, p50=t.min) for case, t in cases.items()}
            for subject, cases in self.timings.items()
        }
        return Results(timings, self.facts, self.problems, self.skipped)

    def fact(self, subject: str, name: str):
        return self.facts.get(subject, {}).get(name)

    def as_json(self) -> dict:
        return {
            "timings": {
                s: {
                    c: {**asdict(t), "throughput": t.throughput, "spread": t.spread} for c, t in cases.items()
                }
                for s, cases in self.timings.items()
            },
            "facts": self.facts,
            "problems": self.problems,
            "skipped": sorted(self.skipped),
        }


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing (or b is zero)."""
    return a / b if a is not None and b else None
