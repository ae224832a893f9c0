"""Lookup MLPs built from disjoint cubes (`passes.lookup_cubes`): a unit per cube on which
the function is constant, not per combination of input values."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rasp_ir
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.dialects.rasp import AggregateOp, ProgramOp, TokensOp
from rasp_ir.frontend.dsl import Aggregate, Comparison, Map, Select, SequenceMap, categorical, indices, numerical, tokens
from rasp_ir.passes.lookup_cubes import cover, default_output

ALLOCATED = (
    "rasp-materialize-tables,rasp-infer-values,canonicalize,cse,rasp-infer-values,rasp-infer-encodings,"
    "rasp-infer-values,rasp-lower-composite-selectors,rasp-allocate-layers"
)


def check_partition(table: np.ndarray) -> None:
    """Every combination lies in exactly one cube, and the table holds that cube's output."""
    hits = np.zeros(table.shape, dtype=int)
    for cube in cover(table):
        index = np.ix_(*[list(s) if s is not None else list(range(n)) for s, n in zip(cube.sets, table.shape)])
        hits[index] += 1
        assert (table[index] == cube.output).all()
    assert (hits == 1).all()


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), elements=st.integers(0, 3)))
def test_cubes_partition_any_table(table):
    check_partition(table)


def test_an_or_of_six_bools_is_seven_cubes_and_two_units():
    table = np.zeros((2,) * 6, dtype=int)
    table[...] = 1
    table[(0,) * 6] = 0  # or(...) is false only where every input is false
    cubes = cover(table)
    check_partition(table)
    assert len(cubes) == 7  # not 64 combinations
    assert default_output(cubes) == 1
    # one always-on unit writes True, one cube (all false) writes the difference
    assert sum(cube.output != 1 for cube in cubes) + 1 == 2


def test_inputs_the_function_ignores_are_never_split():
    a = np.arange(5)[:, None, None]
    table = np.broadcast_to((a % 2), (5, 4, 3)).copy()
    cubes = cover(table)
    assert len(cubes) == 2
    assert all(cube.sets[1] is None and cube.sets[2] is None for cube in cubes)
    assert sorted(cube.sets[0] for cube in cubes) == [(0, 2, 4), (1, 3)]


def shifted_is(symbol: str, k: int):
    """Whether the token k positions back is `symbol` (False where there is none)."""
    back = Map(lambda i, k=k: i - k, indices)
    flag = categorical(Map(lambda t: t == symbol, tokens))
    return Aggregate(Select(indices, back, Comparison.EQ), flag, default=False)


def test_a_wide_or_compiles_to_a_small_mlp_and_agrees_with_the_interpreter():
    """or over six looked-back flags (and the current token): 2^7 combinations, one
    lookup MLP of a handful of cube units."""
    flags = [shifted_is("a", k) for k in range(1, 7)]
    here = Map(lambda t: t == "b", tokens)
    seen = SequenceMap(lambda h, f: h or f, here, flags[0])
    for flag in flags[1:]:
        seen = SequenceMap(lambda s, f: s or f, seen, flag)
    program = rasp_ir.Program.from_dsl(seen.named("seen"))
    vocab = ["a", "b", "c"]
    model = rasp_ir.compile(program, vocab=vocab, max_seq_len=8)
    summary = model.summary()
    assert summary.layers == 1
    assert max(summary.mlp_hidden_per_layer) <= 8  # 128 combinations without cubes
    rng = random.Random(7)
    inputs = [[rng.choice(vocab) for _ in range(rng.randint(1, 8))] for _ in range(300)]
    inputs += [["c"] * n for n in range(1, 9)]
    assert model.run(inputs) == [program.evaluate(t) for t in inputs]


def seen_before(symbol: str, predicate: Comparison):
    """The share of positions `predicate` selects that hold one of the characters of
    `symbol`: a numerical mean."""
    flag = numerical(Map(lambda t, symbol=symbol: 1 if t in symbol else 0, tokens))
    return numerical(Aggregate(Select(indices, indices, predicate), flag, default=0))


