"""Canonicalization patterns of the `rasp` dialect (`rasp_ir.passes.rasp_canonicalization`).

For every pattern: a small program, `canonicalize`, a check of the rewritten IR, and
a differential check that the reference interpreter gives the same outputs before and
after on every input of length 1..4 over the vocabulary (an input on which the
original raises must raise the same kind of error after). A few programs are also
compiled through the whole default pipeline and run on the numpy executor.
"""

from __future__ import annotations

import itertools
import math

import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.transforms.canonicalize import CanonicalizePass

from rasp_ir.compiler import run_pipeline
from rasp_ir.dialects import make_context
from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    LengthOp,
    MapOp,
    Predicate,
    ProgramOp,
    SelectAndOp,
    SelectNotOp,
    SelectOp,
    SelectOrOp,
    SelectorWidthOp,
    SequenceMapOp,
)
from rasp_ir.errors import RaspError
from rasp_ir.passes.rasp_canonicalization import NEGATED_PREDICATE
from rasp_ir.program import Program, print_module

MAX_LEN = 4


def parse(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


def canonicalize(text: str) -> ModuleOp:
    module = parse(text)
    CanonicalizePass().apply(make_context(), module)
    module.verify()
    return module


def program_of(module: ModuleOp) -> ProgramOp:
    (program,) = [op for op in module.walk() if isinstance(op, ProgramOp)]
    return program


def ops_of(module: ModuleOp, kind: type) -> list:
    return [op for op in program_of(module).body.block.ops if isinstance(op, kind)]


def inputs(vocab, max_len: int = MAX_LEN):
    for n in range(1, max_len + 1):
        yield from itertools.product(vocab, repeat=n)


def outcome(program: Program, xs):
    try:
        return ("ok", program.evaluate(list(xs)))
    except RaspError as err:
        return ("error", type(err).__name__)


def same(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        return a[1] == b[1]
    return len(a[1]) == len(b[1]) and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isclose(x, y)) for x, y in zip(a[1], b[1])
    )


def assert_equivalent(before: str | ModuleOp, after: ModuleOp) -> int:
    """The interpreter agrees on every input up to MAX_LEN; returns how many inputs ran."""
    old = Program.from_mlir(before if isinstance(before, str) else print_module(before))
    new = Program.from_mlir(print_module(after))
    assert old.vocab is not None
    count = 0
    for xs in inputs(old.vocab):
        a, b = outcome(old, xs), outcome(new, xs)
        assert same(a, b), f"input {list(xs)}: before {a}, after {b}\n{print_module(after)}"
        count += 1
    return count


def check(text: str) -> tuple[ModuleOp, str]:
    """Canonicalize `text`, check equivalence, return the module and its printed form."""
    after = canonicalize(text)
    assert_equivalent(text, after)
    return after, print_module(after)


def program(body: str, vocab: str = "[1, 2, 3]", max_seq_len: int = MAX_LEN) -> str:
    return f"rasp.program @p vocab {vocab} max_seq_len {max_seq_len} {{\n{body}\n}}\n"


# --------------------------------------------------------------------------- #
# map
# --------------------------------------------------------------------------- #


MAP_OF_MAP = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %f = rasp.map %t, [1 -> 10, 2 -> 20, 3 -> 10] : !rasp.sop<int> -> !rasp.sop<int>
  %g = rasp.map %f, [10 -> "x", 20 -> "y", 30 -> "z"] : !rasp.sop<int> -> !rasp.sop<str>
  rasp.output %g : !rasp.sop<str>""")


def test_map_of_map_fuses():
    after, text = check(MAP_OF_MAP)
    (m,) = ops_of(after, MapOp)
    assert m.input.owner.name == "rasp.tokens"
    assert m.results[0].name_hint == "g"
    assert '[1 -> "x", 2 -> "y", 3 -> "x"]' in text
    assert "!rasp.sop<int> -> !rasp.sop<str>" in text


def test_map_of_map_keeps_inner_map_with_other_uses():
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %f = rasp.map %t, [1 -> 2, 2 -> 3, 3 -> 4] : !rasp.sop<int> -> !rasp.sop<int>
  %g = rasp.map %f, [2 -> 0, 3 -> 1, 4 -> 0] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.sequence_map %f, %g, [(2, 0) -> 1, (2, 1) -> 2, (3, 0) -> 3, (3, 1) -> 4, (4, 0) -> 5, (4, 1) -> 6] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %w = rasp.select %f, %t, eq : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %w, %g : !rasp.sop<int> -> !rasp.sop<int>
  %o = rasp.sequence_map %a, %s, [(0, 1) -> 0, (0, 2) -> 0, (0, 3) -> 0, (0, 4) -> 0, (0, 5) -> 0, (0, 6) -> 0, (1, 1) -> 1, (1, 2) -> 1, (1, 3) -> 1, (1, 4) -> 1, (1, 5) -> 1, (1, 6) -> 1] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %o : !rasp.sop<int>""")
    after, printed = check(text)
    # %f is still read by the select, so it stays; %g is now a map of the tokens.
    maps = {m.results[0].name_hint: m for m in ops_of(after, MapOp)}
    assert "f" in maps and maps["g"].input.owner.name == "rasp.tokens"
    assert "[1 -> 0, 2 -> 1, 3 -> 0]" in printed


