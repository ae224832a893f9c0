"""Compiler bugs found by differential fuzzing (`benchmarks/fuzz.py`, tests/test_fuzz.py),
each as the minimized program that shows it.

Every test asks the one thing rasp-ir promises: the program compiles into a model that
agrees with the reference interpreter (numpy executor and onnxruntime both), or the
compiler refuses it with a RaspError that gives a reason (not an internal verifier
failure), or the compiled model refuses an input at run time (a RaspInputError from its
run-time guard, where a categorical aggregate averages different values). Tests of bugs not fixed yet are xfail(strict=True): when a fix makes one pass,
remove its mark, and the matching entry of KNOWN_FAILURES in tests/test_fuzz.py.
"""

from __future__ import annotations

import re

import pytest

import rasp_ir
from rasp_ir import dsl
from rasp_ir.compiler import compile_to_transformer
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.runtime.model import CompiledModel
from rasp_ir.testing import same_value

C = dsl.Comparison


def agrees_or_refuses(sop: dsl.SOp, vocab: list, max_seq_len: int, inputs: list[list]) -> None:
    program = rasp_ir.Program.from_dsl(sop, name="regression")
    try:
        ir = compile_to_transformer(program, vocab, max_seq_len)
    except rasp_ir.RaspError as err:
        # A verifier's complaint about IR the compiler built is an internal error, not a reason.
        internal = "does not verify after" in str(err) or re.search(r"inferred value .* but the result is", str(err))
        assert not internal, f"an internal error reported as a refusal: {err}"
        return  # a refusal with a reason is a correct answer
    executor = TransformerExecutor(ir)
    model = CompiledModel.from_transformer(ir, provider="cpu")
    for stage, run in (("executor", executor.run), ("onnxruntime", lambda batch: model.run(batch, batch_size=len(batch)))):
        for tokens in inputs:
            try:
                (got,) = run([tokens])
            except rasp_ir.RaspInputError:
                continue  # the model's run-time guard refuses the input (the only error allowed here)
            try:
                expected = program.evaluate(tokens)
            except rasp_ir.RaspEvaluationError:
                continue  # RASP leaves this input undefined (e.g. it averages strings)
            assert len(got) == len(expected) and all(
                same_value(e, g, executor.encoding, model.tolerance) for e, g in zip(expected, got)
            ), f"{stage} on {tokens}: interpreter {expected}, compiled {got}"


@pytest.mark.filterwarnings("ignore::rasp_ir.program.RaspCompileWarning")
@pytest.mark.parametrize(
    ("sop", "vocab", "inputs"),
    [
        # interpreter [18.5, 29]; compiled [8, 29]
        (dsl.categorical(dsl.Aggregate(dsl.Select(dsl.tokens, dsl.tokens, C.GEQ), dsl.tokens)), [8, 29], [[8, 29]]),
        # interpreter [0.5, 0.5]; compiled [0, 0]
        (dsl.categorical(dsl.Aggregate(dsl.Select(dsl.tokens, dsl.tokens, C.EQ), dsl.indices)), ["a"], [["a", "a"]]),
    ],
    ids=["tokens_geq", "indices_eq"],
)
def test_categorical_aggregate_that_averages(sop, vocab, inputs):
    """Was: a categorical-annotated aggregate that selects several positions was compiled as if
    it selected one, and the model copied one value where the interpreter averages numbers.
    Now the model refuses such inputs at run time (RaspInputError from its guard)."""
    agrees_or_refuses(sop, vocab, 2, inputs)
    ir = compile_to_transformer(rasp_ir.Program.from_dsl(sop, name="regression"), vocab, 2)
    with pytest.raises(rasp_ir.RaspInputError, match=r"input 0 of the batch, position 0: .* averages several"):
        TransformerExecutor(ir).run(inputs)
    with pytest.raises(rasp_ir.RaspInputError, match=r"input 0 of the batch, position 0: .* averages several"):
        CompiledModel.from_transformer(ir, provider="cpu").run(inputs)


@pytest.mark.parametrize(
    ("sop", "max_seq_len"),
    [
        (dsl.numerical(dsl.Map(lambda x: 0, dsl.length)), 1),
        (dsl.numerical(dsl.Map(lambda x: 0, dsl.length)), 4),
        (dsl.numerical(dsl.SequenceMap(lambda x, y: x != y, dsl.length, dsl.length)), 1),
    ],
    ids=["map_of_length", "map_of_length_len4", "sequence_map_of_length"],
)
def test_constant_mlp_has_no_hidden_units(sop, max_seq_len):
    """Was: an MLP-computed s-op that takes one value only (at this max_seq_len) got an MLP
    with 0 hidden units: ValueError 'w1: every dimension must be >= 1, got shape (4, 0)'
    from MLPOp.from_arrays in rasp-to-transformer."""
    agrees_or_refuses(sop, ["a"], max_seq_len, [["a"]])


