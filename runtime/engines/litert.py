"""A `.tflite` flatbuffer in LiteRT, through its documented `Interpreter` API: resize_tensor_input,
allocate_tensors, set_tensor, invoke, get_tensor (which returns a copy, so nothing of the engine's
memory is held across calls)."""

import threading
from pathlib import Path

import numpy as np

from runtime.engines import Engine, check_io, fixed_batch
from runtime.errors import ModelError
from runtime.quiet import native_stderr_silenced


def litert_interpreter(data: bytes, threads: int):
    """A LiteRT interpreter with tensors allocated, set up as the engine runs it (the benchmarks'
    bare reference builds its own with this, so both measure the same configuration)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data, num_threads=threads)
    with native_stderr_silenced():
        interpreter.allocate_tensors()
    return interpreter


def quantization(detail: dict) -> tuple[float, int] | None:
    """(scale, zero_point) of an integer tensor, None for a float one."""
    return tuple(detail["quantization"]) if np.dtype(detail["dtype"]).kind in "iu" else None


class LiteRTEngine(Engine):
    """The interpreter is not thread-safe, so calls take a lock; a new batch size re-plans memory."""

    def __init__(self, path: Path, threads: int):
        data = path.read_bytes()
        try:
            self.interpreter = litert_interpreter(data, threads)
        except (ValueError, RuntimeError) as e:
            raise ModelError(path, f"LiteRT cannot load it: {str(e).splitlines()[0]}") from None
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        self.input_shape, self.classes = check_io(
            path, inputs, outputs, inputs[0]["shape_signature"], outputs[0]["shape"]
        )
        (inp,), (out,) = inputs, outputs
        self.input_index, self.output_index = inp["index"], out["index"]
        self.input_dtype, self.output_dtype = np.dtype(inp["dtype"]), np.dtype(out["dtype"])
        self.input_quant, self.output_quant = quantization(inp), quantization(out)
        self.fixed_batch = fixed_batch(inp["shape_signature"][0])
        self.batch = int(inp["shape"][0])  # the batch size memory is planned for
        self.lock = threading.Lock()

    def call(self, x: np.ndarray) -> np.ndarray:
        interpreter = self.interpreter
        with self.lock:
            if len(x) != self.batch:
                interpreter.resize_tensor_input(self.input_index, x.shape)
                interpreter.allocate_tensors()
                self.batch = len(x)
            interpreter.set_tensor(self.input_index, x)
            interpreter.invoke()
            return interpreter.get_tensor(self.output_index)