def test_map_of_map_not_fused_when_outer_table_misses_an_output():
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %f = rasp.map %t, [1 -> 10, 2 -> 20, 3 -> 30] : !rasp.sop<int> -> !rasp.sop<int>
  %g = rasp.map %f, [10 -> 1, 20 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %g : !rasp.sop<int>""")
    after = canonicalize(text)
    (g,) = [m for m in ops_of(after, MapOp) if m.results[0].name_hint == "g"]
    assert g.input.owner.name == "rasp.map"


def test_map_of_map_looks_up_in_the_input_kind():
    # The interpreter brings an int 1 in a float s-op to 1.0 before the lookup.
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %f = rasp.map %t, [1 -> 1, 2 -> 2, 3 -> 2.5] : !rasp.sop<int> -> !rasp.sop<float>
  %g = rasp.map %f, [1.0 -> "a", 2.0 -> "b", 2.5 -> "c"] : !rasp.sop<float> -> !rasp.sop<str>
  rasp.output %g : !rasp.sop<str>""")
    after, printed = check(text)
    assert len(ops_of(after, MapOp)) == 1
    assert '[1 -> "a", 2 -> "b", 3 -> "c"]' in printed


def test_identity_map_is_removed():
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.map %t, [1 -> 1, 2 -> 2, 3 -> 3] : !rasp.sop<int> -> !rasp.sop<int>
  %g = rasp.map %i, [1 -> 5, 2 -> 6, 3 -> 7] : !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %g : !rasp.sop<int>""")
    after, printed = check(text)
    (g,) = ops_of(after, MapOp)
    assert g.input.owner.name == "rasp.tokens"


def test_encoding_conversion_is_not_an_identity_to_remove():
    text = program("""
  %t = rasp.tokens : !rasp.sop<cat, int>
  %n = rasp.map %t, [1 -> 1, 2 -> 2, 3 -> 3] : !rasp.sop<cat, int> -> !rasp.sop<num, int>
  rasp.output %n : !rasp.sop<num, int>""")
    after = canonicalize(text)
    assert len(ops_of(after, MapOp)) == 1


MAP_OF_SEQUENCE_MAP = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %s = rasp.sequence_map %t, %i, [(1, 0) -> 1, (1, 1) -> 2, (1, 2) -> 3, (1, 3) -> 4, (2, 0) -> 2, (2, 1) -> 3, (2, 2) -> 4, (2, 3) -> 5, (3, 0) -> 3, (3, 1) -> 4, (3, 2) -> 5, (3, 3) -> 6] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %even = rasp.map %s, [1 -> false, 2 -> true, 3 -> false, 4 -> true, 5 -> false, 6 -> true] : !rasp.sop<int> -> !rasp.sop<bool>
  rasp.output %even : !rasp.sop<bool>""")


def test_map_of_sequence_map_fuses():
    after, printed = check(MAP_OF_SEQUENCE_MAP)
    assert not ops_of(after, MapOp)
    (s,) = ops_of(after, SequenceMapOp)
    assert s.results[0].name_hint == "even"
    assert "(1, 0) -> false, (1, 1) -> true" in printed
    assert "!rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<bool>" in printed


def test_tables_and_constants_are_written_in_their_kind():
    # An int in a float s-op is written as a float, as rasp-infer-values lists it.
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %c = rasp.constant 1 : !rasp.sop<float>
  %f = rasp.map %t, [1 -> 1, 2 -> 2.5, 3 -> 3] : !rasp.sop<int> -> !rasp.sop<float>
  %sel = rasp.select %t, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %sel, %c : !rasp.sop<float> -> !rasp.sop<float>
  %s = rasp.sequence_map %a, %i, {_pairs([0, 1], range(4), lambda a, b: b)} : !rasp.sop<float>, !rasp.sop<int> -> !rasp.sop<float>
  %fs = rasp.linear_sequence_map %f, %s coeffs (1, 1) : !rasp.sop<float>, !rasp.sop<float> -> !rasp.sop<float>
  rasp.output %fs : !rasp.sop<float>""")
    after, printed = check(text)
    assert "%c = rasp.constant 1.0 : !rasp.sop<float>" in printed
    assert "[1 -> 1.0, 2 -> 2.5, 3 -> 3.0]" in printed
    assert "[(0.0, 0) -> 0.0, (0.0, 1) -> 1.0, (0.0, 2) -> 2.0, (0.0, 3) -> 3.0, (1.0, 0) -> 0.0," in printed
    # Already canonical: nothing changes the second time.
    assert print_module(canonicalize(printed)) == printed


# --------------------------------------------------------------------------- #
# sequence_map
# --------------------------------------------------------------------------- #


def _pairs(xs, ys, f) -> str:
    return "[" + ", ".join(f"({x}, {y}) -> {f(x, y)}" for x in xs for y in ys) + "]"


def test_sequence_map_of_map_first_operand_fuses():
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %m = rasp.map %t, [1 -> 0, 2 -> 1, 3 -> 0] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.sequence_map %m, %i, {_pairs([0, 1], range(4), lambda a, b: a * 10 + b)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>""")
    after, printed = check(text)
    assert not ops_of(after, MapOp)
    (s,) = ops_of(after, SequenceMapOp)
    assert s.lhs.owner.name == "rasp.tokens" and s.rhs.owner.name == "rasp.indices"
    assert "(2, 3) -> 13" in printed and "(3, 3) -> 3" in printed


