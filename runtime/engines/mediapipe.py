"""A MediaPipe-ready `.tflite` in MediaPipe Tasks' ImageClassifier, through its documented Python API
(`ImageClassifier.create_from_options`, `classify`, `close`): the runtime a phone or web app hands
the file to. It reads the labels and the input normalization from the file's metadata and takes RGB
images only; it stretches any size to the model's.

Export's gate runs the test images through it as well as through LiteRT (export/made_for.py), and
the benchmark times its `classify` beside LiteRT's. MediaPipe has no thread setting on the CPU.
"""

import threading
from pathlib import Path

import mediapipe
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from runtime.engines import Engine
from runtime.errors import ModelError, one_line
from runtime.quiet import native_stderr_silenced


class MediaPipeEngine(Engine):
    """One classifier, one image per `classify` under a lock. It takes 0..255 RGB pixels whatever the
    model's own input (MediaPipe normalizes by the metadata), so the Predictor gives it the pixels
    (`takes_pixels`), at the model's own size (read from the file). Out: every class's score in label
    order, float32. After one failed `classify` a MediaPipe 1.2.3 classifier fails every later call
    ("Graph has errors"): the Predictor hands it only images it has checked."""

    takes_pixels = True
    input_dtype = np.dtype(np.uint8)
    output_dtype = np.dtype(np.float32)

    def __init__(self, path: Path, threads: int):
        options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(path)))
        try:
            with native_stderr_silenced():  # "Created TensorFlow Lite XNNPACK delegate for CPU."
                self.classifier = vision.ImageClassifier.create_from_options(options)
        except (ValueError, RuntimeError) as e:
            raise ModelError(path, f"MediaPipe cannot load it: {one_line(e)}") from None
        self.input_shape = rgb_shape(path.read_bytes())  # [1, H, W, 3]: MediaPipe took it
        self.lock = threading.Lock()
        self.classes = len(self.categories(np.zeros(self.input_shape, np.uint8)))

    def categories(self, rgb: np.ndarray) -> list:
        """MediaPipe's answer for one (H, W, 3) uint8 image (C-contiguous, as a row of the
        Predictor's batch is): a category (index, score, name) per class, best first."""
        with self.lock:
            image = mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=rgb)
            return self.classifier.classify(image).classifications[0].categories

    def call(self, x: np.ndarray) -> np.ndarray:
        scores = np.zeros((len(x), self.classes), np.float32)
        for row, rgb in zip(scores, x, strict=True):
            for category in self.categories(rgb):
                row[category.index] = category.score
        return scores

    def close(self) -> None:
        """MediaPipe's graph and threads go now: left to garbage collection, they may outlive
        MediaPipe's own shutdown at exit and print a traceback (its audio module keeps the frames
        that imported it, and their locals, when PortAudio is missing)."""
        self.classifier.close()


def rgb_shape(data: bytes) -> tuple[int, int, int]:
    """(height, width, 3) of the RGB image a MediaPipe-ready flatbuffer's [1, H, W, 3] input takes."""
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAs(data, 0).Subgraphs(0)
    _, height, width, _ = graph.Tensors(graph.Inputs(0)).ShapeAsNumpy()
    return int(height), int(width), 3
