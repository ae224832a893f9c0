"""Fused work that several MLPs would recompute, or that blows up one MLP's table, gets an
MLP of its own where that costs no block (`fusion.shared_subexpressions`)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import rasp_ir
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.dialects.rasp import ProgramOp
from rasp_ir.frontend.dsl import Aggregate, Comparison, Map, Select, SequenceMap, indices, numerical, tokens
from rasp_ir.passes.fusion import SHARED

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ALLOCATED = (
    "rasp-materialize-tables,rasp-infer-values,canonicalize,cse,rasp-infer-values,rasp-infer-encodings,"
    "rasp-infer-values,rasp-lower-composite-selectors,rasp-allocate-layers"
)


def allocated_ops(program: rasp_ir.Program, vocab, max_seq_len: int) -> dict[str, object]:
    module = compile_to_transformer(program, vocab, max_seq_len, pipeline=ALLOCATED)
    body = next(op for op in module.walk() if isinstance(op, ProgramOp)).body.block.ops
    return {op.results[0].name_hint: op for op in body if op.results and op.results[0].name_hint}


def test_dyck1_balance_gets_its_own_mlp_and_the_model_shrinks():
    sys.path.insert(0, str(EXAMPLES))
    try:
        dyck1 = importlib.import_module("dyck1")
    finally:
        sys.path.remove(str(EXAMPLES))
    program = rasp_ir.Program.from_dsl(dyck1.program)
    ops = allocated_ops(program, ["(", ")", "x"], 10)
    assert SHARED in ops["balance"].attributes
    assert ops["balance"].attributes["block"].value.data == 1  # beside the block-1 heads' MLP work
    model = rasp_ir.compile(program, vocab=["(", ")", "x"], max_seq_len=10)
    summary = model.summary()
    assert summary.layers == 2
    # The last MLP reads (prev_imbalances, balance) instead of (prev_imbalances, both
    # prefix means, indices): 89,211 parameters before sharing.
    assert summary.params < 40_000
    inputs = [list(s) for s in ["(", "()", "(()x", ")(", "((x))()", "x(()))(", "(((((((((("]]
    assert model.run(inputs) == [program.evaluate(t) for t in inputs]


def test_sharing_costs_no_block():
    """%same would be fused into the MLP of %result (block 2), with %prev and %next; its
    own MLP runs in block 1, where those are, and the program keeps its 2 blocks."""
    before = Map(lambda i: i - 1, indices)
    prev = Aggregate(Select(indices, before, Comparison.EQ), tokens, default=0).named("prev")
    nxt = Aggregate(Select(indices, Map(lambda i: i + 1, indices), Comparison.EQ), tokens, default=0).named("next")
    same = SequenceMap(lambda a, b: a == b, prev, nxt).named("same")
    total = SequenceMap(lambda a, b: a + b, prev, nxt).named("total")
    frac = numerical(Aggregate(Select(total, total, Comparison.EQ), Map(lambda t: t == 1, tokens), default=0))
    out = SequenceMap(lambda s, f: f if s else -f, same, frac.named("frac")).named("out")
    late = SequenceMap(lambda a, f: a + f, prev, frac).named("late")  # prev is in the stream: nothing to share
    result = SequenceMap(lambda o, l: o + l, out, late).named("result")
    program = rasp_ir.Program.from_dsl(result)
    ops = allocated_ops(program, [1, 2, 3], 4)
    assert SHARED in ops["same"].attributes and ops["same"].attributes["block"].value.data == 1
    assert max(op.attributes["block"].value.data for op in ops.values() if "block" in op.attributes) == 2
    model = rasp_ir.compile(program, vocab=[1, 2, 3], max_seq_len=4)
    inputs = [[1], [1, 1], [2, 1, 2], [3, 3, 1, 1], [1, 2, 3, 1], [2, 2, 2, 2]]
    for tokens_, got in zip(inputs, model.run(inputs)):
        assert all(abs(a - b) < 1e-3 for a, b in zip(got, program.evaluate(tokens_)))


def test_a_huge_table_elsewhere_does_not_stop_sharing(monkeypatch):
    """Sharing weighs the table entries it saves against all MLPs' hidden units; a lookup
    whose table is astronomically large (rover's `posres`, 2^30 combinations, built as a
    cover of a few thousand cubes) counts as at most COVER_LIMIT, or no saving would ever
    weigh enough. Here a fake MLP with a table of 2^60 or more entries is added to
    Dyck-1's plan: its `balance` is still shared."""
    from rasp_ir.dialects.rasp import AggregateOp
    from rasp_ir.passes import allocate_layers
    from rasp_ir.passes.fusion import Leaf, plan_fusion, table_size

    def with_huge_table(program, max_hidden):
        plan = plan_fusion(program, max_hidden)
        head = next(op for op in program.body.block.ops if isinstance(op, AggregateOp))
        some = next(leaf for leaves in plan.leaves.values() for leaf in leaves if len(leaf.raw_values()) > 1)
        plan.leaves[head] = [Leaf(some.value, some.scratch)] * 60
        assert table_size(plan.leaves[head]) >= 2**60
        return plan

    monkeypatch.setattr(allocate_layers, "plan_fusion", with_huge_table)
    sys.path.insert(0, str(EXAMPLES))
    try:
        dyck1 = importlib.import_module("dyck1")
    finally:
        sys.path.remove(str(EXAMPLES))
    ops = allocated_ops(rasp_ir.Program.from_dsl(dyck1.program), ["(", ")", "x"], 10)
    assert SHARED in ops["balance"].attributes