def agree(program: rasp_ir.Program, model, vocab: list[str], max_seq_len: int, count: int = 1500, extra=()) -> None:
    rng = random.Random(11)
    inputs = [[rng.choice(vocab) for _ in range(rng.randint(1, max_seq_len))] for _ in range(count)]
    inputs += [list(text) for text in extra]
    inputs += [[vocab[-1]] * n for n in range(1, max_seq_len + 1)]
    inputs += [[vocab[-1]] * (n - 1) + [vocab[0]] for n in range(1, max_seq_len + 1)]
    assert model.run(inputs) == [program.evaluate(t) for t in inputs]


def test_means_read_only_as_zero_or_not_are_gates_not_joint_codes():
    """`mean > 0` of six means, or-ed: each mean is a threshold leaf (0, or at least
    1/12), tested by a gate; a joint code of six means (5e12 levels) would split the
    or into six MLPs, six blocks."""
    means = [seen_before(s, p) for s in "abc" for p in (Comparison.LT, Comparison.GT)]
    found = Map(lambda m: m > 0, means[0])
    for mean in means[1:]:
        found = SequenceMap(lambda a, m: a or m > 0, found, mean)
    out = SequenceMap(lambda a, t: t if a else "none", found, tokens).named("out")
    program = rasp_ir.Program.from_dsl(out)
    vocab = list("abcd")
    model = rasp_ir.compile(program, vocab=vocab, max_seq_len=12)
    assert model.summary().layers == 1
    agree(program, model, vocab, 12)


def test_a_mean_read_only_at_its_largest_value_is_a_threshold_too():
    """`mean == 1` (every position selected holds the symbol): the extreme is the
    largest value. Five such tests, and-ed, in one MLP."""
    picks = [("a", Comparison.LT), ("a", Comparison.LEQ), ("b", Comparison.GT), ("ab", Comparison.NEQ), ("ab", Comparison.GEQ)]
    means = [seen_before(s, p) for s, p in picks]
    every = Map(lambda m: m == 1, means[0])
    for mean in means[1:]:
        every = SequenceMap(lambda a, m: a and m == 1, every, mean)
    out = SequenceMap(lambda x, t: "yes" if x else t, every, tokens).named("out")
    program = rasp_ir.Program.from_dsl(out)
    vocab = list("abc")
    model = rasp_ir.compile(program, vocab=vocab, max_seq_len=10)
    assert model.summary().layers == 1
    yes = ["aabb", "aab", "aaaabbbbbb"]  # "yes" at the last of two or more a before b
    assert all("yes" in program.evaluate(list(text)) for text in yes)
    agree(program, model, vocab, 10, extra=yes + ["aabbc", "caabb", "abab"])


def test_a_mean_read_at_an_inner_value_is_not_a_threshold():
    """`mean > 1/2` tells values apart in the middle of the range: no gate can test it
    linearly, so it takes steps (and still agrees)."""
    from rasp_ir.passes.fusion import Leaf, threshold

    half = SequenceMap(lambda m, t: t if m > 0.5 else "-", seen_before("a", Comparison.LT), tokens).named("out")
    program = rasp_ir.Program.from_dsl(half)
    vocab = list("abc")
    module = compile_to_transformer(program, vocab, 8, pipeline=ALLOCATED)
    body = next(op for op in module.walk() if isinstance(op, ProgramOp)).body.block.ops
    root = next(op for op in body if op.results and op.results[0].name_hint == "out")
    mean = next(op.results[0] for op in body if isinstance(op, AggregateOp))
    text = next(op.results[0] for op in body if isinstance(op, TokensOp))
    assert threshold(root, Leaf(mean), [Leaf(mean), Leaf(text)]) is None
    model = rasp_ir.compile(program, vocab=vocab, max_seq_len=8)
    agree(program, model, vocab, 8, count=500)


