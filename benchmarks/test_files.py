"""What a user feels with files: Pillow's own decoding (the reference the PNG-to-answer rows and the
folder are held to), and a whole folder of PNGs through `python -m runtime.predict` with one worker
and with every core, as whole processes, beside the same command on a folder of one PNG (its
start-up, which the folder's start-up-excluded rate leaves out).
"""

import itertools
import shutil

import numpy as np
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


def test_pillow_decode_folder(benchmark, suite, png_folder):
    """Every PNG of the folder test_folder classifies, decoded to a numpy array and nothing else."""
    files = sorted(png_folder.iterdir())

    def decode_all():
        for path in files:
            with Image.open(path) as image:
                image.load()
                np.asarray(image)

    suite.time(benchmark, "pillow", "folder", decode_all, batch=len(files), rounds=suite.plan.process_rounds)


def classify(suite, folder, workers: int, case: str) -> None:
    """`python -m runtime.predict FOLDER --workers N` as whole processes, recorded as folder/case."""
    argv = [
        suite.python,
        "-m",
        "runtime.predict",
        "--artifacts",
        suite.artifacts,
        "--workers",
        workers,
        folder,
    ]
    runs = [suite.guard("folder", lambda: run_process(argv)) for _ in range(suite.plan.process_rounds)]
    count = len(list(folder.iterdir()))
    assert all(len(run.stdout.splitlines()) == count for run in runs)
    suite.results.add("folder", case, Timing.of([r.seconds for r in runs], count))


@pytest.mark.parametrize("workers", WORKERS)
def test_folder(suite, png_folder, workers):
    """Images per second for a folder through the CLI (start-up included), default model."""
    count = suite.threads(workers)
    classify(suite, png_folder, count, f"workers-{count}")


def test_folder_of_one(suite, png_folder, tmp_path):
    """The same command as test_folder's with 1 worker, on one of its PNGs: the start-up."""
    shutil.copy(min(png_folder.iterdir()), tmp_path)
    classify(suite, tmp_path, 1, "one-image")
