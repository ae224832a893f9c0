"""The transformer dialect: construction, printing and parsing, verifiers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.ir import Block, Region
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from rasp_ir.dialects.rasp import Encoding, Rasp
from rasp_ir.dialects.transformer import (
    AttentionOp,
    EmbedOp,
    HeadOp,
    MLPOp,
    ModelOp,
    ResidualType,
    Transformer,
    UnembedOp,
    dense_f32,
    dense_to_numpy,
    find_model,
)
from rasp_ir.errors import RaspModelError

from test_executor import identity_model, mean_model, mlp_model, prev_token_model, random_model, rounding_model


def context() -> Context:
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(Rasp)
    ctx.load_dialect(Transformer)
    return ctx


def print_ir(op, generic: bool = False) -> str:
    out = io.StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(op)
    return out.getvalue()


def parse_ir(text: str) -> ModuleOp:
    return Parser(context(), text).parse_module()


MODELS = {
    "identity": identity_model,
    "prev": prev_token_model,
    "mean": lambda: mean_model(with_mlp=True),
    "mlp": mlp_model,
    "random": lambda: random_model(2, width=30),  # tensors over 100 values print as hex
    "numerical": lambda: random_model(4, categorical=False),
    "rounding": rounding_model,
}


# --------------------------------------------------------------------------- #
# Round trips
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", MODELS)
def test_custom_syntax_round_trips(name):
    module = MODELS[name]()
    module.verify()
    text = print_ir(module)
    parsed = parse_ir(text)
    parsed.verify()
    assert print_ir(parsed) == text
    assert parsed.is_structurally_equivalent(module)


@pytest.mark.parametrize("name", MODELS)
def test_generic_syntax_round_trips(name):
    module = MODELS[name]()
    parsed = parse_ir(print_ir(module, generic=True))
    parsed.verify()
    assert parsed.is_structurally_equivalent(module)


def test_printed_form_reads_well():
    text = print_ir(mean_model(with_mlp=True))
    assert 'transformer.model @mean layout ["is_a", "bos", "frac", "out"] vocab ["a", "b", "c"] bos "BOS"' in text
    assert "max_seq_len 6 tolerance 1.000000e-04 {" in text
    assert "%0 = transformer.embed token_table dense<" in text
    assert "-> !transformer.residual<4>" in text
    assert "%1 = transformer.attention %0 : !transformer.residual<4> {" in text
    assert "transformer.head w_q dense<0.000000e+00> : tensor<4x1xf32>, w_k" in text
    assert 'scale 1.000000e+00 label "mean"' in text
    assert "%2 = transformer.mlp %1 : !transformer.residual<4> w1 dense<" in text
    assert "transformer.unembed %2 numerical dims [3] : !transformer.residual<4>" in text


def test_hand_written_text_parses():
    text = """
    transformer.model @tiny layout ["tokens=0", "tokens=1", "bos"] vocab [0, 1] bos -1 max_seq_len 2 {
      %0 = transformer.embed token_table dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]> : tensor<3x3xf32>,
                             position_table dense<0.0> : tensor<3x3xf32> -> !transformer.residual<3>
      %1 = transformer.attention %0 : !transformer.residual<3> {
        transformer.head w_q dense<0.0> : tensor<3x1xf32>, w_k dense<0.0> : tensor<3x1xf32>,
                         w_v dense<0.0> : tensor<3x2xf32>, w_o dense<0.0> : tensor<2x3xf32>, scale 1.0
      }
      transformer.unembed %1 categorical dims [0, 1] values [10, 20] : !transformer.residual<3>
    }
    """
    module = parse_ir(text)
    module.verify()
    model = find_model(module)
    assert model.vocabulary == (0, 1) and model.bos_value == -1 and model.seq_len == 2
    assert model.tolerance_value == 1e-3  # the default
    (head,) = model.layers[0].heads
    assert head.dk == 1 and head.dv == 2 and head.label_text is None
    assert model.unembed.value_table == (10, 20)


def test_floats_that_xdsl_prints_as_bit_patterns_round_trip_exactly():
    # xDSL prints f32 1234567.0 as 0x4996B438 in a dense list and parses that back as an
    # integer; the dialect prints such tensors as hex bytes instead.
    module = mlp_model()
    model = find_model(module)
    mlp = model.layers[0]
    assert isinstance(mlp, MLPOp)
    tricky = np.array([1234567.0, -316300160.0, 0.1, -0.0, 1e-45, 3.4e38, 5.0], dtype=np.float32)
    mlp.b2 = dense_f32(tricky)
    text = print_ir(module)
    assert 'b2 dense<"0x' in text
    parsed = find_model(parse_ir(text))
    assert parsed.layers[0].b2_array.tobytes() == tricky.tobytes()
    generic = find_model(parse_ir(print_ir(module, generic=True)))
    assert generic.layers[0].w1_array.tobytes() == mlp.w1_array.tobytes()


# --------------------------------------------------------------------------- #
# Construction helpers and accessors
# --------------------------------------------------------------------------- #


def test_dense_conversion_is_exact_and_fast():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 400)).astype(np.float32)
    attr = dense_f32(a)
    back = dense_to_numpy(attr)
    assert back.dtype == np.float32 and back.shape == (300, 400)
    assert back.tobytes() == a.tobytes()
    assert not back.flags.writeable  # a view of the attribute's bytes


def test_dense_rejects_empty_dimensions():
    with pytest.raises(ValueError, match="w1: every dimension must be >= 1"):
        dense_f32(np.zeros((3, 0)), "w1")


def test_accessors():
    model = find_model(prev_token_model(n=3))
    assert model.width == 4 + 4 + 4 and model.layout_labels[-1] == "prev=none"
    assert model.embed.token_table_array.shape == (4, 12)
    assert model.embed.position_table_array.shape == (4, 12)
    (attn,) = model.layers
    assert isinstance(attn, AttentionOp)
    (head,) = attn.heads
    assert head.scale_value == 100.0 and head.label_text == "aggregate prev"
    assert head.w_q_array.shape == (12, 4) and head.w_o_array.shape == (4, 12)
    assert model.unembed.is_categorical and model.unembed.dim_list == [8, 9, 10, 11]
    assert isinstance(attn.result.type, ResidualType) and attn.result.type.width == 12


def test_blocks_group_attention_with_the_next_mlp():
    model = find_model(random_model(0, layers="ammmaa"))
    kinds = [(a is not None, m is not None) for a, m in model.blocks()]
    assert kinds == [(True, True), (False, True), (False, True), (True, False), (True, False)]


def test_find_model():
    module = ModuleOp([find_model(identity_model()).clone(), find_model(mlp_model()).clone()])
    with pytest.raises(RaspModelError, match="holds 2 transformer models"):
        find_model(module)
    assert find_model(module, "rotate").model_name == "rotate"


# --------------------------------------------------------------------------- #
# Verifiers
# --------------------------------------------------------------------------- #


def _model(vocab=("a", "b"), n=3, d=4, layers=None, unembed=None, layout=None, bos="BOS", tok_rows=None, pos_rows=None):
    embed = EmbedOp.from_arrays(np.zeros((tok_rows or len(vocab) + 1, d)), np.zeros((pos_rows or n + 1, d)))
    ops = [embed]
    for make in layers or []:
        ops.append(make(ops[-1].results[0]))
    ops.append((unembed or (lambda x: UnembedOp(x, Encoding.CATEGORICAL, [0, 1], list(vocab))))(ops[-1].results[0]))
    return ModelOp(
        "m", layout=layout or [f"d{i}" for i in range(d)], vocab=list(vocab), bos=bos, max_seq_len=n, body=ops
    )


def _head(d=4, dk=2, dv=3, **kw):
    arrays = dict(w_q=np.zeros((d, dk)), w_k=np.zeros((d, dk)), w_v=np.zeros((d, dv)), w_o=np.zeros((dv, d)))
    arrays.update(kw)
    return HeadOp.from_arrays(**arrays, scale=1.0)


def _mlp(d=4, h=5, **kw):
    arrays = dict(w1=np.zeros((d, h)), b1=np.zeros(h), w2=np.zeros((h, d)), b2=np.zeros(d))
    arrays.update(kw)
    return lambda x: MLPOp.from_arrays(x, **arrays)


def _fails(model: ModelOp, message: str):
    with pytest.raises(VerifyException, match=message):
        ModuleOp([model]).verify()


def test_valid_model_verifies():
    ModuleOp([_model(layers=[lambda x: AttentionOp(x, [_head(), _head(dk=1, dv=1)]), _mlp()])]).verify()


def test_token_table_rows():
    _fails(_model(tok_rows=2), r"'transformer.embed': token_table has shape \[2, 4\], expected \[3, 4\] \(\[V\+1, D\]")


def test_position_table_rows():
    _fails(_model(pos_rows=3), r"position_table has shape \[3, 4\], expected \[4, 4\] \(\[max_seq_len\+1, D\]")


def test_layout_length():
    _fails(_model(layout=["x"] * 3), "layout has 3 labels but the residual stream has width 4")


def test_head_dk_mismatch():
    bad = _head(w_k=np.zeros((4, 3)))
    _fails(_model(layers=[lambda x: AttentionOp(x, [bad])]), r"'transformer.head': w_k has shape \[4, 3\], expected \[4, 2\]")


def test_head_dv_mismatch():
    bad = _head(w_o=np.zeros((2, 4)))
    _fails(_model(layers=[lambda x: AttentionOp(x, [bad])]), r"w_o has shape \[2, 4\], expected \[3, 4\] \(\[dv, D\]")


def test_head_width_mismatch():
    bad = _head(w_q=np.zeros((5, 2)))
    _fails(_model(layers=[lambda x: AttentionOp(x, [bad])]), r"w_q has shape \[5, 2\], expected \[4, \?\]")


def test_attention_needs_a_head():
    _fails(_model(layers=[lambda x: AttentionOp(x, [])]), "needs at least one 'transformer.head'")


def test_head_outside_attention():
    with pytest.raises(VerifyException, match="expects parent op 'transformer.attention'"):
        ModuleOp([_head()]).verify()


def test_mlp_bias_shape():
    _fails(_model(layers=[_mlp(b1=np.zeros(4))]), r"'transformer.mlp': b1 has shape \[4\], expected \[5\]")
    _fails(_model(layers=[_mlp(b2=np.zeros(5))]), r"b2 has shape \[5\], expected \[4\]")


def test_nan_weight():
    w1 = np.zeros((4, 5))
    w1[1, 2] = np.nan
    _fails(_model(layers=[_mlp(w1=w1)]), "w1 holds a NaN or infinite weight")


def test_unembed_dim_out_of_range():
    _fails(
        _model(unembed=lambda x: UnembedOp(x, Encoding.CATEGORICAL, [0, 4], ["a", "b"])),
        "dim 4 is out of range for a residual of width 4",
    )


def test_unembed_one_value_per_dim():
    _fails(
        _model(unembed=lambda x: UnembedOp(x, Encoding.CATEGORICAL, [0, 1, 2], ["a", "b"])),
        "3 dims but 2 values; give one value per dim",
    )


def test_unembed_numerical_reads_one_dim():
    _fails(_model(unembed=lambda x: UnembedOp(x, Encoding.NUMERICAL, [0, 1])), "reads exactly one dim, not 2")
    _fails(
        _model(unembed=lambda x: UnembedOp(x, Encoding.NUMERICAL, [0], ["a"])), "a numerical output takes no 'values'"
    )


def test_only_a_numerical_unembed_rounds():
    assert "numerical dims [0] rounds : !transformer.residual<2>" in print_ir(rounding_model())
    _fails(
        _model(unembed=lambda x: UnembedOp(x, Encoding.CATEGORICAL, [0, 1], ["a", "b"], rounds=True)),
        "only a numerical output 'rounds'",
    )


def test_unembed_categorical_needs_values():
    _fails(_model(unembed=lambda x: UnembedOp(x, Encoding.CATEGORICAL, [0])), "a categorical output needs 'values'")


def test_bos_in_vocab():
    _fails(_model(bos="a"), 'BOS "a" is also in the vocabulary')


def test_residual_chain_must_be_followed():
    embed = EmbedOp.from_arrays(np.zeros((3, 4)), np.zeros((4, 4)))
    attn = AttentionOp(embed.result, [_head()])
    mlp = MLPOp.from_arrays(embed.result, w1=np.zeros((4, 2)), b1=np.zeros(2), w2=np.zeros((2, 4)), b2=np.zeros(4))
    out = UnembedOp(mlp.result, Encoding.CATEGORICAL, [0, 1], ["a", "b"])
    model = ModelOp("m", layout=["x"] * 4, vocab=["a", "b"], bos="BOS", max_seq_len=3, body=[embed, attn, mlp, out])
    _fails(model, "'transformer.mlp' must read the result of the op just before it")


def test_body_must_start_with_embed():
    block = Block(arg_types=[ResidualType(4)])
    mlp = _mlp()(block.args[0])
    block.add_ops([mlp, UnembedOp(mlp.result, Encoding.CATEGORICAL, [0, 1], ["a", "b"])])
    model = ModelOp("m", layout=["x"] * 4, vocab=["a", "b"], bos="BOS", max_seq_len=3, body=Region(block))
    _fails(model, "'transformer.model' @m: the body must start with 'transformer.embed'")


def test_verifier_errors_from_text():
    text = """
    transformer.model @bad layout ["a", "b"] vocab [0] bos 9 max_seq_len 1 {
      %0 = transformer.embed token_table dense<0.0> : tensor<2x3xf32>, position_table dense<0.0> : tensor<2x3xf32> -> !transformer.residual<3>
      transformer.unembed %0 numerical dims [0] : !transformer.residual<3>
    }
    """
    with pytest.raises(VerifyException, match="layout has 2 labels but the residual stream has width 3"):
        parse_ir(text).verify()


def test_result_width_must_match_the_input():
    text = """
    transformer.model @bad layout ["a", "b"] vocab [0] bos 9 max_seq_len 1 {
      %0 = transformer.embed token_table dense<0.0> : tensor<2x2xf32>, position_table dense<0.0> : tensor<2x2xf32> -> !transformer.residual<2>
      %1 = "transformer.mlp"(%0) <{w1 = dense<0.0> : tensor<2x1xf32>, b1 = dense<0.0> : tensor<1xf32>, w2 = dense<0.0> : tensor<1x2xf32>, b2 = dense<0.0> : tensor<2xf32>}> : (!transformer.residual<2>) -> !transformer.residual<3>
      transformer.unembed %1 numerical dims [0] : !transformer.residual<3>
    }
    """
    with pytest.raises(VerifyException, match="transformer.residual"):
        parse_ir(text).verify()


def test_generic_cleanup_passes_leave_a_model_alone():
    from xdsl.transforms.canonicalize import CanonicalizePass
    from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination
    from xdsl.transforms.dead_code_elimination import DeadCodeElimination

    module = random_model(0, layers="amma")
    before = print_ir(module)
    for p in (CanonicalizePass(), CommonSubexpressionElimination(), DeadCodeElimination()):
        p.apply(context(), module)
    assert print_ir(module) == before
