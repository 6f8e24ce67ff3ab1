"""What a user feels with files: Pillow's own open+decode of a PNG (the reference the PNG-to-answer
rows are held to), and a whole folder of PNGs through `python -m runtime.predict` with one worker
and with every core, as whole processes.
"""

import itertools

import pytest
from PIL import Image

from benchmarks.processes import run_process
from benchmarks.results import Timing

WORKERS = ("1", "all")


def test_pillow_decode(benchmark, suite, png_files):
    """Image.open and load of the same PNG files test_png_end_to_end classifies."""
    files = itertools.cycle(png_files)

    def decode():
        with Image.open(next(files)) as image:
            image.load()

    suite.time(benchmark, "pillow", "png", decode)


@pytest.mark.parametrize("workers", WORKERS)
def test_folder(suite, png_folder, workers):
    """Images per second for a folder through the CLI (start-up included), default model."""
    count = suite.threads(workers)
    argv = ["-m", "runtime.predict", "--artifacts", suite.artifacts, "--workers", count, png_folder]
    runs = [
        suite.guard("folder", lambda: run_process([suite.python, *argv]))
        for _ in range(suite.plan.process_rounds)
    ]
    assert all(len(run.stdout.splitlines()) == suite.folder_size for run in runs)
    suite.results.add("folder", f"workers-{count}", Timing.of([r.seconds for r in runs], suite.folder_size))
