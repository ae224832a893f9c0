"""MLPs over numerical inputs stay exact in float32, or the compiler refuses with the reason.

A fused MLP reads its numerical inputs through exact steps. Three things can break that
(each was a silent wrong answer once, see tests/regressions): a joint code over several
inputs whose later inputs' noise is multiplied by large coefficients; steps so fine that
float32 cancellation between step units crosses the margins; results so large that the
same cancellation exceeds the tolerance. These tests compare onnxruntime and the numpy
executor with the interpreter on every width / length / position that matters.
"""

from __future__ import annotations

import random

import pytest

import rasp_ir
from rasp_ir import dsl
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.passes.fusion import Leaf, additive_parts
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


@pytest.mark.parametrize(
    ("max_seq_len", "reason"),
    [(256, "float32 leaves its result off by"), (512, "too fine for float32")],
)
def test_numerical_selector_width_past_float32_is_refused_with_the_reason(max_seq_len, reason):
    """At 512 onnxruntime was 0.0024 off on width 1 (the estimate refuses it); at 256 the
    decoding MLP, run in float32 on every width, is 0.0078 off on one of them (sampled
    widths had looked exact)."""
    sop = dsl.numerical(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ)))
    program = rasp_ir.Program.from_dsl(sop, name="width")
    with pytest.raises(rasp_ir.RaspCompileError, match=reason):
        compile_to_transformer(program, ["a", "b"], max_seq_len)


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
