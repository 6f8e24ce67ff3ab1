"""Images per second at batch 32 and 1,024 on every core, against numpy's matrix products of the
same shapes: how close each engine comes to what this CPU's BLAS does with the same arithmetic.
"""

import numpy as np
import pytest

from runtime.variants import runnable

BATCHES = (32, 1024)
PIXELS, HIDDEN, CLASSES = 28 * 28, 128, 10  # the tutorial's 28x28 image -> Dense(128) -> Dense(10)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("variant", runnable(), ids=str)
def test_throughput(benchmark, suite, variant, batch):
    predictor = suite.predictor(variant, suite.all_cores)
    images = suite.batch(batch)
    suite.time(
        benchmark,
        variant.name,
        f"b{batch}",
        lambda: predictor.predict(images),
        batch=batch,
        threads=suite.all_cores,
    )


@pytest.mark.parametrize("batch", (1, *BATCHES))
def test_numpy_matmul(benchmark, suite, batch):
    """x (batch, 784) @ W1 (784, 128), then @ W2 (128, 10), float32, into preallocated outputs:
    the tutorial model's two products with nothing else (numpy's BLAS threads: every core by
    default), on pixels of its size whatever model the run measures."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((PIXELS, HIDDEN), dtype=np.float32)
    w2 = rng.standard_normal((HIDDEN, CLASSES), dtype=np.float32)
    x = rng.integers(0, 256, (batch, PIXELS)).astype(np.float32) / np.float32(255)
    hidden, out = np.empty((batch, HIDDEN), np.float32), np.empty((batch, CLASSES), np.float32)
    suite.time(
        benchmark,
        "numpy",
        f"b{batch}",
        lambda: np.matmul(np.matmul(x, w1, out=hidden), w2, out=out),
        batch=batch,
        threads=suite.all_cores,
    )
