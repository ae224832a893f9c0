"""Functions of tokens alone or of indices alone that only heads read take no residual
dimensions: the heads read them through the tokens' or indices' one-hot
(`to_transformer.head_folded`)."""

from __future__ import annotations

import itertools
import random

import rasp_ir
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.dialects.transformer import find_model
from rasp_ir.frontend.dsl import Aggregate, Comparison, Map, Select, SequenceMap, indices, numerical, tokens
from rasp_ir.passes import DEFAULT_PIPELINE
from rasp_ir.runtime.model import CompiledModel
from rasp_ir.testing import same_value


def layout_of(program: rasp_ir.Program, vocab, max_seq_len: int, pipeline: str = DEFAULT_PIPELINE) -> list[str]:
    model = find_model(compile_to_transformer(program, vocab, max_seq_len, pipeline=pipeline))
    return [label.data for label in model.layout.data]


def all_inputs(vocab, max_len: int):
    return [list(t) for n in range(1, max_len + 1) for t in itertools.product(vocab, repeat=n)]


def check_exact(program: rasp_ir.Program, vocab, max_seq_len: int, max_len: int = 5, inputs=None) -> None:
    model = CompiledModel.from_transformer(compile_to_transformer(program, vocab, max_seq_len), provider="cpu")
    inputs = all_inputs(vocab, max_len) if inputs is None else inputs
    encoding = model.encoding
    for tokens_, got in zip(inputs, model.run(inputs)):
        expected = program.evaluate(tokens_)
        assert all(same_value(a, b, encoding, 1e-3) for a, b in zip(expected, got)), (tokens_, expected, got)


def test_shifted_indices_and_token_flags_take_no_dimensions():
    """prev = indices - 1 (a select's query) and is_b (an aggregate's value) are folded."""
    shifted = Map(lambda i: i - 1, indices).named("shifted")
    is_b = Map(lambda t: t == "b", tokens).named("is_b")
    prev_is_b = Aggregate(Select(indices, shifted, Comparison.EQ), is_b, default=False).named("prev_is_b")
    program = rasp_ir.Program.from_dsl(SequenceMap(lambda p, t: p and t == "a", prev_is_b, tokens).named("ba"))
    labels = layout_of(program, ["a", "b"], 6)
    assert not any(label.startswith(("shifted", "is_b")) for label in labels), labels
    assert "indices=0" in labels and "tokens=b" in labels  # what the head reads them through
    check_exact(program, ["a", "b"], 6)


def test_a_numerical_function_of_tokens_is_averaged_through_their_one_hot():
    weight = numerical(Map(lambda t: {"a": 0.5, "b": -2.0, "c": 3.0}[t], tokens)).named("weight")
    mean = numerical(Aggregate(Select(indices, indices, Comparison.LEQ), weight, default=0)).named("mean")
    program = rasp_ir.Program.from_dsl(mean)
    labels = layout_of(program, ["a", "b", "c"], 5)
    assert "weight" not in labels
    check_exact(program, ["a", "b", "c"], 5)


def test_a_function_an_mlp_also_reads_keeps_its_dimensions():
    """Without canonicalize (which would move `shifted` into the MLP's table), the MLP
    computing %tagged reads %shifted from the stream: it keeps its dimensions."""
    shifted = Map(lambda i: i - 1, indices).named("shifted")
    prev = Aggregate(Select(indices, shifted, Comparison.EQ), tokens, default="a").named("prev")
    program = rasp_ir.Program.from_dsl(SequenceMap(lambda p, s: f"{p}{s}", prev, shifted).named("tagged"))
    uncanonicalized = DEFAULT_PIPELINE.replace("canonicalize,", "")
    assert uncanonicalized != DEFAULT_PIPELINE
    labels = layout_of(program, ["a", "b"], 4, uncanonicalized)
    assert any(label.startswith("shifted=") for label in labels), labels
    assert not any(label.startswith("shifted=") for label in layout_of(program, ["a", "b"], 4)), "canonicalized"


def test_a_map_of_a_width_that_a_select_compares_is_read_through_the_width():
    """`count - 1` only feeds a select: no MLP computes it, no dimensions hold it; the head
    reads the width's one-hot (an MLP decodes it, with float32 rounding that the head's
    check sees through the map)."""
    from rasp_ir.frontend.dsl import SelectorWidth

    count = SelectorWidth(Select(tokens, tokens, Comparison.EQ)).named("count")
    less = Map(lambda x: x - 1, count).named("less")
    is_a = numerical(Map(lambda t: 1 if t == "a" else 0, tokens)).named("is_a")
    share = numerical(Aggregate(Select(count, less, Comparison.EQ), is_a, default=0)).named("share")
    program = rasp_ir.Program.from_dsl(share)
    for max_seq_len in (6, 24):
        labels = layout_of(program, ["a", "b", "c"], max_seq_len)
        assert not any(label.startswith("less") for label in labels), labels
    check_exact(program, ["a", "b", "c"], 6)
    rng = random.Random(1)
    inputs = [[rng.choice("abc") for _ in range(rng.randint(1, 24))] for _ in range(200)]
    check_exact(program, ["a", "b", "c"], 24, inputs=inputs)
