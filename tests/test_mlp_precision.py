"""MLPs over numerical inputs stay exact in float32, or the compiler refuses with the reason.

A fused MLP reads its numerical inputs through exact steps. Three things can break that
(each was a silent wrong answer once, see tests/regressions): a joint code over several
inputs whose later inputs' noise is multiplied by large coefficients; steps so fine that
float32 cancellation between step units crosses the margins; results so large that the
same cancellation exceeds the tolerance. These tests compare onnxruntime and the numpy
executor with the interpreter on every width / length / position that matters.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

import rasp_ir
from rasp_ir import dsl
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.dialects.transformer import find_model
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.passes import DEFAULT_PIPELINE
from rasp_ir.passes.fusion import Leaf, additive_parts, joint_codes, numeric_code, prefix_mean_values
from rasp_ir.passes.kernel_rounding import onnxruntime_mlp
from rasp_ir.passes.weights import MLPWeights, plateau_units
from rasp_ir.runtime.model import CompiledModel
from rasp_ir.testing import same_value

C = dsl.Comparison


def assert_exact(sop: dsl.SOp, vocab: list, max_seq_len: int, inputs: list[list]) -> None:
    program = rasp_ir.Program.from_dsl(sop, name="precision")
    ir = compile_to_transformer(program, vocab, max_seq_len)
    executor = TransformerExecutor(ir)
    model = CompiledModel.from_transformer(ir, provider="cpu")
    for stage, outputs in (("executor", executor.run(inputs)), ("onnxruntime", model.run(inputs))):
        for tokens, got in zip(inputs, outputs):
            expected = program.evaluate(tokens)
            assert all(same_value(e, g, executor.encoding, model.tolerance) for e, g in zip(expected, got)), (
                f"{stage} on a length-{len(tokens)} input: interpreter {expected}, compiled {got}"
            )


def every_length(vocab: list, max_seq_len: int, count: int = 120) -> list[list]:
    rng = random.Random(0)
    lengths = list(range(1, max_seq_len + 1)) + [rng.randint(1, max_seq_len) for _ in range(count - max_seq_len)]
    return [[rng.choice(vocab) for _ in range(n)] for n in lengths]


def test_sum_of_indices_and_length_at_30_is_built_per_operand():
    sop = dsl.LinearSequenceMap(dsl.numerical(dsl.indices), dsl.length, 1, 1)
    assert_exact(sop, ["v"], 30, every_length(["v"], 30))


def test_non_separable_function_of_a_width_and_length():
    width = dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ))
    sop = dsl.numerical(dsl.SequenceMap(lambda x, y: x * y, width, dsl.length))
    assert_exact(sop, ["a", "b"], 30, every_length(["a", "b"], 30))


def test_large_results_of_indices_and_length():
    """(i - n)^2 reaches 1600 at 40: float32 steps over a joint code lose the tolerance,
    so the compiler reads categorical copies instead."""
    sop = dsl.numerical(dsl.SequenceMap(lambda x, y: (x - y) ** 2, dsl.numerical(dsl.indices), dsl.length))
    assert_exact(sop, ["v"], 40, every_length(["v"], 40))


def test_numerical_selector_width_is_exact_at_every_width():
    sop = dsl.numerical(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ)))
    assert_exact(sop, ["a", "b"], 64, [["a"] * k + ["b"] * (64 - k) for k in range(65)])


def test_numerical_selector_width_past_float32_is_refused_with_the_reason():
    """An int output may be off by up to 1/4 before the model rounds it; at 512 the
    decoding MLP, run in float32 on every width, is off by hundreds (its steps are finer
    than float32 at that scale)."""
    sop = dsl.numerical(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ)))
    program = rasp_ir.Program.from_dsl(sop, name="width")
    with pytest.raises(rasp_ir.RaspCompileError, match="float32 leaves its result off by"):
        compile_to_transformer(program, ["a", "b"], 512)


def test_numerical_int_width_at_256_is_exact_once_the_model_rounds_it():
    """At 256 the decoding MLP is 0.0078 off on one width (more than the tolerance allows
    a number, which refused it before outputs of ints were rounded): under 1/4, the
    model's `Round` takes it away, so every width comes back exact, as an int."""
    sop = dsl.numerical(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ)))
    program = rasp_ir.Program.from_dsl(sop, name="width")
    ir = compile_to_transformer(program, ["a", "b"], 256)
    assert find_model(ir).unembed.rounds_to_int
    assert_exact(sop, ["a", "b"], 256, [["a"] * k + ["b"] * (256 - k) for k in range(0, 257, 3)])
    got = CompiledModel.from_transformer(ir, provider="cpu").run([["a", "b", "a"]])
    assert got == [[2, 1, 2]] and all(type(v) is int for v in got[0])


