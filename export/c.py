"""Export to dependency-free C: the tflite-int8-micro flatbuffer (the same conversion, the same
calibration) turned into fmnist_model.h/.c (export/c_source.py), compiled here with the system C
compiler into fmnist_model.so for the runtime's ctypes engine. No compiler, or a layer the generator
cannot write: the variant is skipped with one line saying why.
"""

import os
import shutil
import subprocess
from pathlib import Path

import keras
import numpy as np

from export import VariantSkipped
from export.c_graph import read
from export.c_source import header, source
from export.micro import micro_tflite_bytes
from export.recipes import QuantRecipe
from runtime.engines.c import library_path
from runtime.errors import ModelError

CFLAGS = ["-std=c99", "-O3", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fPIC", "-shared"]


def compiler() -> str:
    """$CC or cc, as found on PATH; VariantSkipped when there is none."""
    name = os.environ.get("CC", "cc")
    found = shutil.which(name)
    if found is None:
        raise VariantSkipped(f"no C compiler ({name}) on PATH to build its shared library; install gcc")
    return found


def export_c(
    model: keras.Model, filepath: Path, calibration: np.ndarray, recipe: QuantRecipe | None = None
) -> dict:
    """Write fmnist_model.c (filepath), .h and .so beside it; returns the manifest's extra fields:
    the scratch (stack bytes of the layers' outputs) and the multiply-accumulates per inference."""
    filepath = Path(filepath)
    if filepath.suffix != ".c":
        raise ValueError(f"export_c requires the filepath to end with '.c'. Got: {filepath}")
    cc = compiler()
    graph = read(micro_tflite_bytes(model, calibration, recipe), [layer.name for layer in model.layers])
    code, scratch = source(graph, "the tflite-int8-micro flatbuffer")
    header_path, library = filepath.with_suffix(".h"), library_path(filepath)
    header_path.write_text(header(graph, scratch))
    filepath.write_text(code)
    build = subprocess.run([cc, *CFLAGS, "-o", str(library), str(filepath)], capture_output=True, text=True)
    if build.returncode != 0:
        raise ModelError(filepath, f"{cc} failed: {(build.stderr.strip().splitlines() or ['?'])[0]}")
    macs = sum(layer.macs for layer in graph.layers)
    return {"companions": [header_path, library], "scratch_bytes": scratch, "macs": macs}
