"""The two inference engines, each a small class with one call: `runner(fill, read)`.

Each engine library is imported only when a model of its kind is loaded, so importing `runtime`
stays cheap and a device needs only the engine it uses.

`runner(fill, read)` is the Predictor's path: a function of the images in which `fill(images,
buffer)` writes the model input straight into the buffer the engine reads (LiteRT's own input
tensor: no set_tensor copy) and `read(output)` turns the raw output into the result while the
engine still owns it. At batch 1 the int8 model takes under 2 us, about what four numpy calls or
Python function calls cost, so the path has as few of them as it can.
"""

import contextlib
import os
import sys
import threading
from pathlib import Path

import numpy as np

from runtime.errors import ModelError

INPUT_SHAPE, CLASS_COUNT = (28, 28), 10


class Engine:
    """What the Predictor needs to know: input dtype and the (scale, zero_point) of int8 tensors."""

    input_dtype: np.dtype
    output_dtype: np.dtype = np.dtype(np.float32)
    input_quant: tuple[float, int] | None = None
    output_quant: tuple[float, int] | None = None
    reuses_output = True  # the raw output is the engine's own memory, overwritten by the next call

    def runner(self, fill, read):
        """run(images) -> read(output) for the input that fill(images, buffer) writes into a buffer
        of the input dtype and shape (len(images), 28, 28). Where the engine reuses `output`,
        `read` must return a new array."""
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
    with native_stderr_silenced():
        interpreter.allocate_tensors()
    return interpreter


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a moment: LiteRT's C++ prints "INFO: Created
    TensorFlow Lite XNNPACK delegate for CPU." there with no switch to turn it off, and the CLIs
    promise one line per problem on stderr. Errors still arrive as the Python exception's message."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
    """A `.tflite` flatbuffer in LiteRT. The interpreter is not thread-safe, so calls take a lock.

    The engine keeps numpy views of the input and output tensors and calls the wrapped C++
    interpreter directly: the Python wrapper's methods refuse to run while any view exists (views
    dangle when tensors move), and taking and dropping views on every call costs as much as the int8
    model itself. Tensors move only when memory is planned: in AllocateTensors and, because the
    exported graph computes its reshape at run time, in the first Invoke after it (its output is
    allocated then, and the arena may grow and move the input). So `_settle` allocates, invokes
    once, and only then takes the views that later calls use; invokes of the same shapes allocate
    nothing. Views taken before a settle (a caller may keep one to compare) are never written
    again. The XNNPACK delegate belongs to the C++ interpreter, so views may outlive the wrapper.
    """

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
        self.input_dtype, self.output_dtype = np.dtype(inp["dtype"]), np.dtype(out["dtype"])
        self.input_quant = inp["quantization"] if self.input_dtype.kind in "iu" else None
        self.output_quant = out["quantization"] if self.output_dtype.kind in "iu" else None
        self.lock = threading.Lock()
        self._native = self.interpreter._interpreter  # see the class docstring
        # (batch size, input view, output view); the first call settles, so a model that fails to
        # run fails there, not at load
        self._settled = (None, None, None)

    def _settle(self, count: int) -> tuple:
        """Plan memory for batches of `count` and take views of the input and output tensors."""
        native = self._native
        native.ResizeInputTensor(self.input_index, np.array((count, *INPUT_SHAPE), np.int32), False)
        native.AllocateTensors()
        native.Invoke()  # on whatever the input holds: allocates what the graph allocates late
        tensor = self.interpreter.tensor
        self._settled = (count, tensor(self.input_index)(), tensor(self.output_index)())
        return self._settled

    def runner(self, fill, read):
        acquire, release, invoke = self.lock.acquire, self.lock.release, self._native.Invoke

        def run(images):
            acquire()  # with acquire/release, not `with lock`: half the cost
            try:
                count, input_view, output_view = self._settled
                if len(images) != count:
                    count, input_view, output_view = self._settle(len(images))  # batch size changed
                fill(images, input_view)
                invoke()
                return read(output_view)
            finally:
                release()

        return run


class OnnxEngine(Engine):
    """A `.onnx` model in ONNX Runtime; `InferenceSession.run` is thread-safe.

    Each thread fills an input buffer of its own, kept between calls of up to KEEP images:
    onnxruntime runs about a microsecond faster on memory it has just read than on a fresh array (a
    tenth of a batch-1 call). Larger batches get a fresh array, so no thread holds on to megabytes.
    Calls go to the session's C++ binding (`session._sess.run`): `InferenceSession.run` re-checks the
    feed's names and ownership in Python on every call (another microsecond), and the feed here is
    built by this class from names checked once, at load.
    """

    TYPES = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}
    reuses_output = False  # every run returns new arrays
    KEEP = 64

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
        self._local = threading.local()

    def runner(self, fill, read):
        local, names, name = self._local, self.output_names, self.input_name
        run_session = self.session._sess.run  # see the class docstring

        def run(images):
            buffer = getattr(local, "buffer", None)
            if buffer is None or buffer.shape != images.shape:
                buffer = np.empty(images.shape, self.input_dtype)
                if len(images) <= self.KEEP:
                    local.buffer = buffer
            fill(images, buffer)
            return read(run_session(names, {name: buffer}, None)[0])

        return run


ENGINES = {".tflite": LiteRTEngine, ".onnx": OnnxEngine}
