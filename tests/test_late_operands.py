"""An MLP does not wait a block for an s-op that the MLP before it puts in the stream,
where it can compute from what that one reads (`fusion._deepened`).

The pattern is rover's: `relative_clause_pos == i and inference_clause`, both in the
stream (heads read them), both computed by the MLP after the heads that count. Cutting
its function at them made it wait for that MLP (an MLP-only block, and every head after
it one block later); its whole function from the two counts and the tokens is one MLP in
the same block. Compared with the interpreter through the numpy executor and onnxruntime.
"""

from __future__ import annotations

import itertools
import random
import warnings

import pytest

import rasp_ir
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.errors import RaspCompileWarning
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.passes import fusion
from rasp_ir.runtime.model import CompiledModel
from rasp_ir.testing import same_value

SOURCE = """
pos = selector_width(select(tokens, tokens, ==) and select(indices, indices, <));
seen = selector_width(select(tokens, "b", ==)) > 0 and tokens != "c";
mark = pos == 1 and seen;
firsts = aggregate(select(pos, 0, ==), indicator(tokens == "a"));
flagged = aggregate(select(seen, True, ==), indicator(tokens == "a"));
marked = aggregate(select(mark, True, ==), indicator(tokens == "a"));
out = marked + firsts + flagged;
"""

VOCAB = list("abc")


def compiled():
    program = rasp_ir.parse_rasp(SOURCE, output="out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RaspCompileWarning)
        ir = compile_to_transformer(program, VOCAB, 8)
    return program, ir, CompiledModel.from_transformer(ir, provider="cpu")


@pytest.mark.parametrize("rounds, layers", [(fusion.DEEPEN_ROUNDS, 2), (0, 3)], ids=["deepened", "cut-at-the-stream"])
def test_a_function_of_two_counts_runs_in_the_block_of_their_heads(monkeypatch, rounds, layers):
    monkeypatch.setattr(fusion, "DEEPEN_ROUNDS", rounds)
    program, ir, model = compiled()
    assert model.summary().layers == layers
    rng = random.Random(4)
    batch = [list(xs) for n in range(1, 6) for xs in itertools.product(VOCAB, repeat=n)]
    batch += [[rng.choice(VOCAB) for _ in range(rng.randint(1, 8))] for _ in range(300)]
    expected = [program.evaluate(xs) for xs in batch]
    for stage, outputs in (("executor", TransformerExecutor(ir).run(batch)), ("onnxruntime", model.run(batch))):
        for xs, want, got in zip(batch, expected, outputs):
            assert all(same_value(w, g, "numerical", 1e-3) for w, g in zip(want, got)), (stage, xs, want, got)
