"""The reference interpreter against results worked out by hand, and against the
outputs of the paper's own interpreter (when /work/shared/conformance is there)."""

from __future__ import annotations

import json
import operator
from fractions import Fraction
from pathlib import Path

import pytest

from rasp_ir.errors import RaspError, RaspEvaluationError, RaspInputError
from rasp_ir.frontend.dsl import (
    Aggregate,
    Comparison,
    ConstantSOp,
    Full,
    LinearSequenceMap,
    Map,
    Select,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    SOp,
    Selector,
    indices,
    length,
    numerical,
    tokens,
)
from rasp_ir.interpreter.reference import Interpreter, evaluate, evaluate_batch

T, F = True, False


# --------------------------------------------------------------------------- #
# Primitives and element-wise ops
# --------------------------------------------------------------------------- #


def test_primitives():
    assert evaluate(tokens, ["a", "b", "c"]) == ["a", "b", "c"]
    assert evaluate(indices, ["a", "b", "c"]) == [0, 1, 2]
    assert evaluate(length, ["a", "b", "c"]) == [3, 3, 3]
    assert evaluate(Full(7), ["a", "b"]) == [7, 7]
    assert evaluate(ConstantSOp("z"), ["a", "b"]) == ["z", "z"]
    assert evaluate(ConstantSOp([4, 5]), ["a", "b"]) == [4, 5]


def test_length_one():
    assert evaluate(tokens, ["x"]) == ["x"]
    assert evaluate(indices, ["x"]) == [0]
    assert evaluate(length, ["x"]) == [1]
    sel = Select(tokens, tokens, Comparison.TRUE)
    assert evaluate(sel, ["x"]) == [[True]]
    assert evaluate(Aggregate(sel, indices), ["x"]) == [0]
    assert evaluate(SelectorWidth(sel), ["x"]) == [1]


def test_a_string_is_a_sequence_of_characters():
    assert evaluate(tokens, "hey") == ["h", "e", "y"]


def test_maps():
    assert evaluate(Map(lambda x: x * 10, indices), "abc") == [0, 10, 20]
    assert evaluate(SequenceMap(lambda x, y: f"{x}{y}", tokens, indices), "ab") == ["a0", "b1"]
    lin = LinearSequenceMap(indices, length, 2, -1)  # 2i - n with n = 3
    assert evaluate(lin, "abc") == [-3, -1, 1]
    assert all(type(v) is int for v in evaluate(lin, "abc"))
    assert evaluate(LinearSequenceMap(indices, indices, 0.5, 0.25), "ab") == [0.0, 0.75]


def test_map_results_are_cached_per_distinct_value():
    calls = []

    def upper(x):
        calls.append(x)
        return x.upper()

    up = Map(upper, tokens)
    interp = Interpreter()
    assert interp.evaluate_batch(up, ["abab", "ba", "a"]) == [list("ABAB"), list("BA"), ["A"]]
    assert sorted(calls) == ["a", "b"]


def test_cache_keeps_true_and_one_apart():
    show = Map(lambda x: repr(x), tokens)
    assert evaluate(show, [1, True, 1.0]) == ["1", "True", "1.0"]


def test_numpy_results_become_python_values():
    import numpy as np

    out = evaluate(Map(lambda x: np.int64(x) + 1, indices), "ab")
    assert out == [1, 2] and all(type(v) is int for v in out)


# --------------------------------------------------------------------------- #
# Selectors
# --------------------------------------------------------------------------- #


def test_select_is_pred_of_key_and_query():
    # keys = queries = [3, 1, 2]; m[q][k] = keys[k] < queries[q]
    m = evaluate(Select(tokens, tokens, Comparison.LT), [3, 1, 2])
    assert m == [
        [F, T, T],  # query 3: keys 1 and 2 are smaller
        [F, F, F],  # query 1: none
        [F, T, F],  # query 2: key 1
    ]
    # The query is the constant 1: every query selects the keys k with k < 1.
    assert evaluate(Select(indices, 1, Comparison.LT), "abc") == [[T, F, F]] * 3
    # The key is the constant 1: query q selects every key when 1 < q.
    assert evaluate(Select(1, indices, Comparison.LT), "abc") == [[F, F, F], [F, F, F], [T, T, T]]