def test_sequence_map_of_map_second_operand_fuses():
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %m = rasp.map %i, [0 -> 5, 1 -> 6, 2 -> 5, 3 -> 6] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.sequence_map %t, %m, {_pairs([1, 2, 3], [5, 6], lambda a, b: a * b)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>""")
    after, printed = check(text)
    assert not ops_of(after, MapOp)
    (s,) = ops_of(after, SequenceMapOp)
    assert s.rhs.owner.name == "rasp.indices"
    assert "(3, 3) -> 18" in printed


def test_sequence_map_of_map_not_fused_when_table_misses_a_pair():
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %m = rasp.map %t, [1 -> 0, 2 -> 1, 3 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.sequence_map %m, %i, [(0, 0) -> 1, (1, 0) -> 1] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>""")
    after = canonicalize(text)
    (s,) = ops_of(after, SequenceMapOp)
    assert s.lhs.owner.name == "rasp.map"


def test_sequence_map_of_numerical_map_input_not_fused():
    # A sequence_map reads one-hot inputs; fusing would hand it a numerical s-op.
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<num, int>
  %i = rasp.indices : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 -> 0, 2 -> 1, 3 -> 0] : !rasp.sop<num, int> -> !rasp.sop<cat, int>
  %s = rasp.sequence_map %m, %i, {_pairs([0, 1], range(4), lambda a, b: a + b)} : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %s : !rasp.sop<cat, int>""")
    after = canonicalize(text)
    (s,) = ops_of(after, SequenceMapOp)
    assert s.lhs.owner.name == "rasp.map"


def test_sequence_map_of_same_operand_becomes_map():
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %s = rasp.sequence_map %t, %t, {_pairs([1, 2, 3], [1, 2, 3], lambda a, b: a * b)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>""")
    after, printed = check(text)
    assert not ops_of(after, SequenceMapOp)
    (m,) = ops_of(after, MapOp)
    assert m.results[0].name_hint == "s"
    assert "[1 -> 1, 2 -> 4, 3 -> 9]" in printed


def test_sequence_map_of_map_and_its_input_becomes_one_map():
    # sequence_map(f, map(g, t), t) -> sequence_map(f', t, t) -> map.
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %m = rasp.map %t, [1 -> 2, 2 -> 4, 3 -> 6] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.sequence_map %m, %t, {_pairs([2, 4, 6], [1, 2, 3], lambda a, b: a + b)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>""")
    after, printed = check(text)
    assert not ops_of(after, SequenceMapOp)
    (m,) = ops_of(after, MapOp)
    assert m.input.owner.name == "rasp.tokens"
    assert "[1 -> 3, 2 -> 6, 3 -> 9]" in printed


# --------------------------------------------------------------------------- #
# constants
# --------------------------------------------------------------------------- #


def test_map_of_constant_folds():
    text = program("""
  %c = rasp.constant 2 : !rasp.sop<int>
  %m = rasp.map %c, [1 -> "one", 2 -> "two"] : !rasp.sop<int> -> !rasp.sop<str>
  rasp.output %m : !rasp.sop<str>""")
    after, printed = check(text)
    (c,) = ops_of(after, ConstantOp)
    assert c.value.data == "two" and c.results[0].name_hint == "m"
    assert '%m = rasp.constant "two"' in printed
    assert not ops_of(after, MapOp)


def test_sequence_map_with_constant_first_operand_becomes_map():
    text = program(f"""
  %c = rasp.constant 2 : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<int>
  %s = rasp.sequence_map %c, %t, {_pairs([1, 2], [1, 2, 3], lambda a, b: a * 10 + b)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>""")
    after, printed = check(text)
    (m,) = ops_of(after, MapOp)
    assert m.input.owner.name == "rasp.tokens"
    assert "[1 -> 21, 2 -> 22, 3 -> 23]" in printed
    assert not ops_of(after, ConstantOp)  # dead once nothing reads it


def test_sequence_map_with_constant_second_operand_becomes_map():
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %c = rasp.constant 1 : !rasp.sop<int>
  %s = rasp.sequence_map %t, %c, {_pairs([1, 2, 3], [0, 1], lambda a, b: a > b)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<bool>
  rasp.output %s : !rasp.sop<bool>""".replace("True", "true").replace("False", "false"))
    after, printed = check(text)
    (m,) = ops_of(after, MapOp)
    assert "[1 -> false, 2 -> true, 3 -> true]" in printed


def test_sequence_map_of_two_constants_becomes_constant():
    text = program(f"""
  %a = rasp.constant 1 : !rasp.sop<int>
  %b = rasp.constant 2 : !rasp.sop<int>
  %s = rasp.sequence_map %a, %b, {_pairs([1, 2], [1, 2], lambda x, y: x + y)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>""")
    after, printed = check(text)
    (c,) = ops_of(after, ConstantOp)
    assert c.value.data == 3
    assert "%s = rasp.constant 3 : !rasp.sop<int>" in printed


def test_linear_sequence_map_of_two_constants_folds():
    text = program("""
  %a = rasp.constant 3 : !rasp.sop<int>
  %b = rasp.constant 2 : !rasp.sop<int>
  %l = rasp.linear_sequence_map %a, %b coeffs (2, -1) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %l : !rasp.sop<int>""")
    after, printed = check(text)
    assert "%l = rasp.constant 4 : !rasp.sop<int>" in printed


def test_linear_sequence_map_of_one_constant_becomes_map_when_values_are_known():
    text = program("""
  %t = rasp.tokens {values = #rasp.values[1, 2, 3]} : !rasp.sop<int>
  %c = rasp.constant 1 : !rasp.sop<int>
  %l = rasp.linear_sequence_map %t, %c coeffs (1, 0.5) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %l : !rasp.sop<float>""")
    after, printed = check(text)
    (m,) = ops_of(after, MapOp)
    assert "[1 -> 1.5, 2 -> 2.5, 3 -> 3.5]" in printed


def test_linear_sequence_map_of_one_constant_stays_without_values():
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %c = rasp.constant 1 : !rasp.sop<int>
  %l = rasp.linear_sequence_map %t, %c coeffs (1, 1) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %l : !rasp.sop<int>""")
    after = canonicalize(text)
    assert "rasp.linear_sequence_map" in print_module(after)


def test_linear_sequence_map_not_folded_into_an_int_sop_when_fractional():
    text = program("""
  %a = rasp.constant 1 : !rasp.sop<int>
  %b = rasp.constant 1 : !rasp.sop<int>
  %l = rasp.linear_sequence_map %a, %b coeffs (0.5, 0.25) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %l : !rasp.sop<float>""")
    after, printed = check(text)
    assert "%l = rasp.constant 0.75 : !rasp.sop<float>" in printed


def test_select_of_two_constants_is_a_constant_selector():
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %a = rasp.constant 1 : !rasp.sop<int>
  %b = rasp.constant 2 : !rasp.sop<int>
  %s = rasp.select %a, %b, gt : !rasp.sop<int>, !rasp.sop<int>
  %w = rasp.selector_width %s : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>""")
    after, printed = check(text)
    # 1 > 2 is false: nothing is ever selected, so the width is the constant 0.
    assert "%w = rasp.constant 0 : !rasp.sop<int>" in printed
    assert not ops_of(after, SelectOp)


