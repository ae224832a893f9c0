"""The runtime: CompiledModel, load_model, providers, and every error a user can cause."""

from __future__ import annotations

import onnx
import onnxruntime as ort
import pytest

from rasp_ir.analysis.model_summary import ModelSummary, summarize
from rasp_ir.backend.onnx import to_onnx
from rasp_ir.errors import RaspError, RaspInputError, RaspModelError
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.runtime import CompiledModel, load_model

from test_executor import (
    identity_model,
    mean_model,
    mlp_model,
    prev_token_model,
    random_batch,
    random_model,
    rounding_model,
)


@pytest.fixture(scope="module")
def prev_model() -> CompiledModel:
    return CompiledModel.from_transformer(prev_token_model(n=5), source="prev source")


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #


def test_run_decodes_values(prev_model):
    batch = [["a", "b", "c"], ["c", "c", "a", "b", "a"], ["b"]]
    assert prev_model.run(batch) == [["none", "a", "b"], ["none", "c", "c", "a", "b"], ["none"]]
    with pytest.raises(RaspInputError, match="sequence 1 is empty"):
        prev_model.run([["a"], []])
    assert prev_model(batch[:1]) == [["none", "a", "b"]]


def test_run_splits_into_batches_and_keeps_the_order():
    module = random_model(1, layers="ama")
    model = CompiledModel.from_transformer(module)
    ex = TransformerExecutor(module)
    batch = random_batch(["x", "y", "z", "w"], 7, 37, seed=2)
    expected = model.run(batch)
    assert model.run(batch, batch_size=5) == expected
    assert model.run(batch, batch_size=1) == expected
    # Same as the executor wherever the executor's scores are clearly apart.
    assert sum(a == b for a, b in zip(expected, ex.run(batch))) >= 30


def test_outputs_keep_their_kinds():
    ints = CompiledModel.from_transformer(identity_model(vocab=[1, 2, 3], output_values=[10, 20, 30]))
    out = ints.run([[3, 1]])
    assert out == [[30, 10]] and all(type(v) is int for v in out[0])
    bools = CompiledModel.from_transformer(identity_model(vocab=[1, 2], output_values=[True, False]))
    assert bools.run([[2, 1]]) == [[False, True]]
    numerical = CompiledModel.from_transformer(mean_model())
    (values,) = numerical.run([["a", "b", "a"]])
    assert all(type(v) is float for v in values)
    assert values == pytest.approx([0.5, 0.5, 0.5], abs=1e-6)


def test_a_rounding_output_comes_back_as_ints(tmp_path):
    ir = rounding_model()
    model = CompiledModel.from_transformer(ir)
    assert [node.op_type for node in model.onnx.graph.node][-1] == "Round"
    assert model.metadata["rasp_ir.output_rounds"] == "true"
    for runner in (model, TransformerExecutor(ir)):
        out = runner.run([["a", "b", "c"]])
        assert out == [[1, 2, -3]] and all(type(v) is int for v in out[0])
    model.save(tmp_path / "rounds.onnx")
    assert load_model(tmp_path / "rounds.onnx").run([["c", "a"]]) == [[-3, 1]]


def test_numpy_ints_and_int_float_tokens_encode():
    import numpy as np

    model = CompiledModel.from_transformer(identity_model(vocab=[1, 2, 3]))
    assert model.run([np.array([3, 1])]) == [[3, 1]]
    floats = CompiledModel.from_transformer(identity_model(vocab=[1.0, 2.5]))
    assert floats.run([[1, 2.5]]) == [[1.0, 2.5]]


def test_properties(prev_model):
    assert prev_model.vocab == ("a", "b", "c")
    assert prev_model.bos == "BOS"
    assert prev_model.max_seq_len == 5
    assert prev_model.encoding == "categorical"
    assert prev_model.output_values == ("a", "b", "c", "none")
    assert prev_model.tolerance == 1e-3
    assert prev_model.source == "prev source"
    assert isinstance(prev_model.onnx, onnx.ModelProto)
    assert prev_model.provider == "CPUExecutionProvider"
    assert "prev" in repr(prev_model)


