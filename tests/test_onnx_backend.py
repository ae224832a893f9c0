"""The ONNX backend: a well-formed graph that computes what the numpy executor computes."""

from __future__ import annotations

import io
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.arg_spec import parse_spec

from rasp_ir.backend.onnx import IR_VERSION, OPSET, OnnxTarget, to_onnx
from rasp_ir.dialects.transformer import AttentionOp, MLPOp, find_model
from rasp_ir.errors import RaspModelError
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.runtime import load_model

from test_executor import (
    VOCAB,
    identity_model,
    mean_model,
    mlp_model,
    prev_token_model,
    random_batch,
    random_model,
)

HAND_MODELS = {
    "identity": identity_model,
    "prev": prev_token_model,
    "mean": mean_model,
    "mean_mlp": lambda: mean_model(with_mlp=True),
    "mlp": mlp_model,
}


def export(module: ModuleOp, **kw) -> onnx.ModelProto:
    return to_onnx(module, compiler_version="test", **kw)


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def run_onnx(sess: ort.InferenceSession, ids: np.ndarray, mask: np.ndarray):
    """Feed executor-style input (BOS column first) to the graph (which adds BOS itself)."""
    return sess.run(["output", "scores"], {"tokens": ids[:, 1:], "mask": mask[:, 1:]})


# --------------------------------------------------------------------------- #
# The graph's form
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", HAND_MODELS)
def test_graph_is_well_formed(name):
    model = export(HAND_MODELS[name]())
    assert model.ir_version == IR_VERSION == 10
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)] and OPSET == 21
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)
    assert all(node.domain == "" for node in model.graph.node)  # standard ops only


def test_inputs_and_outputs():
    model = export(identity_model())
    g = model.graph

    def describe(value):
        t = value.type.tensor_type
        return value.name, t.elem_type, [d.dim_param or d.dim_value for d in t.shape.dim]

    assert [describe(v) for v in g.input] == [
        ("tokens", onnx.TensorProto.INT64, ["batch", "seq"]),
        ("mask", onnx.TensorProto.INT64, ["batch", "seq"]),
    ]
    assert [describe(v) for v in g.output] == [
        ("output", onnx.TensorProto.INT64, ["batch", "seq"]),
        ("scores", onnx.TensorProto.FLOAT, ["batch", "seq", 3]),
    ]
    numerical = export(mean_model()).graph.output
    assert describe(numerical[0]) == ("output", onnx.TensorProto.FLOAT, ["batch", "seq"])


def test_each_head_and_mlp_keeps_its_own_sizes():
    module = random_model(0, layers="amma")
    model = export(module)
    weights = {t.name: tuple(t.dims) for t in model.graph.initializer}
    ir = find_model(module)
    for i, (attention, mlp) in enumerate(ir.blocks()):
        if attention is not None:
            for j, head in enumerate(attention.heads):
                assert weights[f"layer{i}.head{j}.w_q"] == head.w_q_array.shape
                assert weights[f"layer{i}.head{j}.w_v"] == head.w_v_array.shape
                assert weights[f"layer{i}.head{j}.w_o"] == head.w_o_array.shape
        if mlp is not None:
            assert weights[f"layer{i}.mlp.w1"] == mlp.w1_array.shape
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer if t.name.endswith("w_q"))


def test_metadata():
    model = export(prev_token_model(n=4), source="prev = aggregate(...)")
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["rasp_ir.format"] == "rasp-ir-model"
    assert json.loads(meta["rasp_ir.vocab"]) == VOCAB
    assert json.loads(meta["rasp_ir.bos"]) == "BOS"
    assert meta["rasp_ir.bos_id"] == "3"
    assert meta["rasp_ir.max_seq_len"] == "4"
    assert meta["rasp_ir.encoding"] == "categorical"
    assert json.loads(meta["rasp_ir.output_values"]) == ["a", "b", "c", "none"]
    assert float(meta["rasp_ir.tolerance"]) == 1e-3
    assert meta["rasp_ir.source"] == "prev = aggregate(...)"
    assert meta["rasp_ir.compiler_version"] == "test"
    assert meta["rasp_ir.layers"] == "1" and meta["rasp_ir.heads"] == "1"
    summary = json.loads(meta["rasp_ir.summary"])
    assert summary["heads_per_layer"] == [1] and summary["residual_width"] == 13
    assert json.loads(meta["rasp_ir.layout"])[-1] == "prev=none"
    numerical = {p.key: p.value for p in export(mean_model()).metadata_props}
    assert numerical["rasp_ir.encoding"] == "numerical"
    assert json.loads(numerical["rasp_ir.output_values"]) is None
    assert float(numerical["rasp_ir.tolerance"]) == 1e-4
    assert "rasp_ir.source" not in numerical


def test_int_and_bool_values_keep_their_kinds_in_metadata():
    model = export(identity_model(vocab=[1, 2], output_values=[True, False]))
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["rasp_ir.vocab"]) == [1, 2]
    assert [type(v) for v in json.loads(meta["rasp_ir.output_values"])] == [bool, bool]


def test_no_model_to_export():
    with pytest.raises(RaspModelError, match="no 'transformer.model'"):
        export(ModuleOp([]))