def _root_and_leaves(sop: dsl.SOp, max_seq_len: int):
    """The program's output op and its operands as numerical leaves, after value inference."""
    program = rasp_ir.Program.from_dsl(sop, name="parts")
    module = program.to_module(vocab=["v"], max_seq_len=max_seq_len)
    rasp_ir.compiler.run_pipeline(module, "rasp-materialize-tables,rasp-infer-values")
    root = next(op for op in module.walk() if op.results and op.results[0].name_hint == "root")
    return root, [Leaf(v) for v in root.operands]


def test_additive_parts_tell_sums_from_products():
    i = dsl.numerical(dsl.indices)
    j = dsl.numerical(dsl.Map(lambda x: x + 1, dsl.indices))
    linear, _ = _root_and_leaves(dsl.numerical(dsl.LinearSequenceMap(i, j, 2, -1).named("root")), 5)
    parts = additive_parts(linear, [Leaf(v) for v in linear.operands])
    assert parts is not None and len(parts) == 1
    product, leaves = _root_and_leaves(dsl.numerical(dsl.SequenceMap(lambda x, y: x * y, i, j).named("root")), 5)
    assert additive_parts(product, leaves) is None


def test_additive_parts_check_every_combination_of_large_leaves():
    """300 x 300 values (numpy evaluates the whole grid): a sum splits into its two
    pieces, and a function that is a sum everywhere but at one corner does not."""
    i = dsl.numerical(dsl.indices)
    j = dsl.numerical(dsl.Map(lambda x: x + 1, dsl.indices))
    almost = dsl.SequenceMap(lambda x, y: x + 2 * y + (x == 299 and y == 300), i, j)
    for sop, separable in ((dsl.SequenceMap(lambda x, y: x + 2 * y, i, j), True), (almost, False)):
        root, leaves = _root_and_leaves(dsl.numerical(sop.named("root")), 300)
        parts = additive_parts(root, leaves)
        assert (parts is not None) == separable
        if separable:
            (gs,) = parts.values()  # f(x, 1) and f(0, y) - f(0, 1), over x = 0..299, y = 1..300
            assert gs[0] == [x + 2.0 for x in range(300)] and gs[1] == [2.0 * k for k in range(300)]


def test_select_on_a_stepped_copy_of_a_mean_is_refused_with_the_reason():
    """A `>=` row sums the float32 rounding of many one-hot dims that an MLP computed with
    steps; the numerical mean reading that selector would be skewed (0.0017 off on
    onnxruntime at max_seq_len 13), so the compiler refuses the head."""
    t = dsl.tokens
    mean = dsl.Aggregate(dsl.Select(t, t, C.TRUE), t)
    program = rasp_ir.Program.from_dsl(dsl.Aggregate(dsl.Select(mean, t, C.GEQ), t), name="skew")
    with pytest.raises(rasp_ir.RaspCompileError, match="skews its attention"):
        compile_to_transformer(program, [-4, 18, 6], 13)


