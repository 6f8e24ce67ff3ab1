"""The two inference engines, each a small class with one call: `run(batch) -> raw output`.

Each engine library is imported only when a model of its kind is loaded, so importing `runtime`
stays cheap and a device needs only the engine it uses.
"""

import threading
from pathlib import Path

import numpy as np

from runtime.errors import ModelError

INPUT_SHAPE, CLASS_COUNT = (28, 28), 10


class Engine:
    """What the Predictor needs to know: input dtype and the (scale, zero_point) of int8 tensors."""

    input_dtype: np.dtype
    input_quant: tuple[float, int] | None = None
    output_quant: tuple[float, int] | None = None

    def run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def check_shapes(path: Path, input_shape, output_shape) -> None:
    """Refuse a model that is not a 28x28 -> 10-class classifier, naming what it expects instead."""
    if tuple(input_shape[-2:]) != INPUT_SHAPE or len(input_shape) != 3:
        raise ModelError(path, f"expects input shape {list(input_shape)}, not [batch, 28, 28]")
    if len(output_shape) != 2 or output_shape[-1] != CLASS_COUNT:
        raise ModelError(path, f"gives output shape {list(output_shape)}, not [batch, {CLASS_COUNT}]")


def litert_interpreter(data: bytes, threads: int):
    """A LiteRT interpreter with tensors allocated, set up as the engine runs it (the benchmarks'
    bare reference builds its own with this, so both measure the same configuration)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data, num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


def onnx_session(data: bytes, threads: int):
    """An onnxruntime session on the CPU, set up as the engine runs it (see litert_interpreter)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: warnings are not the user's business
    # enable_fallback=0: on a damaged model ORT would otherwise print a banner on stdout and retry
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"], enable_fallback=0)


class LiteRTEngine(Engine):
    """A `.tflite` flatbuffer in LiteRT. The interpreter is not thread-safe, so calls take a lock."""

    def __init__(self, path: Path, threads: int):
        data = path.read_bytes()
        if data[4:8] != b"TFL3":
            raise ModelError(path, "not a TFLite flatbuffer (no 'TFL3' identifier)")
        try:
            self.interpreter = litert_interpreter(data, threads)
        except (ValueError, RuntimeError) as e:
            raise ModelError(path, f"LiteRT cannot load it: {str(e).splitlines()[0]}") from None
        (inp,), (out,) = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        check_shapes(path, inp["shape"], out["shape"])
        self.input_index, self.output_index = inp["index"], out["index"]
        self.input_dtype = np.dtype(inp["dtype"])
        self.input_quant = inp["quantization"] if self.input_dtype.kind in "iu" else None
        self.output_quant = out["quantization"] if np.dtype(out["dtype"]).kind in "iu" else None
        self.batch = int(inp["shape"][0])
        self.lock = threading.Lock()

    def run(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            if len(batch) != self.batch:  # resizing is slow: only when the batch size changes
                self.interpreter.resize_tensor_input(self.input_index, batch.shape)
                self.interpreter.allocate_tensors()
                self.batch = len(batch)
            self.interpreter.set_tensor(self.input_index, batch)
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self.output_index)


class OnnxEngine(Engine):
    """A `.onnx` model in ONNX Runtime; `InferenceSession.run` is thread-safe."""

    TYPES = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}

    def __init__(self, path: Path, threads: int):
        try:
            self.session = onnx_session(path.read_bytes(), threads)
        except Exception as e:  # onnxruntime raises its own unrelated exception types
            raise ModelError(path, f"ONNX Runtime cannot load it: {str(e).splitlines()[0]}") from None
        (inp,), (out,) = self.session.get_inputs(), self.session.get_outputs()
        check_shapes(path, inp.shape, out.shape)
        if inp.type not in self.TYPES:
            raise ModelError(path, f"input type {inp.type} is not supported")
        self.input_name, self.output_names = inp.name, [out.name]
        self.input_dtype = np.dtype(self.TYPES[inp.type])

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(self.output_names, {self.input_name: batch})[0]


ENGINES = {".tflite": LiteRTEngine, ".onnx": OnnxEngine}
