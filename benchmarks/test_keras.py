"""What the tutorial's user has today: Keras `model.predict` and `model(x)` at batch 1 and 1,024,
and the peak memory of a process that loads the model and predicts. Skipped, with the reason in
the report, where TensorFlow is not installed (a device). Runs last: TensorFlow stays loaded.
"""

import os
import sys

import pytest

from benchmarks.processes import KERAS_LOAD_AND_PREDICT, run_process
from runtime.variants import KERAS_MODEL


@pytest.fixture(scope="module")
def keras_model(suite):
    path = suite.model_path(KERAS_MODEL)

    def load():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        return keras.saving.load_model(path, safe_mode=True)

    return suite.guard("keras", load)


@pytest.mark.parametrize("batch", [1, 1024])
@pytest.mark.parametrize("how", ["predict", "call"])
def test_keras(benchmark, suite, keras_model, how, batch):
    x = suite.manifest.input.values(suite.batch(batch)).reshape(batch, *keras_model.inputs[0].shape[1:])
    if how == "predict":
        call = lambda: keras_model.predict(x, batch_size=batch, verbose=0)  # noqa: E731
    else:
        call = lambda: keras_model(x, training=False)  # noqa: E731
    suite.time(benchmark, "keras", f"{how}-b{batch}", call, batch=batch)


def test_keras_peak_memory(suite):
    path = suite.model_path(KERAS_MODEL)
    run = suite.guard("keras", lambda: run_process([sys.executable, "-c", KERAS_LOAD_AND_PREDICT, str(path)]))
    suite.results.note("keras", "peak_bytes", run.peak_bytes)