@pytest.mark.parametrize(
    "comparison, op",
    [
        (Comparison.EQ, operator.eq),
        (Comparison.NEQ, operator.ne),
        (Comparison.LT, operator.lt),
        (Comparison.LEQ, operator.le),
        (Comparison.GT, operator.gt),
        (Comparison.GEQ, operator.ge),
        (Comparison.TRUE, lambda k, q: True),
        (Comparison.FALSE, lambda k, q: False),
    ],
)
def test_each_comparison(comparison, op):
    keys, queries = [2, 0, 1, 2], [1, 2, 2, 0]
    k_sop, q_sop = ConstantSOp(keys), ConstantSOp(queries)
    expected = [[op(k, q) for k in keys] for q in queries]
    assert evaluate(Select(k_sop, q_sop, comparison), "abcd") == expected


def test_python_predicate():
    sel = Select(indices, indices, lambda k, q: q == k + 1)
    assert evaluate(sel, "abc") == [[F, F, F], [T, F, F], [F, T, F]]


def test_composite_selectors():
    lt = Select(indices, indices, Comparison.LT)  # k < q
    eq_tok = Select(tokens, tokens, Comparison.EQ)
    xs = "aba"
    assert evaluate(eq_tok, xs) == [[T, F, T], [F, T, F], [T, F, T]]
    assert evaluate(SelectorAnd(lt, eq_tok), xs) == [[F, F, F], [F, F, F], [T, F, F]]
    assert evaluate(lt & eq_tok, xs) == [[F, F, F], [F, F, F], [T, F, F]]
    assert evaluate(SelectorOr(lt, eq_tok), xs) == [[T, F, T], [T, T, F], [T, T, T]]
    assert evaluate(lt | eq_tok, xs) == [[T, F, T], [T, T, F], [T, T, T]]
    assert evaluate(SelectorNot(lt), xs) == [[T, T, T], [F, T, T], [F, F, T]]
    assert evaluate(~(lt | eq_tok), xs) == [[F, T, F], [F, F, T], [F, F, F]]


def test_selector_width():
    assert evaluate(SelectorWidth(Select(tokens, tokens, Comparison.TRUE)), "abcd") == [4] * 4
    assert evaluate(SelectorWidth(Select(tokens, tokens, Comparison.FALSE)), "abcd") == [0] * 4
    assert evaluate(SelectorWidth(Select(tokens, tokens, Comparison.EQ)), "abac") == [2, 1, 2, 1]
    assert evaluate(SelectorWidth(Select(indices, indices, Comparison.LEQ)), "abc") == [1, 2, 3]


# --------------------------------------------------------------------------- #
# Aggregate
# --------------------------------------------------------------------------- #


def test_aggregate_copies_a_single_value_unchanged():
    prev = Select(indices, indices - 1, Comparison.EQ)  # q reads q-1
    assert evaluate(Aggregate(prev, tokens, default="-"), "abc") == ["-", "a", "b"]
    out = evaluate(Aggregate(prev, indices), "abc")
    assert out == [0, 0, 1] and all(type(v) is int for v in out)
    flags = evaluate(Aggregate(prev, tokens == "a", default=False), "abc")
    assert flags == [False, True, False]


def test_aggregate_default_where_nothing_is_selected():
    none = Select(tokens, tokens, Comparison.FALSE)
    assert evaluate(Aggregate(none, tokens), "ab") == [0, 0]
    assert evaluate(Aggregate(none, tokens, default="?"), "ab") == ["?", "?"]
    assert evaluate(Aggregate(none, indices, default=-1), "ab") == [-1, -1]


def test_aggregate_averages_several_numbers_as_a_float():
    upto = Select(indices, indices, Comparison.LEQ)
    out = evaluate(Aggregate(upto, indices), "abcd")
    assert out == [0, 0.5, 1.0, 1.5]
    assert [type(v) for v in out] == [int, float, float, float]
    same = Aggregate(Select(tokens, tokens, Comparison.TRUE), Full(2))
    assert evaluate(same, "ab") == [2.0, 2.0] and type(evaluate(same, "ab")[0]) is float


def test_aggregate_all_true_selector():
    everything = Select(tokens, tokens, Comparison.TRUE)
    assert evaluate(Aggregate(everything, indices), "abcd") == [1.5] * 4


def test_a_mean_is_exact_then_rounded_once():
    everything = Select(tokens, tokens, Comparison.TRUE)
    out = evaluate(Aggregate(everything, ConstantSOp([0.1, 0.2, 0.4])), "abc")
    assert out == [float((Fraction(0.1) + Fraction(0.2) + Fraction(0.4)) / 3)] * 3


