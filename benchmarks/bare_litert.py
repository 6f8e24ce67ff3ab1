"""The cold-start reference: classify one image with LiteRT in a dozen lines, as a person would without
this toolkit. `python -m runtime.predict one.png` is measured against it, as a whole process.

    python benchmarks/bare_litert.py artifacts/run-*/model_int8.tflite one.png [WHITE]

The model's own input shape says the image's size and colours; WHITE is its input value for a white
pixel (1 for a model of inputs 0..1, the default; 255 for 0..255).
"""

import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

interpreter = Interpreter(model_path=sys.argv[1])
interpreter.allocate_tensors()
inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
(scale, zero), (out_scale, out_zero) = inp["quantization"], out["quantization"]
height, width, *channels = inp["shape"][1:]
image = Image.open(sys.argv[2]).convert("RGB" if channels == [3] else "L").resize((width, height))
white = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
pixels = np.asarray(image, np.float32).reshape(inp["shape"]) * (white / 255)
interpreter.set_tensor(inp["index"], np.clip(np.round(pixels / scale) + zero, -128, 127).astype(np.int8))
interpreter.invoke()
scores = (interpreter.get_tensor(out["index"])[0].astype(np.float32) - out_zero) * out_scale
print(scores.argmax(), scores.max())