# --------------------------------------------------------------------------- #
# ONNX == executor
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", HAND_MODELS)
def test_hand_models_agree_with_the_executor(name):
    module = HAND_MODELS[name]()
    ex = TransformerExecutor(module)
    sess = session(export(module))
    batch = random_batch(VOCAB, ex.codec.max_seq_len, 40, seed=7)
    ids, mask = ex.encode(batch)
    out_ex, scores_ex = ex.run_ids(ids, mask)
    out_onnx, scores_onnx = run_onnx(sess, ids, mask)
    valid = mask[:, 1:].astype(bool)
    np.testing.assert_allclose(scores_onnx[valid], scores_ex[valid], rtol=1e-5, atol=1e-5)
    if ex.encoding == "categorical":
        assert out_onnx.dtype == np.int64
        assert (out_onnx[valid] == out_ex[valid]).all()
    else:
        assert out_onnx.dtype == np.float32
        np.testing.assert_allclose(out_onnx[valid], out_ex[valid], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed,layers,categorical", [(0, "amma", True), (1, "aaa", True), (2, "mam", False), (3, "am", True)])
def test_random_models_agree_with_the_executor(seed, layers, categorical):
    module = random_model(seed, layers=layers, categorical=categorical)
    ex = TransformerExecutor(module)
    sess = session(export(module))
    batch = random_batch(["x", "y", "z", "w"], 7, 64, seed=seed + 10)
    ids, mask = ex.encode(batch)
    out_ex, scores_ex = ex.run_ids(ids, mask)
    out_onnx, scores_onnx = run_onnx(sess, ids, mask)
    valid = mask[:, 1:].astype(bool)
    scale = max(1.0, float(np.abs(scores_ex[valid]).max()))
    np.testing.assert_allclose(scores_onnx[valid], scores_ex[valid], rtol=1e-3, atol=1e-3 * scale)
    if categorical:
        # Compare the argmax where the top two scores are clearly apart (float32 sums may differ
        # in the last bits between numpy and onnxruntime).
        top2 = np.sort(scores_ex, axis=-1)[..., -2:]
        clear = valid & (top2[..., 1] - top2[..., 0] > 1e-3 * scale)
        assert clear.sum() > 0.8 * valid.sum()
        assert (out_onnx[clear] == out_ex[clear]).all()
    else:
        np.testing.assert_allclose(out_onnx[valid], out_ex[valid], rtol=1e-3, atol=1e-3 * scale)


def test_padding_changes_no_output_in_onnx():
    module = random_model(6)
    ex = TransformerExecutor(module)
    sess = session(export(module))
    batch = random_batch(["x", "y", "z", "w"], 7, 24, seed=3, min_len=1)
    ids, mask = ex.encode(batch)
    _, together = run_onnx(sess, ids, mask)
    for i, seq in enumerate(batch):
        one_ids, one_mask = ex.encode([seq])
        _, alone = run_onnx(sess, one_ids, one_mask)
        np.testing.assert_allclose(together[i, : len(seq)], alone[0], rtol=1e-5, atol=1e-4)


def test_bos_is_prepended_by_the_graph():
    sess = session(export(prev_token_model(n=4)))
    tokens = np.array([[0, 1, 2, 0]], dtype=np.int64)  # a b c a, no BOS
    output, scores = sess.run(None, {"tokens": tokens, "mask": np.ones_like(tokens)})
    assert output.tolist() == [[3, 0, 1, 2]]  # none a b c
    assert scores.shape == (1, 4, 4)


def test_a_large_model_exports():
    module = random_model(9, width=128, layers="amamamam", max_seq_len=32, hidden=128)
    model = export(module)
    n = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    assert n > 100_000


# --------------------------------------------------------------------------- #
# rasp-opt -t onnx
# --------------------------------------------------------------------------- #


def test_target_prints_text():
    out = io.StringIO()
    OnnxTarget().emit(Context(), mlp_model(), out)
    text = out.getvalue()
    assert "ir_version: 10" in text
    assert '"rasp_ir.format": "rasp-ir-model"' in text
    assert "Relu" in text


def test_target_writes_a_binary_model(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "m.onnx"
    target = OnnxTarget.from_spec(parse_spec(f'onnx{{file="{path}"}}'))
    assert target.file == str(path)
    out = io.StringIO()
    target.emit(Context(), prev_token_model(n=4), out)
    assert out.getvalue() == ""
    assert load_model(path).run([["a", "b"]]) == [["none", "a"]]
    assert [p.name for p in path.parent.iterdir()] == ["m.onnx"]  # no temporary file left


def test_target_with_external_data(tmp_path):
    path = tmp_path / "m.onnx"
    target = OnnxTarget.from_spec(parse_spec(f'onnx{{file="{path}" external_data=true}}'))
    target.emit(Context(), mlp_model(), io.StringIO())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data"]
    assert load_model(path).run([["a", "c"]]) == [["b", "a"]]


def test_layers_of_the_graph_follow_the_blocks():
    module = random_model(0, layers="ama")
    names = {n.name for n in export(module).graph.node}
    assert {"layer0.head0.pattern", "layer0.mlp.hidden", "layer1.head0.pattern"} <= names
    ir = find_model(module)
    assert [type(layer) for layer in ir.layers] == [AttentionOp, MLPOp, AttentionOp]