def test_select_on_a_stepped_one_hot_within_budget_compiles_and_is_exact():
    """The same kind of head over a one-hot with few values: its measured rounding is far
    inside the budget, and the model is exact on every input."""
    t = dsl.tokens
    width = dsl.SelectorWidth(dsl.Select(t, t, C.EQ))
    sop = dsl.numerical(dsl.Aggregate(dsl.Select(width, width, C.GEQ), dsl.numerical(dsl.indices)))
    assert_exact(sop, ["a", "b", "c"], 6, every_length(["a", "b", "c"], 6))


# --------------------------------------------------------------------------- #
# Joint codes per gate: values reachable at a position, steps where outputs change
# --------------------------------------------------------------------------- #


def _root_leaf(sop: dsl.SOp, vocab: list, max_seq_len: int) -> Leaf:
    """The leaf that the op named "root" reads (its only operand), after value inference."""
    module = rasp_ir.Program.from_dsl(sop.named("root"), name="p").to_module(vocab=vocab, max_seq_len=max_seq_len)
    rasp_ir.compiler.run_pipeline(module, "rasp-materialize-tables,rasp-infer-values")
    root = next(op for op in module.walk() if op.results and op.results[0].name_hint == "root")
    return Leaf(root.operands[0])


def test_a_prefix_mean_at_position_i_has_denominator_i_plus_1():
    i = dsl.indices
    is_a = dsl.numerical(dsl.Map(lambda x: 1 if x == "a" else 0, dsl.tokens))
    frac = dsl.numerical(dsl.Aggregate(dsl.Select(i, i, C.LEQ), is_a))
    leaf = _root_leaf(dsl.numerical(dsl.Map(lambda x: x + 1, frac)), ["a", "b"], 6)
    assert len(leaf.raw_values()) > 10  # every fraction with a denominator up to 6
    assert sorted(prefix_mean_values(leaf, 2)) == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert sorted(prefix_mean_values(leaf, 0)) == [0.0, 1.0]
    # over earlier positions only: none at position 0 (the default), i at position i
    before = dsl.numerical(dsl.Aggregate(dsl.Select(i, i, C.LT), is_a, default=0))
    leaf = _root_leaf(dsl.numerical(dsl.Map(lambda x: x + 1, before)), ["a", "b"], 6)
    assert prefix_mean_values(leaf, 0) == [0.0]
    assert sorted(prefix_mean_values(leaf, 2)) == pytest.approx([0.0, 0.5, 1.0])
    # a mean over a selector that depends on the length has no such bound
    later = dsl.numerical(dsl.Aggregate(dsl.Select(i, i, C.GEQ), is_a))
    assert prefix_mean_values(_root_leaf(dsl.numerical(dsl.Map(lambda x: x + 1, later)), ["a", "b"], 6), 2) is None


def test_balance_of_two_prefix_means_is_one_mlp():
    """Dyck's `n_opens - n_closes < 0` from two prefix means and the position: per
    position the means have denominator i+1, and a code along their difference changes
    output once, where a joint code over all their values was too fine for float32."""
    i = dsl.indices
    up_to = dsl.Select(i, i, C.LEQ)
    opens = dsl.numerical(dsl.Aggregate(up_to, dsl.numerical(dsl.Map(lambda x: 1 if x == "(" else 0, dsl.tokens))))
    closes = dsl.numerical(dsl.Aggregate(up_to, dsl.numerical(dsl.Map(lambda x: 1 if x == ")" else 0, dsl.tokens))))
    n_opens = dsl.SequenceMap(lambda f, j: round(f * (j + 1)), opens, i)
    n_closes = dsl.SequenceMap(lambda f, j: round(f * (j + 1)), closes, i)
    negative = dsl.SequenceMap(lambda a, b: a < b, n_opens, n_closes)
    failed = dsl.numerical(dsl.Aggregate(up_to, dsl.numerical(dsl.Map(lambda x: 1 if x else 0, negative))))
    program = rasp_ir.Program.from_dsl(failed, name="dyck")
    model = rasp_ir.compile(program, vocab=["(", ")"], max_seq_len=10)
    assert model.summary().layers == 2
    assert_exact(failed, ["(", ")"], 10, every_length(["(", ")"], 10))


