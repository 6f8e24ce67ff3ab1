"""Everything a user waits for besides the model: loading a variant (file to first result, and the
first inference alone), decoding a PNG file end to end, the peak memory of a process that loads a
variant and predicts, and the cold start of `python -m runtime.predict one.png` as a whole process
against a bare ten-line LiteRT script and against `python -c "import tensorflow"`.
"""

import importlib.util
import itertools
import sys
import time

import pytest

import runtime
from benchmarks.processes import BARE_SCRIPT, LOAD_AND_PREDICT, run_process
from benchmarks.results import Timing
from runtime.images import read_image
from runtime.variants import TFLITE_INT8, runnable

COLD_STARTS = ("predict-cli", "bare-litert", "import-tensorflow")


@pytest.mark.parametrize("variant", runnable(), ids=str)
def test_load_and_first_inference(benchmark, suite, variant):
    """runtime.load from the manifest (checksum included) and one prediction, in a warm process."""
    suite.require(variant)
    image, firsts = suite.images[:1], []

    def load_and_predict():
        predictor = runtime.load(suite.artifacts, variant, threads=1)
        started = time.perf_counter()
        predictor.predict(image)
        firsts.append(time.perf_counter() - started)

    rounds = suite.plan.load_rounds
    suite.time(benchmark, variant.name, "load", load_and_predict, rounds=rounds, threads=1)
    suite.results.add(variant.name, "first", Timing.of(firsts[-rounds:]))


@pytest.mark.parametrize("variant", runnable(), ids=str)
def test_png_end_to_end(benchmark, suite, png_files, variant):
    """Per image from a PNG file: decode, prepare (runtime.images) and infer, one thread."""
    predictor = suite.predictor(variant, 1)
    files = itertools.cycle(png_files)
    image = predictor.image

    def file_to_answer():
        return predictor.predict(read_image(next(files), image_input=image))

    suite.time(benchmark, variant.name, "png", file_to_answer, threads=1)


@pytest.mark.parametrize("variant", runnable(), ids=str)
def test_peak_memory(suite, variant):
    suite.require(variant)
    argv = [sys.executable, "-c", LOAD_AND_PREDICT, str(suite.artifacts), variant.name]
    run = suite.guard(variant.name, lambda: run_process(argv))
    suite.results.note(variant.name, "peak_bytes", run.peak_bytes)


@pytest.mark.parametrize("case", COLD_STARTS)
def test_cold_start(benchmark, suite, png_files, case):
    if case == "import-tensorflow" and importlib.util.find_spec("tensorflow") is None:
        suite.results.fail(case, "TensorFlow is not installed here", skipped=True)
        pytest.skip("TensorFlow is not installed here")
    one_png, artifacts = str(png_files[0]), str(suite.artifacts)
    argv = {
        "predict-cli": [sys.executable, "-m", "runtime.predict", "--artifacts", artifacts, one_png],
        "bare-litert": [
            sys.executable,
            str(BARE_SCRIPT),
            str(suite.model_path(TFLITE_INT8)),
            one_png,
            str(suite.manifest.input.range.white),
        ],
        "import-tensorflow": [sys.executable, "-c", "import tensorflow"],
    }[case]
    peaks = []
    suite.time(
        benchmark,
        case,
        "cold",
        lambda: peaks.append(run_process(argv).peak_bytes),
        rounds=suite.plan.process_rounds,
    )
    suite.results.note(case, "peak_bytes", max(peaks))
