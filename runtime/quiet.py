"""Native libraries' chatter kept off stderr, where the CLIs promise one line per problem."""

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced(silence: bool = True):
    """Send file descriptor 2 to /dev/null for a moment (unless `silence` is False): LiteRT's C++
    prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", TensorFlow and its converters
    print absl INFO lines and "fully_quantize: 0, ..." there, with no switch to turn them off. Errors
    still arrive as the Python exception's message."""
    if not silence:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
