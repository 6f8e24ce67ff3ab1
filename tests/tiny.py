"""Tiny real models built without TensorFlow: a Dense layer over the 784 pixels (optionally a
softmax), as a TFLite flatbuffer (LiteRT's own schema) and as ONNX (the `onnx` helper), in float32
and int8, with weights the test knows, so the engines and the Predictor are checked against numpy.

    model = TinyModel(classes=10)
    path = model.tflite(tmp_path / "tiny.tflite", int8=True)
    np.testing.assert_allclose(runtime.load(path).predict(pixels), model.reference(pixels), atol=...)
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class TinyModel:
    classes: int = 10
    softmax: bool = True  # False: the model returns logits
    input_shape: tuple[int, ...] = (
        28,
        28,
    )  # one image's: (28, 28, 1) for NHWC, (32, 32, 3) RGB, (4, 4) refused
    seed: int = 0
    weights: np.ndarray = field(init=False)  # (classes, 784), as a Dense kernel transposed
    bias: np.ndarray = field(init=False)

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        self.weights = rng.normal(0, 0.05, (self.classes, self.pixels)).astype(np.float32)
        self.bias = rng.normal(0, 0.1, self.classes).astype(np.float32)

    @property
    def pixels(self) -> int:
        return int(np.prod(self.input_shape))

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        x = pixels.reshape(len(pixels), self.pixels).astype(np.float32) / np.float32(255)
        return x @ self.weights.T + self.bias

    def reference(self, pixels: np.ndarray) -> np.ndarray:
        """What the Predictor must return: probabilities, even for a logits model."""
        z = self.logits(pixels)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def tflite(self, path: Path, int8: bool = False, int16x8: bool = False) -> Path:
        """float32, full-integer int8, or int16x8 (int16 activations, int8 weights, int64 biases)."""
        Path(path).write_bytes(TFLiteBuilder(self, 16 if int16x8 else 8 if int8 else None).build())
        return Path(path)

    def onnx(self, path: Path, int8: bool = False, calibration: np.ndarray | None = None) -> Path:
        """float32, or int8 QDQ by onnxruntime's static quantizer calibrated on `calibration` pixels."""
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        nodes = [
            helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
            helper.make_node("Gemm", ["flat", "weights", "bias"], ["logits"], transB=1),
        ]
        if self.softmax:
            nodes.append(helper.make_node("Softmax", ["logits"], ["scores"], axis=1))
        else:
            nodes.append(helper.make_node("Identity", ["logits"], ["scores"]))
        initializers = [
            numpy_helper.from_array(self.weights, "weights"),
            numpy_helper.from_array(self.bias, "bias"),
            numpy_helper.from_array(np.array([-1, self.pixels], np.int64), "flat_shape"),
        ]
        image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", *self.input_shape])
        scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", self.classes])
        graph = helper.make_graph(nodes, "tiny", [image], [scores], initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        if not int8:
            onnx.save(model, path)
            return Path(path)
        from onnxruntime import quantization

        float_path = Path(path).with_suffix(".float.onnx")
        onnx.save(model, float_path)
        feeds = iter([{"image": (p / np.float32(255)).reshape(1, *self.input_shape)} for p in calibration])

        class Reader(quantization.CalibrationDataReader):
            def get_next(self):
                return next(feeds, None)

        quantization.quantize_static(
            float_path,
            path,
            Reader(),
            quant_format=quantization.QuantFormat.QDQ,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
        )
        float_path.unlink()
        return Path(path)


class TFLiteBuilder:
    """RESHAPE -> FULLY_CONNECTED -> SOFTMAX as a flatbuffer, float32 or full-integer: int8 (input
    scale 1/255, zero point -128: what calibration on 0..1 images gives) or int16x8 (int16 tensors
    with zero point 0, input scale 1/32767, softmax output 1/32768, as TFLite's converter makes)."""

    def __init__(self, model: TinyModel, bits: int | None):
        from ai_edge_litert import schema_py_generated as schema

        self.s, self.model, self.bits = schema, model, bits
        self.int8 = bits is not None  # integer tensors
        self.buffers, self.tensors = [schema.BufferT()], []
        self.activation_type = {8: schema.TensorType.INT8, 16: schema.TensorType.INT16}.get(bits)

    def tensor(self, name, shape, data=None, quant=None, dtype=None, signature=None) -> int:
        s = self.s
        t = s.TensorT()
        t.name, t.shape = name, list(shape)
        t.shapeSignature = signature
        t.type = dtype if dtype is not None else (self.activation_type or s.TensorType.FLOAT32)
        if data is not None:
            buffer = s.BufferT()
            buffer.data = np.frombuffer(data.tobytes(), np.uint8)
            self.buffers.append(buffer)
            t.buffer = len(self.buffers) - 1
        if quant is not None:
            t.quantization = s.QuantizationParametersT()
            t.quantization.scale, t.quantization.zeroPoint = [float(quant[0])], [int(quant[1])]
        self.tensors.append(t)
        return len(self.tensors) - 1

    def build(self) -> bytes:
        import flatbuffers

        s, m = self.s, self.model
        w, b = m.weights, m.bias
        input_quant = {8: (1 / 255, -128), 16: (1 / 32767, 0)}.get(self.bits)
        levels = {8: 255, 16: 65535}.get(self.bits)  # codes an activation spans
        image = self.tensor("image", [1, *m.input_shape], quant=input_quant, signature=[-1, *m.input_shape])
        shape = self.tensor("flat_shape", [2], np.array([-1, m.pixels], np.int32), dtype=s.TensorType.INT32)
        flat = self.tensor("flat", [1, m.pixels], quant=input_quant, signature=[-1, m.pixels])
        if self.int8:
            w_scale = float(np.abs(w).max()) / 127
            weights = self.tensor(
                "weights", w.shape, np.round(w / w_scale).astype(np.int8), (w_scale, 0), s.TensorType.INT8
            )
            bias_scale = input_quant[0] * w_scale
            bias_type = np.int64 if self.bits == 16 else np.int32
            bias = self.tensor(
                "bias",
                b.shape,
                np.round(b / bias_scale).astype(bias_type),
                (bias_scale, 0),
                dtype=s.TensorType.INT64 if self.bits == 16 else s.TensorType.INT32,
            )
            span = (
                float(np.abs(m.logits(np.array([np.zeros(m.pixels), np.full(m.pixels, 255)]))).max()) * 1.5
                + 1
            )
            logits_quant = (2 * span / levels, 0)
            logits = self.tensor("logits", [1, m.classes], quant=logits_quant, signature=[-1, m.classes])
            probability_quant = {8: (1 / 256, -128), 16: (1 / 32768, 0)}[self.bits]
            scores_quant = probability_quant if m.softmax else logits_quant
        else:
            weights, bias = self.tensor("weights", w.shape, w), self.tensor("bias", b.shape, b)
            logits = self.tensor("logits", [1, m.classes], signature=[-1, m.classes])
            scores_quant = None
        codes = [s.BuiltinOperator.RESHAPE, s.BuiltinOperator.FULLY_CONNECTED]
        ops = [
            self.op(0, [image, shape], [flat], s.BuiltinOptions.ReshapeOptions, s.ReshapeOptionsT()),
            self.op(
                1,
                [flat, weights, bias],
                [logits],
                s.BuiltinOptions.FullyConnectedOptions,
                s.FullyConnectedOptionsT(),
            ),
        ]
        outputs = logits
        if m.softmax:
            outputs = self.tensor("scores", [1, m.classes], quant=scores_quant, signature=[-1, m.classes])
            options = s.SoftmaxOptionsT()
            options.beta = 1.0
            codes.append(s.BuiltinOperator.SOFTMAX)
            ops.append(self.op(2, [logits], [outputs], s.BuiltinOptions.SoftmaxOptions, options))
        graph = s.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs, graph.operators = self.tensors, [image], [outputs], ops
        graph.name = "tiny"
        model = s.ModelT()
        model.version, model.subgraphs, model.buffers = 3, [graph], self.buffers
        model.operatorCodes = [self.opcode(c) for c in codes]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def op(self, code_index, inputs, outputs, options_type, options):
        op = self.s.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = code_index, inputs, outputs
        op.builtinOptionsType, op.builtinOptions = options_type, options
        return op

    def opcode(self, code):
        c = self.s.OperatorCodeT()
        c.builtinCode = c.deprecatedBuiltinCode = code
        c.version = 1
        return c
