"""The small CNN `make micro` measures beside the tutorial model: every layer kind the generated C
writes (convolution with stride and both paddings, depthwise, max and average pooling, global average
pooling, flatten, fused ReLU and ReLU6), trained briefly on Fashion-MNIST.

    python -m benchmarks.micro_cnn [--out artifacts/cnn] [--epochs 3]

Saves OUT/cnn.keras, then exports it with `python -m export --model OUT/cnn.keras --out OUT`.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np

from runtime import cli
from runtime.dataset import load_split, scaled

LEARNING_RATE, BATCH = 3e-3, 64  # a few epochs reach ~0.8 test accuracy


def build_cnn():
    """Conv(8, same) > MaxPool > Depthwise(valid, ReLU6) > AvgPool(same) > Conv(16, stride 2) >
    GlobalAveragePooling > Flatten > Dense(10, softmax): 77,344 multiply-accumulates."""
    import keras

    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.DepthwiseConv2D(3, padding="valid", activation="relu6"),
            layers.AveragePooling2D(2, padding="same"),
            layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            layers.GlobalAveragePooling2D(keepdims=True),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ],
        name="fmnist_cnn",
    )
    model.compile(
        keras.optimizers.Adam(LEARNING_RATE), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def train_cnn(images: np.ndarray, labels: np.ndarray, epochs: int, seed: int = 1):
    """build_cnn() fitted on uint8 images (N, 28, 28) and their labels."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_cnn()
    model.fit(scaled(images)[..., None], labels, epochs=epochs, batch_size=BATCH, verbose=0)
    return model


def main(argv=None) -> int:
    parser = cli.parser("python -m benchmarks.micro_cnn", __doc__)
    parser.add_argument(
        "--out", type=Path, default=Path("artifacts/cnn"), help="folder of cnn.keras and its export"
    )
    parser.add_argument(
        "--epochs", type=cli.positive, default=3, help="passes over the 60,000 training images"
    )
    return cli.run(make_cnn, parser, argv)


def make_cnn(args) -> int:
    model = train_cnn(*load_split("train"), args.epochs)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "cnn.keras")
    export = [sys.executable, "-m", "export", "--model", str(args.out / "cnn.keras"), "--out", str(args.out)]
    return subprocess.run(export).returncode


if __name__ == "__main__":
    sys.exit(main())
