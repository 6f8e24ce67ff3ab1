"""ONNX with float16 weights and float32 arithmetic: what TFLite's float16 quantization makes.

Every float32 weight is stored as float16 (half the file) and widened back by a Cast node, which
onnxruntime folds into a float32 constant when it loads the model: the graph then runs exactly as
the float32 one, on weights rounded to float16. (onnxconverter-common's converter computes in float16
instead: on the tutorial model its probabilities are 1.2e-3 from Keras', outside the float16
tolerance, and it runs slower on an x86 CPU.)
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper

SUFFIX = "_float16"  # of the stored weight; the Cast gives back the original name


def float16_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` whose float32 initializers are stored as float16, each Cast back to float32
    by a node put first, under its original name."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    weights = [w for w in graph.initializer if w.data_type == onnx.TensorProto.FLOAT]
    casts = []
    for weight in weights:
        half = numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float16), weight.name + SUFFIX)
        graph.initializer.remove(weight)
        graph.initializer.append(half)
        casts.append(
            helper.make_node(
                "Cast", [half.name], [weight.name], f"{weight.name}{SUFFIX}_cast", to=onnx.TensorProto.FLOAT
            )
        )
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model, full_check=True)
    return model
