"""One head counts a selector no single head selects, by weighing keys with powers of a base.

`analysis.weighted_counts`: sort's "smaller key, or equal key and earlier position" takes
one head where float32 can tell the sums of weights apart (short max_seq_len) and two
heads (its disjoint parts) past that. The paper's sort with BOS then takes its [1, 1]
heads. Compared with the interpreter through the numpy executor and onnxruntime.
"""

from __future__ import annotations

import itertools
import random
import warnings

import pytest

import rasp_ir
from rasp_ir.analysis import weighted_counts
from rasp_ir.analysis.weighted_counts import RELATIONS, _search
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.errors import RaspCompileWarning
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.runtime.model import CompiledModel

RANK = """
earlier = select(tokens, tokens, <) or (select(tokens, tokens, ==) and select(indices, indices, <));
rank = selector_width(earlier);
place = -1 if indices == 0 else rank;
"""

# The paper's stable sort behind a BOS token ("§" at position 0), in our words: the
# width through the BOS share, and BOS copying itself.
SORT_WITH_BOS = """
def count_before(s) {
    with_first = s or select(indices, 0, ==);
    return round(1 / aggregate(with_first, indicator(indices == 0))) - 1;
}
earlier = select(tokens, tokens, <) or (select(tokens, tokens, ==) and select(indices, indices, <));
place = -1 if indices == 0 else count_before(earlier);
to_here = select(place, indices - 1, ==) or (select(indices, 0, ==) and select(indices, indices, ==));
sorted = aggregate(to_here, tokens);
"""


def compiled(source: str, output: str, vocab: list, max_seq_len: int):
    program = rasp_ir.parse_rasp(source, output=output)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RaspCompileWarning)
        ir = compile_to_transformer(program, vocab, max_seq_len)
    return program, ir, CompiledModel.from_transformer(ir, provider="cpu")


def assert_agrees(program, ir, model, batch: list[list]) -> None:
    expected = [program.evaluate(xs) for xs in batch]
    for stage, outputs in (("executor", TransformerExecutor(ir).run(batch)), ("onnxruntime", model.run(batch))):
        for xs, want, got in zip(batch, expected, outputs):
            assert got == want, (stage, xs)


def rank_inputs(vocab: list, max_seq_len: int, rng: random.Random) -> list[list]:
    """Every input up to length 4, and at full length: all equal, sorted, reversed, random."""
    batch = [list(xs) for n in range(1, 5) for xs in itertools.product(vocab, repeat=n)]
    n = max_seq_len
    batch += [[vocab[0]] * n, sorted(rng.choice(vocab) for _ in range(n)), sorted(vocab * n)[:n][::-1]]
    batch += [[rng.choice(vocab) for _ in range(rng.randint(1, n))] for _ in range(300)]
    return batch


@pytest.mark.parametrize("max_seq_len, heads", [(4, 1), (10, 1), (20, 1), (32, 2)])
def test_a_rank_takes_one_head_where_float32_tells_its_sums_apart(max_seq_len, heads):
    vocab = list("abcd")
    program, ir, model = compiled(RANK, "place", vocab, max_seq_len)
    assert model.summary().heads_per_layer[0] == heads  # (at 32, the MLP adding the parts takes a block more)
    assert_agrees(program, ir, model, rank_inputs(vocab, max_seq_len, random.Random(max_seq_len)))


def test_the_paper_sort_with_bos_takes_one_head_per_layer():
    vocab = ["§", "a", "b", "c", "d"]
    program, ir, model = compiled(SORT_WITH_BOS, "sorted", vocab, 10)
    summary = model.summary()
    assert summary.heads_per_layer == [1, 1]
    # its second select reads `place` alone: the `or` with BOS copying itself adds nothing
    # (OrOfImpliedPart), so no MLP pairs `place` with indices (width 227 before)
    assert summary.residual_width < 40
    rng = random.Random(7)
    batch = [["§", *xs] for n in range(0, 6) for xs in itertools.product("abcd", repeat=n)]
    batch += [["§"] + [rng.choice("abcd") for _ in range(rng.randint(1, 9))] for _ in range(400)]
    assert_agrees(program, ir, model, batch)