# --------------------------------------------------------------------------- #
# aggregate of a constant
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "value, default, sop_type, folds",
    [
        ("2", "2", "!rasp.sop<int>", True),          # mean of copies of 2, default 2
        ("2.5", "2.5", "!rasp.sop<float>", True),
        ("2", "0", "!rasp.sop<int>", False),          # default differs: positions selecting nothing get 0
        ('"a"', '"a"', "!rasp.sop<str>", False),      # several "a" cannot be averaged: the error stays
        ("true", "true", "!rasp.sop<bool>", False),
    ],
)
def test_aggregate_of_constant_with_same_default(value, default, sop_type, folds):
    text = program(f"""
  %i = rasp.indices : !rasp.sop<int>
  %c = rasp.constant {value} : {sop_type}
  %s = rasp.select %i, %i, leq : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %c default {default} : {sop_type} -> {sop_type}
  rasp.output %a : {sop_type}""")
    after, printed = check(text)
    assert (not ops_of(after, AggregateOp)) == folds
    if folds:
        assert f"%a = rasp.constant {value} : {sop_type}" in printed


def test_aggregate_of_string_constant_folds_when_selecting_at_most_one():
    text = program("""
  %i = rasp.indices : !rasp.sop<int>
  %c = rasp.constant "a" : !rasp.sop<str>
  %s = rasp.select %i, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %c default "a" : !rasp.sop<str> -> !rasp.sop<str>
  rasp.output %a : !rasp.sop<str>""")
    after, printed = check(text)
    assert '%a = rasp.constant "a" : !rasp.sop<str>' in printed


@pytest.mark.parametrize(
    "value, sop_type, folds",
    [("3", "!rasp.sop<int>", True), ("-1.5", "!rasp.sop<float>", True), ('"a"', "!rasp.sop<str>", False)],
)
def test_aggregate_of_constant_over_all_true_selector(value, sop_type, folds):
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %c = rasp.constant {value} : {sop_type}
  %s = rasp.select %t, %t, true : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %c : {sop_type} -> {sop_type}
  rasp.output %a : {sop_type}""")
    after, printed = check(text)
    assert (not ops_of(after, AggregateOp)) == folds


# --------------------------------------------------------------------------- #
# selectors
# --------------------------------------------------------------------------- #


def _width_program(selectors: str, output_selector: str) -> str:
    return program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %lt = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %eq = rasp.select %t, %t, eq : !rasp.sop<int>, !rasp.sop<int>
  %yes = rasp.select %t, %i, true : !rasp.sop<int>, !rasp.sop<int>
  %no = rasp.select %t, %i, false : !rasp.sop<int>, !rasp.sop<int>
{selectors}
  %w = rasp.selector_width {output_selector} : !rasp.sop<int>
  %a = rasp.aggregate {output_selector}, %t : !rasp.sop<int> -> !rasp.sop<float>
  %o = rasp.sequence_map %w, %t, {_pairs(range(5), [1, 2, 3], lambda w, t: w * 10 + t)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %r = rasp.linear_sequence_map %o, %a coeffs (1, 100) : !rasp.sop<int>, !rasp.sop<float> -> !rasp.sop<float>
  rasp.output %r : !rasp.sop<float>""")


def _selector_feeding_width(module: ModuleOp):
    (w,) = ops_of(module, AggregateOp)
    return w.selector.owner


def test_select_not_of_select_not_cancels():
    after, _ = check(_width_program("  %n1 = rasp.select_not %eq\n  %n2 = rasp.select_not %n1", "%n2"))
    assert not ops_of(after, SelectNotOp)
    sel = _selector_feeding_width(after)
    assert isinstance(sel, SelectOp) and sel.predicate.data.value == "eq"


