"""A `.onnx` model in ONNX Runtime, through its documented `InferenceSession.run` (thread-safe)."""

from pathlib import Path

import numpy as np

from runtime.engines import Engine, check_io, fixed_batch
from runtime.errors import ModelError

TYPES = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}


def onnx_session(data: bytes, threads: int):
    """An onnxruntime session on the CPU, set up as the engine runs it (the benchmarks' bare reference
    builds its own with this, so both measure the same configuration)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: warnings are not the user's business
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


class OnnxEngine(Engine):
    def __init__(self, path: Path, threads: int):
        try:
            self.session = onnx_session(path.read_bytes(), threads)
        except Exception as e:  # onnxruntime raises its own unrelated exception types
            raise ModelError(path, f"ONNX Runtime cannot load it: {str(e).splitlines()[0]}") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        self.input_shape, self.classes = check_io(path, inputs, outputs, inputs[0].shape, outputs[0].shape)
        (inp,), (out,) = inputs, outputs
        if inp.type not in TYPES or out.type not in TYPES:
            raise ModelError(
                path,
                f"tensor types {inp.type} -> {out.type} are not supported; use one of {', '.join(TYPES)}",
            )
        self.input_name, self.output_names = inp.name, [out.name]
        self.input_dtype, self.output_dtype = np.dtype(TYPES[inp.type]), np.dtype(TYPES[out.type])
        self.fixed_batch = fixed_batch(inp.shape[0])

    def call(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(self.output_names, {self.input_name: x})[0]