def test_averaging_strings_is_an_error_that_names_the_op_and_position():
    agg = Aggregate(Select(tokens, tokens, Comparison.TRUE), tokens).named("smear")
    with pytest.raises(RaspEvaluationError, match=r"'smear' at position 0.*strings"):
        evaluate(agg, "ab")
    # A single selected string is fine.
    assert evaluate(agg, "a") == ["a"]


def test_averaging_bools_is_an_error_unless_numerical():
    upto = Select(indices, indices, Comparison.LEQ)
    plain = Aggregate(upto, tokens == "a").named("plain")
    with pytest.raises(RaspEvaluationError, match=r"'plain' at position 1.*bools.*numerical"):
        evaluate(plain, "ab")
    frac = numerical(Aggregate(upto, numerical(tokens == "a"), default=0))
    assert evaluate(frac, "abaa") == [1, 0.5, 2 / 3, 0.75]


def test_aggregate_of_constant_with_default():
    # The paper's `aggregate(sel, 1, 0)` (has_focus).
    earlier = Select(indices, indices, Comparison.LT)
    assert evaluate(Aggregate(earlier, 1, default=0), "abc") == [0, 1, 1.0]


# --------------------------------------------------------------------------- #
# Inputs and errors
# --------------------------------------------------------------------------- #


def test_input_errors():
    interp = Interpreter(vocab=["a", "b"], max_seq_len=3)
    assert interp.evaluate(tokens, "ab") == ["a", "b"]
    with pytest.raises(RaspInputError, match=r"'z' at position 1 is not in the vocabulary"):
        interp.evaluate(tokens, "az")
    with pytest.raises(RaspInputError, match="4 tokens, more than max_seq_len 3"):
        interp.evaluate(tokens, "abab")
    with pytest.raises(RaspInputError, match="empty"):
        interp.evaluate(tokens, [])
    with pytest.raises(RaspInputError, match="position 0"):
        Interpreter().evaluate(tokens, [None])


def test_vocabulary_keeps_kinds_apart():
    with pytest.raises(RaspInputError):
        Interpreter(vocab=[1, 2]).evaluate(tokens, [True])


def test_a_failing_map_names_the_map_and_position():
    inv = Map(lambda x: 1 / x, indices - 1).named("inverse")
    with pytest.raises(RaspEvaluationError, match=r"'inverse' raised ZeroDivisionError.*\(0\) at position 1"):
        evaluate(inv, "abc")


def test_a_map_must_return_a_rasp_value():
    with pytest.raises(RaspEvaluationError, match=r"'nothing' returned None.*position 0"):
        evaluate(Map(lambda x: None, tokens).named("nothing"), "a")
    pair = SequenceMap(lambda x, y: (x, y), tokens, indices).named("pair")
    with pytest.raises(RaspEvaluationError, match="int, float, bool or str"):
        evaluate(pair, "a")


def test_incomparable_select_names_the_select():
    sel = Select(tokens, indices, Comparison.LT).named("mixed")
    with pytest.raises(RaspEvaluationError, match=r"select 'mixed'.*key 'a' \(position 0\)"):
        evaluate(sel, "ab")


def test_constant_of_wrong_length():
    with pytest.raises(RaspEvaluationError, match="2 values but the input has 3"):
        evaluate(ConstantSOp([1, 2]), "abc")


def test_all_errors_are_rasp_errors():
    assert issubclass(RaspEvaluationError, RaspError) and issubclass(RaspInputError, RaspError)


def test_batch_and_shared_nodes():
    shared = indices + 1
    both = SequenceMap(lambda a, b: a * b, shared, shared)
    assert evaluate_batch(both, ["a", "ab", "abc"]) == [[1], [1, 4], [1, 4, 9]]


def test_deep_graphs_do_not_recurse():
    x: SOp = indices
    for _ in range(3000):
        x = x + 1
    assert evaluate(x, "ab") == [3000, 3001]


def test_sop_and_selector_are_callable_like_tracr():
    assert (tokens == "a")("ab") == [True, False]
    assert isinstance(Select(tokens, tokens, Comparison.EQ), Selector)
    assert Select(tokens, tokens, Comparison.EQ)("ab") == [[T, F], [F, T]]


# --------------------------------------------------------------------------- #
# The paper's programs against the paper's interpreter
# --------------------------------------------------------------------------- #

PAPER_PROGRAMS = Path("/work/shared/conformance/paper_programs.json")
BOS = "§"


def _indicator(sop: SOp) -> SOp:
    return Map(lambda b: 1 if b else 0, sop)


