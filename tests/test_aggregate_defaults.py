"""An aggregate whose default is of another kind than its values (RASP's 0 for bools and
strings, or a default like 0.5): the s-op holds values of two kinds, each as it is.

The rules (`rasp_ir.dialects.rasp.fits_kind`, `rasp_ir.program._aggregate_kind`):
- bools with a default 0 or 1 stay a bool s-op that also holds that number (True == 1);
- bools with another number become that number's kind (int or float), bools kept;
- strings with a number keep the strings' kind and carry the number (as do copies of it);
- a consumer that needs numbers (a mean, a linear map) or an order (`<` in a select) of
  strings mixed with numbers refuses it at compile time, naming the op and the reason.
Every compiled program here is checked against the reference interpreter.
"""

from __future__ import annotations

import itertools
import warnings

import pytest

import rasp_ir
from rasp_ir import dsl
from rasp_ir.compiler import compile_to_transformer, run_pipeline
from rasp_ir.dialects.rasp import (
    MapOp,
    SOpType,
    ValueKind,
    fits_kind,
    holding_kind,
    known_values,
)
from rasp_ir.errors import RaspCompileError, RaspEvaluationError, RaspTypeError
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.program import Program, parse_module, print_module
from rasp_ir.runtime.model import CompiledModel
from rasp_ir.testing import same_value

C = dsl.Comparison
i, t = dsl.indices, dsl.tokens


def prev_is_a(default=None) -> dsl.SOp:
    """Is the previous token an 'a'? RASP's default 0 (or `default`) at position 0."""
    return dsl.Aggregate(dsl.Select(i, i - 1, C.EQ), dsl.Map(lambda x: x == "a", t), default=default)


def prev_token(default=None) -> dsl.SOp:
    """The previous token; RASP's default 0 (or `default`) at position 0."""
    return dsl.Aggregate(dsl.Select(i, i - 1, C.EQ), t, default=default)


def all_inputs(vocab, max_len: int) -> list[list]:
    return [list(p) for n in range(1, max_len + 1) for p in itertools.product(vocab, repeat=n)]


def agrees(program: Program, vocab: list, max_seq_len: int, inputs: list[list] | None = None) -> None:
    """The numpy executor and onnxruntime give the interpreter's outputs on every input it
    accepts (all inputs up to max_seq_len unless given)."""
    defined = []
    for tokens in all_inputs(vocab, max_seq_len) if inputs is None else inputs:
        try:
            defined.append((tokens, program.evaluate(tokens)))
        except RaspEvaluationError:
            continue  # RASP leaves this input undefined (it averages bools or strings)
    assert defined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasp_ir.RaspCompileWarning)
        ir = compile_to_transformer(program, vocab, max_seq_len)
    executor = TransformerExecutor(ir)
    model = CompiledModel.from_transformer(ir, provider="cpu")
    batch = [tokens for tokens, _ in defined]
    for stage, outputs in (("executor", executor.run(batch)), ("onnxruntime", model.run(batch, batch_size=64))):
        for (tokens, expected), got in zip(defined, outputs):
            assert len(got) == len(expected) and all(
                same_value(e, g, executor.encoding, model.tolerance) for e, g in zip(expected, got)
            ), f"{stage} on {tokens}: interpreter {expected}, compiled {got}"


def types_and_values(sop: dsl.SOp, vocab=("a", "b"), max_seq_len: int = 3) -> dict:
    module = Program.from_dsl(sop).to_module(vocab=list(vocab), max_seq_len=max_seq_len)
    (program,) = module.body.block.ops
    out = {}
    for op in program.body.block.ops:
        if op.results and isinstance(op.results[0].type, SOpType):
            out[op.results[0].name_hint] = (op.results[0].type.value_kind, list(known_values(op.results[0]).data))
    return out


# --------------------------------------------------------------------------- #
# The kind rules
# --------------------------------------------------------------------------- #