@pytest.mark.parametrize("pred", ["eq", "neq", "lt", "leq", "gt", "geq", "true", "false"])
def test_select_not_of_select_negates_the_predicate(pred):
    text = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %s = rasp.select %t, %i, {pred} : !rasp.sop<int>, !rasp.sop<int>
  %n = rasp.select_not %s
  %w = rasp.selector_width %n : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>""")
    after, printed = check(text)
    assert not ops_of(after, SelectNotOp)
    negated = NEGATED_PREDICATE[Predicate(pred)]
    if negated.value == "true":
        assert "%w = rasp.length" in printed
    elif negated.value == "false":
        assert "%w = rasp.constant 0" in printed
    else:
        assert f"%n = rasp.select %t, %i, {negated.value}" in printed


def test_negated_predicates_are_complements():
    values = [0, 1, 2, 2.5, -1]
    for pred, negated in NEGATED_PREDICATE.items():
        assert NEGATED_PREDICATE[negated] == pred
        for k, q in itertools.product(values, repeat=2):
            assert negated(k, q) == (not pred(k, q)), (pred, k, q)


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("rasp.select_and %lt, %yes", "lt"),
        ("rasp.select_and %yes, %lt", "lt"),
        ("rasp.select_and %lt, %no", "false"),
        ("rasp.select_and %no, %lt", "false"),
        ("rasp.select_and %lt, %lt", "lt"),
        ("rasp.select_or %lt, %yes", "true"),
        ("rasp.select_or %yes, %lt", "true"),
        ("rasp.select_or %lt, %no", "lt"),
        ("rasp.select_or %no, %lt", "lt"),
        ("rasp.select_or %eq, %eq", "eq"),
    ],
)
def test_select_and_or_with_constant_selectors(expr, expected):
    after, printed = check(_width_program(f"  %x = {expr}", "%x"))
    assert not ops_of(after, SelectAndOp) and not ops_of(after, SelectOrOp)
    if expected == "false":
        # Nothing selected: the aggregate is its default, the width 0.
        # (and the rest folds on: the sequence_map of the constant width becomes a map
        # of the tokens, an identity, which goes too)
        assert not ops_of(after, AggregateOp) and not ops_of(after, SelectorWidthOp)
        assert "%a = rasp.constant 0.0 : !rasp.sop<float>" in printed
    elif expected == "true":
        assert "%w = rasp.length" in printed
        sel = _selector_feeding_width(after)
        assert sel.predicate.data.value == "true"
    else:
        sel = _selector_feeding_width(after)
        assert sel.predicate.data.value == expected


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("rasp.select_and %lt, %geq", "false"),
        ("rasp.select_or %geq, %lt", "true"),
        ("rasp.select_and %both, %not_both", "false"),
        ("rasp.select_or %not_both, %both", "true"),
    ],
)
def test_select_and_or_of_complements(expr, expected):
    text = _width_program(
        f"""  %geq = rasp.select %i, %i, geq : !rasp.sop<int>, !rasp.sop<int>
  %both = rasp.select_and %lt, %eq
  %not_both = rasp.select_not %both
  %x = {expr}""",
        "%x",
    )
    after, printed = check(text)
    assert not ops_of(after, SelectAndOp) and not ops_of(after, SelectOrOp) and not ops_of(after, SelectNotOp)
    if expected == "true":
        assert "%w = rasp.length" in printed
    else:
        assert "%a = rasp.constant 0.0" in printed


def test_constant_selector_operands_become_an_embedded_sop():
    # The always-true select named %m, an MLP output; it now compares the tokens, so
    # the aggregate no longer waits for %m (and %m, unused, is gone).
    text = program("""
  %t = rasp.tokens : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 -> 0, 2 -> 1, 3 -> 0] : !rasp.sop<cat, int> -> !rasp.sop<int>
  %s = rasp.select %m, %m, true : !rasp.sop<int>, !rasp.sop<int>
  %v = rasp.map %t, [1 -> 5, 2 -> 6, 3 -> 7] : !rasp.sop<cat, int> -> !rasp.sop<num, int>
  %a = rasp.aggregate %s, %v : !rasp.sop<num, int> -> !rasp.sop<num, float>
  rasp.output %a : !rasp.sop<num, float>""")
    after, printed = check(text)
    assert "%s = rasp.select %t, %t, true" in printed
    assert [m.results[0].name_hint for m in ops_of(after, MapOp)] == ["v"]


def test_constant_selector_does_not_make_an_open_sop_categorical():
    # %t may still become numerical (the aggregate averages it): comparing it in a
    # select would force a conversion, so the select gets new categorical indices.
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %m = rasp.map %t, [1 -> 0, 2 -> 1, 3 -> 0] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.select %m, %m, true : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %t : !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %a : !rasp.sop<float>""")
    after, printed = check(text)
    assert "%indices = rasp.indices : !rasp.sop<cat, int>" in printed
    assert "%s = rasp.select %indices, %indices, true" in printed


def test_constant_selector_without_an_embedded_sop_gets_indices():
    text = program("""
  %n = rasp.length : !rasp.sop<int>
  %s = rasp.select %n, %n, true : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %n : !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %a : !rasp.sop<float>""")
    after, printed = check(text)
    assert "rasp.indices" in printed
    sel = _selector_feeding_width(after)
    assert sel.keys.owner.name == "rasp.indices" and sel.keys == sel.queries
    # Idempotent: a second run changes nothing.
    again = canonicalize(printed)
    assert print_module(again) == printed


