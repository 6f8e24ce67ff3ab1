"""Engines: each wraps one library through its public API in a small class with one call.

    engine.run(x)  # x: (N, *engine.input_shape) of engine.input_dtype -> (N, classes), a new array

The Predictor converts pixels to the engine's input and its output back; an engine only runs. The
table in runtime/variants.py names each format's engine, imported only when such a model is loaded.
"""

from pathlib import Path

import numpy as np

from runtime.errors import ModelError, one_line
from runtime.variants import Format

IMAGE = (28, 28)
GREY = (IMAGE, (*IMAGE, 1))  # (N, 28, 28) and (N, 28, 28, 1): what a Keras model to export may take
LAYOUTS = (*GREY, (*IMAGE, 3))  # and RGB (N, 28, 28, 3), as MediaPipe requires: the per-image input
# shapes an engine runs (the Predictor gives an RGB model the grey image in each channel)


class Engine:
    """What the Predictor reads: input layout and dtype, class count, (scale, zero_point) of int8 tensors.

    A model with a fixed batch size (`fixed_batch`) is run in chunks of that size, the last padded.
    """

    input_shape: tuple[int, ...] = IMAGE  # one image's
    input_dtype: np.dtype
    output_dtype: np.dtype
    input_quant: tuple[float, int] | None = None
    output_quant: tuple[float, int] | None = None
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
    """A shape as the user reads it: [batch, 28, 28] (dynamic sizes are 'batch' or '?')."""
    dims = [
        int(d) if isinstance(d, int | np.integer) and d >= 0 else ("batch" if i == 0 else "?")
        for i, d in enumerate(shape)
    ]
    return "[" + ", ".join(map(str, dims)) + "]"


def check_io(
    path: Path, inputs: list, outputs: list, input_shape, output_shape, layouts=LAYOUTS
) -> tuple[tuple, int]:
    """One image's input shape (one of `layouts`) and the class count, or a ModelError saying what is
    expected."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            path,
            f"has {len(inputs)} inputs and {len(outputs)} outputs; a classifier here "
            "takes one batch of 28x28 images and gives one row of class scores",
        )
    per_image = tuple(input_shape[1:])
    if len(input_shape) not in (3, 4) or per_image not in layouts:
        expected = [plain([None, *layout]) for layout in layouts]
        raise ModelError(
            path,
            f"expects input shape {plain(input_shape)}, not {', '.join(expected[:-1])} or {expected[-1]}",
        )
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
