"""The tutorial's model, exactly, and a short real training run that is reproducible."""

import json
import time

import numpy as np
import pytest

from runtime.dataset import load_split
from tests.conftest import run_cli

PARAMETERS = 101_770  # the tutorial's


@pytest.fixture(scope="module")
def train(keras):
    """train.fit.train, imported (with TensorFlow) only when a test runs."""
    from train.fit import train

    return train


@pytest.fixture(scope="module")
def Recipe(keras):  # noqa: N802 (the class, imported late)
    from train.recipe import Recipe

    return Recipe


def test_architecture_is_the_tutorials(keras):
    from train.model import build_model

    model = build_model()
    assert [type(layer).__name__ for layer in model.layers] == ["Flatten", "Dense", "Dense"]
    assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)
    assert [layer.units for layer in model.layers[1:]] == [128, 10]
    assert [layer.activation.__name__ for layer in model.layers[1:]] == ["relu", "softmax"]
    assert model.count_params() == PARAMETERS
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "sparse_categorical_crossentropy"


@pytest.fixture(scope="module")
def small_sets(test_set):
    images, labels = load_split("train")
    return (images[:12_000], labels[:12_000]), (test_set[0][:2000], test_set[1][:2000])


def weights(trained):
    return trained.model.get_weights()


def test_short_training_run_learns(small_sets, train, Recipe):  # noqa: N803
    started = time.perf_counter()
    trained = train(Recipe(epochs=1), *small_sets, progress=False)
    wall = time.perf_counter() - started
    assert trained.accuracy > 0.75  # one epoch on 12,000 images; chance is 0.10
    assert 0.5 * wall < trained.seconds <= wall  # the training itself, most of the call


def test_same_seed_same_weights_other_seed_other_weights(small_sets, train, Recipe):  # noqa: N803
    first, again = (train(Recipe(epochs=1, seed=7), *small_sets, progress=False) for _ in range(2))
    other = train(Recipe(epochs=1, seed=8), *small_sets, progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(weights(first), weights(again), strict=True))
    assert not np.array_equal(weights(first)[0], weights(other)[0])


def test_train_cli_writes_model_and_figures(artifacts, keras, Recipe):  # noqa: N803
    figures = json.loads((artifacts / "train.json").read_text())
    assert {"epochs", "batch_size", "seed", "seconds", "accuracy", "model_sha256", "dataset"} <= set(figures)
    assert figures["batch_size"] == 32 and figures["seed"] == Recipe().seed
    model = keras.saving.load_model(artifacts / "model.keras", safe_mode=True)
    assert model.count_params() == PARAMETERS


def test_train_cli_shows_progress_and_one_summary_line(tmp_path, keras):
    result = run_cli("train", "--epochs", 1, "--batch-size", 256, "--out", tmp_path)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("epoch 1/1") and "accuracy" in lines[0]
    assert lines[-1].startswith("test accuracy ") and str(tmp_path / "model.keras") in lines[-1]
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize("flag", ["--epochs=0", "--batch-size=-1", "--epochs=x"])
def test_train_cli_refuses_bad_flags(flag, tmp_path):
    result = run_cli("train", flag, "--out", tmp_path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
