"""Engines: each wraps one library through its public API in a small class with one call.

    engine.run(x)  # x: (N, *engine.input_shape) of engine.input_dtype -> (N, classes), a new array

The Predictor converts pixels to the engine's input and its output back; an engine only runs. The
table in runtime/variants.py names each format's engine, imported only when such a model is loaded.
"""

from pathlib import Path

import numpy as np

from runtime.errors import ModelError, one_line
from runtime.inputs import shape_problem
from runtime.variants import Format


class Engine:
    """What the Predictor reads: input layout and dtype, class count, (scale, zero_point) of int8 tensors.

    A model with a fixed batch size (`fixed_batch`) is run in chunks of that size, the last padded.
    An engine that `takes_pixels` is given the uint8 pixels themselves, whatever the model's input
    range (the generated C function, MediaPipe: each maps them to the model's input itself).
    """

    input_shape: tuple[int, ...]  # one image's: (H, W), (H, W, 1) or (H, W, 3)
    input_dtype: np.dtype
    output_dtype: np.dtype
    input_quant: tuple[float, int] | None = None
    output_quant: tuple[float, int] | None = None
    takes_pixels: bool = False
    classes: int
    fixed_batch: int | None = None

    def run(self, x: np.ndarray) -> np.ndarray:
        size = self.fixed_batch
        if size is None or len(x) == size:
            return self.call(x)
        chunks = []
        for start in range(0, len(x), size):
            chunk = x[start : start + size]
            padded = np.concatenate([chunk, np.zeros((size - len(chunk), *x.shape[1:]), x.dtype)])
            chunks.append(self.call(padded)[: len(chunk)])
        return np.concatenate(chunks)

    def call(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the library holds now (MediaPipe's graph): most engines need nothing."""


def plain(shape) -> str:
    """A shape as the user reads it: [batch, 32, 32, 3] (dynamic sizes are 'batch' or '?')."""
    dims = [
        int(d) if isinstance(d, int | np.integer) and d >= 0 else ("batch" if i == 0 else "?")
        for i, d in enumerate(shape)
    ]
    return "[" + ", ".join(map(str, dims)) + "]"


def check_io(path: Path, inputs: list, outputs: list, input_shape, output_shape) -> tuple[tuple, int]:
    """One image's input shape and the class count, or a ModelError saying what is expected."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            path,
            f"has {len(inputs)} inputs and {len(outputs)} outputs; a classifier here "
            "takes one batch of images and gives one row of class scores",
        )
    per_image = tuple(input_shape[1:])
    problem = shape_problem(per_image)
    if problem:
        raise ModelError(path, f"expects input shape {plain(input_shape)}; {problem}")
    classes = output_shape[-1] if len(output_shape) == 2 else None
    if not isinstance(classes, int | np.integer) or classes < 2:
        raise ModelError(path, f"gives output shape {plain(output_shape)}, not [batch, classes]")
    return tuple(int(d) for d in per_image), int(classes)


def fixed_batch(size) -> int | None:
    """The model's batch size if fixed (a positive whole number), else None."""
    return int(size) if isinstance(size, int | np.integer) and size > 0 else None


def open_engine(path: Path, fmt: Format, threads: int) -> Engine:
    """The engine of `fmt` for `path` in this process, once its first bytes are the format's; whatever
    an engine raises becomes a ModelError."""
    fmt.check(path)
    try:
        engine_class = fmt.engine_class()
    except ImportError as e:
        raise ModelError(
            path, f"its engine is not installed here ({one_line(e)}); install {fmt.package}"
        ) from None
    try:
        return engine_class(path, threads)
    except ModelError:
        raise
    except OSError as e:  # e.g. the file vanished: a concurrent export removed a superseded set
        raise ModelError(path, f"cannot read it ({e.strerror or e})") from None
    except Exception as e:  # engines raise unrelated types (UnicodeDecodeError on a damaged name...)
        raise ModelError(path, f"cannot load it ({one_line(e)})") from None
