"""The `transformer` dialect -> an ONNX model (standard ops, IR version 10, opset 21).

The graph computes exactly what `rasp_ir.dialects.transformer` specifies:

    inputs   tokens  int64 [batch, seq]   token ids 0..V-1, WITHOUT BOS (the graph prepends id V)
             mask    int64 [batch, seq]   1 = real token, 0 = padding
    outputs  output  [batch, seq]         int64 index into the output value table (categorical)
                                          or float32 value (numerical)
             scores  float32 [batch, seq, k]  the residual dims the unembedding reads
             guard   float32 [batch, seq, g]  only for a model with g >= 1 run-time guards:
                                          per guard, the largest of its dims (see
                                          `rasp_ir.runtime.guards`; metadata `rasp_ir.guards`)

Each head and MLP keeps its own weight sizes. Initializers and nodes are named after
where they sit (`layer2.head0.w_q`, `layer3.mlp.w1`), so the graph reads in Netron.

`metadata_props` carries everything needed to run the model without the compiler;
the keys are listed in `rasp_ir.runtime.metadata`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.utils.target import Target

from rasp_ir.analysis.model_summary import summarize
from rasp_ir.dialects.transformer import AttentionOp, MLPOp, find_model
from rasp_ir.runtime.files import save_onnx
from rasp_ir.runtime.metadata import (
    FORMAT_MARKER,
    FORMAT_VERSION,
    GUARDED_FORMAT_VERSION,
    META_BOS,
    META_BOS_ID,
    META_COMPILER_VERSION,
    META_ENCODING,
    META_FORMAT,
    META_FORMAT_VERSION,
    META_GUARDS,
    META_HEADS,
    META_LAYERS,
    META_LAYOUT,
    META_MAX_SEQ_LEN,
    META_NAME,
    META_OUTPUT_ROUNDS,
    META_OUTPUT_VALUES,
    META_SOURCE,
    META_SUMMARY,
    META_TOLERANCE,
    META_VOCAB,
)

IR_VERSION = 10
OPSET = 21
MASKED_SCORE = -1e9



class _Graph:
    """Collects nodes and initializers with unique, readable names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._names: set[str] = set()

    def _unique(self, name: str) -> str:
        base, i = name, 1
        while name in self._names:
            name = f"{base}_{i}"
            i += 1
        self._names.add(name)
        return name

    def const(self, name: str, array: np.ndarray) -> str:
        name = self._unique(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        out = self._unique(name)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def to_onnx(
    module_or_model: Operation,
    *,
    source: str | None = None,
    compiler_version: str,
    check: bool = True,
) -> onnx.ModelProto:
    """Build the ONNX model of a `transformer.model` (or of the one model in a module)."""
    model = find_model(module_or_model)
    g = _Graph()
    f32 = np.float32

    # -- embedding: prepend the BOS column, look up tokens and positions -------- #
    embed = model.embed
    vocab_size = len(model.vocabulary)
    token_table = g.const("embed.token_table", embed.token_table_array.astype(f32))
    position_table = g.const("embed.position_table", embed.position_table_array.astype(f32))
    bos_id = g.const("bos_id", np.array([[vocab_size]], dtype=np.int64))
    one_bool = g.const("true", np.array([[True]], dtype=np.bool_))
    zero_f = g.const("zero", np.array(0.0, dtype=f32))
    masked_f = g.const("masked_score", np.array(MASKED_SCORE, dtype=f32))
    one_i = g.const("one", np.array([1], dtype=np.int64))
    zero_i = g.const("zero_index", np.array([0], dtype=np.int64))
    big_i = g.const("end", np.array([np.iinfo(np.int64).max], dtype=np.int64))

    batch = g.op("Shape", ["tokens"], "batch_size", start=0, end=1)
    column = g.op("Concat", [batch, one_i], "column_shape", axis=0)
    bos_column = g.op("Expand", [bos_id, column], "bos_column")
    ids = g.op("Concat", [bos_column, "tokens"], "ids", axis=1)
    true_column = g.op("Expand", [one_bool, column], "bos_mask")
    real = g.op("Cast", ["mask"], "mask_bool", to=TensorProto.BOOL)
    valid = g.op("Concat", [true_column, real], "valid", axis=1)
    key_bias = g.op("Where", [valid, zero_f, masked_f], "key_bias_2d")
    key_bias = g.op("Unsqueeze", [key_bias, one_i], "key_bias")  # [B, 1, Sk]

    length = g.op("Shape", [ids], "length", start=1, end=2)
    positions = g.op("Slice", [position_table, zero_i, length, zero_i], "positions")
    tokens_x = g.op("Gather", [token_table, ids], "embed.tokens", axis=0)
    x = g.op("Add", [tokens_x, positions], "embed.out")

    # -- layers ---------------------------------------------------------------- #
    perm = [0, 2, 1]
    named_layers = [
        (f"layer{i}", layer)
        for i, block in enumerate(model.blocks())
        for layer in block
        if layer is not None
    ]
    for p, layer in named_layers:
        if isinstance(layer, AttentionOp):
            outs: list[str] = []
            for j, head in enumerate(layer.heads):
                h = f"{p}.head{j}"
                wq = g.const(f"{h}.w_q", head.w_q_array)
                wk = g.const(f"{h}.w_k", head.w_k_array)
                wv = g.const(f"{h}.w_v", head.w_v_array)
                wo = g.const(f"{h}.w_o", head.w_o_array)
                scale = g.const(f"{h}.scale", np.array(head.scale_value, dtype=f32))
                q = g.op("MatMul", [x, wq], f"{h}.q")
                k = g.op("MatMul", [x, wk], f"{h}.k")
                v = g.op("MatMul", [x, wv], f"{h}.v")
                kt = g.op("Transpose", [k], f"{h}.k_t", perm=perm)
                s = g.op("MatMul", [q, kt], f"{h}.qk")
                s = g.op("Mul", [s, scale], f"{h}.scaled")
                s = g.op("Add", [s, key_bias], f"{h}.scores")
                attn = g.op("Softmax", [s], f"{h}.pattern", axis=-1)
                o = g.op("MatMul", [attn, v], f"{h}.mixed")
                outs.append(g.op("MatMul", [o, wo], f"{h}.out"))
            total = outs[0]
            for j, o in enumerate(outs[1:], start=1):
                total = g.op("Add", [total, o], f"{p}.heads_sum{j}")
            x = g.op("Add", [x, total], f"{p}.out")
        else:
            assert isinstance(layer, MLPOp)
            m = f"{p}.mlp"
            w1 = g.const(f"{m}.w1", layer.w1_array)
            b1 = g.const(f"{m}.b1", layer.b1_array)
            w2 = g.const(f"{m}.w2", layer.w2_array)
            b2 = g.const(f"{m}.b2", layer.b2_array)
            hdn = g.op("MatMul", [x, w1], f"{m}.hidden_pre")
            hdn = g.op("Add", [hdn, b1], f"{m}.hidden_bias")
            hdn = g.op("Relu", [hdn], f"{m}.hidden")
            y = g.op("MatMul", [hdn, w2], f"{m}.down")
            y = g.op("Add", [y, b2], f"{m}.delta")
            x = g.op("Add", [x, y], f"{p}.out")

    # -- unembedding ----------------------------------------------------------- #
    unembed = model.unembed
    dims = g.const("unembed.dims", np.asarray(unembed.dim_list, dtype=np.int64))
    body = g.op("Slice", [x, one_i, big_i, one_i], "unembed.no_bos")
    g.nodes.append(helper.make_node("Gather", [body, dims], ["scores"], name="unembed.scores", axis=2))
    if unembed.is_categorical:
        g.nodes.append(
            helper.make_node("ArgMax", ["scores"], ["output"], name="unembed.argmax", axis=-1, keepdims=0)
        )
        out_type = TensorProto.INT64
    else:
        squeeze_axes = g.const("unembed.squeeze_axes", np.array([2], dtype=np.int64))
        if unembed.rounds_to_int:  # an int output: exact once rounded (the compiler keeps errors < 1/4)
            value = g.op("Squeeze", ["scores", squeeze_axes], "unembed.value")
            g.nodes.append(helper.make_node("Round", [value], ["output"], name="unembed.round"))
        else:
            g.nodes.append(helper.make_node("Squeeze", ["scores", squeeze_axes], ["output"], name="unembed.value"))
        out_type = TensorProto.FLOAT

    # -- run-time guards: the largest of each guarded aggregate's one-hot dims --------- #
    guards = model.guard_list
    if guards:
        reduce_axes = g.const("guard.axes", np.array([2], dtype=np.int64))
        maxima = []
        for i, (_, guard_dims) in enumerate(guards):
            picked = g.op(
                "Gather", [body, g.const(f"guard{i}.dims", np.asarray(guard_dims, dtype=np.int64))],
                f"guard{i}.dims_of", axis=2,
            )
            maxima.append(g.op("ReduceMax", [picked, reduce_axes], f"guard{i}.max", keepdims=1))
        if len(maxima) == 1:
            g.nodes.append(helper.make_node("Identity", maxima, ["guard"], name="guard.out"))
        else:
            g.nodes.append(helper.make_node("Concat", maxima, ["guard"], name="guard.out", axis=2))

    k = len(unembed.dim_list)
    graph = helper.make_graph(
        g.nodes,
        model.model_name,
        inputs=[
            helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        outputs=[
            helper.make_tensor_value_info("output", out_type, ["batch", "seq"]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "seq", k]),
        ]
        + (
            [helper.make_tensor_value_info("guard", TensorProto.FLOAT, ["batch", "seq", len(guards)])]
            if guards
            else []
        ),
        initializer=g.initializers,
        doc_string=f"rasp-ir model @{model.model_name}: tokens without BOS -> one output per token",
    )
    onnx_model = helper.make_model(
        graph,
        ir_version=IR_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="rasp-ir",
        producer_version=compiler_version,
        doc_string="Compiled from a RASP program by rasp-ir.",
    )

    summary = summarize(model)
    meta = {
        META_FORMAT: FORMAT_MARKER,
        META_FORMAT_VERSION: GUARDED_FORMAT_VERSION if guards else FORMAT_VERSION,
        META_NAME: model.model_name,
        META_VOCAB: _json(list(model.vocabulary)),
        META_BOS: _json(model.bos_value),
        META_BOS_ID: str(vocab_size),
        META_MAX_SEQ_LEN: str(model.seq_len),
        META_ENCODING: "categorical" if unembed.is_categorical else "numerical",
        META_OUTPUT_VALUES: _json(list(unembed.value_table) if unembed.value_table is not None else None),
        META_OUTPUT_ROUNDS: _json(unembed.rounds_to_int),
        META_TOLERANCE: repr(model.tolerance_value),
        META_LAYOUT: _json(model.layout_labels),
        META_SUMMARY: _json(summary.to_dict()),
        META_LAYERS: str(summary.layers),
        META_HEADS: str(sum(summary.heads_per_layer)),
        META_COMPILER_VERSION: compiler_version,
    }
    if source is not None:
        meta[META_SOURCE] = source
    if guards:
        meta[META_GUARDS] = _json([{"aggregate": label, "dims": dims} for label, dims in guards])
    helper.set_model_props(onnx_model, meta)

    if check:
        onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def default_compiler_version() -> str:
    """The installed rasp-ir's version."""
    try:
        from importlib.metadata import version

        return version("rasp-ir")
    except Exception:  # not installed (running from a source tree)
        return "0+unknown"


@dataclass(frozen=True)
class OnnxTarget(Target):
    """`rasp-opt -t onnx`: print the ONNX model as text, or write the binary model with
    `-t 'onnx{file="m.onnx"}'` (add `external_data=true` for weights in `m.onnx.data`)."""

    name = "onnx"

    file: str | None = None
    external_data: bool = False

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        model = to_onnx(module, compiler_version=default_compiler_version())
        if self.file is not None:
            save_onnx(model, self.file, external_data=self.external_data)
            return
        output.write(onnx.printer.to_text(model))
        output.write("\n")


__all__ = [
    "IR_VERSION",
    "OPSET",
    "OnnxTarget",
    "default_compiler_version",
    "save_onnx",
    "to_onnx",
]
