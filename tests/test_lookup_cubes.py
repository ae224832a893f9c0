"""Lookup MLPs built from disjoint cubes (`passes.lookup_cubes`): a unit per cube on which
the function is constant, not per combination of input values."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rasp_ir
from rasp_ir.frontend.dsl import Aggregate, Comparison, Map, Select, SequenceMap, categorical, indices, tokens
from rasp_ir.passes.lookup_cubes import cover, default_output


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