def test_aggregate_of_false_selector_is_its_default():
    text = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %s = rasp.select %t, %t, false : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %t default 7 : !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %a : !rasp.sop<int>""")
    after, printed = check(text)
    assert "%a = rasp.constant 7 : !rasp.sop<int>" in printed


def test_aggregate_of_false_selector_with_default_of_another_kind_stays():
    # The paper's default 0 for a string s-op: no `rasp.constant 0` can be a string s-op.
    text = program("""
  %t = rasp.tokens : !rasp.sop<str>
  %s = rasp.select %t, %t, false : !rasp.sop<str>, !rasp.sop<str>
  %a = rasp.aggregate %s, %t : !rasp.sop<str> -> !rasp.sop<str>
  %m = rasp.map %a, ["a" -> 1, "b" -> 2, 0 -> 0] : !rasp.sop<str> -> !rasp.sop<int>
  rasp.output %m : !rasp.sop<int>""", vocab='["a", "b"]')
    after, _ = check(text)
    assert ops_of(after, AggregateOp)


def test_selector_width_of_true_is_length():
    after, printed = check(_width_program("", "%yes"))
    assert "%w = rasp.length : !rasp.sop<int>" in printed
    assert isinstance(ops_of(after, LengthOp)[0], LengthOp)
    assert not ops_of(after, SelectorWidthOp)


def _width_with_first(selector_body: str, share: str = "[0 -> 1, 1 -> 0, 2 -> 0, 3 -> 0]", or_order: str = "%s, %first") -> str:
    return program(f"""
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %zero = rasp.constant 0 : !rasp.sop<int>
  {selector_body}
  %first = rasp.select %i, %zero, eq : !rasp.sop<int>, !rasp.sop<int>
  %either = rasp.select_or {or_order}
  %is_first = rasp.map %i, {share} : !rasp.sop<int> -> !rasp.sop<int>
  %frac = rasp.aggregate %either, %is_first : !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %frac : !rasp.sop<float>""", vocab='["§", "a", "b"]')


SAME_TOKEN = "%s = rasp.select %t, %t, eq : !rasp.sop<str>, !rasp.sop<str>"


@pytest.mark.parametrize("or_order", ["%s, %first", "%first, %s"])
def test_width_with_first_position_becomes_a_selector_width(or_order):
    """The paper's BOS trick: 1 / (the positions s selects, plus position 0)."""
    after, printed = check(_width_with_first(SAME_TOKEN, or_order=or_order))
    assert not ops_of(after, AggregateOp) and not ops_of(after, SelectOrOp)
    (width,) = ops_of(after, SelectorWidthOp)
    assert isinstance(width.selector.owner, SelectAndOp)
    assert "neq" in printed


@pytest.mark.parametrize(
    "share",
    ["[0 -> 1, 1 -> 1, 2 -> 0, 3 -> 0]", "[0 -> 2, 1 -> 0, 2 -> 0, 3 -> 0]"],
    ids=["not-only-position-0", "not-an-indicator"],
)
def test_width_with_first_position_needs_the_indicator_of_position_0(share):
    after, _ = check(_width_with_first(SAME_TOKEN, share=share))
    assert ops_of(after, AggregateOp) and not ops_of(after, SelectorWidthOp)


def test_width_with_first_position_compiles_into_one_head():
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor

    text = _width_with_first(SAME_TOKEN)
    module = run_pipeline(parse(text))
    model = next(op for op in module.walk() if op.name == "transformer.model")
    assert sum(op.name == "transformer.attention" for op in model.body.block.ops) == 1
    reference = Program.from_mlir(text)
    batch = [list(xs) for xs in inputs(reference.vocab)]
    for xs, got in zip(batch, TransformerExecutor(module).run(batch)):
        assert all(math.isclose(a, b, abs_tol=1e-3) for a, b in zip(got, reference.evaluate(xs))), (xs, got)


def _width_of_or(rhs_body: str, max_seq_len: int = MAX_LEN) -> str:
    """selector_width(t < t or <rhs>): a stable-sort rank when rhs is `t == t and i < i`."""
    return program(f"""
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %smaller = rasp.select %t, %t, lt : !rasp.sop<str>, !rasp.sop<str>
  %same = rasp.select %t, %t, eq : !rasp.sop<str>, !rasp.sop<str>
  %earlier = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  {rhs_body}
  %either = rasp.select_or %smaller, %rhs
  %w = rasp.selector_width %either : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>""", vocab='["a", "b", "c"]', max_seq_len=max_seq_len)


STABLE_TIE = "%rhs = rasp.select_and %same, %earlier"

LONG = 32
"""A max_seq_len at which one head's weighted count of the stable-sort rank is too fine
for float32 (`analysis.weighted_counts`), so two heads count its parts."""


def test_width_of_a_disjoint_or_is_a_sum_of_two_widths():
    """Smaller keys, or equal keys at earlier positions: the two never select the same
    key (`<` and `==` on the same s-ops), so the rank is the sum of two heads' counts."""
    after, _ = check(_width_of_or(STABLE_TIE, LONG))
    assert not ops_of(after, SelectOrOp)
    assert len(ops_of(after, SelectorWidthOp)) == 2
    (total,) = [op for op in ops_of(after, SequenceMapOp) if op.results[0].name_hint == "w"]
    # a + b, and max_seq_len past it: two disjoint widths never exceed it
    assert total.table.lookup(1, 2) == 3 and total.table.lookup(30, 5) == LONG


