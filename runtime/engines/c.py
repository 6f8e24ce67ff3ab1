"""The generated C model (`fmnist_model.c`) through ctypes: export compiled it into `fmnist_model.so`
beside it, and the header beside it gives the output's quantization. Both are the manifest entry's
companions, so the checksum check covers the library this loads, not only the source it came from.

Each image is one call of `int fmnist_predict(const uint8_t pixels[784], int8_t scores[10])` (the
tutorial's sizes; the header gives the model's), which takes raw pixels whatever the model's input
range (the engine `takes_pixels`). The function keeps no state, so calls need no lock.
"""

import ctypes
import re
from pathlib import Path

import numpy as np

from runtime.engines import Engine
from runtime.errors import ModelError

DEFINE = re.compile(r"^#define (FMNIST_\w+) \(?(-?[\d.e+-]+)f?\)?(?: /\*.*\*/)?$", re.MULTILINE)


def library_path(source: Path) -> Path:
    """Where export puts the shared library compiled from `source`."""
    return source.with_suffix(".so")


def header_values(source: Path) -> dict[str, float]:
    """The FMNIST_* numbers #defined in the header beside `source`."""
    header = source.with_suffix(".h")
    try:
        text = header.read_text()
    except OSError as e:
        raise ModelError(
            header, f"cannot read the model's header ({e.strerror}); re-run `make export`"
        ) from None
    values = {name: float(value) for name, value in DEFINE.findall(text)}
    needed = (
        "FMNIST_HEIGHT",
        "FMNIST_WIDTH",
        "FMNIST_CHANNELS",
        "FMNIST_CLASSES",
        "FMNIST_OUTPUT_SCALE",
        "FMNIST_OUTPUT_ZERO_POINT",
    )
    missing = [name for name in needed if name not in values]
    if missing:
        raise ModelError(header, f"lacks {', '.join(missing)}: not a header written by `make export`")
    return values


class CEngine(Engine):
    takes_pixels = True
    input_dtype = np.dtype(np.uint8)
    output_dtype = np.dtype(np.int8)

    def __init__(self, path: Path, threads: int):
        values = header_values(path)
        height, width, channels = (int(values[f"FMNIST_{d}"]) for d in ("HEIGHT", "WIDTH", "CHANNELS"))
        self.input_shape = (height, width) if channels == 1 else (height, width, channels)
        library = library_path(path)
        if not library.is_file():
            raise ModelError(library, "missing: export compiles it beside the .c (it needs a C compiler)")
        try:
            self.predict_one = ctypes.CDLL(str(library.resolve())).fmnist_predict
        except (OSError, AttributeError) as e:
            raise ModelError(
                library, f"cannot load it ({str(e).splitlines()[0]}); re-run `make export` on this machine"
            ) from None
        self.predict_one.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.predict_one.restype = ctypes.c_int
        self.classes = int(values["FMNIST_CLASSES"])
        self.output_quant = (values["FMNIST_OUTPUT_SCALE"], int(values["FMNIST_OUTPUT_ZERO_POINT"]))

    def call(self, x: np.ndarray) -> np.ndarray:
        pixels = np.ascontiguousarray(x, np.uint8)
        scores = np.empty((len(x), self.classes), np.int8)
        image_bytes, row_bytes = pixels[0].nbytes if len(x) else 0, scores.itemsize * self.classes
        source, target = pixels.ctypes.data, scores.ctypes.data
        for i in range(len(x)):
            self.predict_one(source + i * image_bytes, target + i * row_bytes)
        return scores
