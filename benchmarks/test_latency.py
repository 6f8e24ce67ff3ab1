"""One image at a time, the common case on a device: Predictor.predict at batch 1 on one thread and
on every core, and the bare engine call it wraps (the overhead reference).

The image is a uint8 gate image (a 28x28 Fashion-MNIST test image for the tutorial), exactly what
runtime.images.read_image gives for a file.
"""

from functools import partial

import pytest

from benchmarks.bare import bare_call
from runtime.variants import runnable


@pytest.mark.parametrize("variant", runnable(), ids=str)
@pytest.mark.parametrize("threads", ["1", "all"])  # every 1-thread row first: no pool of a previous row spins
def test_batch1(benchmark, suite, variant, threads):
    count = suite.threads(threads)
    predictor = suite.predictor(variant, count)
    image = suite.images[:1]
    case = "b1" if threads == "1" else "b1-all"
    # partial, not a lambda: the bare call below is timed with no frame of the harness's around it
    suite.time(benchmark, variant.name, case, partial(predictor.predict, image), threads=count)


@pytest.mark.parametrize("variant", runnable(), ids=str)
def test_bare_engine(benchmark, suite, variant):
    path = suite.model_path(variant)
    image = suite.manifest.input
    call = suite.guard(variant.name, lambda: bare_call(variant, path, suite.images[:1], image, threads=1))
    suite.time(benchmark, variant.name, "bare", call, threads=1)
