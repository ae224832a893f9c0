"""`Program`: building from the DSL and from IR text, lowering to the rasp dialect,
round trips, the layer/head analysis, and the example .mlir files."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rasp_ir.analysis.program_analysis import analyze_program_op
from rasp_ir.dialects.rasp import (
    AggregateOp,
    Encoding,
    MapOp,
    ProgramOp,
    SelectOp,
    SOpOp,
    SOpType,
    ValueKind,
    known_values,
)
from rasp_ir.errors import (
    RaspCompileError,
    RaspEvaluationError,
    RaspInputError,
    RaspSyntaxError,
    RaspTypeError,
)
from rasp_ir.frontend.dsl import (
    Aggregate,
    Comparison,
    ConstantSOp,
    Map,
    Select,
    SelectorWidth,
    categorical,
    indices,
    length,
    numerical,
    tokens,
)
from rasp_ir.program import Program, RaspCompileWarning, parse_module, print_module

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = ["reverse", "histogram", "length", "frac_prevs", "sort_unique", "sort", "most_frequent", "dyck1", "dyck2"]


def inputs(vocab, max_len):
    for n in range(1, max_len + 1):
        yield from (list(xs) for xs in itertools.product(vocab, repeat=n))


def outcome(program, xs):
    """The output, or the kind of error (so error behaviour is compared too)."""
    try:
        return program.evaluate(xs)
    except RaspEvaluationError:
        return "RaspEvaluationError"


def the_program(module) -> ProgramOp:
    (program,) = [op for op in module.walk() if isinstance(op, ProgramOp)]
    return program


# --------------------------------------------------------------------------- #
# Program basics
# --------------------------------------------------------------------------- #


def test_from_dsl_and_evaluate(example):
    program = Program.from_dsl(example("reverse").program)
    assert program.name == "reverse" and program.output_sop is example("reverse").program
    assert program.evaluate(["a", "b", "c"]) == ["c", "b", "a"]
    assert program.evaluate_batch([["a"], ["a", "b"]]) == [["a"], ["b", "a"]]
    assert Program.from_dsl(tokens + 1, name="plus one!").name == "plus_one_"


def test_from_dsl_checks_inputs_when_told_the_vocabulary():
    program = Program.from_dsl(tokens, vocab=["a", "b"], max_seq_len=2)
    with pytest.raises(RaspInputError, match="'c' at position 1"):
        program.evaluate(["a", "c"])
    with pytest.raises(RaspInputError, match="max_seq_len 2"):
        program.evaluate(["a", "a", "a"])


def test_the_output_must_be_an_sop():
    with pytest.raises(RaspTypeError, match="selector"):
        Program.from_dsl(Select(tokens, tokens, Comparison.EQ))


# --------------------------------------------------------------------------- #
# Analysis
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "name, layers, heads",
    [
        ("reverse", 2, [1, 1]),
        ("histogram", 1, [1]),
        ("length", 1, [1]),
        ("frac_prevs", 1, [1]),
        ("sort_unique", 2, [1, 1]),
        ("sort", 2, [1, 1]),
        ("most_frequent", 3, [2, 1, 1]),
        ("dyck1", 2, [1, 1]),
        ("dyck2", 4, [1, 1, 1, 1]),
    ],
)
def test_analysis_of_examples(example, name, layers, heads):
    module = example(name)
    analysis = Program.from_dsl(module.program).analysis()
    assert (analysis.layers, analysis.heads_per_layer) == (layers, heads)
    # The same rules over the IR give the same count.
    ir = Program.from_dsl(module.program).to_module(vocab=module.VOCAB, max_seq_len=4)
    ir_analysis = analyze_program_op(the_program(ir))
    assert (ir_analysis.layers, ir_analysis.heads_per_layer) == (layers, heads)


def test_analysis_rules():
    assert Program.from_dsl(tokens + 1).analysis().layers == 0
    assert Program.from_dsl(tokens + 1).analysis().heads_per_layer == []
    # length is computed by attention: one layer, one head.
    assert Program.from_dsl(length + indices).analysis().heads_per_layer == [1]
    # Two aggregates with the same selector share a head; with another selector they do not.
    upto = Select(indices, indices, Comparison.LEQ)
    two = Aggregate(upto, indices) + Aggregate(Select(indices, indices, Comparison.LEQ), tokens)
    assert Program.from_dsl(two).analysis().heads_per_layer == [1]
    other = Aggregate(upto, indices) + Aggregate(Select(indices, indices, Comparison.LT), tokens)
    assert Program.from_dsl(other).analysis().heads_per_layer == [2]
    # An aggregate one layer above its inputs.
    later = Aggregate(Select(indices, SelectorWidth(upto), Comparison.EQ), tokens)
    analysis = Program.from_dsl(later).analysis()
    assert analysis.layers == 2 and analysis.heads == 2


# --------------------------------------------------------------------------- #
# Lowering to the rasp dialect
# --------------------------------------------------------------------------- #


def test_to_module_records_values_types_and_names(example):
    module = Program.from_dsl(example("frac_prevs").program).to_module(vocab=["a", "b", "c"], max_seq_len=3)
    program = the_program(module)
    assert program.vocabulary == ("a", "b", "c") and program.seq_len == 3
    for op in program.body.block.ops:
        if isinstance(op, SOpOp):
            assert known_values(op.results[0]) is not None, op.name
    names = {op.results[0].name_hint: op for op in program.body.block.ops if op.results}
    assert isinstance(names["is_a"], MapOp)
    assert names["is_a"].result.type == SOpType(ValueKind.BOOL, Encoding.NUMERICAL)
    agg = names["frac_prevs"]
    assert isinstance(agg, AggregateOp) and agg.result.type.is_numerical
    assert list(known_values(agg.result).data) == [0.0, 1 / 3, 0.5, 2 / 3, 1.0]
    assert isinstance(names["prevs"], SelectOp)


def test_undecided_encodings_stay_undecided():
    module = Program.from_dsl(tokens == "a").to_module(vocab=["a", "b"], max_seq_len=2)
    (op,) = [o for o in the_program(module).body.block.ops if isinstance(o, MapOp)]
    assert op.result.type == SOpType(ValueKind.BOOL)
    assert [(args, r) for args, r in op.table.data] == [(("a",), True), (("b",), False)]


def test_names_are_sanitized():
    sop = Map(lambda x: x, tokens).named("my label (v2)")
    text = Program.from_dsl(sop).to_mlir(vocab=["a"], max_seq_len=1)
    assert "%my_label__v2_ = rasp.map" in text


def test_to_mlir_needs_vocab_and_max_seq_len():
    with pytest.raises(RaspCompileError, match="vocabulary and max_seq_len"):
        Program.from_dsl(tokens).to_mlir()
    assert "max_seq_len 3" in Program.from_dsl(tokens, vocab=[1], max_seq_len=3).to_mlir()


def test_a_map_that_fails_on_a_possible_value_is_marked_undefined():
    # The paper's BOS trick: 1 / (share of position 0 among positions up to here).
    # As far as value sets know the share can be 0; at run time it never is.
    share = numerical(Aggregate(Select(indices, indices, Comparison.LEQ), Map(lambda i: int(i == 0), indices)))
    inv = Map(lambda x: 1 / x, share.named("share")).named("inverse")
    program = Program.from_dsl(inv)
    with pytest.warns(RaspCompileWarning, match=r"'inverse' raised ZeroDivisionError.*\(0\.0\).*gives .* there"):
        text = program.to_mlir(vocab=["a"], max_seq_len=3)
    assert "undefined = #rasp.table[0.0 -> " in text
    again = Program.from_mlir(text)
    with pytest.warns(RaspCompileWarning):
        assert again.to_mlir() == text
    assert program.evaluate(["a", "a", "a"]) == again.evaluate(["a", "a", "a"]) == [1.0, 2.0, 3.0]
    # Where the function raised, the IR interpreter raises too.
    with pytest.raises(RaspEvaluationError, match="%inverse is undefined at \\(0\\.0\\)"):
        again.output_sop.f(0.0)


def test_a_map_that_always_fails_is_a_compile_error():
    with pytest.raises(RaspCompileError, match="'broken'.*every value"):
        Program.from_dsl(Map(lambda i: 1 // 0, indices).named("broken")).to_mlir(vocab=["a"], max_seq_len=2)


def test_compile_errors_name_the_node():
    mixed = Map(lambda i: "x" if i else 0, indices).named("mixed")
    with pytest.raises(RaspCompileError, match="'mixed' returns values of mixed kinds"):
        Program.from_dsl(mixed).to_mlir(vocab=["a"], max_seq_len=2)
    custom = SelectorWidth(Select(indices, indices, lambda k, q: k == q + 1).named("custom"))
    with pytest.raises(RaspCompileError, match="'custom' uses a Python function"):
        Program.from_dsl(custom).to_mlir(vocab=["a"], max_seq_len=2)
    with pytest.raises(RaspCompileError, match="one value per position"):
        Program.from_dsl(ConstantSOp([1, 2])).to_mlir(vocab=["a"], max_seq_len=2)
    text_num = numerical(Map(lambda t: t + "!", tokens)).named("shout")
    with pytest.raises(RaspCompileError, match="'shout'.*numerical"):
        Program.from_dsl(text_num).to_mlir(vocab=["a"], max_seq_len=2)
    num_keys = SelectorWidth(Select(numerical(indices + 0).named("k"), indices, Comparison.EQ))
    with pytest.raises(RaspCompileError, match="numerical"):
        Program.from_dsl(num_keys).to_mlir(vocab=["a"], max_seq_len=2)


def test_string_aggregate_default(recwarn):
    # A selector that depends on the tokens may select nothing, where RASP gives 0:
    # the IR keeps that 0 (an aggregate's default may be of another kind than its values).
    earlier_same = Select(tokens, tokens, Comparison.EQ) & Select(indices, indices, Comparison.LT)
    agg = Aggregate(earlier_same, tokens).named("earlier")
    program = Program.from_dsl(agg)
    text = program.to_mlir(vocab=["a", "b"], max_seq_len=3)
    assert not [w for w in recwarn if issubclass(w.category, RaspCompileWarning)]
    assert 'values = #rasp.values[0, "a", "b"]' in text
    again = Program.from_mlir(text)
    assert again.evaluate(["a", "b", "a"]) == program.evaluate(["a", "b", "a"]) == [0, 0, "a"]
    # An explicit default of any kind is the user's choice.
    text = Program.from_dsl(Aggregate(earlier_same, tokens, default="-")).to_mlir(vocab=["a", "b"], max_seq_len=3)
    assert 'default "-" {values' in text
    text = Program.from_dsl(Aggregate(earlier_same, tokens, default=0)).to_mlir(vocab=["a", "b"], max_seq_len=3)
    assert "default 0 {values" in text


def result_types(program: Program, **kwargs) -> dict:
    module = program.to_module(**kwargs)
    return {op.results[0].name_hint: op.results[0].type for op in the_program(module).body.block.ops if op.results}


def test_aggregate_result_kinds():
    upto = Select(indices, indices, Comparison.LEQ)
    # Undecided, over numbers, with a selector that may pick several: it averages.
    mean = Aggregate(upto, tokens).named("mean")
    assert result_types(Program.from_dsl(mean), vocab=[1, 2], max_seq_len=2)["mean"] == SOpType(ValueKind.FLOAT)
    # Annotated categorical: it copies, and keeps the kind.
    copy = categorical(Aggregate(upto, tokens)).named("copy")
    assert result_types(Program.from_dsl(copy), vocab=[1, 2], max_seq_len=2)["copy"] == SOpType(
        ValueKind.INT, Encoding.CATEGORICAL
    )
    # Reading one position by index: it copies, and the IR says so (rewrites must not undo
    # a decision the compiler proved on the program as written).
    prev = Aggregate(Select(indices, indices - 1, Comparison.EQ), tokens).named("prev")
    assert result_types(Program.from_dsl(prev), vocab=[1, 2], max_seq_len=2)["prev"] == SOpType(
        ValueKind.INT, Encoding.CATEGORICAL
    )


# --------------------------------------------------------------------------- #
# Round trips
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_through_mlir(example, name):
    module = example(name)
    vocab = module.VOCAB[:3] if name not in ("dyck2",) else module.VOCAB
    program = Program.from_dsl(module.program)
    text = program.to_mlir(vocab=vocab, max_seq_len=4)
    again = Program.from_mlir(text)
    assert again.name == program.name and again.vocab == tuple(vocab) and again.max_seq_len == 4
    assert again.to_mlir() == text
    for xs in inputs(vocab, 4):
        assert outcome(again, xs) == outcome(program, xs), xs


def test_from_mlir_accepts_a_module_and_keeps_bos():
    text = Program.from_dsl(SelectorWidth(Select(tokens, tokens, Comparison.EQ))).to_mlir(
        vocab=["a", "b"], max_seq_len=3, bos="<s>", name="hist"
    )
    assert 'bos "<s>"' in text
    program = Program.from_mlir(parse_module(text))
    assert program.bos == "<s>" and program.name == "hist"
    assert program.evaluate(["a", "b", "a"]) == [2, 1, 2]
    with pytest.raises(RaspInputError, match="not in the vocabulary"):
        program.evaluate(["<s>", "a"])


# --------------------------------------------------------------------------- #
# IR text in
# --------------------------------------------------------------------------- #

HAND_WRITTEN = """
builtin.module {
  rasp.program @shift vocab ["a", "b"] max_seq_len 4 {
    %i = rasp.indices : !rasp.sop<cat, int>
    %prev = rasp.map %i, [0 -> -1, 1 -> 0, 2 -> 1, 3 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
    %sel = rasp.select %i, %prev, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
    %t = rasp.tokens : !rasp.sop<cat, str>
    %out = rasp.aggregate %sel, %t default "_" : !rasp.sop<cat, str> -> !rasp.sop<cat, str>
    rasp.output %out : !rasp.sop<cat, str>
  }
}
"""


def test_hand_written_ir():
    program = Program.from_mlir(HAND_WRITTEN)
    assert program.name == "shift" and program.output_sop.label == "out"
    assert program.evaluate(["a", "b", "b"]) == ["_", "a", "b"]
    assert program.analysis().layers == 1


def test_map_fn_bodies_become_tables():
    text = """
    rasp.program @inc vocab [1, 2, 3] max_seq_len 2 {
      %t = rasp.tokens : !rasp.sop<cat, int>
      %y = rasp.map_fn %t : !rasp.sop<cat, int> -> !rasp.sop<cat, int> {
      ^bb0(%v : i64):
        %c1 = arith.constant 1 : i64
        %r = arith.addi %v, %c1 : i64
        rasp.yield %r : i64
      }
      rasp.output %y : !rasp.sop<cat, int>
    }
    """
    assert Program.from_mlir(text).evaluate([3, 1]) == [4, 2]


def test_parse_errors_are_syntax_errors_with_a_location():
    with pytest.raises(RaspSyntaxError, match=r"3:\d+"):
        Program.from_mlir("rasp.program @x {\n  %t = rasp.tokens : !rasp.sop<str>\n  %u = rasp.nonsense %t\n}")


def test_verify_errors_are_type_errors():
    text = """
    rasp.program @x {
      %t = rasp.tokens : !rasp.sop<num, int>
      %s = rasp.select %t, %t, eq : !rasp.sop<num, int>, !rasp.sop<num, int>
      %w = rasp.selector_width %s : !rasp.sop<cat, int>
      rasp.output %w : !rasp.sop<cat, int>
    }
    """
    with pytest.raises(RaspTypeError, match="numerical"):
        Program.from_mlir(text)


def test_a_value_outside_a_table_is_an_evaluation_error():
    text = HAND_WRITTEN.replace("max_seq_len 4", "max_seq_len 5")
    with pytest.raises(RaspEvaluationError, match=r"%prev: the table has no entry for the input \(4\).*position 4"):
        Program.from_mlir(text).evaluate(["a"] * 5)


def test_several_programs_need_a_name():
    one = HAND_WRITTEN.strip().removeprefix("builtin.module {").removesuffix("}")
    text = "builtin.module {" + one + one.replace("@shift", "@other") + "}"
    with pytest.raises(RaspTypeError, match="several"):
        Program.from_mlir(text)
    assert Program.from_mlir(text, name="other").name == "other"
    with pytest.raises(RaspTypeError, match="no rasp.program named @nope"):
        Program.from_mlir(text, name="nope")


# --------------------------------------------------------------------------- #
# The example .mlir files
# --------------------------------------------------------------------------- #

MLIR_FILES = sorted(EXAMPLES.glob("*.mlir"))


def test_there_are_example_mlir_files():
    assert {p.stem for p in MLIR_FILES} >= {"reverse", "histogram", "frac_prevs"}


@pytest.mark.parametrize("path", MLIR_FILES, ids=lambda p: p.name)
def test_example_mlir_files(example, path):
    text = path.read_text()
    # Parses, verifies and prints back identically.
    module = parse_module(text, str(path))
    module.verify()
    assert print_module(module) == text
    # Is what the example's .py gives today (regenerate: python examples/NAME.py > examples/NAME.mlir).
    source = example(path.stem)
    expected = Program.from_dsl(source.program).to_mlir(vocab=source.VOCAB, max_seq_len=source.MAX_SEQ_LEN)
    assert text == expected
    # And runs like it.
    program, original = Program.from_mlir(text), Program.from_dsl(source.program)
    for xs in inputs(source.VOCAB, 4):
        assert outcome(program, xs) == outcome(original, xs), xs
