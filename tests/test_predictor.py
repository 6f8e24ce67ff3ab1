"""The library API a user programs against (`runtime.load`, `Predictor.predict`/`classify`), and its
behaviour under concurrency and repeated loading, for every exported variant.

    pytest tests/test_predictor.py          # -s prints the memory figures
"""

import json
import threading
import time
from dataclasses import replace

import numpy as np
import psutil
import pytest

import runtime
from runtime.dataset import load_split
from runtime.manifest import MANIFEST, Manifest
from runtime.parity import compare, io_dtypes
from runtime.variants import VARIANTS
from tests.conftest import RUNNABLE, TINY, TINY_MODEL, run_python

THREADS = 8
JOIN_TIMEOUT = 120  # seconds; a deadlock fails the test instead of hanging the suite
MiB = 1 << 20


@pytest.fixture(scope="module")
def predictors(tiny_models) -> dict[str, runtime.Predictor]:
    """The tiny model's variants, as bare files (each checked in a child process first)."""
    return {name: runtime.load(path) for name, path in tiny_models.items()}


@pytest.fixture(scope="module")
def reference(artifacts) -> np.ndarray:
    with np.load(Manifest(artifacts / MANIFEST).reference()) as npz:
        return npz["probabilities"]


@pytest.fixture(scope="module")
def trained(artifacts) -> dict[str, runtime.Predictor]:
    return {name: runtime.load(artifacts, variant=name) for name in RUNNABLE}


@pytest.mark.parametrize("name", TINY)
def test_each_variant_computes_the_model(predictors, test_set, name):
    """The same numbers as numpy computes from the weights: exactly for float32, within a few
    output steps for int8."""
    images = test_set[0][:2000]
    expected, found = TINY_MODEL.reference(images), predictors[name].predict(images)
    if name.endswith("float32"):
        np.testing.assert_allclose(found, expected, atol=1e-5)
    else:
        assert np.abs(found - expected).max() < 0.2
        assert (found.argmax(1) == expected.argmax(1)).mean() > 0.95


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("size", [0, 1, 7, 1000])
def test_any_batch_size(predictors, test_set, name, size):
    """A batch gives the same rows as its images one at a time (LiteRT resizes between them)."""
    images = test_set[0][:size]
    probabilities = predictors[name].predict(images)
    assert probabilities.shape == (size, 10) and probabilities.dtype == np.float32
    one_by_one = [predictors[name].predict(image[np.newaxis])[0] for image in images[:50]]
    np.testing.assert_allclose(probabilities[:50], np.reshape(one_by_one, (-1, 10)), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=0.02)  # int8: 10 steps of 1/256


@pytest.mark.parametrize("name", TINY)
def test_uint8_and_float_pixels_give_the_same_probabilities(predictors, test_set, name):
    images = test_set[0][:200]
    from_uint8 = predictors[name].predict(images)
    assert np.array_equal(from_uint8, predictors[name].predict(images.astype(np.float32) / 255))
    np.testing.assert_allclose(from_uint8, predictors[name].predict(images / 255.0), atol=1e-6)


@pytest.mark.parametrize("name", TINY)
def test_a_single_image_is_a_batch_of_one(predictors, test_set, name):
    image = test_set[0][3]
    assert np.array_equal(predictors[name].predict(image), predictors[name].predict(image[np.newaxis]))
    assert predictors[name].classify(image).shape == (1,)


@pytest.mark.parametrize(
    "shape", [(), (28,), (10, 28), (3, 28, 27), (3, 27, 28), (28, 28, 1), (2, 1, 28, 28), (1, 784)]
)
def test_wrong_shapes_are_refused(predictors, shape):
    with pytest.raises(ValueError, match=r"shape \(N, 28, 28\)"):
        predictors["tflite-int8"].predict(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16, np.bool_, np.complex64, object])
def test_wrong_dtypes_are_refused(predictors, dtype):
    predictors["onnx-float32"].predict(np.zeros((2, 28, 28), np.uint8))  # a call of the same shape first
    with pytest.raises(ValueError, match="uint8"):
        predictors["onnx-float32"].predict(np.zeros((2, 28, 28), dtype))


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("value", [255.0, -0.5, np.nan, np.inf])
def test_floats_outside_0_to_1_are_refused_not_misread(predictors, name, value):
    images = np.full((3, 28, 28), 0.5, np.float32)
    predictors[name].predict(images)  # a good call of the same dtype and shape first
    images[1, 5, 5] = value  # e.g. pixels 0..255 passed as float by mistake
    with pytest.raises(ValueError, match="0..1"):
        predictors[name].predict(images)


@pytest.mark.parametrize("name", RUNNABLE)
def test_classify_matches_the_manifest_accuracy(artifacts, trained, test_set, name):
    images, labels = test_set
    classes = trained[name].classify(images)
    assert classes.shape == (10_000,) and classes.dtype.kind in "iu"
    assert np.array_equal(classes, trained[name].predict(images).argmax(axis=1))
    assert (classes == labels).mean() == Manifest(artifacts / MANIFEST).artifact(name).figures["accuracy"]


@pytest.mark.parametrize("name", RUNNABLE)
def test_every_variant_is_within_its_tolerance_of_keras(trained, test_set, reference, name):
    """The whole test set in one call (not the export's batches of 1,000), held to the same rules."""
    images, labels = test_set
    figures = replace(compare(trained[name].predict(images), labels, reference), io=io_dtypes(trained[name]))
    keras_accuracy = float((reference.argmax(1) == labels).mean())
    assert VARIANTS[name].tolerance.violations(figures, keras_accuracy) == []
    if VARIANTS[name].quantized:  # rounding shows, but stays a few output steps wide
        assert 0 < figures.max_abs_diff < 0.5 and figures.agreement > 0.95


