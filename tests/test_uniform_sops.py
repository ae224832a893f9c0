"""Position-uniform s-ops (one value at every position of a sequence) and what they prove.

`rasp_ir.analysis.encodings.position_uniform`: constants, `length`, maps of uniform s-ops,
and aggregates / selector_widths whose selector does not read the query position (every
select in it compares the keys with a uniform query). A sequence_map of a unique s-op and a
uniform one that is injective in the unique one for every value of the uniform one is
unique per position, so `select(indices + (length - add_index), indices, ==)` (the
long_addition program's alignment) selects at most one key, and its aggregate copies.

A wrong proof makes a compiled model average silently, so the negative cases matter as
much as the positive ones; the differential checks run the interpreter, the numpy
executor and onnxruntime on every input up to a small length.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import pytest

import rasp_ir
from rasp_ir import dsl
from rasp_ir.analysis.encodings import (
    position_uniform,
    query_independent,
    selects_at_most_one,
    unique_per_position,
)
from rasp_ir.analysis.model_summary import summarize
from rasp_ir.compiler import compile_to_transformer, run_pipeline
from rasp_ir.dialects.rasp import AggregateOp, Encoding, SOpType
from rasp_ir.dialects.transformer import find_model
from rasp_ir.errors import RaspCompileWarning
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.runtime.model import CompiledModel
from rasp_ir.testing import Fn, FuzzCase, Node, check_case

C = dsl.Comparison
t, i, n = dsl.tokens, dsl.indices, dsl.length

LIBRARY = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "library_programs.json"


def values_of(sop: dsl.SOp, vocab, max_seq_len: int, pipeline: str = "rasp-infer-values"):
    """The program's SSA values by name, after `pipeline`."""
    module = rasp_ir.Program.from_dsl(sop, name="t").to_module(vocab=vocab, max_seq_len=max_seq_len)
    run_pipeline(module, pipeline)
    return {r.name_hint: r for op in module.walk() for r in op.results if r.name_hint}


def uniform(sop: dsl.SOp, vocab=(0, 1, 2), max_seq_len: int = 4) -> bool:
    return position_uniform(values_of(sop.named("x"), list(vocab), max_seq_len)["x"])


def unique(sop: dsl.SOp, vocab=(0, 1, 2), max_seq_len: int = 4) -> bool:
    return unique_per_position(values_of(sop.named("x"), list(vocab), max_seq_len)["x"])


def at_most_one(selector: dsl.Selector, vocab=(0, 1, 2), max_seq_len: int = 4) -> bool:
    sop = dsl.numerical(dsl.Aggregate(selector.named("sel"), t)).named("out")
    return selects_at_most_one(values_of(sop, list(vocab), max_seq_len)["sel"])


# A "+"-like marker: the mean of the indices where the token is 0 (the same at every
# position; numerical, since several positions may hold 0).
marker = dsl.Aggregate(dsl.Select(t, dsl.Full(0), C.EQ), i)
count_zeros = dsl.SelectorWidth(dsl.Select(t, dsl.Full(0), C.EQ))
prefix_mean = dsl.Aggregate(dsl.Select(i, i, C.LEQ), t)  # a mean that differs per position