def test_summary_from_ir_and_from_metadata(tmp_path):
    module = random_model(0, layers="ammaa")
    model = CompiledModel.from_transformer(module)
    from_ir = model.summary()
    assert from_ir == summarize(module)
    assert from_ir.layers == 4
    assert from_ir.heads_per_layer == [1, 0, 1, 2]  # sub-layer i has 1 + i % 3 heads
    assert from_ir.mlp_hidden_per_layer == [4, 5, 0, 0]
    assert from_ir.residual_width == 12
    model.save(tmp_path / "m.onnx")
    loaded = load_model(tmp_path / "m.onnx")
    assert loaded.transformer is None
    assert loaded.summary() == from_ir
    text = str(loaded.summary())
    assert "4 layers, 4 heads, residual width 12" in text
    assert "mlp hidden" in text


def test_params_count_every_stored_weight():
    module = mlp_model(n=4)
    s = summarize(module)
    # token table 4x7 + position table 5x7 + w1 7x3 + b1 3 + w2 3x7 + b2 7
    assert s.params == 28 + 35 + 21 + 3 + 21 + 7
    assert s.layers == 1 and s.heads_per_layer == [0] and s.mlp_hidden_per_layer == [3]
    model = CompiledModel.from_transformer(module)
    initializers = {t.name: t for t in model.onnx.graph.initializer}
    weights = sum(
        int(onnx.numpy_helper.to_array(t).size) for name, t in initializers.items() if "." in name and "dims" not in name
    )
    assert weights == s.params


def test_summary_round_trips_through_a_dict():
    s = summarize(prev_token_model())
    assert ModelSummary.from_dict(s.to_dict()) == s


# --------------------------------------------------------------------------- #
# Saving and loading
# --------------------------------------------------------------------------- #


def test_save_and_load(tmp_path, prev_model):
    path = tmp_path / "prev.onnx"
    prev_model.save(path)
    loaded = load_model(path, provider="cpu", threads=1)
    batch = [["c", "a"], ["b", "b", "a"]]
    assert loaded.run(batch) == prev_model.run(batch)
    assert loaded.source == "prev source"
    assert loaded.onnx.SerializeToString() == prev_model.onnx.SerializeToString()
    assert [p.name for p in tmp_path.iterdir()] == ["prev.onnx"]


def test_save_overwrites_atomically(tmp_path, prev_model):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    prev_model.save(str(path))
    assert load_model(path).run([["a"]]) == [["none"]]


def test_save_with_external_data(tmp_path):
    model = CompiledModel.from_transformer(random_model(2, width=40))
    path = tmp_path / "big.onnx"
    model.save(path, external_data=True)
    assert (tmp_path / "big.onnx.data").stat().st_size > (tmp_path / "big.onnx").stat().st_size
    batch = random_batch(["x", "y", "z", "w"], 7, 10)
    assert load_model(path).run(batch) == model.run(batch)
    # saving with external data leaves the in-memory model intact
    assert all(t.data_location == onnx.TensorProto.DEFAULT for t in model.onnx.graph.initializer)


def test_missing_external_data(tmp_path):
    model = CompiledModel.from_transformer(mlp_model())
    path = tmp_path / "m.onnx"
    model.save(path, external_data=True)
    (tmp_path / "m.onnx.data").unlink()
    with pytest.raises(RaspModelError, match="external weight file .m.onnx.data. is missing"):
        load_model(path)


# --------------------------------------------------------------------------- #
# Errors a user can cause
# --------------------------------------------------------------------------- #


def test_unknown_token(prev_model):
    with pytest.raises(
        RaspInputError,
        match=r"token 'd' \(sequence 1, position 2\) is not in the model's vocabulary \['a', 'b', 'c'\]",
    ):
        prev_model.run([["a"], ["a", "b", "d"]])


def test_long_vocabulary_is_shortened_in_messages():
    vocab = list(range(100))
    model = CompiledModel.from_transformer(identity_model(vocab=vocab, max_seq_len=2))
    with pytest.raises(RaspInputError, match=r"\[0, 1, .*39, \.\.\. \(100 tokens in all\)\]"):
        model.run([[100]])


