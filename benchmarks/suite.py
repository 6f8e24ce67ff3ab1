"""The benchmark session's shared state: which artifacts, how long to measure, what failed.

Every timing goes through `Suite.time`: warm up, pick a round count for the time budget, time each
call on its own with pytest-benchmark (one call per round, so p99 is the tail of real calls), and
record the result. A subject that cannot be measured here is recorded with its reason and its
tests are skipped (engine or TensorFlow not installed) or failed (an error), never the whole suite.
"""

import gc
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest

import runtime
from benchmarks.results import Results, Timing
from runtime.errors import ToolkitError
from runtime.manifest import MANIFEST, Manifest
from runtime.testset import read_test_set
from runtime.variants import Variant


@dataclass(frozen=True)
class Plan:
    seconds: float  # time budget of one timing; the round count follows from the cost of a call
    min_rounds: int
    max_rounds: int
    warmup: float  # seconds of untimed calls first (caches, lazy initialisation, CPU clock)
    process_rounds: int  # runs of each whole process (cold start)
    load_rounds: int  # loads of each variant (load time, first inference)

    folder_size: int  # PNG files in the folder given to the predict CLI


FULL = Plan(
    seconds=0.5,
    min_rounds=15,
    max_rounds=5000,
    warmup=0.1,
    process_rounds=5,
    load_rounds=10,
    folder_size=10_000,
)
SMOKE = Plan(
    seconds=0.002, min_rounds=3, max_rounds=20, warmup=0.0, process_rounds=1, load_rounds=2, folder_size=600
)  # more than one chunk of 250: the workers are used


class Suite:
    def __init__(self, artifacts: Path, smoke: bool, results: Results):
        self.artifacts = Path(artifacts)
        self.plan = SMOKE if smoke else FULL
        self.results = results
        self.all_cores = len(os.sched_getaffinity(0))
        self.folder_size = self.plan.folder_size
        self.python = sys.executable

    @cached_property
    def manifest(self) -> Manifest:
        try:
            return Manifest(self.artifacts / MANIFEST)
        except ToolkitError as e:
            pytest.exit(str(e), returncode=1)

    @cached_property
    def images(self) -> np.ndarray:
        """The images the export measured on (the gate's: the user's, or the 10,000 Fashion-MNIST
        test images), uint8 (N, *input.shape): what a user passes to Predictor.predict."""
        try:
            return read_test_set(self.manifest).images
        except ToolkitError as e:
            pytest.exit(str(e), returncode=1)

    def batch(self, size: int) -> np.ndarray:
        """`size` of the images, from the first, taken again from the first when there are fewer."""
        return self.images[np.arange(size) % len(self.images)]

    def threads(self, setting: str) -> int:
        """'1' or 'all' (every core this process may run on)."""
        return self.all_cores if setting == "all" else int(setting)

    def require(self, variant: Variant) -> None:
        """Skip or fail at once when `variant` cannot be measured here, recording why (first time)."""
        subject, module = variant.name, variant.format.module  # a device may have one engine, no TensorFlow
        if subject not in self.results.problems:
            if importlib.util.find_spec(module) is None:
                self.results.fail(subject, f"{module} is not installed here", skipped=True)
            elif variant not in self.manifest:  # failed its gate or skipped at export, or not bundled
                self.results.fail(subject, f"not in {self.manifest.path}", skipped=True)
        if subject in self.results.skipped:
            pytest.skip(f"{subject}: {self.results.problems[subject]}")
        if subject in self.results.problems:
            pytest.fail(f"{subject}: {self.results.problems[subject]}", pytrace=False)

    def guard(self, subject: str, action):
        """Run `action()`; on any error record it as the subject's problem, then fail the test."""
        try:
            return action()
        except Exception as e:  # any engine error becomes the row's text, and the suite goes on
            self.results.fail(subject, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            pytest.fail(f"{subject}: {self.results.problems[subject]}", pytrace=False)

    def predictor(self, variant: Variant, threads: int) -> runtime.Predictor:
        self.require(variant)
        return self.guard(variant.name, lambda: runtime.load(self.artifacts, variant, threads=threads))

    def model_path(self, variant: Variant) -> Path:
        self.require(variant)
        return self.guard(variant.name, lambda: self.manifest.artifact(variant).verify().path)

    def time(
        self, benchmark, subject: str, case: str, call, batch: int = 1, rounds: int | None = None, **info
    ) -> Timing:
        """Time `call` (one batch of `batch` images per call) and record it as `subject`/`case`.

        Without `rounds`, warm up and take as many rounds as fit the plan's time budget; with it
        (loads, whole processes), make one untimed call first unless smoke-testing.
        """
        plan = self.plan
        gc.collect()  # engines (and their thread pools) of earlier tests go now, not during this one
        if rounds is None:
            cost = self.guard(subject, lambda: warm_up(call, plan.warmup))
            rounds = int(min(plan.max_rounds, max(plan.min_rounds, plan.seconds / cost)))
        elif plan.warmup:
            self.guard(subject, call)  # files in the page cache, engine modules imported
        benchmark.group = case
        benchmark.extra_info.update(subject=subject, case=case, batch=batch, **info)
        self.guard(subject, lambda: benchmark.pedantic(call, rounds=rounds, iterations=1))
        timing = Timing.of(benchmark.stats.stats.data, batch)
        benchmark.extra_info["p99"] = timing.p99
        self.results.add(subject, case, timing)
        return timing


def warm_up(call, seconds: float) -> float:
    """Call for `seconds` (at least once) and return the seconds one call takes."""
    calls, started = 0, time.perf_counter()
    while True:
        call()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return max(elapsed / calls, 1e-7)