def test_fits_kind():
    assert fits_kind(0, ValueKind.BOOL) and fits_kind(1, ValueKind.BOOL) and fits_kind(1.0, ValueKind.BOOL)
    assert not fits_kind(2, ValueKind.BOOL) and not fits_kind(0.5, ValueKind.BOOL)
    assert fits_kind(True, ValueKind.INT) and fits_kind(False, ValueKind.FLOAT) and fits_kind(3, ValueKind.FLOAT)
    assert not fits_kind(0.5, ValueKind.INT) and not fits_kind(0, ValueKind.STR) and not fits_kind("a", ValueKind.INT)
    assert not fits_kind(True, ValueKind.STR)


def test_holding_kind():
    assert holding_kind([False, True, 0]) == ValueKind.BOOL
    assert holding_kind([False, True, 1.0]) == ValueKind.BOOL
    assert holding_kind([False, True, 0.5]) == ValueKind.FLOAT
    assert holding_kind([False, True, -1]) == ValueKind.INT
    assert holding_kind([1, 2.5]) == ValueKind.FLOAT
    with pytest.raises(TypeError):
        holding_kind(["a", 0])
    with pytest.raises(TypeError):
        holding_kind(["a", True])


@pytest.mark.parametrize(
    ("default", "kind", "values"),
    [
        (None, ValueKind.BOOL, [0, False, True]),  # RASP's default 0
        (0, ValueKind.BOOL, [0, False, True]),
        (1, ValueKind.BOOL, [False, 1, True]),
        (True, ValueKind.BOOL, [False, True]),
        (0.5, ValueKind.FLOAT, [False, 0.5, True]),  # bools kept as they are
        (-1.5, ValueKind.FLOAT, [-1.5, False, True]),
        (-1, ValueKind.INT, [-1, False, True]),
    ],
)
def test_kind_of_a_bool_aggregate_with_a_numeric_default(default, kind, values):
    got_kind, got_values = types_and_values(prev_is_a(default).named("prev"))["prev"]
    assert got_kind == kind
    assert [(type(v), v) for v in got_values] == [(type(v), v) for v in values]


def test_consumers_of_a_widened_aggregate_follow_its_kind():
    got = types_and_values(dsl.LinearSequenceMap(i, prev_is_a(0.5), 1, 1).named("sum"))
    assert got["sum"][0] == ValueKind.FLOAT and 0.5 in got["sum"][1]
    # With an int default (or 0), the sum of ints and bools stays an int s-op.
    assert types_and_values(dsl.LinearSequenceMap(i, prev_is_a(-1), 1, 1).named("sum"))["sum"][0] == ValueKind.INT
    assert types_and_values(dsl.LinearSequenceMap(i, prev_is_a(), 1, 1).named("sum"))["sum"][0] == ValueKind.INT
    # A map's table has an entry for False and one for 0: the interpreter calls f on each.
    shown = dsl.Map(lambda x: repr(x), prev_is_a()).named("shown")
    text = Program.from_dsl(shown).to_mlir(vocab=["a", "b"], max_seq_len=2)
    assert '[0 -> "0", false -> "False", true -> "True"]' in text


def test_a_map_mixing_bools_and_numbers_has_the_kind_that_holds_both():
    assert types_and_values(dsl.Map(lambda x: 0 if x == "b" else True, t).named("m"))["m"] == (ValueKind.BOOL, [0, True])
    assert types_and_values(dsl.Map(lambda x: 2 if x == "b" else True, t).named("m"))["m"][0] == ValueKind.INT
    with pytest.raises(RaspCompileError, match="'m' returns values of mixed kinds"):
        types_and_values(dsl.Map(lambda x: "x" if x == "b" else True, t).named("m"))


def test_strings_carry_a_numeric_default_through_copies():
    got = types_and_values(dsl.Aggregate(dsl.Select(i, i, C.EQ), prev_token(), default="z").named("copy"))
    assert got["copy"] == (ValueKind.STR, [0, "a", "b", "z"])


def test_mixed_value_sets_round_trip_through_ir_text():
    for sop in (
        dsl.Map(lambda x: repr(x), prev_is_a()),
        dsl.Map(lambda x: repr(x), prev_is_a(0.5)),
        dsl.Aggregate(dsl.Select(i, i, C.EQ), prev_token(), default="z"),
    ):
        program = Program.from_dsl(sop)
        text = program.to_mlir(vocab=["a", "b"], max_seq_len=3)
        again = Program.from_mlir(text)
        assert again.to_mlir() == text
        for tokens in all_inputs(["a", "b"], 3):
            assert [(type(v), v) for v in again.evaluate(tokens)] == [(type(v), v) for v in program.evaluate(tokens)]


