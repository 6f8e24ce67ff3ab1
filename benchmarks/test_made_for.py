"""The runtime a variant's format is made for, timed on its own call beside our engine's rows of the
same file: MediaPipe Tasks' `classify` of one image for the MediaPipe-ready variants (image object
built, classified, categories read: what a user's code does per image). A reference row; skipped
with the reason where the runtime is not installed. Runs last, with Keras: MediaPipe imports
TensorFlow where it is installed.
"""

import importlib.util
from contextlib import closing
from functools import partial

import pytest

from runtime.engines import open_engine
from runtime.predictor import to_layout
from runtime.variants import runnable

MADE_FOR = [v for v in runnable() if v.format.made_for]


@pytest.mark.parametrize("variant", MADE_FOR, ids=str)
def test_classify_in_the_runtime_made_for(benchmark, suite, variant):
    runtime = variant.format.made_for
    path = suite.model_path(variant)
    if importlib.util.find_spec(runtime.module) is None:
        suite.results.fail(runtime.name, f"{runtime.package} is not installed here", skipped=True)
        pytest.skip(f"{runtime.name}: {runtime.package} is not installed here")
    with closing(suite.guard(runtime.name, lambda: open_engine(path, runtime, threads=1))) as engine:
        rgb = to_layout(engine, suite.images[:1])[0]  # what MediaPipe takes: RGB pixels
        suite.time(benchmark, runtime.name, variant.name, partial(engine.categories, rgb))