@pytest.mark.parametrize(
    ("sop", "vocab", "max_seq_len", "inputs"),
    [
        (
            dsl.LinearSequenceMap(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.EQ)), dsl.length, 1, 1),
            ["a", "b"],
            4,
            [["a", "a", "b"]],
        ),
        (dsl.LinearSequenceMap(dsl.length, dsl.numerical(dsl.indices), 1, 1), ["a"], 1, [["a"]]),
    ],
    ids=["width_plus_length", "length_plus_indices_len1"],
)
def test_linear_sequence_map_operand_has_no_dims(sop, vocab, max_seq_len, inputs):
    """Was: a LinearSequenceMap over `length` and an s-op computed by a head or an MLP
    raised KeyError on the operand's OpResult in rasp-to-transformer (lower_linear -> dims)."""
    agrees_or_refuses(sop, vocab, max_seq_len, inputs)


def test_numerical_selector_width_at_max_seq_len_1():
    """Was: a numerical selector_width at max_seq_len 1 decoded width 0 as 0.0052."""
    sop = dsl.numerical(dsl.SelectorWidth(dsl.Select(dsl.tokens, dsl.tokens, C.LT)))
    agrees_or_refuses(sop, ["r"], 1, [["r"]])


def test_or_of_selects_over_many_values_is_within_tolerance():
    """Was: 0.4977 for 0.5 and 2.990 for 3.0. The `or` pairs a mean (its noise budget is an
    eighth of its gap) with a selector_width in one joint code, whose large coefficient on
    the second leaf multiplied that noise past the steps' margins; fusion now orders the
    noisiest leaves first and checks the code's noise (`fusion.code_noise`)."""
    i = dsl.indices
    x = dsl.Map(lambda v: v + 1, dsl.numerical(dsl.Aggregate(dsl.Select(i, i, C.EQ), i)))
    ge = dsl.Select(x, x, C.GEQ)
    width = dsl.SelectorWidth(ge)
    sop = dsl.Aggregate(dsl.SelectorOr(ge, dsl.Select(width, width, C.GT)), i)
    # interpreter [0.5, 0.5] and [3.0] * 7
    agrees_or_refuses(sop, ["v"], 7, [["v", "v"], ["v"] * 7])


def _prev_is_a(default=None):
    """Per position: is the previous token an 'a'? (RASP's default 0, or `default`, at 0)."""
    i = dsl.indices
    return dsl.Aggregate(dsl.Select(i, i - 1, C.EQ), dsl.Map(lambda x: x == "a", dsl.tokens), default=default)


@pytest.mark.parametrize(
    ("sop", "vocab"),
    [
        # the fraction of earlier positions that follow an 'a': interpreter [0, 0.5, 0.667]
        (dsl.numerical(dsl.Aggregate(dsl.Select(dsl.indices, dsl.indices, C.LEQ), _prev_is_a())), ["a", "b"]),
        (dsl.LinearSequenceMap(dsl.indices, _prev_is_a(default=0.5), 1, 1), ["a", "b"]),
        (
            dsl.numerical(
                dsl.Aggregate(
                    dsl.Select(dsl.tokens, dsl.tokens, C.GT),
                    dsl.Aggregate(
                        dsl.Select(dsl.tokens, dsl.tokens, C.EQ), dsl.Map(lambda x: x == "a", dsl.tokens), default=-1.5
                    ),
                )
            ),
            ["a", "b"],
        ),
        (
            dsl.Aggregate(
                dsl.Select(dsl.indices, dsl.indices, C.EQ),
                dsl.Aggregate(dsl.Select(dsl.indices, dsl.indices - 1, C.EQ), dsl.tokens),  # 0 at position 0
                default="z",
            ),
            ["a", "b"],
        ),
    ],
    ids=["numerical_mean_of_bools_default_0", "linear_map_of_bools_default_half", "bools_default_float", "strings_default_0"],
)
def test_aggregate_with_a_default_of_another_kind(sop, vocab):
    """Was: an aggregate of bools (or strings) whose default is a number (RASP's 0 when none
    is given) holds values of two kinds; ops that read it were typed with one kind and the IR
    no longer verified: an internal error after rasp-infer-encodings, or a verifier message as
    the refusal ('inferred value 0.5 is float, but the result is !rasp.sop of int')."""
    agrees_or_refuses(sop, vocab, 4, [["a", "a", "b"], ["b", "a", "a", "a"]])