def test_width_of_a_disjoint_or_stays_where_one_head_counts_it_by_weight():
    after, _ = check(_width_of_or(STABLE_TIE))
    assert ops_of(after, SelectOrOp) and len(ops_of(after, SelectorWidthOp)) == 1


@pytest.mark.parametrize(
    "rhs_body",
    [
        "%rhs = rasp.select_and %earlier, %earlier",  # may overlap with t < t
        "%rhs = rasp.select %t, %t, leq : !rasp.sop<str>, !rasp.sop<str>",  # one pair: one head anyway
    ],
    ids=["overlapping", "same-pair"],
)
def test_width_of_an_or_that_may_overlap_or_needs_one_head_stays(rhs_body):
    after, _ = check(_width_of_or(rhs_body, LONG))
    assert len(ops_of(after, SelectorWidthOp)) == 1
    # `t < t or t <= t` is `t <= t` (OrOfImpliedPart); the overlapping `or` stays
    assert len(ops_of(after, SelectOrOp)) == (1 if "earlier" in rhs_body else 0)


@pytest.mark.parametrize("max_seq_len, heads", [(LONG, 2), (MAX_LEN, 1)], ids=["two-heads", "weighted"])
def test_width_of_a_disjoint_or_compiles_to_heads_in_one_layer(max_seq_len, heads):
    """Two heads count the parts where one head's weighted count is too fine; at short
    lengths one head does. Either way no MLP pairs tokens with indices before them."""
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor

    text = _width_of_or(STABLE_TIE, max_seq_len)
    module = run_pipeline(parse(text))
    model = next(op for op in module.walk() if op.name == "transformer.model")
    (attention,) = [op for op in model.body.block.ops if op.name == "transformer.attention"]
    assert len(attention.heads) == heads
    mlps = [op for op in model.body.block.ops if op.name == "transformer.mlp"]
    assert len(mlps) == 1  # no pairing MLP before the heads
    reference = Program.from_mlir(text)
    batch = [list(xs) for xs in inputs(reference.vocab)]
    for xs, got in zip(batch, TransformerExecutor(module).run(batch)):
        assert got == reference.evaluate(xs), xs


# --------------------------------------------------------------------------- #
# Whole programs: several patterns together, values, the default pipeline
# --------------------------------------------------------------------------- #


CHAIN = program(f"""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %one = rasp.constant 1 : !rasp.sop<int>
  %inc = rasp.sequence_map %t, %one, {_pairs([1, 2, 3], [1], lambda a, b: a + b)} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %sq = rasp.map %inc, [2 -> 4, 3 -> 9, 4 -> 16] : !rasp.sop<int> -> !rasp.sop<int>
  %odd = rasp.map %sq, [4 -> false, 9 -> true, 16 -> false] : !rasp.sop<int> -> !rasp.sop<bool>
  %prev = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %yes = rasp.select %sq, %sq, true : !rasp.sop<int>, !rasp.sop<int>
  %both = rasp.select_and %prev, %yes
  %nn = rasp.select_not %both
  %back = rasp.select_not %nn
  %before = rasp.aggregate %back, %odd default false : !rasp.sop<bool> -> !rasp.sop<num, float>
  rasp.output %before : !rasp.sop<num, float>""")


DEEP = program("""
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %q = rasp.map %i, [0 -> 0, 1 -> 0, 2 -> 1, 3 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  %at_prev = rasp.select %i, %q, eq : !rasp.sop<int>, !rasp.sop<int>
  %prev = rasp.aggregate %at_prev, %t : !rasp.sop<int> -> !rasp.sop<int>
  %a = rasp.map %prev, [0 -> 2, 1 -> 2, 2 -> 3, 3 -> 4] : !rasp.sop<int> -> !rasp.sop<int>
  %b = rasp.map %a, [2 -> 0, 3 -> 1, 4 -> 0] : !rasp.sop<int> -> !rasp.sop<int>
  %lt = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %yes = rasp.select %b, %b, true : !rasp.sop<int>, !rasp.sop<int>
  %both = rasp.select_and %lt, %yes
  %mean = rasp.aggregate %both, %t : !rasp.sop<int> -> !rasp.sop<float>
  %out = rasp.linear_sequence_map %b, %mean coeffs (10, 1) : !rasp.sop<int>, !rasp.sop<float> -> !rasp.sop<float>
  rasp.output %out : !rasp.sop<float>""")


def test_chain_of_patterns():
    after, printed = check(CHAIN)
    (m,) = ops_of(after, MapOp)
    assert m.input.owner.name == "rasp.tokens" and m.results[0].name_hint == "odd"
    assert "[1 -> false, 2 -> true, 3 -> false]" in printed
    assert not ops_of(after, SelectNotOp) and not ops_of(after, SelectAndOp)


def test_canonicalize_keeps_values_where_the_sop_is_unchanged():
    module = parse(MAP_OF_MAP)
    run_pipeline(module, "rasp-infer-values,canonicalize")
    (m,) = ops_of(module, MapOp)
    assert str(m.attributes["values"]) == '#rasp.values["x", "y"]'


