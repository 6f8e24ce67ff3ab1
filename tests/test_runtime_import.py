"""The runtime ships to devices: it must never pull in TensorFlow or Keras."""

import json

from tests.conftest import run_python


def test_runtime_predicts_without_tensorflow(artifacts):
    code = (
        "import sys, json, numpy as np, runtime\n"
        "x = np.zeros((3, 28, 28), np.uint8)\n"
        f"for name in ('tflite-float32', 'tflite-int8', 'onnx-float32', 'onnx-int8'):\n"
        f"    runtime.load({str(artifacts)!r}, variant=name).predict(x)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))))\n"
    )
    loaded = json.loads(run_python(code).stdout.strip().splitlines()[-1])
    assert loaded == []