@pytest.mark.parametrize("max_seq_len", [13, 16])
def test_select_on_a_mean_is_within_tolerance_on_onnxruntime(max_seq_len):
    """Was: 9.6683 for 9.6667 on onnxruntime. The select reads a categorical copy of a mean
    with many values, which an MLP computes with steps whose float32 rounding leaves ~1e-4
    on the one-hot dims; a `>=` row sums many of them into the scores, and the softmax
    scale turns that into unequal weights. The compiler now measures that rounding on the
    weights (`Lowering.measure_onehot_error`) and refuses the head."""
    t = dsl.tokens
    mean = dsl.Aggregate(dsl.Select(t, t, C.TRUE), t)
    sop = dsl.Aggregate(dsl.Select(mean, t, C.GEQ), t)
    # interpreter 9.666666666666666 at positions 0 and 5..8; onnxruntime 9.668319702148438
    agrees_or_refuses(sop, [-4, 18, 6], max_seq_len, [[-4, 18, 18, 18, 18, -4, -4, -4, 6, 18, 18, 18]])


@pytest.mark.parametrize(
    ("sop", "vocab", "max_seq_len", "inputs"),
    [
        # interpreter [1] and [2, 3]; executor [2.0] and [2.0, 3.0]; onnxruntime [1.0117], [2.0088, 3.0059]
        (dsl.LinearSequenceMap(dsl.numerical(dsl.indices), dsl.length, 1, 1), ["v"], 30, [["v"], ["v", "v"]]),
        # interpreter [0]*5 and [1000, 0, 0]; onnxruntime [-0.0038]*5 and [999.99915, 0.00696, 0.00696]
        (dsl.LinearSequenceMap(dsl.numerical(dsl.tokens), dsl.length, 1, 0), [0, 1000], 12, [[0] * 5, [1000, 0, 0]]),
        # interpreter [-0.16667]; executor [-0.171875], onnxruntime [-0.16553]
        (
            dsl.LinearSequenceMap(
                dsl.SelectorWidth(dsl.Select(dsl.indices, dsl.indices, C.TRUE)), dsl.length, -0.5, 1 / 3
            ),
            [10],
            13,
            [[10]],
        ),
    ],
    ids=["indices_plus_length", "tokens_plus_0_length", "width_and_length"],
)
def test_linear_sequence_map_with_length(sop, vocab, max_seq_len, inputs):
    """Was: wrong numbers (2.0 for 1 at max_seq_len 30; 0.0117 off on onnxruntime): the MLP
    read both operands through one joint code whose steps were so fine that float32
    cancellation between its ~900 step units (and the scratch dimension's noise times the
    code's coefficient) crossed the margins. A sum of one function per operand now gets
    one piece per operand (`fusion.additive_parts`)."""
    agrees_or_refuses(sop, vocab, max_seq_len, inputs)


def test_select_on_a_copy_of_a_mean_from_fuzzing():
    """Seed 11, case 226: the same skew through a mean that may average (a categorical copy
    of it read by `>=`): the executor too was 0.0019 off."""
    t = dsl.tokens
    width = dsl.SelectorWidth(dsl.SelectorAnd(dsl.Select(dsl.indices, dsl.indices, C.EQ), dsl.Select(dsl.indices, dsl.indices, C.FALSE)))
    same = dsl.Select(t, t, C.EQ)
    either = dsl.SelectorOr(same, dsl.SelectorOr(same, dsl.Select(width, t, C.EQ)))
    mean = dsl.Aggregate(either, t)
    sop = dsl.numerical(dsl.Aggregate(dsl.Select(mean, mean, C.GEQ), t))
    vocab = [-10, 14, -9, -1, 7, -3, 29, 27, 20, 24, 6, 28, 4, -6, 11]
    agrees_or_refuses(sop, vocab, 12, [[20, 7, 6, 7, 4, 28, -6, 7, -9]])


def test_copy_of_a_stepped_one_hot_into_more_values():
    """Seed 2026, case 94: crashed (a matmul shape error) measuring the rounding of a
    categorical aggregate that copies a one-hot an MLP computed with steps, when the
    aggregate has more values than its input (the default 0 besides 'b')."""
    n2 = dsl.SequenceMap(lambda x, y: "b", dsl.length, dsl.length)
    n4 = dsl.Aggregate(dsl.Select(dsl.tokens, n2, C.TRUE), n2)
    sop = dsl.SelectorWidth(dsl.Select(n4, n4, C.EQ))
    agrees_or_refuses(sop, [18], 1, [[18]])