def test_joint_codes_separate_only_what_the_function_tells_apart():
    """Which of two widths is larger: a code along their difference changes output once,
    where the mixed radix that tells every pair of widths apart needs 10 times the levels."""
    t, i = dsl.tokens, dsl.indices
    w1 = dsl.SelectorWidth(dsl.Select(t, t, C.LT))
    w2 = dsl.SelectorWidth(dsl.SelectorAnd(dsl.Select(t, t, C.EQ), dsl.Select(i, i, C.LT)))
    module = rasp_ir.Program.from_dsl(dsl.SequenceMap(lambda a, b: a < b, w1, w2).named("root"), name="p").to_module(
        vocab=["a", "b"], max_seq_len=10
    )
    rasp_ir.compiler.run_pipeline(module, "rasp-materialize-tables,rasp-infer-values")
    root = next(op for op in module.walk() if op.results and op.results[0].name_hint == "root")
    leaves = [Leaf(v, scratch=True) for v in root.operands]
    (code,) = joint_codes(root, leaves)
    _, gap, span = numeric_code(leaves)
    assert code.changes == 1
    assert code.span / code.gap < (span / gap) / 10


# --------------------------------------------------------------------------- #
# Rounding on onnxruntime's kernels; flat-topped gates; retries with a split
# --------------------------------------------------------------------------- #


def test_onnxruntime_mlp_runs_the_exported_graph():
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.normal(size=(6, 5)), rng.normal(size=5), rng.normal(size=(5, 2))
    inputs = rng.normal(size=(7, 3)).astype(np.float32)
    dims = np.array([0, 2, 5])
    x = np.zeros((7, 6))
    x[:, dims] = inputs
    expected = np.maximum(x @ w1 + b1, 0) @ w2
    assert onnxruntime_mlp(inputs, dims, w1, b1, w2) == pytest.approx(expected, abs=1e-5)


def test_rounding_seen_only_by_onnxruntime_refuses(monkeypatch):
    """numpy's order of summation can be exact where onnxruntime's is not: the compiler
    also runs MLPs with large pre-activations on onnxruntime, and its error counts (here
    against the budget of an int output, which the model rounds: 1/4 with the safety
    factor for other kernels)."""
    from rasp_ir.passes import to_transformer

    def off(inputs, dims, w1, b1, w2):
        return onnxruntime_mlp(inputs, dims, w1, b1, w2) + 0.2

    monkeypatch.setattr(to_transformer, "onnxruntime_mlp", off)
    sop = dsl.numerical(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ)))
    program = rasp_ir.Program.from_dsl(sop, name="width")
    with pytest.raises(rasp_ir.RaspCompileError, match="float32 leaves its result off by 0.1"):
        compile_to_transformer(program, ["a", "b"], 64)


def test_a_kernel_that_overflows_refuses(monkeypatch):
    """NaN compares false with every budget: an overflow must count as an unbounded error."""
    from rasp_ir.passes import to_transformer

    def overflowing(inputs, dims, w1, b1, w2):
        return np.full((len(inputs), w2.shape[1]), np.nan, dtype=np.float32)

    monkeypatch.setattr(to_transformer, "onnxruntime_mlp", overflowing)
    sop = dsl.numerical(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ)))
    with pytest.raises(rasp_ir.RaspCompileError, match="off by inf"):
        compile_to_transformer(rasp_ir.Program.from_dsl(sop, name="width"), ["a", "b"], 64)