def test_without_weighted_counts_the_rank_takes_two_heads(monkeypatch):
    """The fallback the weighted count replaces (also what longer max_seq_len gets)."""
    monkeypatch.setattr(weighted_counts, "MAX_PAIRS", 1)
    program, ir, model = compiled(RANK, "place", list("abcd"), 10)
    assert model.summary().heads_per_layer == [2]
    assert_agrees(program, ir, model, rank_inputs(list("abcd"), 10, random.Random(3)))


def test_keys_computed_by_a_head_are_not_weighted():
    """Scores from one-hots an MLP decoded from a head carry float32 error, which the
    weighted count's bound leaves out: such selectors get the other lowerings."""
    source = """
    prev = aggregate(select(indices, indices - 1, ==), tokens_int, 0);
    either = select(prev, prev, <) or (select(prev, prev, ==) and select(indices, indices, <));
    rank = selector_width(either);
    """
    program, ir, model = compiled(source, "rank", [0, 1, 2, 3], 6)
    assert model.summary().heads_per_layer[1] == 2
    rng = random.Random(5)
    assert_agrees(program, ir, model, [[rng.randint(0, 3) for _ in range(rng.randint(1, 6))] for _ in range(300)])


def test_the_mlp_after_the_head_gates_positions_that_read_alike_together():
    """`-1 if indices == 0 else rank` is the rank's steps behind two gates (position 0,
    the rest), not ten (one per position): gates whose functions agree merge."""
    _, _, rank_model = compiled(RANK, "rank", list("abcd"), 10)
    _, _, place_model = compiled(RANK, "place", list("abcd"), 10)
    assert place_model.summary().mlp_hidden_per_layer[0] <= rank_model.summary().mlp_hidden_per_layer[0] + 2


def _random_tables(rng: random.Random, count: int):
    for _ in range(count):
        pairs = rng.choice([2, 2, 3])
        yield pairs, tuple(rng.random() < 0.4 for _ in range(len(RELATIONS) ** pairs))


def test_every_sum_of_weights_decodes_to_the_count_of_selected_keys():
    """For random truth tables over relation cells: wherever the search finds exponents,
    any number of keys in each cell (at most n in all) sums to a Z that decodes to how
    many of them the table selects, and keys of a relation without an exponent are
    never selected."""
    rng = random.Random(11)
    found = 0
    for pairs, table in _random_tables(rng, 200):
        n = rng.choice([3, 5, 8])
        result = _search(table, pairs, n)
        if result is None:
            continue
        found += 1
        exponents, base, bos_weight, levels, noise = result
        cells = list(itertools.product(range(len(RELATIONS)), repeat=pairs))
        widths = dict(levels)
        for cell, selected in zip(cells, table):
            if any(exponents[p][r] is None for p, r in enumerate(cell)):
                assert not selected, (table, exponents)
        live = [(cell, sel) for cell, sel in zip(cells, table) if all(exponents[p][r] is not None for p, r in enumerate(cell))]
        for _ in range(50):
            counts = [0] * len(live)
            for _ in range(rng.randint(0, n)):
                counts[rng.randrange(len(live))] += 1
            z = sum(c * base ** sum(exponents[p][r] for p, r in enumerate(cell)) for c, (cell, _) in zip(counts, live))
            assert widths[z] == sum(c for c, (_, sel) in zip(counts, live) if sel)
        assert 0 < noise and bos_weight == max(levels[-1][0], 1)
    assert found > 20


def test_numbers_computed_from_a_weighted_rank_are_split_rather_than_refused():
    """`rank * 0.5 + indices` from the head's share directly needs steps over every sum of
    weights writing numbers, too fine for float32 at max_seq_len 12: the compiler splits
    it (the rank decoded first, a block more) instead of refusing, as it now does for any
    number whose steps round past the tolerance."""
    source = RANK + "half = rank * 0.5 + indices;\n"
    program, ir, model = compiled(source, "half", list("abc"), 12)
    assert model.summary().heads_per_layer == [1, 0]
    rng = random.Random(12)
    batch = [[rng.choice("abc") for _ in range(rng.randint(1, 12))] for _ in range(300)] + [["a"] * 12]
    expected = [program.evaluate(xs) for xs in batch]
    for stage, outputs in (("executor", TransformerExecutor(ir).run(batch)), ("onnxruntime", model.run(batch))):
        for xs, want, got in zip(batch, expected, outputs):
            assert all(abs(w - g) <= 1e-3 for w, g in zip(want, got)), (stage, xs)