# --------------------------------------------------------------------------- #
# The verifier
# --------------------------------------------------------------------------- #

_MLIR = """
builtin.module {{
  rasp.program @p vocab ["a", "b"] max_seq_len 3 {{
    %t = rasp.tokens : !rasp.sop<str>
    %i = rasp.indices : !rasp.sop<int>
    %s = rasp.select %i, %i, eq : !rasp.sop<int>, !rasp.sop<int>
    %b = rasp.map %t, ["a" -> true, "b" -> false] : !rasp.sop<str> -> !rasp.sop<bool>
    %a = rasp.aggregate %s, %b default {default} : !rasp.sop<bool> -> !rasp.sop<{kind}>
    %m = rasp.map %a, {table} : !rasp.sop<{kind}> -> !rasp.sop<{kind}>
    rasp.output %m : !rasp.sop<{kind}>
  }}
}}
"""


@pytest.mark.parametrize(
    ("default", "kind", "table"),
    [
        ("0", "bool", "[0 -> 0, false -> false, true -> true]"),
        ("1", "bool", "[1 -> 1, false -> false, true -> true]"),
        ("0.5", "float", "[0.5 -> 0.5, false -> false, true -> true]"),
        ("-2", "int", "[-2 -> -2, false -> false, true -> true]"),
    ],
)
def test_the_verifier_accepts_bools_mixed_with_numbers(default, kind, table):
    module = parse_module(_MLIR.format(default=default, kind=kind, table=table))
    module.verify()
    run_pipeline(module, "rasp-infer-values")
    module.verify()


@pytest.mark.parametrize(
    ("default", "kind", "table", "message"),
    [
        ("2", "bool", "[2 -> 2, false -> false, true -> true]", "table value 2 is int, but the result is !rasp.sop of bool"),
        ("0.5", "bool", "[0.5 -> 0.5, false -> false, true -> true]", "table value 0.5 is float"),
        ("0.5", "int", "[0.5 -> 0.5, false -> false, true -> true]", "table value 0.5 is float"),
    ],
)
def test_the_verifier_refuses_numbers_a_kind_cannot_hold(default, kind, table, message):
    with pytest.raises(RaspTypeError, match=message):
        Program.from_mlir(_MLIR.format(default=default, kind=kind, table=table))


def test_a_conversion_to_numerical_keeps_the_default_of_another_kind():
    program = Program.from_dsl(dsl.numerical(dsl.Aggregate(dsl.Select(i, i, C.LEQ), prev_is_a().named("prev"))))
    module = program.to_module(vocab=["a", "b"], max_seq_len=3)
    run_pipeline(module, "rasp-infer-values,rasp-infer-encodings,rasp-infer-values")
    (conversion,) = [op for op in module.walk() if isinstance(op, MapOp) and op.input.name_hint == "prev"]
    assert conversion.result.type == SOpType(ValueKind.BOOL, rasp_ir.dialects.rasp.Encoding.NUMERICAL)
    assert [(type(v), v) for v in known_values(conversion.result).data] == [(int, 0), (bool, False), (bool, True)]
    # ... and the IR text compiles as the DSL program does.
    agrees(Program.from_mlir(print_module(module)), ["a", "b"], 3)


# --------------------------------------------------------------------------- #
# Differential: compiled models give the interpreter's outputs
# --------------------------------------------------------------------------- #


def _frac_prevs(bools: dsl.SOp, pred=C.LEQ) -> dsl.SOp:
    return dsl.numerical(dsl.Aggregate(dsl.Select(i, i, pred), bools))