@pytest.mark.parametrize(
    ("sop", "expected"),
    [
        (dsl.Full(1), True),
        (n, True),
        (dsl.Map(lambda x: x * 2, n), True),
        (dsl.SequenceMap(lambda x, y: x * 10 + y, n, dsl.Full(3)), True),
        (n - 1, True),
        (dsl.LinearSequenceMap(n, n, 1, 2), True),
        (marker, True),  # the selector compares the keys with a constant
        (count_zeros, True),
        (dsl.Aggregate(dsl.Select(t, n, C.LT), t), True),  # queries: length, uniform
        (dsl.Aggregate(dsl.Select(i, i, C.TRUE), t), True),  # every query selects every key
        (dsl.Aggregate(dsl.Select(i, i, C.FALSE), t, default=2), True),
        (dsl.Aggregate(dsl.Select(t, dsl.Full(0), C.EQ) & dsl.Select(i, n - 2, C.LT), t), True),
        (dsl.Aggregate(dsl.Select(t, dsl.Full(0), C.EQ) | dsl.Select(i, marker, C.GT), t), True),
        (dsl.Aggregate(~dsl.Select(t, dsl.Full(1), C.EQ), t), True),
        (dsl.SelectorWidth(dsl.Select(i, count_zeros, C.LT)), True),  # nested: uniform query
        (n - marker, True),
        # not uniform
        (t, False),
        (i, False),
        (dsl.Map(lambda x: 0, i), False),  # constant in fact, but not proven (a sufficient condition)
        (dsl.SequenceMap(lambda x, y: x + y, n, i), False),
        (dsl.Aggregate(dsl.Select(t, i, C.EQ), t), False),  # the queries are the positions
        (dsl.Aggregate(dsl.Select(i, i, C.LT), t), False),
        (dsl.SelectorWidth(dsl.Select(t, t, C.EQ)), False),  # a histogram
        (dsl.Aggregate(dsl.Select(t, dsl.Full(0), C.EQ) & dsl.Select(i, i, C.LEQ), t), False),
        (dsl.Aggregate(dsl.Select(t, dsl.Full(0), C.EQ) | dsl.Select(t, t, C.EQ), t), False),
        (dsl.Aggregate(~dsl.Select(t, t, C.EQ), t), False),
        (dsl.Aggregate(dsl.Select(t, prefix_mean, C.EQ), t), False),  # a query that varies
        (prefix_mean, False),
    ],
)
def test_position_uniform(sop, expected):
    assert uniform(sop) is expected


def test_query_independent():
    names = values_of(
        dsl.numerical(dsl.Aggregate((dsl.Select(t, 0, C.EQ).named("a") & dsl.Select(i, i, C.LT).named("b")).named("c"), t)),
        [0, 1, 2],
        4,
    )
    assert query_independent(names["a"])
    assert not query_independent(names["b"])
    assert not query_independent(names["c"])


@pytest.mark.parametrize(
    ("sop", "expected"),
    [
        # indices + (something uniform): injective in indices for every uniform value
        (i + (n - marker), True),
        (dsl.LinearSequenceMap(i, n - marker, 1, 1), True),
        (dsl.LinearSequenceMap(n - marker, i, 1, -2), True),
        (dsl.SequenceMap(lambda x, y: x + y, i, marker), True),
        (dsl.SequenceMap(lambda x, y: y - x, marker, i), True),
        (dsl.SequenceMap(lambda x, y: x + y, i, count_zeros), True),
        (dsl.SequenceMap(lambda x, y: (x + y) % 7, i, count_zeros), True),  # 4 consecutive sums mod 7
        (dsl.Map(lambda x: x * 3, i + count_zeros), True),
        # not unique
        (i + t, False),  # tokens vary per position
        (dsl.SequenceMap(lambda x, y: x + y, i, prefix_mean), False),  # the mean varies per position
        (dsl.SequenceMap(lambda x, y: x * y, i, count_zeros), False),  # not injective where no 0 is seen
        (dsl.SequenceMap(lambda x, y: x if y < 3 else 0, i, n), False),  # not injective at length 3
        (dsl.LinearSequenceMap(i, n, 0, 1), False),  # ignores the indices
        (dsl.SequenceMap(lambda x, y: x + y, i, dsl.SelectorWidth(dsl.Select(t, t, C.EQ))), False),
        (dsl.SequenceMap(lambda x, y: x + y, i, dsl.Aggregate(dsl.Select(t, i, C.EQ), t)), False),
        (dsl.SequenceMap(lambda x, y: x + y, n, marker), False),  # no unique operand
    ],
)
def test_unique_beside_uniform(sop, expected):
    assert unique(sop) is expected


def test_injectivity_is_checked_for_every_uniform_value():
    """(x + y) % 5 with x in 0..3 and y = selector_width in 0..4: injective for each y."""
    assert unique(dsl.SequenceMap(lambda x, y: (x + y) % 5, i, count_zeros))
    # (x + y) % 3 with x in 0..3: 0 and 3 collide for every y
    assert not unique(dsl.SequenceMap(lambda x, y: (x + y) % 3, i, count_zeros))
    # x // (y + 1): injective at y = 0 only
    assert not unique(dsl.SequenceMap(lambda x, y: x // (y + 1), i, count_zeros))


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (dsl.Select(i + (n - marker), i, C.EQ), True),
        (dsl.Select(dsl.SequenceMap(lambda x, y: x - y, i, count_zeros), i, C.EQ), True),
        (dsl.Select(i + (n - marker), t, C.EQ), True),
        (dsl.Select(i + t, i, C.EQ), False),
        (dsl.Select(dsl.SequenceMap(lambda x, y: x * y, i, count_zeros), i, C.EQ), False),
        (dsl.Select(i, i + (n - marker), C.EQ), True),  # unique keys already
        (dsl.Select(n - marker, i, C.EQ), False),  # uniform keys: every key is selected or none
    ],
)
def test_selects_at_most_one_with_uniform(selector, expected):
    assert at_most_one(selector) is expected