def test_plateau_gates_do_not_pass_one_hot_errors_on():
    mlp = MLPWeights(4)
    plateau_units(mlp, {1: 1.0, 2: 1.0}, 2, np.array([0.0, 0.0, 0.0, 3.0]))
    w1, b1, w2, _ = mlp.arrays(np.zeros(4), 0)
    for a, b, expected in [(1.0, 1.0, 3.0), (0.9, 0.92, 3.0), (1.1, 1.05, 3.0), (1.0, 0.1, 0.0), (0.2, 0.1, 0.0)]:
        x = np.array([1.0, a, b, 0.0])
        assert (np.maximum(x @ w1 + b1, 0) @ w2)[3] == pytest.approx(expected, abs=1e-12), (a, b)


def _sort_by_frequency() -> dsl.SOp:
    """Tokens by frequency (first occurrences by a key from two widths), as the paper's
    sort_by_most_freq: the key's one-hot comes from steps over two widths' scratch dims,
    and the sort's rank (two widths) is read with the position in one joint code."""
    t, i = dsl.tokens, dsl.indices
    same = dsl.Select(t, t, C.EQ)
    hist = dsl.SelectorWidth(same)
    earlier = dsl.SelectorWidth(dsl.SelectorAnd(same, dsl.Select(i, i, C.LT)))
    key = dsl.categorical(dsl.SequenceMap(lambda h, e: -h if e == 0 else 100 - h, hist, earlier))
    smaller = dsl.SelectorOr(
        dsl.Select(key, key, C.LT), dsl.SelectorAnd(dsl.Select(key, key, C.EQ), dsl.Select(i, i, C.LT))
    )
    rank = dsl.SequenceMap(lambda r, j: -1 if j == 0 else r, dsl.SelectorWidth(smaller), i)
    return dsl.Aggregate(dsl.Select(rank, dsl.Map(lambda j: j - 1, i), C.EQ), t)


def test_a_head_skewed_by_a_fused_mlp_gets_that_mlp_split_instead_of_a_refusal(monkeypatch):
    """With every width head's BOS weighing one key (1/(w+1), finer steps), the key's
    one-hot skews the sort's width heads; the compiler splits its MLP and reschedules."""
    from rasp_ir.passes import fusion, to_transformer

    monkeypatch.setattr(fusion, "width_bos_weight", lambda op: 1.0)
    monkeypatch.setattr(to_transformer, "width_bos_weight", lambda op: 1.0)
    program = rasp_ir.Program.from_dsl(_sort_by_frequency(), name="by_frequency")
    ir = compile_to_transformer(program, ["a", "b", "c"], 8)
    model = find_model(ir)
    remarks = [r.data for r in model.attributes["remarks"]]
    assert any("float32 rounding of its fused MLP reached what reads it" in r for r in remarks), remarks
    batch = every_length(["a", "b", "c"], 8, count=60)
    executor = TransformerExecutor(ir)
    onnx = CompiledModel.from_transformer(ir, provider="cpu")
    for stage, outputs in (("executor", executor.run(batch)), ("onnxruntime", onnx.run(batch))):
        for tokens, got in zip(batch, outputs):
            assert got == program.evaluate(tokens), (stage, tokens)
    with pytest.raises(rasp_ir.RaspCompileError, match="skews its attention"):
        compile_to_transformer(program, ["a", "b", "c"], 8, pipeline=DEFAULT_PIPELINE.replace(
            "rasp-to-transformer", "rasp-to-transformer{max_retries=0}"))


def test_widths_read_as_one_hots_weigh_bos_as_max_seq_len_keys():
    """The same program with the default BOS weights needs no split: the key's one-hot
    comes from coarser steps over shares b/(b+w)."""
    program = rasp_ir.Program.from_dsl(_sort_by_frequency(), name="by_frequency")
    ir = compile_to_transformer(program, ["a", "b", "c"], 8)
    assert "remarks" not in find_model(ir).attributes
    model = CompiledModel.from_transformer(ir, provider="cpu")
    assert model.summary().layers == 3
    batch = every_length(["a", "b", "c"], 8, count=60)
    for tokens, got in zip(batch, model.run(batch)):
        assert got == program.evaluate(tokens), tokens


