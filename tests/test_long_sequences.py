"""Long sequences: compiled models stay exact in float32 at max_seq_len 64, 256 and 512,
or the compiler refuses with the reason (tracr is silently wrong from length 10 on).

Every width matters for selector_width: the inputs include all-equal sequences of every
length (width n everywhere) and single odd tokens (widths 1 and n-1).
"""

from __future__ import annotations

import random

import pytest

import rasp_ir
from rasp_ir import dsl

from test_compiler_differential import check_agrees, load_example


def widths_and_random(vocab, n: int, count: int = 60, seed: int = 0) -> list[list]:
    rng = random.Random(seed)
    batch = [[vocab[0]] * k for k in range(1, n + 1)]
    batch += [[vocab[0]] * (k - 1) + [vocab[-1]] for k in range(2, n + 1, max(1, n // 16))]
    batch += [[rng.choice(vocab) for _ in range(rng.randint(1, n))] for _ in range(count)]
    return batch


@pytest.mark.parametrize("name", ["length", "histogram"])
@pytest.mark.parametrize("max_seq_len", [64, 256, 512])
def test_width_programs_are_exact_at_every_width(name, max_seq_len):
    module = load_example(name)
    program = rasp_ir.Program.from_dsl(module.program, name=name)
    model = rasp_ir.compile(program, vocab=list(module.VOCAB), max_seq_len=max_seq_len)
    batch = widths_and_random(list(module.VOCAB), max_seq_len)
    check_agrees(program, batch, model.run(batch, batch_size=64), 0.0, f"{name} at {max_seq_len}")


@pytest.mark.parametrize("name,max_seq_len", [("reverse", 64), ("sort_unique", 512), ("sort", 64), ("most_frequent", 64)])
def test_positional_programs_are_exact(name, max_seq_len):
    module = load_example(name)
    program = rasp_ir.Program.from_dsl(module.program, name=name)
    model = rasp_ir.compile(program, vocab=list(module.VOCAB), max_seq_len=max_seq_len)
    batch = widths_and_random(list(module.VOCAB), max_seq_len, count=40)
    check_agrees(program, batch, model.run(batch, batch_size=64), 0.0, f"{name} at {max_seq_len}")


@pytest.mark.parametrize(
    "name,max_seq_len,reason",
    [
        ("reverse", 256, "hidden units"),
        ("reverse", 512, "entries|hidden units"),
        ("sort", 256, "joint values|hidden units"),
        ("sort", 512, "joint values|hidden units|entries"),
        ("most_frequent", 256, "joint values|hidden units"),
    ],
)
def test_programs_too_large_are_refused_with_the_reason(name, max_seq_len, reason):
    module = load_example(name)
    program = rasp_ir.Program.from_dsl(module.program, name=name)
    with pytest.raises(rasp_ir.RaspCompileError, match=reason):
        rasp_ir.compile(program, vocab=list(module.VOCAB), max_seq_len=max_seq_len)


def test_selector_width_past_float32_is_refused():
    """The head's share of BOS, b/(b+w), for w up to n must stay resolvable in float32
    above the softmax's rounding: far past 512 it is not."""
    hist = dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, dsl.Comparison.EQ))
    program = rasp_ir.Program.from_dsl(hist, name="hist")
    with pytest.raises(rasp_ir.RaspCompileError, match="float32|noise"):
        rasp_ir.compile(program, vocab=["a", "b"], max_seq_len=2048)