def _mixed_kinds() -> str:
    """A DSL program whose tables hold ints in float s-ops (min(int, float)): the lowering
    looked them up among the float values and built a model that silently gave 0s."""
    from rasp_ir import dsl

    t, i = dsl.tokens, dsl.indices
    doubled = dsl.Map(lambda x: 2 * x, i)
    mean = dsl.Aggregate(dsl.Select(i, i, dsl.Comparison.TRUE), i)
    low = dsl.SequenceMap(min, t, mean)
    out = dsl.SequenceMap(lambda x, y: x, doubled, low)
    return Program.from_dsl(out, "mixed").to_mlir(vocab=[0, 1], max_seq_len=3)


@pytest.mark.parametrize(
    "text",
    [MAP_OF_MAP, MAP_OF_SEQUENCE_MAP, CHAIN, DEEP, _mixed_kinds()],
    ids=["map-of-map", "map-of-sequence-map", "chain", "deep", "mixed-kinds"],
)
def test_canonicalized_programs_compile_and_agree(text):
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor

    reference = Program.from_mlir(text)
    module = run_pipeline(parse(text))
    executor = TransformerExecutor(module)
    batch = [list(xs) for xs in inputs(reference.vocab, reference.max_seq_len)]
    for xs, got in zip(batch, executor.run(batch)):
        want = reference.evaluate(xs)
        assert all(math.isclose(float(a), float(b), abs_tol=1e-3) if not isinstance(b, str) else a == b
                   for a, b in zip(got, want)), (xs, got, want)


def test_canonicalization_reduces_layers():
    def blocks(module: ModuleOp) -> int:
        return max(
            (op.attributes["block"].value.data for op in program_of(module).body.block.ops if "block" in op.attributes),
            default=0,
        )

    rest = "rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers"
    plain = parse(DEEP)
    run_pipeline(plain, rest)
    canon = parse(DEEP)
    run_pipeline(canon, "rasp-infer-values,canonicalize," + rest)
    assert_equivalent(DEEP, canon)
    # Before, the aggregate %mean waits for %b through its always-true select; after,
    # it runs in the same block as the head that reads %prev.
    assert blocks(canon) < blocks(plain)


def test_or_of_constant_selects_compiles_to_fewer_weights_and_agrees(monkeypatch):
    """`select(cnt, 1, ==) or select(cnt, 3, ==)` (and the same on the query side) is one
    select of a test on cnt (`OrOfConstantSelects`): no MLP pairs cnt with the constants
    before the heads, and the compiled model agrees with the interpreter everywhere."""
    from rasp_ir.passes.rasp_canonicalization import OrOfConstantSelects

    source = """
    pos = selector_width(select(indices, indices, <));
    cnt = selector_width(select(tokens, "a", ==) and select(indices, indices, <=));
    both = (select(2, pos, ==) or select(4, pos, ==)) and (select(cnt, 1, ==) or select(cnt, 3, ==));
    res = aggregate(both, indices, 0);
    """
    with_it, without = _with_and_without(source, "res", ["a", "b", "c"], OrOfConstantSelects, monkeypatch)
    assert with_it.params < without.params
    assert with_it.residual_width < without.residual_width


def test_equality_on_values_the_other_side_lacks_compiles_smaller_and_agrees(monkeypatch):
    """`select(indices + length - plus, indices, ==)` with `plus` a mean of positions (a
    fraction where several `+` are averaged): the fractions and out-of-range positions
    select nothing alike, so they become one value (`EqualityOnValuesTheOtherSideLacks`)
    and the MLP before the head steps only where a match changes. The compiled model
    agrees with the interpreter on every input, with fewer parameters and no more blocks
    than without the pattern."""
    from rasp_ir.passes.rasp_canonicalization import EqualityOnValuesTheOtherSideLacks

    source = """
    plus = aggregate(select(tokens, "+", ==), indices);
    target = indices + length - plus;
    moved = aggregate(select(target, indices, ==), tokens, "-");
    """
    with_it, without = _with_and_without(source, "moved", ["a", "b", "+"], EqualityOnValuesTheOtherSideLacks, monkeypatch)
    assert with_it.layers <= without.layers
    assert with_it.params < without.params


def _with_and_without(source: str, output: str, vocab: list, pattern, monkeypatch):
    """The summaries of a .rasp program compiled at max_seq_len 6 with a canonicalization
    pattern and without it; with it, the model agrees with the interpreter on every input."""
    import rasp_ir

    program = rasp_ir.parse_rasp(source, output=output)
    model = rasp_ir.compile(program, vocab=vocab, max_seq_len=6)
    _agrees_on_every_input(program, model, vocab, 6)
    monkeypatch.setattr(pattern, "match_and_rewrite", lambda self, op, rewriter: None)
    return model.summary(), rasp_ir.compile(program, vocab=vocab, max_seq_len=6).summary()


def _agrees_on_every_input(program, model, vocab: list, max_seq_len: int) -> None:
    """The compiled model gives the interpreter's output on every input up to max_seq_len
    (numbers within the tolerance)."""
    for n in range(1, max_seq_len + 1):
        inputs = [list(t) for t in itertools.product(vocab, repeat=n)]
        for tokens, got in zip(inputs, model.run(inputs)):
            want = program.evaluate(tokens)
            assert len(got) == len(want), tokens
            for g, w in zip(got, want):
                numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (g, w))
                assert math.isclose(g, w, abs_tol=1e-3) if numbers else g == w, tokens
