"""What onnxruntime's own float32 kernels write for an MLP, for the compile-time rounding
measurement (`to_transformer.Lowering.measure_rounding`).

Step units subtract large pre-activations, so an MLP's float32 result depends on the
order in which its kernel sums: numpy's (BLAS) order can be exact where onnxruntime's
MLAS, with fused multiply-adds and its own blocking, is off by 1e-4 (and the other way
round). The compiler therefore runs each MLP whose pre-activations are large through the
same MatMul/Add/Relu graph the exported model uses, on every input it measures.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
ROWS_PER_RUN = 1024


def onnxruntime_mlp(
    inputs: np.ndarray, dims: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray
) -> np.ndarray:
    """relu(x @ w1 + b1) @ w2 in float32 on onnxruntime's CPU kernels, for residual vectors
    x that hold `inputs`' columns at `dims` and 0 elsewhere (the model's full width, so
    that the kernel blocks the sum over it as the exported model does)."""
    f32 = np.float32
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["pre"]),
        helper.make_node("Add", ["pre", "b1"], ["biased"]),
        helper.make_node("Relu", ["biased"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "w2"], ["y"]),
    ]
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(w1, dtype=f32), "w1"),
        numpy_helper.from_array(np.ascontiguousarray(b1, dtype=f32), "b1"),
        numpy_helper.from_array(np.ascontiguousarray(w2, dtype=f32), "w2"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, w1.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, w2.shape[1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    out = np.empty((inputs.shape[0], w2.shape[1]), dtype=f32)
    for start in range(0, inputs.shape[0], ROWS_PER_RUN):
        rows = inputs[start : start + ROWS_PER_RUN]
        chunk = np.zeros((len(rows), w1.shape[0]), dtype=f32)
        chunk[:, dims] = rows
        out[start : start + len(rows)] = session.run(["y"], {"x": chunk})[0]
    return out
