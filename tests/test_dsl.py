"""The DSL: node construction, operator sugar, annotations, the example programs
against outputs computed independently in plain Python, and tracr's library
programs written exactly as tracr writes them."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import List

import pytest

from rasp_ir.dialects.rasp import Encoding
from rasp_ir.errors import RaspEvaluationError, RaspTypeError
from rasp_ir.frontend import dsl
from rasp_ir.frontend import dsl as rasp  # how a tracr program spells it
from rasp_ir.frontend.dsl import (
    Aggregate,
    Comparison,
    Full,
    Map,
    Select,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    indices,
    length,
    tokens,
)


def inputs(vocab, max_len):
    """Every input of length 1..max_len over vocab."""
    for n in range(1, max_len + 1):
        yield from (list(xs) for xs in itertools.product(vocab, repeat=n))


# --------------------------------------------------------------------------- #
# Nodes
# --------------------------------------------------------------------------- #


def test_operator_sugar_builds_maps_and_sequence_maps():
    plus = tokens + 1
    assert isinstance(plus, Map) and plus.inner is tokens
    both = tokens * indices
    assert isinstance(both, SequenceMap) and both.children == (tokens, indices)
    xs = [3, 1, 2]
    assert (tokens + 1)(xs) == [4, 2, 3]
    assert (1 + tokens)(xs) == [4, 2, 3]
    assert (10 - tokens)(xs) == [7, 9, 8]
    assert (tokens - indices)(xs) == [3, 0, 0]
    assert (tokens * 2)(xs) == [6, 2, 4]
    assert (tokens / 2)(xs) == [1.5, 0.5, 1.0]
    assert (6 / tokens)(xs) == [2.0, 6.0, 3.0]
    assert (tokens // 2)(xs) == [1, 0, 1]
    assert (tokens % 2)(xs) == [1, 1, 0]
    assert (-tokens)(xs) == [-3, -1, -2]
    assert (tokens == 1)(xs) == [False, True, False]
    assert (tokens != 1)(xs) == [True, False, True]
    assert (tokens < 2)(xs) == [False, True, False]
    assert (tokens <= 2)(xs) == [False, True, True]
    assert (tokens > 2)(xs) == [True, False, False]
    assert (tokens >= 2)(xs) == [True, False, True]
    assert (tokens == indices)(xs) == [False, True, True]
    assert (tokens > indices)(xs) == [True, False, False]


def test_logical_operators_on_sops():
    a, b = tokens == "a", indices == 0
    assert (a & b)("aab") == [True, False, False]
    assert (a | b)("bab") == [True, True, False]
    assert (~a)("ab") == [False, True]


def test_selector_operators():
    s, t = Select(tokens, tokens, Comparison.EQ), Select(indices, indices, Comparison.LT)
    assert isinstance(s & t, SelectorAnd) and (s & t).children == (s, t)
    assert isinstance(s | t, SelectorOr)
    assert isinstance(~s, SelectorNot)
    assert isinstance(rasp.selector_and(s, t), SelectorAnd)


def test_select_takes_constants_and_comparison_names():
    sel = Select(indices, 0, "eq")
    assert isinstance(sel.queries, Full) and sel.queries.fill == 0
    assert sel.predicate is Comparison.EQ
    assert Select(indices, indices, "<=").predicate is Comparison.LEQ
    assert rasp.annotate(indices + 1, name="next").label == "next"
    assert Comparison.LT(1, 2) and not Comparison.LT(2, 1)  # pred(key, query): key < query


def test_labels_and_names():
    m = Map(lambda x: x, tokens)
    assert m.name == "map" and m.label == f"map_{m.unique_id}"
    assert m.named("double") is m and m.label == "double" and m.name == "double"
    assert tokens.label == "tokens" and indices.label == "indices" and length.label == "length"
    assert Select(tokens, tokens, Comparison.EQ).name == "select"
    assert SelectorWidth(Select(tokens, tokens, Comparison.EQ)).name == "selector_width"
    with pytest.raises(RaspTypeError):
        m.named("")


def test_annotating_a_primitive_copies_it():
    mine = tokens.named("input")
    assert mine is not tokens and isinstance(mine, dsl.TokensType)
    assert tokens.label == "tokens" and mine.label == "input"
    num = dsl.numerical(indices)
    assert num is not indices and indices.encoding is None and num.encoding == Encoding.NUMERICAL


def test_encodings():
    m = Map(lambda x: x, indices)
    assert dsl.get_encoding(m) is None  # undecided: the compiler chooses
    assert dsl.numerical(m) is m and dsl.is_numerical(m)
    assert dsl.categorical(m) is m and dsl.is_categorical(m)
    assert m.annotations == {"name": "map", "encoding": Encoding.CATEGORICAL}
    assert m.annotated(encoding="numerical", name="x").encoding == Encoding.NUMERICAL
    with pytest.raises(RaspTypeError):
        dsl.numerical(Select(tokens, tokens, Comparison.EQ))


def test_sops_have_no_truth_value():
    with pytest.raises(RaspTypeError, match="no truth value"):
        if tokens == "a":
            pass


def test_nodes_are_hashable_by_identity():
    a, b = tokens + 1, tokens + 1
    assert len({a, b, a}) == 2


def test_constructor_checks():
    with pytest.raises(RaspTypeError):
        Map("not a function", tokens)
    with pytest.raises(RaspTypeError):
        Aggregate(Select(tokens, tokens, Comparison.EQ), tokens, default=[1])
    with pytest.raises(RaspTypeError):
        Aggregate(tokens, tokens)
    with pytest.raises(RaspTypeError):
        SelectorWidth(tokens)
    with pytest.raises(RaspTypeError):
        Select(tokens, tokens, "almost")
    with pytest.raises(RaspTypeError):
        dsl.LinearSequenceMap(tokens, indices, "1", 2)
    with pytest.raises(RaspTypeError):
        Full(None)


def test_map_simplify_fuses_only_when_asked():
    inner = Map(lambda x: x + 1, indices)
    assert Map(lambda x: x * 2, inner).inner is inner
    fused = Map(lambda x: x * 2, inner, simplify=True)
    assert fused.inner is indices and fused("abc") == [2, 4, 6]


def test_topological_order_puts_children_first():
    a = indices + 1
    b = SequenceMap(lambda x, y: x + y, a, indices)
    order = dsl.topological_order(b)
    pos = {id(n): i for i, n in enumerate(order)}  # by identity: == on s-ops builds a Map
    assert pos[id(indices)] < pos[id(a)] < pos[id(b)]
    assert len(order) == 3


# --------------------------------------------------------------------------- #
# The examples against plain Python
# --------------------------------------------------------------------------- #


def reverse_py(xs):
    return list(reversed(xs))


def hist_py(xs):
    counts = Counter(xs)
    return [counts[x] for x in xs]


def frac_prevs_py(xs):
    return [sum(x == "a" for x in xs[: i + 1]) / (i + 1) for i in range(len(xs))]


def most_frequent_py(xs, filler="-"):
    counts = Counter(xs)
    firsts = list(dict.fromkeys(xs))  # distinct, in order of first occurrence
    ordered = sorted(firsts, key=lambda t: -counts[t])  # stable: ties keep that order
    return ordered + [filler] * (len(xs) - len(ordered))


def dyck_py(xs, pairs):
    """T/P/F per prefix with a stack."""
    opener_of = {p[1]: p[0] for p in pairs}
    stack, failed, out = [], False, []
    for t in xs:
        if not failed:
            if t in opener_of:
                if stack and stack[-1] == opener_of[t]:
                    stack.pop()
                else:
                    failed = True
            else:
                stack.append(t)
        out.append("F" if failed else ("T" if not stack else "P"))
    return out


@pytest.mark.parametrize(
    "name, expected, max_len",
    [
        ("reverse", reverse_py, 5),
        ("histogram", hist_py, 5),
        ("length", lambda xs: [len(xs)] * len(xs), 4),
        ("sort", sorted, 4),
        ("most_frequent", most_frequent_py, 5),
        ("dyck1", lambda xs: dyck_py(xs, ["()"]), 8),
        ("dyck2", lambda xs: dyck_py(xs, ["()", "{}"]), 4),
    ],
)
def test_example_on_every_short_input(example, name, expected, max_len):
    module = example(name)
    vocab = module.VOCAB[:4]
    for xs in inputs(vocab, min(max_len, module.MAX_SEQ_LEN)):
        assert module.program(xs) == expected(xs), xs


def test_example_frac_prevs(example):
    module = example("frac_prevs")
    for xs in inputs(module.VOCAB, 4):
        got = module.program(xs)
        assert all(math.isclose(g, e) for g, e in zip(got, frac_prevs_py(xs))), xs


def test_example_sort_unique(example):
    module = example("sort_unique")
    for xs in itertools.permutations([5, 2, 8, 1], 4):
        assert module.program(list(xs)) == sorted(xs)
    # Repeated keys leave a position that reads nothing: the default, 0.
    assert module.program([2, 2, 1]) == [1, 2, 0]


def test_example_dyck_by_hand(example):
    dyck1, dyck2 = example("dyck1").program, example("dyck2").program
    assert dyck1("(())") == ["P", "P", "P", "T"]
    assert dyck1("())(") == ["P", "T", "F", "F"]
    assert dyck2("({})") == ["P", "P", "P", "T"]
    assert dyck2("({)}") == ["P", "P", "F", "F"]
    assert dyck2("}") == ["F"]
    assert example("most_frequent").program("abbcb") == ["b", "a", "c", "-", "-"]


# --------------------------------------------------------------------------- #
# tracr's library, as tracr writes it (only the import changed)
# --------------------------------------------------------------------------- #


def make_length() -> rasp.SOp:
    all_true_selector = rasp.Select(rasp.tokens, rasp.tokens, rasp.Comparison.TRUE).named("all_true_selector")
    return rasp.SelectorWidth(all_true_selector).named("length")


tracr_length = make_length()


def make_reverse(sop: rasp.SOp) -> rasp.SOp:
    opp_idx = (tracr_length - rasp.indices).named("opp_idx")
    opp_idx = (opp_idx - 1).named("opp_idx-1")
    reverse_selector = rasp.Select(rasp.indices, opp_idx, rasp.Comparison.EQ).named("reverse_selector")
    return rasp.Aggregate(reverse_selector, sop).named("reverse")


def make_hist() -> rasp.SOp:
    same_tok = rasp.Select(rasp.tokens, rasp.tokens, rasp.Comparison.EQ).named("same_tok")
    return rasp.SelectorWidth(same_tok).named("hist")


def make_sort_unique(vals: rasp.SOp, keys: rasp.SOp) -> rasp.SOp:
    smaller = rasp.Select(keys, keys, rasp.Comparison.LT).named("smaller")
    target_pos = rasp.SelectorWidth(smaller).named("target_pos")
    sel_new = rasp.Select(target_pos, rasp.indices, rasp.Comparison.EQ)
    return rasp.Aggregate(sel_new, vals).named("sort")


def make_sort(vals: rasp.SOp, keys: rasp.SOp, *, max_seq_len: int, min_key: float) -> rasp.SOp:
    keys = rasp.SequenceMap(lambda x, i: x + min_key * i / max_seq_len, keys, rasp.indices)
    return make_sort_unique(vals, keys)


def make_sort_freq(max_seq_len: int) -> rasp.SOp:
    hist = -1 * make_hist().named("hist")
    return make_sort(rasp.tokens, hist, max_seq_len=max_seq_len, min_key=1).named("sort_freq")


def make_frac_prevs(bools: rasp.SOp) -> rasp.SOp:
    bools = rasp.numerical(bools)
    prevs = rasp.Select(rasp.indices, rasp.indices, rasp.Comparison.LEQ)
    return rasp.numerical(rasp.Aggregate(prevs, bools, default=0)).named("frac_prevs")


def make_pair_balance(sop: rasp.SOp, open_token: str, close_token: str) -> rasp.SOp:
    bools_open = rasp.numerical(sop == open_token).named("bools_open")
    opens = rasp.numerical(make_frac_prevs(bools_open)).named("opens")
    bools_close = rasp.numerical(sop == close_token).named("bools_close")
    closes = rasp.numerical(make_frac_prevs(bools_close)).named("closes")
    pair_balance = rasp.numerical(rasp.LinearSequenceMap(opens, closes, 1, -1))
    return pair_balance.named("pair_balance")


def make_shuffle_dyck(pairs: List[str]) -> rasp.SOp:
    balances = []
    for pair in pairs:
        open_token, close_token = pair
        balance = make_pair_balance(rasp.tokens, open_token=open_token, close_token=close_token).named(
            f"balance_{pair}"
        )
        balances.append(balance)
    any_negative = balances[0] < 0
    for balance in balances[1:]:
        any_negative = any_negative | (balance < 0)
    any_negative = rasp.numerical(rasp.Map(lambda x: x, any_negative)).named("any_negative")
    select_all = rasp.Select(rasp.indices, rasp.indices, rasp.Comparison.TRUE).named("select_all")
    has_neg = rasp.numerical(rasp.Aggregate(select_all, any_negative, default=0)).named("has_neg")
    all_zero = balances[0] == 0
    for balance in balances[1:]:
        all_zero = all_zero & (balance == 0)
    select_last = rasp.Select(rasp.indices, tracr_length - 1, rasp.Comparison.EQ).named("select_last")
    last_zero = rasp.Aggregate(select_last, all_zero).named("last_zero")
    not_has_neg = (~has_neg).named("not_has_neg")
    return (last_zero & not_has_neg).named("shuffle_dyck")


def make_count(sop, token):
    return rasp.SelectorWidth(rasp.Select(sop, sop, lambda k, q: k == token)).named(f"count_{token}")


def shift_by(offset: int, /, sop: rasp.SOp) -> rasp.SOp:
    select_off_by_offset = rasp.Select(rasp.indices, rasp.indices, lambda k, q: q == k + offset)
    out = rasp.Aggregate(select_off_by_offset, sop, default=None)
    return out.named(f"shift_by({offset})")


def test_tracr_docstring_examples():
    assert tracr_length("abcdefg") == [7] * 7
    assert make_reverse(rasp.tokens)("Hello") == list("olleH")
    assert make_hist()("abac") == [2, 1, 2, 1]
    assert make_sort_unique(rasp.tokens, rasp.tokens)([2, 4, 3, 1]) == [1, 2, 3, 4]
    assert make_sort(rasp.tokens, rasp.tokens, max_seq_len=5, min_key=1)([2, 4, 1, 2]) == [1, 2, 2, 4]
    assert make_sort_freq(max_seq_len=5)([2, 4, 2, 1]) == [2, 2, 4, 1]
    got = make_frac_prevs(rasp.tokens == "l")("hello")
    assert all(math.isclose(g, e) for g, e in zip(got, [0, 0, 1 / 3, 1 / 2, 2 / 5]))
    got = make_pair_balance(rasp.tokens, "(", ")")("a()b(c))")
    assert all(math.isclose(g, e, abs_tol=1e-12) for g, e in zip(got, [0, 1 / 2, 0, 0, 1 / 5, 1 / 6, 0, -1 / 8]))
    shuffle_dyck2 = make_shuffle_dyck(pairs=["()", "{}"])
    assert shuffle_dyck2("({)}") == [1, 1, 1, 1]
    assert shuffle_dyck2("(){)}") == [0, 0, 0, 0, 0]
    assert make_count(rasp.tokens, "a")(["a", "a", "a", "b", "b", "c"]) == [3] * 6
    # tracr pads with None; RASP's default is 0 where nothing is selected.
    assert shift_by(1, rasp.tokens)("abc") == [0, "a", "b"]


def test_tracr_tuples_are_not_rasp_values():
    def make_nary_sequencemap(f, *sops):
        values, *sops = sops
        for sop in sops:
            values = rasp.SequenceMap(lambda x, y: (*x, y) if isinstance(x, tuple) else (x, y), values, sop)
        return rasp.Map(lambda args: f(*args), values)

    with pytest.raises(RaspEvaluationError, match="int, float, bool or str"):
        make_nary_sequencemap(lambda a, b, c: a + b + c, rasp.tokens, rasp.tokens, rasp.tokens)("ab")