FRAC_PREVS_STYLE = {
    # tracr's make_frac_prevs over a bool s-op that is 0 at position 0
    "mean_of_bools_with_default_0": _frac_prevs(prev_is_a()),
    "mean_of_numerical_bools_with_default_0": _frac_prevs(dsl.numerical(prev_is_a())),
    "mean_of_bools_with_default_1": _frac_prevs(prev_is_a(1)),
    "mean_of_bools_with_default_true": _frac_prevs(prev_is_a(True)),
    "mean_of_bools_with_default_half": _frac_prevs(prev_is_a(0.5)),
    "mean_of_bools_with_default_minus_1_5": _frac_prevs(prev_is_a(-1.5)),
    "mean_of_bools_with_default_minus_1": _frac_prevs(prev_is_a(-1)),
    "strict_prefix_mean_default_0": _frac_prevs(t == "a", C.LT),
    "map_of_the_mean": dsl.Map(lambda x: round(2 * x, 3), _frac_prevs(prev_is_a())),
    "mean_plus_bool": dsl.LinearSequenceMap(_frac_prevs(prev_is_a()), prev_is_a(), 1, 1),
    "undecided_mean_of_widened_bools": dsl.Aggregate(dsl.Select(i, i, C.LEQ), prev_is_a(-1)),
}


@pytest.mark.parametrize("name", list(FRAC_PREVS_STYLE))
def test_frac_prevs_style_programs_agree_on_every_input_up_to_length_5(name):
    agrees(Program.from_dsl(FRAC_PREVS_STYLE[name], name=name), ["a", "b", "c"], 5)


def test_frac_prevs_of_a_bool_with_default_0_is_right():
    program = Program.from_dsl(_frac_prevs(prev_is_a()))
    assert program.evaluate(["a", "a", "b"]) == [0, 0.5, 2 / 3]
    agrees(program, ["a", "b"], 4, [["a", "a", "b"]])


CATEGORICAL = {
    "bools_with_0": prev_is_a(),
    "bools_with_half": prev_is_a(0.5),
    "bools_with_minus_1": prev_is_a(-1),
    "map_sees_0_and_false_apart": dsl.Map(lambda x: repr(x), prev_is_a()),
    "map_of_widened": dsl.Map(lambda x: f"{x!r}!", prev_is_a(0.5)),
    "copy_with_default_false": dsl.Aggregate(dsl.Select(i, i, C.EQ), prev_is_a(), default=False),
    "copy_with_default_half": dsl.Aggregate(dsl.Select(i, i, C.EQ), prev_is_a(), default=0.5),
    "linear_map_categorical": dsl.categorical(dsl.LinearSequenceMap(i, prev_is_a(0.5), 1, 1)),
    "select_on_mixed": dsl.SelectorWidth(dsl.Select(prev_is_a(0.5), prev_is_a(0.5), C.LT)),
    "strings_with_0": prev_token(),
    "strings_with_0_copied_with_z": dsl.Aggregate(dsl.Select(i, i, C.EQ), prev_token(), default="z"),
    "strings_with_0_copied_with_half": dsl.Aggregate(dsl.Select(i, i, C.EQ), prev_token(), default=0.5),
    "map_of_strings_with_0": dsl.Map(lambda x: f"<{x}>", prev_token()),
    # a map may mix bools and numbers too (bool with 0/1, else a number kind)
    "map_returning_true_or_0": dsl.Map(repr, dsl.Map(lambda x: 0 if x == "b" else True, prev_token())),
    "map_returning_true_or_2": dsl.Map(lambda x: 2 if x == "b" else x == "a", prev_token()),
}


@pytest.mark.parametrize("name", list(CATEGORICAL))
def test_mixed_kinds_agree_on_every_input(name):
    agrees(Program.from_dsl(CATEGORICAL[name], name=name), ["a", "b"], 4)