def test_the_copying_aggregate_is_categorical():
    """The builder decides copy vs mean with the proof: the aggregate is categorical and
    its values are the copied ones (no means)."""
    target = (i + (n - marker)).named("target")
    val = dsl.Aggregate(dsl.Select(target, i, C.EQ), dsl.Map(lambda x: x * 10, t), default=-1).named("val")
    names = values_of(val, [0, 1, 2], 5)
    op = names["val"].owner
    assert isinstance(op, AggregateOp)
    assert isinstance(op.result.type, SOpType) and op.result.type.enc == Encoding.CATEGORICAL
    assert list(op.attributes["values"].data) == [-1, 0, 10, 20]
    # with a selector that reads the tokens too, it stays a mean
    bad = dsl.Aggregate(dsl.Select(i + t, i, C.EQ), dsl.Map(lambda x: x * 10, t), default=-1).named("bad")
    op = values_of(bad, [0, 1, 2], 5)["bad"].owner
    assert isinstance(op.result.type, SOpType) and op.result.type.enc != Encoding.CATEGORICAL


# --------------------------------------------------------------------------- #
# Differential: interpreter, numpy executor and onnxruntime on every input
# --------------------------------------------------------------------------- #


def all_inputs(vocab, max_len: int) -> tuple[tuple, ...]:
    return tuple(tuple(x) for k in range(1, max_len + 1) for x in itertools.product(vocab, repeat=k))


def _addition_case(vocab, max_seq_len: int, inputs) -> FuzzCase:
    """A small long_addition: tokens are digits and "+"; the digit at position p of the
    first number is moved to p + (length - add_index), where add_index is the mean
    position of "+" (uniform), then added to the second number's digits."""
    digit = Fn.lookup(1, [(str(d), d) for d in range(10)], 0)
    nodes = (
        Node("tokens"),  # 0
        Node("indices"),  # 1
        Node("length"),  # 2
        Node("full", value="+"),  # 3
        Node("select", (0, 3), value="EQ"),  # 4: keys tokens, query "+"
        Node("aggregate", (4, 1)),  # 5: add_index, a mean
        Node("linear_sequence_map", (2, 5), value=(1, -1)),  # 6: length - add_index
        Node("linear_sequence_map", (1, 6), value=(1, 1)),  # 7: indices + shift
        Node("map", (0,), fn=digit),  # 8: as_nums
        Node("select", (7, 1), value="EQ"),  # 9
        Node("aggregate", (9, 8), value=0),  # 10: val1, copies one digit
        Node("sequence_map", (1, 5), fn=Fn.expr(2, "x > y")),  # 11: is_val2
        Node("sequence_map", (11, 8), fn=Fn.expr(2, "y if x else 0")),  # 12: val2
        Node("sequence_map", (10, 12), fn=Fn.expr(2, "x + y")),  # 13: the digit sums
    )
    return FuzzCase(nodes, 13, tuple(vocab), max_seq_len, tuple(inputs))


def _assert_ok(outcome, case: FuzzCase) -> None:
    assert outcome.status == "ok", outcome.describe(case)
    assert not outcome.refused.get("executor") and not outcome.refused.get("onnxruntime")
    # no run-time guard: the proof holds, so nothing warns that it may average
    assert not [w for w in outcome.warnings if "at most one" in w], outcome.warnings


def _assert_copies(case: FuzzCase, aggregate: str, selector: str) -> None:
    """The aggregate is proven to copy: its selector selects at most one key, and it is
    built categorical (without the proof it would be a numerical mean)."""
    names = values_of(case.build(), list(case.vocab), case.max_seq_len)
    assert selects_at_most_one(names[selector])
    result_type = names[aggregate].type
    assert isinstance(result_type, SOpType) and result_type.enc == Encoding.CATEGORICAL


