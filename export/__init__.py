"""Export the trained model to TFLite and ONNX, float32 and int8, gated on parity with Keras."""

import os

# TensorFlow's C++ INFO and WARNING lines drown the progress lines; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class VariantSkipped(Exception):
    """An exporter cannot make its variant here (no C compiler; an op the generator cannot express):
    export goes on without it, printing the one-line `reason`."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
