"""A `.tflite` flatbuffer in TensorFlow Lite Micro's own interpreter (package `tflite-micro`), through
its public `tflite_micro.runtime.Interpreter`: from_bytes, set_input, invoke, get_output.

This is the code a microcontroller runs (the reference kernels), so its bytes are the ground truth
the generated C model is held to. The model has a fixed batch of one image; Engine.run feeds it
image by image. `smallest_arena` finds the tensor arena a device must reserve for it.
"""

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from runtime.engines import Engine, check_io, fixed_batch
from runtime.errors import ModelError
from runtime.quiet import native_stderr_silenced

ARENA_LIMIT = 1 << 20  # bytes; the engine's own arena, and the most smallest_arena() tries


def micro_interpreter(data: bytes, arena_bytes: int = ARENA_LIMIT):
    """An interpreter with its tensors allocated in an arena of `arena_bytes` (RuntimeError if too small).

    TFLM prints why an allocation failed on stderr; the caller gets the exception instead."""
    from tflite_micro import runtime

    with native_stderr_silenced():
        return runtime.Interpreter.from_bytes(data, arena_size=arena_bytes)


def allocates_and_runs(data: bytes, arena_bytes: int) -> bool:
    """Whether the model allocates and runs one inference in an arena of `arena_bytes`, tried in this
    process: it may crash it (see ArenaProbe)."""
    try:
        interpreter = micro_interpreter(data, arena_bytes)
        shape = interpreter.get_input_details(0)["shape"]
        interpreter.set_input(np.zeros(shape, interpreter.get_input_details(0)["dtype"]), 0)
        with native_stderr_silenced():
            interpreter.invoke()
    except RuntimeError:
        return False
    return True


class ArenaProbe:
    """Tries arenas in a child process, and in a new one after a crash: TFLite Micro's allocator
    crashes (SIGSEGV) on some arenas too small for a model instead of refusing them (measured: every
    model at 256 bytes and below, an 8x8 int16x8 one at exactly 4,096), so a crash is a "no". The
    child is spawned, not forked: it inherits no threads or TensorFlow from an export."""

    def __enter__(self) -> "ArenaProbe":
        self.pool = None
        return self

    def __exit__(self, *exc) -> None:
        if self.pool:
            self.pool.shutdown()

    def runs_in(self, data: bytes, arena_bytes: int) -> bool:
        self.pool = self.pool or ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            return self.pool.submit(allocates_and_runs, data, arena_bytes).result()
        except BrokenProcessPool:
            self.pool.shutdown()
            self.pool = None
            return False


def runs_in(data: bytes, arena_bytes: int) -> bool:
    """Whether the model allocates and runs one inference in an arena of `arena_bytes`."""
    with ArenaProbe() as probe:
        return probe.runs_in(data, arena_bytes)


def smallest_arena(data: bytes) -> int:
    """The smallest arena (bytes, to 16) the model runs in, found by bisection (64-bit host: a 32-bit
    device stores the arena's bookkeeping in somewhat fewer bytes, so this is an upper bound there)."""
    low, high = 0, ARENA_LIMIT
    with ArenaProbe() as probe:
        if not probe.runs_in(data, high):
            raise RuntimeError(f"does not run in TFLite Micro even with a {ARENA_LIMIT}-byte arena")
        while high - low > 16:
            middle = (low + high) // 2
            low, high = (low, middle) if probe.runs_in(data, middle) else (middle, high)
    return high


def details(detail: dict) -> tuple[np.dtype, tuple[float, int] | None]:
    """A tensor's dtype and (scale, zero_point), None for a float tensor."""
    dtype = np.dtype(detail["dtype"])
    quant = detail["quantization_parameters"]
    if dtype.kind == "f" or not len(quant["scales"]):
        return dtype, None
    return dtype, (float(quant["scales"][0]), int(quant["zero_points"][0]))


class MicroEngine(Engine):
    """One interpreter, one image at a time; calls take a lock (the interpreter is not thread-safe)."""

    def __init__(self, path: Path, threads: int):
        data = path.read_bytes()
        try:
            self.interpreter = micro_interpreter(data)
        except (ValueError, RuntimeError) as e:
            raise ModelError(path, f"TFLite Micro cannot load it: {str(e).splitlines()[0]}") from None
        inp, out = self.interpreter.get_input_details(0), self.interpreter.get_output_details(0)
        self.input_shape, self.classes = check_io(
            path, [inp], [out], tuple(inp["shape"]), tuple(out["shape"])
        )
        self.fixed_batch = fixed_batch(inp["shape"][0])
        if self.fixed_batch != 1:
            raise ModelError(path, f"has a batch of {inp['shape'][0]}; TFLite Micro runs models of batch 1")
        self.input_dtype, self.input_quant = details(inp)
        self.output_dtype, self.output_quant = details(out)
        self.lock = threading.Lock()

    def call(self, x: np.ndarray) -> np.ndarray:
        with self.lock:
            self.interpreter.set_input(x, 0)
            self.interpreter.invoke()
            return self.interpreter.get_output(0).copy()
