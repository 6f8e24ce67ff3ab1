"""Export for MediaPipe Tasks' ImageClassifier (Android, iOS, Web, Python): a TFLite file of batch 1
taking RGB images [1, H, W, 3], with its class names, normalization, name and version in its TFLite
metadata, so MediaPipe needs nothing else.

MediaPipe refuses the plain variants: it takes [1, H, W, 3 or 4] uint8 or float32 input (not the
greyscale [N, 28, 28]) and gives uint8 or float32 scores (not int8). So the trained model is put
behind an RGB input whose channel mean it is given (the grey image itself when R = G = B); int8 has
uint8 input (scale 1/255, zero point 0: the pixels themselves) and uint8 output, calibrated as
tflite-int8 is (the same recipe, the same images in three channels).
"""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from export.common import INPUT_NAME
from export.recipes import BASELINES, QuantRecipe
from export.tflite import integer_converter, write_saved_model
from export.tflite_metadata import LABELS, image_classifier, with_metadata

BATCH = 1  # MediaPipe classifies one image per call


def export_mediapipe(
    model: keras.Model,
    filepath: Path,
    calibration: np.ndarray | None = None,
    recipe: QuantRecipe | None = None,
) -> None:
    """Write `model` behind an RGB input to `filepath`, float32, or int8 with uint8 input and output
    with `calibration` (float32 0..1 images of the model's shape) by `recipe`. The metadata follows
    (write_metadata), once the class names are known."""
    if Path(filepath).suffix != ".tflite":
        raise ValueError(f"export_mediapipe requires the filepath to end with '.tflite'. Got: {filepath}")
    rgb = rgb_input(model)
    with tempfile.TemporaryDirectory() as saved:
        write_saved_model(rgb, Path(saved), BATCH)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if calibration is not None:
            grey = calibration.reshape(*calibration.shape[:3], 1)
            integer_converter(converter, np.repeat(grey, 3, axis=-1), recipe or BASELINES["tflite"], BATCH)
            # MediaPipe takes uint8 or float32 in and out, not int8
            converter.inference_input_type = converter.inference_output_type = tf.uint8
        Path(filepath).write_bytes(converter.convert())


def rgb_input(model: keras.Model) -> keras.Model:
    """`model` given the mean of an RGB image's channels: [1, H, W, 3] in, its own scores out."""
    shape = tuple(model.inputs[0].shape[1:])  # (H, W) or (H, W, 1): greyscale, as export requires
    image = keras.Input((*shape[:2], 3), batch_size=BATCH, name=INPUT_NAME)
    grey = keras.ops.reshape(keras.ops.mean(image, axis=-1), (BATCH, *shape))
    return keras.Model(image, model(grey), name=model.name)


def write_metadata(filepath: Path, card) -> None:
    """Put the model's card (export/model_source.py) into the file as MediaPipe reads it: the class
    names as labels.txt, the normalization (pixels / 255), its name, version and a description."""
    from ai_edge_litert import schema_py_generated as schema

    data = Path(filepath).read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    graph = model.Subgraphs(0)
    image = graph.Tensors(graph.Inputs(0))
    _, height, width, _ = image.ShapeAsNumpy()
    description = (
        f"Classifies a {height}x{width} image into {len(card.classes)} classes. Trained on light objects "
        "on a dark background, centred (as Fashion-MNIST's): frame a photo that way first, as fmnist-edge's "
        "runtime.predict does (MediaPipe only stretches the image to the model's size)."
    )
    metadata = image_classifier(
        card.name, card.version, description, float_input=image.Type() == schema.TensorType.FLOAT32
    )
    labels = "".join(f"{name}\n" for name in card.classes)
    Path(filepath).write_bytes(with_metadata(data, metadata, {LABELS: labels}))