def test_lookup_of_a_stepped_one_hot_does_not_leak():
    """Seed 2026, case 3940: onnxruntime gave 12.0015 for 12. A categorical copy of a mean
    with many values (steps: its one-hot dims a little off in float32) was read by a lookup
    whose closed gates, relu(x_a + x_b - 1), passed those small errors on from thousands of
    units. Gates now open at relu(2 (x_a + x_b) - 3): closed ones write exact zeros."""
    t = dsl.categorical(dsl.tokens)
    mean = dsl.Aggregate(dsl.SelectorNot(dsl.Select(t, t, C.LEQ)), t)
    pair = dsl.SequenceMap(lambda x, y: {(0, 6): -1, (0, 7): 2}.get((x, y), 3), mean, t)
    sop = dsl.numerical(dsl.LinearSequenceMap(pair, pair, 1, 3))
    vocab = [10, 4, 24, 3, 11, -8, 6, 18, 20, 13, 27]
    agrees_or_refuses(sop, vocab, 10, [[3, 20, 11, 24, 24, 13, 11, 11], [27, 4, 4, 10], [6, 0 + 6, 18]])


def test_copy_proven_before_rewrites_stays_a_copy():
    """Seed 2028, case 3105: refused with an internal verifier message. The DSL builder
    proved that the aggregate copies one value (its keys, a bool plus 5 times the index,
    differ per position) and typed it int; canonicalization at max_seq_len 1 folded the
    index away, rasp-infer-encodings could no longer prove it and made the aggregate
    numerical, and int tables read a float s-op. The builder's decision is now explicit."""
    flag = dsl.Map(lambda x: x < "h", dsl.tokens)
    key = dsl.SequenceMap(lambda x, y: x + 5 * y, flag, dsl.indices)
    copy = dsl.Aggregate(dsl.Select(key, dsl.indices, C.EQ), dsl.indices)
    sop = dsl.SequenceMap(lambda x, y: x != y, copy, dsl.tokens)
    agrees_or_refuses(sop, ["c", "g", "a"], 1, [["c"], ["a"], ["g"]])


def test_folding_an_aggregate_does_not_leave_a_carried_default_unexplained():
    """Fuzz seed 2032 case 4742 (and seed 2030 case 10459): a string aggregate whose value
    set carried an earlier aggregate's default 0 failed verification after canonicalize
    folded that earlier aggregate into a constant ("inferred value 0 is int, but the result
    is a str s-op"), an internal error reported as a refusal."""
    t = dsl.tokens
    never = dsl.Select(t, t, C.FALSE)
    zero = dsl.Aggregate(never, t)  # always the default 0, in a string s-op
    xy = dsl.Aggregate(never, zero, default="xy")
    sop = dsl.Aggregate(dsl.Select(xy, xy, C.EQ), xy, default="c")
    agrees_or_refuses(sop, ["xy"], 1, [["xy"]])



@pytest.mark.parametrize("case", ["52", "79", "1196", "1509", "1514"])
def test_heads_fold_functions_of_a_one_hot_base_only(case):
    """Fuzz seed 2035 (on the first version of head folding): a function of the indices or
    tokens that only heads read was folded into their weights through its base's dims,
    but where the base was numerical (one dim holding the number, e.g. `numerical(indices)`
    or indices made numerical for a mean) every value mapped to that one dim: wrong
    scores and values, silently. Only a one-hot base is folded now."""
    i, t = dsl.indices, dsl.tokens
    if case == "52":  # indices numerical (the aggregate averages them)
        keys = dsl.Map(lambda x: {2: "y"}.get(x, ""), i)
        sop, vocab, n, inputs = dsl.Aggregate(dsl.Select(keys, t, C.GEQ), i), ["a"], 3, [["a", "a"], ["a", "a", "a"]]
    elif case == "79":
        flag = dsl.Map(lambda x: {}.get(x, "x"), dsl.numerical(t))
        sop, vocab, n, inputs = dsl.Aggregate(dsl.Select(t, t, C.LT), flag), [18, -3], 2, [[18, -3], [-3, 18]]
    elif case == "1196":
        size = dsl.Map(lambda x: abs(x), dsl.numerical(i))
        sop, vocab, n, inputs = dsl.Aggregate(dsl.Select(size, size, C.NEQ), size), [26], 3, [[26, 26], [26] * 3]
    elif case == "1509":
        double = dsl.LinearSequenceMap(dsl.numerical(i), dsl.numerical(i), 1, 1)
        sop, vocab, n, inputs = dsl.Aggregate(dsl.Select(double, double, C.GT), double), ["t"], 3, [["t", "t"]]
    else:
        other = dsl.SequenceMap(lambda x, y: x != y, i, i)
        sop, vocab, n, inputs = dsl.Aggregate(dsl.Select(other, other, C.EQ), i, default=-0.5), [1], 2, [[1], [1, 1]]
    agrees_or_refuses(sop, vocab, n, inputs)