def test_small_long_addition_differential():
    vocab = ["0", "1", "9", "+"]
    case = _addition_case(vocab, 5, all_inputs(vocab, 5))
    _assert_copies(case, "n10", "n9")
    outcome = check_case(case)
    _assert_ok(outcome, case)
    assert outcome.encoding == "numerical"  # a sum of two digits: one dimension, rounded to ints
    # the inputs include several "+" (add_index a non-integer mean, or an integer one)
    assert ("1", "+", "+", "9") in case.inputs and ("+", "1", "+", "1", "9") in case.inputs
    assert outcome.inputs_skipped == 0


def test_small_long_addition_no_guard_and_categorical_copy():
    vocab = ["0", "1", "9", "+"]
    case = _addition_case(vocab, 5, ())
    _assert_copies(case, "n10", "n9")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ir = compile_to_transformer(case.program(), vocab, 5)
    assert not [w for w in caught if issubclass(w.category, RaspCompileWarning)], [str(w.message) for w in caught]
    model = find_model(ir)
    assert model.guard_list == [] and model.guards is None


def test_not_unique_beside_a_varying_sop_is_guarded_not_wrong():
    """indices + (a count that differs per position): not proven, so the categorical copy
    is guarded and the model refuses inputs where it would average, never answers wrongly."""
    nodes = (
        Node("tokens"),  # 0
        Node("indices"),  # 1
        Node("select", (0, 0), value="EQ"),  # 2
        Node("selector_width", (2,)),  # 3: histogram, not uniform
        Node("sequence_map", (1, 3), fn=Fn.expr(2, "x - y")),  # 4: may repeat
        Node("select", (4, 1), value="EQ"),  # 5
        Node("aggregate", (5, 0), value="z", encoding="categorical"),  # 6
    )
    vocab = ["a", "b"]
    case = FuzzCase(nodes, 6, tuple(vocab), 4, all_inputs(vocab, 4))
    names = values_of(case.build(), vocab, 4)
    assert not unique_per_position(names["n4"])
    assert not selects_at_most_one(names["n5"])
    outcome = check_case(case)
    assert not outcome.failed, outcome.describe(case)


def test_uniform_count_differential():
    """indices - (number of zeros), a uniform count: a shift that copies one token."""
    nodes = (
        Node("tokens"),  # 0
        Node("indices"),  # 1
        Node("full", value=0),  # 2
        Node("select", (0, 2), value="EQ"),  # 3
        Node("selector_width", (3,)),  # 4: uniform
        Node("sequence_map", (1, 4), fn=Fn.expr(2, "x + y")),  # 5: unique beside uniform
        Node("select", (5, 1), value="EQ"),  # 6: position p reads p - zeros
        Node("aggregate", (6, 0), value=-1),  # 7: copies a token
    )
    vocab = [0, 1, 2]
    case = FuzzCase(nodes, 7, tuple(vocab), 5, all_inputs(vocab, 5))
    _assert_copies(case, "n7", "n6")
    outcome = check_case(case)
    _assert_ok(outcome, case)
    assert outcome.encoding == "categorical"


@pytest.mark.skipif(not LIBRARY.exists(), reason="the shared conformance library is not here")
def test_long_addition_compiles_and_agrees():
    """The library's long_addition (the paper repo's program, verbatim) compiles without a
    guard, in the paper's 5 layers (its digit sums were split, a 6th layer, while the plan
    decided them before it put `val2` in the stream: `fusion.plan_fusion`'s second pass),
    and agrees with the interpreter on every input up to length 5 over a small vocab."""
    program_spec = next(p for p in json.loads(LIBRARY.read_text())["programs"] if p["name"] == "long_addition")
    program = rasp_ir.parse_rasp(program_spec["rasp_source"], output=program_spec["output_sop"])
    vocab, max_seq_len = ["0", "5", "9", "+"], 6
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ir = compile_to_transformer(program, vocab, max_seq_len)
    assert not [w for w in caught if "at most one" in str(w.message)]
    assert find_model(ir).guard_list == []
    full = compile_to_transformer(program, program_spec["vocab"], program_spec["max_seq_len"])
    assert summarize(full).layers == program_spec["layers"] == 5
    inputs = [list(x) for x in all_inputs(vocab, 5)]
    expected = [program.evaluate(x) for x in inputs]
    assert TransformerExecutor(ir).run(inputs) == expected
    model = CompiledModel.from_transformer(ir, provider="cpu")
    assert model.run(inputs, batch_size=len(inputs)) == expected
