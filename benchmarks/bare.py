"""The bare engine call: the reference that Predictor.predict's overhead is measured against.

It is the engine's own `call` (LiteRT: set_tensor, invoke, get_tensor under the interpreter's lock;
onnxruntime: session.run; any registered format: its engine's call) on input already converted to
the engine's dtype and layout, so what is left between the two rows is the Predictor: validation,
pixel conversion and output conversion.
"""

from functools import partial
from pathlib import Path

import numpy as np

from runtime.engines import open_engine
from runtime.inputs import ImageInput
from runtime.predictor import pixel_table, to_layout
from runtime.variants import Variant


def bare_call(variant: Variant, path: Path, pixels: np.ndarray, image: ImageInput, threads: int):
    """A no-argument function running the model at `path` once on `pixels` (N, *image.shape) uint8."""
    engine = open_engine(Path(path), variant.format, threads)
    x = to_layout(engine, pixel_table(engine, image).take(pixels))
    return partial(engine.call, x)