def test_a_model_past_the_weights_cap_is_refused_with_the_reason(monkeypatch):
    from rasp_ir.passes import to_transformer

    monkeypatch.setattr(to_transformer, "MAX_MODEL_WEIGHTS", 1000)
    program = rasp_ir.Program.from_dsl(_sort_by_frequency(), name="by_frequency")
    with pytest.raises(rasp_ir.RaspCompileError, match="more than 1,000 weights in all"):
        compile_to_transformer(program, ["a", "b", "c"], 6)


def _score_check(off_dim_error: float, on_dim_error: float) -> None:
    """check_score_error on an `==` select whose keys and queries are a one-hot that an MLP
    computed (values 0, 1, 2), off by `on_dim_error` on the dim that is on and by
    `off_dim_error` on the others, at softmax scale 20 and a skew budget of 1e-3."""
    from rasp_ir.compiler import compile_to_transformer as to_ir
    from rasp_ir.passes.to_transformer import Layout, Lowering, ScoreGroup

    ir = to_ir(rasp_ir.Program.from_dsl(dsl.Map(lambda t: t, dsl.tokens)), [0, 1, 2], 3, pipeline="rasp-infer-values")
    sop = next(op for op in ir.walk() if isinstance(op, rasp_ir.dialects.rasp.TokensOp)).results[0]
    lowering = Lowering(program=None, layout=Layout(), max_seq_len=3, tolerance=1e-3, x_bos=np.zeros(0))
    error = np.full((3, 3), off_dim_error)
    np.fill_diagonal(error, on_dim_error)  # row r: the one-hot of value r
    lowering.onehot_error[sop] = error
    lowering.onehot_on_index[sop] = np.arange(3)
    lowering.check_score_error([ScoreGroup(sop, sop, np.eye(3))], "test head", 20.0, 1e-3)


def test_rounding_on_unselected_keys_only_scales_their_leak():
    """Selected keys (same value) see only the on-dim errors; the off-dim ones move keys
    that score 1 below by at most 1% of their leak (20 * 1e-4 < 0.01): not counted."""
    _score_check(off_dim_error=1e-4, on_dim_error=1e-7)
    with pytest.raises(rasp_ir.errors.RaspCompileError, match="float32 rounding skews its attention"):
        _score_check(off_dim_error=1e-7, on_dim_error=1e-4)  # on selected keys: counted
    with pytest.raises(rasp_ir.errors.RaspCompileError, match="float32 rounding skews its attention"):
        _score_check(off_dim_error=1e-3, on_dim_error=1e-7)  # past 1% of the leak: counted


def test_a_sum_of_head_outputs_is_one_numerical_mlp_with_int_outputs():
    """`n * 100 + same * 10 + earlier` is a sum of one function per head output: it is
    numerical (one dimension; as a one-hot it needs one per sum and an MLP over every
    combination, a block more) and the MLP after the heads computes it piece by piece.
    Its pieces step by 100, which float32 rounds to about 1e-3, past the tolerance of a
    number: the model rounds the int output, so it comes back exact, as ints."""
    source = """
    full = select(1, 1, ==);
    n = round(1 / aggregate(full, indicator(indices == 0)));
    same = selector_width(select(tokens, tokens, ==));
    earlier = selector_width(select(indices, indices, <));
    combo = n * 100 + same * 10 + earlier;
    """
    program = rasp_ir.parse_rasp(source, output="combo")
    model = rasp_ir.compile(program, vocab=["a", "b", "c"], max_seq_len=8)
    assert model.summary().layers == 1 and model.encoding == "numerical"
    rng = random.Random(1)
    inputs = [list(t) for n in range(1, 6) for t in itertools.product("abc", repeat=n)]
    inputs += [[rng.choice("abc") for _ in range(rng.randint(6, 8))] for _ in range(200)]
    for tokens, got in zip(inputs, model.run(inputs)):
        assert got == program.evaluate(tokens) and all(type(v) is int for v in got), tokens