@pytest.mark.parametrize("name", RUNNABLE)
def test_an_images_scores_do_not_depend_on_its_batch_mates(trained, test_set, name):
    """As one image at a time, whatever else is in the batch (a quantizer that takes one activation
    scale for a whole call would break this)."""
    images = test_set[0][:300]
    alone = np.concatenate([trained[name].predict(image) for image in images])
    np.testing.assert_allclose(trained[name].predict(images), alone, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", TINY)
def test_threads_parameter(tiny_models, predictors, test_set, name):
    images = test_set[0][:1000]
    two = runtime.load(tiny_models[name], threads=2)
    np.testing.assert_allclose(two.predict(images), predictors[name].predict(images), atol=1e-6)
    if VARIANTS[name].format.name == "onnx":  # the one engine that tells its thread count back
        assert two.engine.session.get_session_options().intra_op_num_threads == 2
        default = predictors[name].engine.session.get_session_options().intra_op_num_threads
        assert default == runtime.DEFAULT_THREADS


def run_in_threads(work, count: int) -> list:
    """Run work(t) in `count` threads started together; fail (not hang) on a deadlock."""
    results, errors = [None] * count, []
    start = threading.Barrier(count)

    def worker(t):
        try:
            start.wait()
            results[t] = work(t)
        except BaseException as e:  # surfaced below, with the thread that raised it
            errors.append((t, e))

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"deadlock: threads alive after {JOIN_TIMEOUT} s"
    assert not errors, errors
    return results


def calls(t: int, count: int, varied: bool) -> list[tuple[int, int]]:
    """(first image, batch size) of thread t's calls; varied sizes make LiteRT resize between calls."""
    return [((t * count + i) * 7 % 9_990, 1 + (t + i) % 5 if varied else 1) for i in range(count)]


def predict_calls(predictor, images, plan):
    return [predictor.predict(images[first : first + size]) for first, size in plan]


@pytest.mark.parametrize("name", TINY)
def test_shared_predictor_threads_equal_serial(predictors, test_set, name):
    """8 threads x 500 calls of mixed batch sizes on one Predictor: exactly the serial results."""
    images, predictor = test_set[0], predictors[name]
    serial = [predict_calls(predictor, images, calls(t, 500, True)) for t in range(THREADS)]
    threaded = run_in_threads(lambda t: predict_calls(predictor, images, calls(t, 500, True)), THREADS)
    for t in range(THREADS):
        assert all(np.array_equal(a, b) for a, b in zip(serial[t], threaded[t], strict=True)), (name, t)


class PeakRSS:
    """Samples this process's resident memory every 20 ms while the block runs."""

    def __enter__(self):
        self.process, self.stop = psutil.Process(), threading.Event()
        self.before = self.peak = self.process.memory_info().rss
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self):
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.after = self.process.memory_info().rss
        self.peak = max(self.peak, self.after)


def test_eight_threads_times_two_thousand_predictions(predictors, test_set, record_property):
    """Issue 5: 8 threads x 2,000 single-image predictions each, every variant: serial results,
    no deadlock, and memory bounded by what the answers themselves take (16,000 x 40 bytes)."""
    images = test_set[0]
    figures = {}
    for name, predictor in predictors.items():
        serial = [predict_calls(predictor, images, calls(t, 2_000, False)) for t in range(THREADS)]
        with PeakRSS() as rss:
            threaded = run_in_threads(
                lambda t, p=predictor: predict_calls(p, images, calls(t, 2_000, False)), THREADS
            )
        for t in range(THREADS):
            assert all(np.array_equal(a, b) for a, b in zip(serial[t], threaded[t], strict=True)), (name, t)
        figures[name] = round((rss.peak - rss.before) / MiB, 1)
    print(f"\npeak RSS growth during 8 x 2,000 threaded predictions, MiB: {figures}")
    record_property("threaded_rss_growth_mib", figures)
    assert max(figures.values()) < 64, f"peak RSS growth per variant (MiB): {figures}"


def load_cycles(artifacts: str, cycles: int, every: int = 100) -> list[float]:
    """RSS (MiB) every `every` cycles of: load each variant from the manifest, predict, drop it.

    Run in a fresh interpreter, so nothing else in the process moves the figure.
    """
    images = load_split("test")[0][:32]
    process, samples = psutil.Process(), []
    for cycle in range(1, cycles + 1):
        for name in RUNNABLE:
            runtime.load(artifacts, variant=name).predict(images[cycle % 32 :])
        if cycle % every == 0:
            samples.append(round(process.memory_info().rss / MiB, 1))
    return samples


def test_a_thousand_load_predict_cycles_keep_memory_flat(artifacts, record_property):
    """Issue 5: 1,000 sequential load/predict cycles (each loads all four variants, checksum
    included): after the first 100 warm the allocators up, resident memory stays flat."""
    code = (
        "import json\nfrom tests.test_predictor import load_cycles\n"
        f"print(json.dumps(load_cycles({str(artifacts)!r}, 1_000)))\n"
    )
    samples = json.loads(run_python(code, timeout=600).stdout.strip().splitlines()[-1])
    growth = samples[-1] - samples[0]
    message = f"RSS (MiB) after cycles 100, 200, ... 1,000: {samples}; growth after warm-up {growth:.1f} MiB"
    print("\n" + message)
    record_property("load_cycles_rss_mib", samples)
    assert len(samples) == 10 and growth < 16, message
