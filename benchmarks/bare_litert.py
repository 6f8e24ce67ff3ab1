"""The cold-start reference: classify one PNG with LiteRT in ten lines, as a person would without
this toolkit. `python -m runtime.predict one.png` is measured against it, as a whole process.

    python benchmarks/bare_litert.py artifacts/run-*/model_int8.tflite one.png
"""

import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

interpreter = Interpreter(model_path=sys.argv[1])
interpreter.allocate_tensors()
inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
(scale, zero), (out_scale, out_zero) = inp["quantization"], out["quantization"]
pixels = np.asarray(Image.open(sys.argv[2]).convert("L"), np.float32)[np.newaxis] / 255
interpreter.set_tensor(inp["index"], np.clip(np.round(pixels / scale) + zero, -128, 127).astype(np.int8))
interpreter.invoke()
scores = (interpreter.get_tensor(out["index"])[0].astype(np.float32) - out_zero) * out_scale
print(scores.argmax(), scores.max())