def test_too_long(prev_model):
    with pytest.raises(RaspInputError, match="sequence 0 has 6 tokens, more than the model's max_seq_len 5"):
        prev_model.run([["a"] * 6])


def test_empty_batch(prev_model):
    with pytest.raises(RaspInputError, match="the batch is empty: give at least one sequence of tokens"):
        prev_model.run([])


def test_a_string_is_not_a_batch(prev_model):
    with pytest.raises(RaspInputError, match=r"got the string 'abc'; to run one sequence, pass \[tokens\]"):
        prev_model.run("abc")


def test_errors_are_rasp_errors(prev_model):
    with pytest.raises(RaspError):
        prev_model.run([["zzz"]])


def test_missing_file(tmp_path):
    with pytest.raises(RaspModelError, match="no such model file"):
        load_model(tmp_path / "nope.onnx")


def test_not_onnx(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\xffthis is not a model at all" * 10)
    with pytest.raises(RaspModelError, match="junk.onnx"):
        load_model(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(RaspModelError, match="notes.txt"):
        load_model(path)


def test_truncated_file(tmp_path, prev_model):
    path = tmp_path / "cut.onnx"
    data = prev_model.onnx.SerializeToString()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7):
        path.write_bytes(data[:cut])
        with pytest.raises(RaspModelError, match="cut.onnx"):
            load_model(path)


def test_onnx_model_that_is_not_a_rasp_ir_model(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
    path = tmp_path / "other.onnx"
    onnx.save(model, str(path))
    with pytest.raises(RaspModelError, match="is an ONNX model but not a rasp-ir model"):
        load_model(path)


def test_damaged_metadata(prev_model):
    proto = onnx.ModelProto()
    proto.CopyFrom(prev_model.onnx)
    for prop in proto.metadata_props:
        if prop.key == "rasp_ir.vocab":
            prop.value = "[not json"
    with pytest.raises(RaspModelError, match="'rasp_ir.vocab' is malformed"):
        CompiledModel(proto)


# --------------------------------------------------------------------------- #
# Execution providers
# --------------------------------------------------------------------------- #


@pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(), reason="this machine has the CUDA provider"
)
def test_cuda_request_without_cuda(tmp_path, prev_model):
    path = tmp_path / "m.onnx"
    prev_model.save(path)
    model = load_model(path, provider="cuda")
    with pytest.raises(RaspModelError) as info:
        model.run([["a"]])
    message = str(info.value)
    assert "provider 'cuda' was requested, but this onnxruntime has no CUDAExecutionProvider" in message
    assert "pip uninstall -y onnxruntime && pip install 'rasp-ir[gpu]'" in message
    assert "must not be installed together" in message


def test_auto_falls_back_to_cpu(prev_model):
    model = CompiledModel(prev_model.onnx, provider="auto")
    expected = "CUDAExecutionProvider" if "CUDAExecutionProvider" in ort.get_available_providers() else "CPUExecutionProvider"
    assert model.provider == expected
    assert model.run([["a", "b"]]) == [["none", "a"]]


def test_unknown_provider(tmp_path, prev_model):
    path = tmp_path / "m.onnx"
    prev_model.save(path)
    with pytest.raises(RaspModelError, match="unknown execution provider 'tpu': use 'auto', 'cpu' or 'cuda'"):
        load_model(path, provider="tpu")


def test_session_is_created_once(prev_model):
    model = CompiledModel(prev_model.onnx, provider="cpu", threads=2)
    model.run([["a"]])
    first = model._get_session()
    model.run([["b"]])
    assert model._get_session() is first


def test_to_onnx_output_is_what_the_runtime_wraps():
    proto = to_onnx(mean_model(with_mlp=True), compiler_version="9.9")
    model = CompiledModel(proto)
    assert model.compiler_version == "9.9"
    assert model.tolerance == 1e-4
    (values,) = model.run([["a", "a", "b"]])
    assert values == pytest.approx([0.5] * 3, abs=1e-5)


def test_saved_file_gets_the_usual_mode(tmp_path, prev_model):
    import os

    path = tmp_path / "m.onnx"
    prev_model.save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
