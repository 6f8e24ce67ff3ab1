"""Export for MediaPipe Tasks' ImageClassifier (Android, iOS, Web, Python): a TFLite file of batch 1
taking RGB images [1, H, W, 3], with its class names, normalization, name and version in its TFLite
metadata, so MediaPipe needs nothing else.

MediaPipe refuses the plain variants: it takes [1, H, W, 3 or 4] uint8 or float32 input (not a
greyscale [N, H, W]) and gives uint8 or float32 scores (not int8). So a greyscale model is put
behind an RGB input whose channel mean it is given (the grey image itself when R = G = B); an RGB
model takes MediaPipe's images as they are. int8 has uint8 input (zero point 0: the pixels
themselves, scaled as the model's input range says) and uint8 output, calibrated as tflite-int8 is
(the same recipe, the same images, in three channels).
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
    with `calibration` (float32 images as the model takes them) by `recipe`. The metadata follows
    (write_metadata), once the class names are known."""
    if Path(filepath).suffix != ".tflite":
        raise ValueError(f"export_mediapipe requires the filepath to end with '.tflite'. Got: {filepath}")
    rgb = rgb_input(model)
    with tempfile.TemporaryDirectory() as saved:
        write_saved_model(rgb, Path(saved), BATCH)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if calibration is not None:
            images = calibration.reshape(*calibration.shape[:3], -1)
            rgb = np.repeat(images, 3 // images.shape[-1], axis=-1)
            integer_converter(converter, rgb, recipe or BASELINES["tflite"], BATCH)
            # MediaPipe takes uint8 or float32 in and out, not int8
            converter.inference_input_type = converter.inference_output_type = tf.uint8
        Path(filepath).write_bytes(converter.convert())


def rgb_input(model: keras.Model) -> keras.Model:
    """`model` taking [1, H, W, 3] RGB images: a greyscale one given the mean of their channels, an
    RGB one the images themselves; its own scores out."""
    shape = tuple(model.inputs[0].shape[1:])  # (H, W), (H, W, 1) or (H, W, 3)
    image = keras.Input((*shape[:2], 3), batch_size=BATCH, name=INPUT_NAME)
    if shape[2:] == (3,):
        return keras.Model(image, model(image), name=model.name)
    grey = keras.ops.reshape(keras.ops.mean(image, axis=-1), (BATCH, *shape))
    return keras.Model(image, model(grey), name=model.name)


def write_metadata(filepath: Path, card) -> None:
    """Put the model's card (export/model_source.py) into the file as MediaPipe reads it: the class
    names as labels.txt, the normalization (pixels / 255, or the pixels for a model of inputs
    0..255), its name, version and a description."""
    from ai_edge_litert import schema_py_generated as schema

    data = Path(filepath).read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    graph = model.Subgraphs(0)
    image = graph.Tensors(graph.Inputs(0))
    _, height, width, _ = image.ShapeAsNumpy()
    trained = (
        "Trained on light objects on a dark background, centred (as Fashion-MNIST's): frame a photo "
        "that way first, as fmnist-edge's runtime.predict does (MediaPipe only stretches the image to "
        "the model's size)."
        if card.image.framed
        else "Trained on whole images resized to that size, as MediaPipe stretches an image."
    )
    description = f"Classifies a {height}x{width} image into {len(card.classes)} classes. {trained}"
    float_input = image.Type() == schema.TensorType.FLOAT32
    metadata = image_classifier(card.name, card.version, description, float_input, card.image.range.white)
    labels = "".join(f"{name}\n" for name in card.classes)
    Path(filepath).write_bytes(with_metadata(data, metadata, {LABELS: labels}))