# --------------------------------------------------------------------------- #
# Refusals: what has no common kind, where a consumer needs one
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("sop", "message"),
    [
        (
            dsl.SelectorWidth(dsl.Select(prev_token().named("prev"), t, C.LT).named("before")),
            r"select 'before' orders its keys and queries \('lt'\), but they can hold the string \"a\" "
            r"\(in 'prev'\) and 0 \(in 'prev'\), which have no order; .*give that aggregate a default",
        ),
        (
            dsl.numerical(dsl.Aggregate(dsl.Select(i, i, C.LEQ), prev_token(default=0).named("prev"))).named("mean"),
            r"aggregate 'mean' is numerical but averages strings",
        ),
        (
            dsl.numerical(
                dsl.Aggregate(
                    dsl.Select(i, i, C.LEQ), dsl.Aggregate(dsl.Select(i, i - 1, C.EQ), i, default="z").named("prev")
                )
            ).named("mean"),
            r"aggregate 'mean' averages numbers .* its input 'prev' can hold the string \"z\" .*numeric default",
        ),
        (
            dsl.Aggregate(dsl.Select(i, i, C.LEQ), i, default="z").named("mean"),
            r"aggregate 'mean' averages numbers .*its default \"z\" must be a number",
        ),
        (
            dsl.LinearSequenceMap(i, dsl.Aggregate(dsl.Select(i, i - 1, C.EQ), i, default="z"), 1, 1).named("sum"),
            r"'sum': a linear map needs numbers, but its input can hold the string 'z'",
        ),
    ],
    ids=["ordered_select", "numerical_of_strings", "mean_of_carried_string", "string_default_of_a_mean", "linear"],
)
def test_a_mix_without_a_common_kind_is_refused_with_the_reason(sop, message):
    with pytest.raises(RaspCompileError, match=message) as info:
        compile_to_transformer(Program.from_dsl(sop), ["a", "b"], 3)
    assert "does not verify" not in str(info.value) and "but the result is" not in str(info.value)


def test_an_ordered_select_of_strings_and_numbers_in_ir_text_is_refused():
    text = Program.from_dsl(dsl.SelectorWidth(dsl.Select(prev_token(), t, C.EQ))).to_mlir(vocab=["a", "b"], max_seq_len=3)
    with pytest.raises(RaspTypeError, match="'lt' would compare 0 with the string \"a\"; strings and numbers have no order"):
        Program.from_mlir(text.replace(", eq :", ", lt :", 2).replace("%indices, %map, lt", "%indices, %map, eq"))


# --------------------------------------------------------------------------- #
# The .rasp language builds the same programs
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "source",
    [
        'out = aggregate(select(indices, indices, <), tokens == "a");',  # 0 at position 0
        'out = aggregate(select(indices, indices - 1, ==), tokens == "a");',
        'p = aggregate(select(indices, indices - 1, ==), tokens == "a"); out = p + 1;',
        'p = aggregate(select(indices, indices - 1, ==), tokens == "a", 0.5); out = p + indices;',
        'p = aggregate(select(indices, indices - 1, ==), tokens == "a", -1); out = aggregate(select(indices, indices, <=), p);',
        'p = aggregate(select(indices, indices - 1, ==), tokens); out = aggregate(select(indices, indices, ==), p, "z");',
    ],
)
def test_rasp_language_programs_with_a_default_of_another_kind(source):
    program = rasp_ir.parse_rasp(source, output="out")
    agrees(program, ["a", "b"], 4)


def test_rasp_language_ordered_select_of_strings_and_0_is_refused():
    program = rasp_ir.parse_rasp(
        'p = aggregate(select(indices, indices - 1, ==), tokens); out = selector_width(select(p, tokens, <));', output="out"
    )
    with pytest.raises(RaspCompileError, match=r"select '.*' orders .* the string \"a\" \(in 'p'\) and 0 \(in 'p'\)"):
        compile_to_transformer(program, ["a", "b"], 3)


def test_a_string_default_of_an_open_aggregate_that_averages_is_refused_in_ir_text():
    text = """
builtin.module {
  rasp.program @p vocab ["a", "b"] max_seq_len 3 {
    %i = rasp.indices : !rasp.sop<int>
    %s = rasp.select %i, %i, leq : !rasp.sop<int>, !rasp.sop<int>
    %mean = rasp.aggregate %s, %i default "z" : !rasp.sop<int> -> !rasp.sop<float>
    rasp.output %mean : !rasp.sop<float>
  }
}
"""
    # The DSL names the aggregate, and so does rasp-infer-encodings on the IR itself.
    with pytest.raises(RaspCompileError, match=r"aggregate 'mean' averages numbers .*its default \"z\" must be a number"):
        compile_to_transformer(Program.from_mlir(text))
    with pytest.raises(RaspCompileError, match=r"%mean = rasp.aggregate averages numbers .*its default \"z\" must be a number"):
        run_pipeline(parse_module(text))
