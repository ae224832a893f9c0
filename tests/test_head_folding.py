"""Functions of tokens alone or of indices alone that only heads read take no residual
dimensions: the heads read them through the tokens' or indices' one-hot
(`to_transformer.head_folded`)."""

from __future__ import annotations

import itertools

import rasp_ir
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.dialects.transformer import find_model
from rasp_ir.frontend.dsl import Aggregate, Comparison, Map, Select, SequenceMap, indices, numerical, tokens
from rasp_ir.passes import DEFAULT_PIPELINE
from rasp_ir.runtime.model import CompiledModel


def layout_of(program: rasp_ir.Program, vocab, max_seq_len: int, pipeline: str = DEFAULT_PIPELINE) -> list[str]:
    model = find_model(compile_to_transformer(program, vocab, max_seq_len, pipeline=pipeline))
    return [label.data for label in model.layout.data]


def all_inputs(vocab, max_len: int):
    return [list(t) for n in range(1, max_len + 1) for t in itertools.product(vocab, repeat=n)]


def check_exact(program: rasp_ir.Program, vocab, max_seq_len: int, max_len: int = 5) -> None:
    model = CompiledModel.from_transformer(compile_to_transformer(program, vocab, max_seq_len), provider="cpu")
    inputs = all_inputs(vocab, max_len)
    for tokens_, got in zip(inputs, model.run(inputs)):
        expected = program.evaluate(tokens_)
        assert all(abs(a - b) < 1e-3 if isinstance(a, float) else a == b for a, b in zip(expected, got)), tokens_


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
