"""The bare engine call with no wrapper: the reference that Predictor.predict's overhead is measured
against. LiteRT: set_tensor, invoke, get_tensor; onnxruntime: session.run. Both are built by the
engines' own constructors (same threads and options), and the input is converted to the engine's
dtype beforehand, so the only difference left is the toolkit's wrapper.
"""

from pathlib import Path

import numpy as np

from runtime.dataset import scaled
from runtime.engines.litert import litert_interpreter
from runtime.engines.ort import onnx_session


def engine_input(pixels: np.ndarray, dtype: np.dtype, quantization: tuple[float, int] | None) -> np.ndarray:
    """uint8 pixels as the engine's input tensor: scaled to 0..1, then quantized for an int8 input."""
    x = scaled(pixels)
    if quantization is None:
        return x
    scale, zero_point = quantization
    info = np.iinfo(dtype)
    return np.clip(np.round(x / np.float32(scale)) + zero_point, info.min, info.max).astype(dtype)


def bare_call(path: Path, pixels: np.ndarray, threads: int):
    """A no-argument function running the model at `path` once on `pixels` (N, 28, 28) uint8."""
    data = Path(path).read_bytes()
    if Path(path).suffix == ".tflite":
        interpreter = litert_interpreter(data, threads)
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        if tuple(inp["shape"]) != pixels.shape:
            interpreter.resize_tensor_input(inp["index"], pixels.shape)
            interpreter.allocate_tensors()
        quantized = np.dtype(inp["dtype"]).kind in "iu"
        x = engine_input(pixels, inp["dtype"], inp["quantization"] if quantized else None)
        set_tensor, invoke, get_tensor = interpreter.set_tensor, interpreter.invoke, interpreter.get_tensor
        i, o = inp["index"], out["index"]

        def litert():
            set_tensor(i, x)
            invoke()
            return get_tensor(o)

        return litert
    session = onnx_session(data, threads)
    (inp,), names = session.get_inputs(), [session.get_outputs()[0].name]
    feed = {inp.name: engine_input(pixels, np.float32, None)}
    return lambda: session.run(names, feed)