def _with_bos_selector_width(sel: Selector) -> SOp:
    """The paper's BOS trick: 1 / (share of BOS among the selected) - 1."""
    share = Aggregate(sel | Select(indices, 0, Comparison.EQ), _indicator(indices == 0))
    return Map(lambda x: round(1 / x) - 1, share)


def _sort_bos(seq: SOp, key: SOp) -> SOp:
    should_be_earlier = Select(key, key, Comparison.LT) | (
        Select(key, key, Comparison.EQ) & Select(indices, indices, Comparison.LT)
    )
    num_before = _with_bos_selector_width(should_be_earlier)
    num_before = SequenceMap(lambda i, n: -1 if i == 0 else n, indices, num_before)
    main_seq_grab_output = Select(num_before, indices - 1, Comparison.EQ)
    bos_grab_self = Select(indices, 0, Comparison.EQ) & Select(indices, indices, Comparison.EQ)
    return Aggregate(main_seq_grab_output | bos_grab_self, seq)


def _hist_bos() -> SOp:
    return _with_bos_selector_width(Select(tokens, tokens, Comparison.EQ))


def _has_earlier_with_bos() -> SOp:
    earlier_copy = Select(tokens, tokens, Comparison.EQ) & Select(indices, indices, Comparison.LT)
    return _with_bos_selector_width(earlier_copy) > 0


def _hist2_bos() -> SOp:
    hist, has_prev_copy = _hist_bos(), _has_earlier_with_bos()
    own = Select(hist, hist, Comparison.EQ) & Select(has_prev_copy, False, Comparison.EQ)
    return _with_bos_selector_width(own)


def _sort_by_most_freq(non_token: str = BOS, max_len: int = 300) -> SOp:
    has_earlier = _has_earlier_with_bos()
    filtered_freq = _hist_bos() - _indicator(has_earlier) * max_len
    filtered_tokens = SequenceMap(lambda e, t: non_token if e else t, has_earlier, tokens)
    return _sort_bos(filtered_tokens, -filtered_freq)


def _dyck1_ptf() -> SOp:
    up_to_self = Select(indices, indices, Comparison.LEQ)
    n_opens = Map(round, (indices + 1) * Aggregate(up_to_self, _indicator(tokens == "(")))
    n_closes = Map(round, (indices + 1) * Aggregate(up_to_self, _indicator(tokens == ")")))
    balance = n_opens - n_closes
    prev_imbalances = Aggregate(up_to_self, _indicator(balance < 0))
    return SequenceMap(lambda p, b: "F" if p > 0 else ("T" if b == 0 else "P"), prev_imbalances, balance)


def _paper_program(name: str, example):
    dyck = example("dyck2").make_dyck_ptf
    return {
        "hist_bos": _hist_bos,
        "hist_nobos": lambda: example("histogram").program,
        "reverse": lambda: Aggregate(Select(indices, length - 1 - indices, Comparison.EQ), tokens),
        "sort_bos": lambda: _sort_bos(tokens, tokens),
        "hist2_bos": _hist2_bos,
        "sort_by_most_freq": _sort_by_most_freq,
        "dyck1_ptf": _dyck1_ptf,
        "dyck2_ptf": lambda: dyck(["()", "{}"]),
        "dyck3_ptf": lambda: dyck(["()", "{}", "[]"]),
        "length": lambda: length,
    }[name]()


def _paper_entries():
    if not PAPER_PROGRAMS.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{PAPER_PROGRAMS} is not here"))]
    return [pytest.param(e, id=e["name"]) for e in json.loads(PAPER_PROGRAMS.read_text())["programs"]]


@pytest.mark.parametrize("entry", _paper_entries())
def test_paper_programs_match_the_papers_interpreter(entry, example):
    from rasp_ir.program import Program

    program = Program.from_dsl(
        _paper_program(entry["name"], example), vocab=entry["vocab"], max_seq_len=entry["max_seq_len"]
    )
    outputs = program.evaluate_batch(case["input"] for case in entry["cases"])
    for case, got in zip(entry["cases"], outputs):
        assert got == case["output"], case["input"]
        assert [type(v) for v in got] == [type(v) for v in case["output"]], case["input"]
    analysis = program.analysis()
    assert analysis.layers == entry["layers"]
    # The paper's library selector_width takes two heads where ours takes one.
    assert len(analysis.heads_per_layer) == len(entry["heads_per_layer"])
    assert all(ours <= theirs for ours, theirs in zip(analysis.heads_per_layer, entry["heads_per_layer"]))