def test_the_grid_evaluation_agrees_with_the_lazy_table_and_classes_are_interchangeable():
    """`fusion.grid_table` (numpy gathers through each table) gives what `tabulate` gives
    point by point, and values of one `_value_classes` class give the same output."""
    from itertools import product

    from rasp_ir.passes.fusion import Leaf, _value_classes, grid_table, tabulate
    from rasp_ir.dialects.rasp import value_key

    shifted = Aggregate(Select(indices, Map(lambda i: i - 1, indices), Comparison.EQ), tokens, default="-")
    pair = SequenceMap(lambda a, b: (a == "a") and b != "c", shifted, tokens)
    out = SequenceMap(lambda p, t: "x" if p else t, pair, tokens).named("out")
    program = rasp_ir.Program.from_dsl(out)
    module = compile_to_transformer(program, list("abcd"), 6, pipeline=ALLOCATED)
    body = next(op for op in module.walk() if isinstance(op, ProgramOp)).body.block.ops
    root = next(op for op in body if op.results and op.results[0].name_hint == "out")
    leaf_values = [next(op.results[0] for op in body if isinstance(op, kind)) for kind in (AggregateOp, TokensOp)]
    leaves = [Leaf(v) for v in leaf_values]
    points = [leaf.raw_values() for leaf in leaves]
    grid, outputs = grid_table(root, leaves, points)
    table = tabulate(root, leaves)
    for index in product(*(range(len(p)) for p in points)):
        key = tuple(value_key(p[i]) for p, i in zip(points, index))
        assert value_key(outputs[grid[index]]) == value_key(table[key])
    # the shifted token matters only as "a" or not: two classes of its five values
    classes = _value_classes(root, leaves[0], set(leaf_values))
    assert sorted(len(c) for c in classes) == [1, len(points[0]) - 1]
    for members in classes:
        for j in range(len(points[1])):
            assert len({grid[i, j] for i in members}) == 1


def test_a_table_too_large_to_tabulate_is_covered_by_fixing_the_leaves_that_choose():
    """`or` over k of (b_k and q == k), 20 booleans and a q of 20 values: 2^20 * 20
    combinations, past COVER_LIMIT, yet with q fixed only b_q matters. The cover fixes
    the leaf most ops read (q, by 20) and covers what is left: two cubes per value of q.
    Every sampled combination lies in exactly one cube, which holds the function's value."""
    from functools import reduce

    from rasp_ir.dialects.rasp import value_key
    from rasp_ir.passes.fusion import COVER_LIMIT, Leaf, lookup_cover, tabulate

    q = Map(lambda t: t, tokens).named("q")
    bs = [Map(lambda i, k=k: i == k, indices).named(f"b{k}") for k in range(20)]
    terms = [SequenceMap(lambda b, v, k=k: b and v == k, b, q) for k, b in enumerate(bs)]
    out = reduce(lambda x, y: SequenceMap(lambda a, b: a or b, x, y), terms).named("out")
    module = compile_to_transformer(
        rasp_ir.Program.from_dsl(out), list(range(20)), 20, pipeline="rasp-materialize-tables,rasp-infer-values"
    )
    body = list(next(op for op in module.walk() if isinstance(op, ProgramOp)).body.block.ops)
    named = {op.results[0].name_hint: op for op in body if op.results}
    leaves = [Leaf(named[f"b{k}"].results[0]) for k in range(20)] + [Leaf(named["q"].results[0])]
    assert 2**20 * 20 > COVER_LIMIT
    found = lookup_cover(named["out"], leaves)
    assert found is not None and len(found.cubes) <= 2 * 20 + 1
    table = tabulate(named["out"], leaves)
    rng = random.Random(0)
    for _ in range(400):
        point = [rng.randrange(len(leaf.raw_values())) for leaf in leaves]
        classes = [next(c for c, members in enumerate(of_leaf) if i in members) for i, of_leaf in zip(point, found.classes)]
        hits = [cube for cube in found.cubes if all(s is None or c in s for s, c in zip(cube.sets, classes))]
        assert len(hits) == 1
        key = tuple(value_key(leaf.raw_values()[i]) for leaf, i in zip(leaves, point))
        assert value_key(found.outputs[hits[0].output]) == value_key(table[key])
