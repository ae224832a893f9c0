"""The compiler's main proof: compiled models give the reference interpreter's outputs.

For every example program: the `transformer` executor and onnxruntime agree with
the reference interpreter on every input up to length 5 and on 500 random inputs
up to max_seq_len 16, run as one batch of mixed lengths (so padding must change
nothing), and again after a save/load round trip.
"""

from __future__ import annotations

import importlib
import itertools
import math
import random
import sys
from pathlib import Path

import pytest

import rasp_ir
from rasp_ir import dsl
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.runtime.model import CompiledModel

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DSL_EXAMPLES = [
    "reverse", "histogram", "sort_unique", "sort", "most_frequent", "dyck1", "dyck2", "frac_prevs", "length",
    "pair_balance", "detect_pattern", "sum_diff",
]
MAX_SEQ_LEN = 16


def load_example(name: str):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def same(expected, got, tolerance: float) -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(got, (int, float)):
        return math.isclose(float(expected), float(got), rel_tol=0.0, abs_tol=tolerance)
    return expected == got


def inputs_for(vocab, max_seq_len: int, exhaustive_len: int = 5, n_random: int = 500, seed: int = 0):
    batch = [list(t) for n in range(1, exhaustive_len + 1) for t in itertools.product(vocab, repeat=n)]
    rng = random.Random(seed)
    batch += [[rng.choice(vocab) for _ in range(rng.randint(1, max_seq_len))] for _ in range(n_random)]
    return batch


def check_agrees(program: rasp_ir.Program, batch, outputs, tolerance: float, what: str) -> None:
    mismatches = []
    for tokens, got in zip(batch, outputs):
        expected = program.evaluate(tokens)
        if len(expected) != len(got) or not all(same(e, g, tolerance) for e, g in zip(expected, got)):
            mismatches.append((tokens, expected, got))
    assert not mismatches, f"{what}: {len(mismatches)} of {len(batch)} differ, first: {mismatches[0]}"


@pytest.fixture(scope="module", params=DSL_EXAMPLES)
def compiled(request):
    module = load_example(request.param)
    program = rasp_ir.Program.from_dsl(module.program, name=request.param)
    ir = compile_to_transformer(program, list(module.VOCAB), MAX_SEQ_LEN)
    return request.param, module, program, ir


def test_executor_and_onnx_equal_the_interpreter(compiled, tmp_path):
    name, module, program, ir = compiled
    batch = inputs_for(list(module.VOCAB), MAX_SEQ_LEN)
    executor_out = TransformerExecutor(ir).run(batch)
    check_agrees(program, batch, executor_out, 1e-3, f"{name}: executor")
    model = CompiledModel.from_transformer(ir)
    onnx_out = model.run(batch, batch_size=len(batch))  # one batch of mixed lengths
    check_agrees(program, batch, onnx_out, model.tolerance, f"{name}: onnxruntime")
    path = tmp_path / f"{name}.onnx"
    model.save(path)
    reloaded = rasp_ir.load_model(path).run(batch[:200] + batch[-200:], batch_size=64)
    assert reloaded == onnx_out[:200] + onnx_out[-200:]


@pytest.mark.parametrize("max_seq_len", [8, 64])
def test_selector_width_is_exact_for_every_width(max_seq_len):
    """Histogram at every width 0..n: all-equal tokens give width n everywhere, and
    a sequence with one odd token gives widths 1 and n-1."""
    hist = dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, dsl.Comparison.EQ))
    program = rasp_ir.Program.from_dsl(hist, name="hist")
    model = rasp_ir.compile(program, vocab=["a", "b"], max_seq_len=max_seq_len)
    batch = [["a"] * n for n in range(1, max_seq_len + 1)]
    batch += [["a"] * (n - 1) + ["b"] for n in range(2, max_seq_len + 1)]
    check_agrees(program, batch, model.run(batch), 0.0, "selector_width")


def test_numerical_mean_of_negative_and_fractional_values():
    values = {"a": -2.5, "b": 0.75, "c": 3.0}
    x = dsl.numerical(dsl.Map(lambda t: values[t], dsl.tokens))
    prefix_mean = dsl.numerical(dsl.Aggregate(dsl.Select(dsl.indices, dsl.indices, dsl.Comparison.LEQ), x, default=0))
    program = rasp_ir.Program.from_dsl(prefix_mean, name="prefix_mean")
    model = rasp_ir.compile(program, vocab=list(values), max_seq_len=6)
    batch = inputs_for(list(values), 6, exhaustive_len=4, n_random=100)
    check_agrees(program, batch, model.run(batch), model.tolerance, "numerical mean")


def test_map_of_a_mean_sees_every_fraction():
    """tracr assumes a mean of 0/1 values is 0 or 1/n; here it can be any k/n."""
    is_a = dsl.numerical(dsl.Map(lambda t: 1 if t == "a" else 0, dsl.tokens))
    frac = dsl.numerical(dsl.Aggregate(dsl.Select(dsl.indices, dsl.indices, dsl.Comparison.LEQ), is_a, default=0))
    over_half = dsl.Map(lambda f: f > 0.5, frac)
    program = rasp_ir.Program.from_dsl(over_half, name="over_half")
    model = rasp_ir.compile(program, vocab=["a", "b"], max_seq_len=8)
    batch = inputs_for(["a", "b"], 8, exhaustive_len=8, n_random=0)
    check_agrees(program, batch, model.run(batch), 0.0, "map of a mean")


def test_composite_selectors_in_aggregate_and_selector_width():
    tokens, indices = dsl.tokens, dsl.indices
    eq, lt, gt, neq = dsl.Comparison.EQ, dsl.Comparison.LT, dsl.Comparison.GT, dsl.Comparison.NEQ
    earlier_same = dsl.SelectorAnd(dsl.Select(tokens, tokens, eq), dsl.Select(indices, indices, lt))
    either = dsl.SelectorOr(dsl.Select(tokens, tokens, lt), dsl.Select(indices, indices, gt))
    # The previous position, when it holds the same token: `not !=` and an `and` across pairs.
    previous_same = dsl.SelectorAnd(
        dsl.Select(indices, indices - 1, eq), dsl.SelectorNot(dsl.Select(tokens, tokens, neq))
    )
    cases = {
        "earlier_same": dsl.SelectorWidth(earlier_same),
        "either": dsl.SelectorWidth(either),
        "not_either": dsl.SelectorWidth(dsl.SelectorNot(either)),
        "previous_same": dsl.Aggregate(previous_same, tokens, default="-"),
    }
    for name, sop in cases.items():
        program = rasp_ir.Program.from_dsl(sop, name=name)
        model = rasp_ir.compile(program, vocab=["a", "b", "c"], max_seq_len=6)
        batch = inputs_for(["a", "b", "c"], 6, exhaustive_len=5, n_random=50)
        check_agrees(program, batch, model.run(batch), 0.0, name)


def test_negative_outputs_survive_the_mlp():
    """tracr's ReLU MLPs zero negative outputs; here a map to negative numbers is exact."""
    neg = dsl.numerical(dsl.Map(lambda i: -3 * i - 1, dsl.indices))
    shifted = dsl.numerical(
        dsl.Aggregate(dsl.Select(dsl.indices, dsl.indices, dsl.Comparison.EQ), neg, default=0)
    )
    program = rasp_ir.Program.from_dsl(shifted, name="neg")
    model = rasp_ir.compile(program, vocab=["a"], max_seq_len=10)
    batch = [["a"] * n for n in range(1, 11)]
    check_agrees(program, batch, model.run(batch), model.tolerance, "negative outputs")
