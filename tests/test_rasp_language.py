"""The `.rasp` language front end (`rasp_ir.frontend.rasp_parser`).

Each construct of the language, each precedence surprise of the original grammar
(pinned against what Python would do), located errors, the graph the parser
builds, the standard library, the examples, and the conformance programs: every
program of /work/shared/conformance gives the outputs of the paper's interpreter.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import rasp_ir
from rasp_ir.errors import RaspError, RaspEvaluationError, RaspSyntaxError, RaspTypeError
from rasp_ir.frontend import dsl
from rasp_ir.frontend.rasp_parser import lift, load_rasp, parse_rasp, parse_rasp_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CONFORMANCE = Path("/work/shared/conformance")


def run(source: str, tokens, output: str | None = None, **kw) -> list:
    return parse_rasp(source, output=output, **kw).evaluate(tokens)


def value(source: str, name: str):
    """A compile-time value the program computes."""
    return load_rasp(source)[name]


def strict(xs: list) -> list:
    """Values with their types, so 1, 1.0 and True differ."""
    return [(type(x).__name__, x) for x in xs]


# --------------------------------------------------------------------------- #
# Statements
# --------------------------------------------------------------------------- #


def test_assignments_comments_and_default_output():
    src = """
    # a comment on its own line
    a = tokens;          # a comment after a statement
    b = indices + 1;
    n = 3;               # a number: not an s-op, so not the output
    """
    prog = parse_rasp(src)
    assert prog.name == "b"
    assert prog.evaluate(["x", "y"]) == [1, 2]
    assert parse_rasp(src, output="a").evaluate(["x", "y"]) == ["x", "y"]


def test_default_output_is_the_last_sop_assigned():
    prog = parse_rasp("x = indices + 1;\nx = 3;\ny = [1];")
    assert prog.name == "x" and prog.evaluate(["a", "b"]) == [1, 2]
    # in a for loop at the top level too
    prog = parse_rasp("acc = indices;\nfor i in [1, 2] { acc = acc * 10 + i; }")
    assert prog.evaluate(["a", "b"]) == [12, 112]


def test_public_entry_point():
    prog = rasp_ir.parse_rasp("r = aggregate(select(indices, length - indices - 1, ==), tokens);", output="r")
    assert isinstance(prog, rasp_ir.Program)
    assert prog.evaluate(list("abc")) == ["c", "b", "a"]


def test_tuple_assignment_and_functions_returning_tuples():
    src = """
    def both(s) { return s + 1, s * 2; }
    a, b = both(indices);
    pair = both(indices);        # one name: the list of both
    c, d = 10, "x";
    e, f = [1, 2];
    """
    m = load_rasp(src)
    assert m.program("a").evaluate([0, 0, 0]) == [1, 2, 3]
    assert m.program("b").evaluate([0, 0, 0]) == [0, 2, 4]
    assert isinstance(m["pair"], list) and len(m["pair"]) == 2
    assert (m["c"], m["d"], m["e"], m["f"]) == (10, "x", 1, 2)


def test_functions_nested_defs_and_closures():
    src = """
    def outer(x) {
        def inner(y) { return y * k; }   # k is global, defined after outer
        z = inner(x) + 1;
        return z;
    }
    k = 10;
    r = outer(indices);
    q = outer(2);
    """
    m = load_rasp(src)
    assert m.program("r").evaluate(list("abc")) == [1, 11, 21]
    assert m["q"] == 21
    assert "z" not in m  # function locals stay local


def test_for_loops_leak_their_variables_and_iterate_dict_keys():
    src = """
    total = 0;
    for i in range(4) { total = total + i; }
    keys = "";
    for k in {"a": 1, "b": 2} { keys = keys + k; }
    acc = indices;
    for x, y in zip([1, 2], [10, 20]) { acc = acc + x * y; }
    """
    m = load_rasp(src)
    assert m["total"] == 6 and m["i"] == 3
    assert m["keys"] == "ab"
    assert m["x"] == 2 and m["y"] == 20
    assert m.program("acc").evaluate([0, 0]) == [50, 51]


def test_bare_expressions_are_evaluated():
    with pytest.raises(RaspTypeError, match="unknown name 'nope'"):
        load_rasp("x = 1;\nnope + 1;")


def test_load_shares_public_names_and_keeps_private_ones(tmp_path):
    (tmp_path / "lib.rasp").write_text(
        "_secret = 5;\n"
        "def add_secret(s) { return s + _secret; }\n"
        "shifted = add_secret(indices);\n"
    )
    (tmp_path / "main.rasp").write_text('load "lib";\nout = shifted * 2;\n')
    prog = parse_rasp_file(tmp_path / "main.rasp")
    assert prog.name == "out"
    assert prog.evaluate(["a", "b"]) == [10, 12]
    # The function keeps seeing its own file's private name; the loader does not.
    (tmp_path / "bad.rasp").write_text('load "lib.rasp";\nout = indices + _secret;\n')
    with pytest.raises(RaspTypeError, match=r"bad\.rasp:2:\d+: unknown name '_secret'"):
        parse_rasp_file(tmp_path / "bad.rasp")


def test_load_of_missing_or_self_loading_file(tmp_path):
    with pytest.raises(RaspTypeError, match=r'<rasp>:1:6: cannot find the file "nowhere"'):
        load_rasp('load "nowhere";')
    (tmp_path / "loop.rasp").write_text('load "loop";\n')
    with pytest.raises(RaspTypeError, match="loads itself"):
        parse_rasp_file(tmp_path / "loop.rasp")


# --------------------------------------------------------------------------- #
# Values and element-wise operations
# --------------------------------------------------------------------------- #


def test_literals_lists_dicts_and_comprehensions():
    src = """
    n = 3; f = 2.5; s = "a b"; t = True;
    l = [1, "two", [3]];
    d = {"x": 1, 2: "y"};
    sq = [i * i for i in range(n)];
    inv = {v: k for k, v in zip(["a", "b"], [1, 2])};
    ks = [k for k in d];
    nested = [[a, b] for a, b in zip(range(2), range(2, 4))];
    size = len(l) + len(d) + len("abc");
    first = l[0]; last = l[-1]; ch = s[2]; dv = d[2];
    """
    m = load_rasp(src)
    assert (m["n"], m["f"], m["s"], m["t"]) == (3, 2.5, "a b", True)
    assert m["l"] == [1, "two", [3]]
    assert m["d"] == {"x": 1, 2: "y"}
    assert m["sq"] == [0, 1, 4]
    assert m["inv"] == {1: "a", 2: "b"}
    assert m["ks"] == ["x", 2]
    assert m["nested"] == [[0, 2], [1, 3]]
    assert m["size"] == 8
    assert (m["first"], m["last"], m["ch"], m["dv"]) == (1, [3], "b", "y")
    assert "i" not in m and "k" not in m  # comprehension variables stay inside


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("7 / 2", 3.5),  # true division
        ("4 / 2", 2.0),
        ("-7 % 3", 2),  # Python's modulo
        ("7 % -3", -2),
        ("2 ^ 10", 1024),  # power
        ("2 ^ -1", 0.5),
        ("round(2.5)", 2),  # half to even, an int
        ("round(3.5)", 4),
        ("round(-0.5)", 0),
        ("indicator(3)", 1),
        ("indicator(0)", 0),
        ('"ab" + "c"', "abc"),
        ("0 or 5", 5),  # on values, and/or are Python's
        ("3 and 0", 0),
        ("not 0", True),
        ("2 in [1, 2]", True),
        ('"b" in {"a": 1, "b": 2}', True),
        ("1 if 0 else 2", 2),
        ("[1] + [2]", [1, 2]),
    ],
)
def test_compile_time_expressions(expr, expected):
    got = value(f"x = {expr};", "x")
    assert got == expected and type(got) is type(expected)


def test_conditional_on_a_value_evaluates_one_branch_only():
    assert value("x = 1 if True else undefined_name;", "x") == 1


def test_elementwise_arithmetic_on_sops():
    src = """
    div = tokens_int / 2;
    mod = (tokens_int - 4) % 3;
    pw = tokens_int ^ 2;
    r = round(tokens_int / 2);
    neg = -tokens_int;
    both = tokens_int * indices + 1;
    """
    m = load_rasp(src)
    xs = [0, 1, 3, 5]
    assert strict(m.program("div").evaluate(xs)) == strict([0.0, 0.5, 1.5, 2.5])
    assert m.program("mod").evaluate(xs) == [2, 0, 2, 1]
    assert m.program("pw").evaluate(xs) == [0, 1, 9, 25]
    assert strict(m.program("r").evaluate(xs)) == strict([0, 0, 2, 2])  # 0.5 -> 0, 2.5 -> 2
    assert m.program("neg").evaluate(xs) == [0, -1, -3, -5]
    assert m.program("both").evaluate(xs) == [1, 2, 7, 16]


def test_string_concatenation_and_comparisons_on_sops():
    src = """
    pairs = tokens + tokens;
    lt = tokens < "c";
    eq = tokens == "b";
    ne = tokens != "b";
    """
    m = load_rasp(src)
    assert m.program("pairs").evaluate(list("ab")) == ["aa", "bb"]
    assert m.program("lt").evaluate(list("bcd")) == [True, False, False]
    assert m.program("eq").evaluate(list("abc")) == [False, True, False]
    assert m.program("ne").evaluate(list("abc")) == [True, False, True]


def test_logical_operators_on_sops_give_bools():
    src = """
    a = tokens_int and 7;      # Python's `0 and 7` is 0; RASP gives bools
    o = tokens_int or 0;
    n = not tokens_int;
    ind = indicator(tokens_int > 1);
    """
    m = load_rasp(src)
    xs = [0, 1, 2]
    assert strict(m.program("a").evaluate(xs)) == strict([False, True, True])
    assert strict(m.program("o").evaluate(xs)) == strict([False, True, True])
    assert strict(m.program("n").evaluate(xs)) == strict([True, False, False])
    assert strict(m.program("ind").evaluate(xs)) == strict([0, 0, 1])


def test_conditional_on_sops():
    src = """
    c1 = "small" if tokens_int < 2 else "big";
    c2 = tokens_int if tokens_int > indices else indices;
    c3 = (tokens_int * 10) if (indices == 1) else (-indices);   # three distinct s-ops
    c4 = "a" if tokens_int == 0 else ("b" if tokens_int == 1 else "c");
    """
    m = load_rasp(src)
    xs = [0, 3, 1, 0]
    assert m.program("c1").evaluate(xs) == ["small", "big", "small", "small"]
    assert m.program("c2").evaluate(xs) == [0, 3, 2, 3]
    assert m.program("c3").evaluate(xs) == [0, 30, -2, -3]
    assert m.program("c4").evaluate(xs) == ["a", "c", "b", "a"]


def test_in_operator():
    src = """
    vowel = tokens in ["a", "e", "i", "o", "u"];
    has_z = "z" in tokens;
    """
    m = load_rasp(src)
    assert m.program("vowel").evaluate(list("hat")) == [False, True, False]
    assert m.program("has_z").evaluate(list("zoo")) == [True, True, True]
    assert m.program("has_z").evaluate(list("too")) == [False, False, False]


def test_indexing_an_sop_reads_one_position():
    src = """
    first = tokens[0];
    last = tokens[-1];
    second_last = tokens[-2];
    far = tokens_int[7];       # no such position: aggregate's default 0
    """
    m = load_rasp(src)
    assert m.program("first").evaluate(list("abc")) == ["a", "a", "a"]
    assert m.program("last").evaluate(list("abc")) == ["c", "c", "c"]
    assert m.program("second_last").evaluate(list("abc")) == ["b", "b", "b"]
    assert m.program("far").evaluate([5, 6]) == [0, 0]
    assert isinstance(m["first"], dsl.Aggregate)


# --------------------------------------------------------------------------- #
# select, aggregate, selector_width
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "op, pred",
    [
        ("==", lambda k, q: k == q),
        ("!=", lambda k, q: k != q),
        ("<", lambda k, q: k < q),
        (">", lambda k, q: k > q),
        ("<=", lambda k, q: k <= q),
        (">=", lambda k, q: k >= q),
    ],
)
def test_select_compares_keys_op_queries(op, pred):
    """`select(keys, queries, op)`: query q selects key k when `keys[k] op queries[q]`."""
    sel = value(f"s = select(tokens_int, indices, {op});", "s")
    xs = [2, 0, 1, 3]
    matrix = sel(xs)
    assert matrix == [[pred(k, q) for k in xs] for q in range(len(xs))]


def test_select_with_constants_and_selector_logic():
    src = """
    at0 = select(indices, 0, ==);
    before = select(indices, indices, <);
    either = at0 or before;
    both = at0 and before;
    neither = not either;
    """
    m = load_rasp(src)
    n = 3
    at0 = [[k == 0 for k in range(n)] for q in range(n)]
    before = [[k < q for k in range(n)] for q in range(n)]
    assert m["either"]([0] * n) == [[a or b for a, b in zip(r, s)] for r, s in zip(at0, before)]
    assert m["both"]([0] * n) == [[a and b for a, b in zip(r, s)] for r, s in zip(at0, before)]
    assert m["neither"]([0] * n) == [[not (a or b) for a, b in zip(r, s)] for r, s in zip(at0, before)]
    assert isinstance(m["either"], dsl.SelectorOr) and isinstance(m["neither"], dsl.SelectorNot)


def test_aggregate_semantics():
    src = """
    prevs = select(indices, indices, <);
    mean = aggregate(prevs, tokens_int);             # none selected: 0; several: a float mean
    with_default = aggregate(prevs, tokens_int, -1);
    copy = aggregate(select(indices, indices - 1, ==), tokens_str, "none");   # one selected: copied
    of_const = aggregate(prevs, 1, 0);
    strings = aggregate(prevs, tokens_str);
    """
    m = load_rasp(src)
    xs = [4, 2, 6]
    assert strict(m.program("mean").evaluate(xs)) == strict([0, 4, 3.0])
    assert strict(m.program("with_default").evaluate(xs)) == strict([-1, 4, 3.0])
    assert m.program("copy").evaluate(xs) == ["none", "4", "2"]
    assert m.program("of_const").evaluate(xs) == [0, 1, 1.0]
    with pytest.raises(RaspEvaluationError, match="cannot average strings"):
        m.program("strings").evaluate(xs)


def test_selector_width_and_length_are_the_dsl_primitives():
    m = load_rasp("w = selector_width(select(tokens, tokens, ==));\nn = length;")
    assert isinstance(m["w"], dsl.SelectorWidth)
    assert isinstance(m["n"], dsl.LengthType)
    assert m.program("w").evaluate(list("abca")) == [2, 1, 1, 2]
    assert m.program("n").evaluate(list("abca")) == [4, 4, 4, 4]


# --------------------------------------------------------------------------- #
# The input tokens
# --------------------------------------------------------------------------- #


def test_token_views_convert_like_the_original():
    src = """
    s = tokens_str; t = tokens; i = tokens_int; f = tokens_float; b = tokens_bool; raw = tokens_asis;
    """
    m = load_rasp(src)
    assert m["t"] is m["s"]
    assert strict(m.program("s").evaluate([1, 2])) == strict(["1", "2"])
    assert strict(m.program("i").evaluate(["3", "04"])) == strict([3, 4])
    assert strict(m.program("f").evaluate(["1.5", "2"])) == strict([1.5, 2.0])
    assert strict(m.program("b").evaluate([0, 2])) == strict([False, True])
    assert strict(m.program("raw").evaluate([1, "a"])) == strict([1, "a"])
    assert isinstance(m["i"], dsl.Map) and m["i"].inner is dsl.tokens


def test_a_stated_vocabulary_makes_its_view_the_input_itself():
    src = "i = tokens_int; s = tokens_str;"
    m = load_rasp(src, vocab=[0, 1, 2])
    assert m["i"] is dsl.tokens
    assert isinstance(m["s"], dsl.Map)
    assert load_rasp(src, vocab=["a", "b"])["s"] is dsl.tokens
    prog = parse_rasp("x = tokens_int + 1;", vocab=[0, 1, 2], max_seq_len=4)
    assert prog.vocab == (0, 1, 2) and prog.max_seq_len == 4


# --------------------------------------------------------------------------- #
# The graph the parser builds
# --------------------------------------------------------------------------- #


def _nodes(sop: dsl.RASPExpr) -> list[dsl.RASPExpr]:
    return dsl.topological_order(sop)


def test_constants_fold_into_maps_not_full_sops():
    m = load_rasp("a = indices + 1; b = 1 - indices; c = indices == 2; d = \"x\" if indices > 0 else \"y\";")
    for name in "abcd":
        nodes = _nodes(m[name])
        assert nodes[0] is dsl.indices, name
        assert all(type(n) is dsl.Map for n in nodes[1:]), name  # no Full, no SequenceMap
    assert len(_nodes(m["a"])) == 2
    assert m.program("b").evaluate([0, 0, 0]) == [1, 0, -1]


def test_two_sops_make_a_sequence_map_and_a_repeated_sop_a_map():
    m = load_rasp("s = indices * length; sq = indices * indices;")
    assert type(m["s"]) is dsl.SequenceMap
    assert (m["s"].fst, m["s"].snd) == (dsl.indices, dsl.length)
    assert type(m["sq"]) is dsl.Map
    assert m.program("sq").evaluate([0, 0, 0]) == [0, 1, 4]


def test_three_sops_make_nested_sequence_maps():
    m = load_rasp("c = tokens_int if indices > 0 else length;")
    node = m["c"]
    assert type(node) is dsl.SequenceMap and type(node.fst) is dsl.SequenceMap
    assert all(isinstance(v, (int, float, bool, str)) for v in node.fst([1, 2, 3]))  # values, not tuples
    assert m.program("c").evaluate([7, 8, 9]) == [3, 8, 9]


def test_lift_packs_more_than_two_sops_into_nested_sequence_maps():
    node = lift(lambda t, one, n, i, two: t * 1000 + one * 100 + n * 10 + i * two, [dsl.tokens, 1, dsl.length,
                                                                                  dsl.indices, 2])
    assert type(node) is dsl.SequenceMap and type(node.fst) is dsl.SequenceMap
    assert node([7, 8, 9]) == [7130, 8132, 9134]


def test_assignment_names_nodes():
    m = load_rasp("flip = select(indices, length - indices - 1, ==);\nrev = aggregate(flip, tokens);")
    assert m["flip"].label == "flip" and m["rev"].label == "rev"
    assert m.program().name == "rev"


# --------------------------------------------------------------------------- #
# Precedence: the original grammar's, surprises included
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "expr, rasp, python",
    [
        # `not` binds tighter than every binary operator.
        ("not 1 == 2", False, True),  # (not 1) == 2
        ("not 0 + 1", 2, False),  # (not 0) + 1
        # unary minus binds tighter than ^.
        ("-2 ^ 2", 4, -4),  # (-2) ^ 2
        # ^ groups to the left.
        ("2 ^ 3 ^ 2", 64, 512),
        # % is looser than * and /.
        ("7 % 3 * 2", 1, 2),  # 7 % (3 * 2)
        ("17 % 10 / 2", 2.0, 3.5),  # 17 % (10 / 2) = 17 % 5.0
        # and / or share one level, left to right.
        ("True or False and False", False, True),  # (True or False) and False
        # comparisons do not chain.
        ("3 > 2 > 1", False, True),  # (3 > 2) > 1
        # nested unparenthesised conditionals group to the left.
        ("1 if True else 2 if False else 3", 3, 1),  # (1 if True else 2) if False else 3
        # `in` is the loosest operator: below `and` and below the conditional.
        ("False and 1 in [False]", True, False),  # (False and 1) in [False]
        ("1 in [1] if False else [2]", False, [2]),  # 1 in ([1] if False else [2])
    ],
)
def test_precedence_surprises(expr, rasp, python):
    assert eval(expr.replace("^", "**")) == python  # what Python would say  # noqa: S307
    got = value(f"x = {expr};", "x")
    assert got == rasp and type(got) is type(rasp)


def test_precedence_applies_to_sops_too():
    src = """
    a = not tokens_int == 0;        # (not t) == 0, i.e. t is truthy
    b = -tokens_int ^ 2;             # (-t) ^ 2
    c = tokens_int % 3 * 2;          # t % 6
    d = not tokens in ["a"];         # (not tokens) in ["a"]: a bool is never "a"
    """
    m = load_rasp(src)
    assert m.program("a").evaluate([0, 5]) == [False, True]
    assert m.program("b").evaluate([3, -2]) == [9, 4]
    assert m.program("c").evaluate([7, 5]) == [1, 5]
    assert m.program("d").evaluate(["a", "b"]) == [False, False]


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


def _error(source: str, cls=RaspError, filename: str = "prog.rasp") -> RaspError:
    with pytest.raises(cls) as info:
        load_rasp(source, filename).program()
    return info.value


def test_syntax_error_shows_file_line_column_and_caret():
    err = _error("a = 1;\nb = tokens @ 2;\n", RaspSyntaxError)
    assert str(err).splitlines() == [
        "prog.rasp:2:12: unexpected character '@'",
        "    b = tokens @ 2;",
        "               ^",
    ]
    assert (err.filename, err.line, err.column) == ("prog.rasp", 2, 12)


@pytest.mark.parametrize(
    "source, where, message",
    [
        ("x = tokens + 1\ny = 2;", "1:15", "missing ';'"),
        ("x = (tokens + 1;", "1:16", "unexpected ';'; expected ')'"),
        ('x = "abc;', "1:5", "unterminated string"),
        ("x = select(tokens, tokens, +);", "1:28", "expected a comparison"),
        ("def f(a) { x = a; }", "1:19", "ends with a return statement"),
        ("x = 1 +", "1:8", "unexpected end of text; expected an expression"),
        ("x = [1 for]", "1:11", "expected a name"),
        ("x, 1 = 2, 3;", "1:4", "only names can be assigned to"),
    ],
)
def test_syntax_errors(source, where, message):
    err = _error(source, RaspSyntaxError)
    assert str(err).startswith(f"prog.rasp:{where}: ")
    assert message in str(err)
    assert "^" in str(err).splitlines()[-1]


@pytest.mark.parametrize(
    "source, where, message",
    [
        ("x = tokns + 1;", "1:5", "unknown name 'tokns' (did you mean 'tokens'?)"),
        ("x = aggregate(tokens, tokens);", "1:15", "aggregate's first argument is a selector, not an s-op"),
        ("s = select(tokens, tokens, ==);\nx = s + 1;", "2:5", "'+' works on s-ops and values, not on a selector"),
        ("x = selector_width(tokens);", "1:20", "selector_width takes a selector"),
        ("x = aggregate(select(indices, 0, ==), tokens, tokens);", "1:47", "aggregate's default is a value"),
        ("def f(a, b) { return a; }\nx = f(indices);", "2:5", "f takes 2 arguments (a, b), but 1 was given"),
        ("x = round(1, 2);", "1:5", "round takes 1 argument, but 2 were given"),
        ("indices = 3;", "1:1", "cannot assign to 'indices': it is a built-in name"),
        ("x = tokens + [1];", "1:14", "not a list"),
        ("x = select(indices, indices, ==) and tokens;", "1:34", "not a selector and an s-op"),
        ("x = tokens[tokens];", "1:12", "an s-op is indexed by an integer"),
        ("x = [1, 2][2];", "1:12", "index 2 is out of range"),
        ('x = {"a": 1}["b"];', "1:14", "key 'b' is not in the dict"),
        ("x, y = 1;", "1:8", "cannot unpack the number 1 into 2 names"),
        ("for x in 3 { y = x; }", "1:10", "a for loop goes over a list or a dict"),
        ('x = 1 + "a";', "1:7", "'+' cannot take the number 1 and the string \"a\""),
        ("x = tokens in tokens;", "1:15", "needs X to be a list of values"),
        ("x = indices(3);", "1:5", "is not a function"),
        ("def f(x) { return f(x); }\ny = f(1);", "1:19", "(endless recursion?)"),
    ],
)
def test_type_errors(source, where, message):
    err = _error(source, RaspTypeError)
    first = str(err).splitlines()[0]
    assert first.startswith(f"prog.rasp:{where}: "), first
    assert message in first


def test_division_by_zero_at_compile_time():
    err = _error("x = 1 / 0;", RaspEvaluationError)
    assert str(err).startswith("prog.rasp:1:7: division by zero")


def test_an_error_inside_a_function_names_the_call():
    err = _error("def f(a) {\n  return a + select(indices, indices, ==);\n}\ny = f(tokens);", RaspTypeError)
    lines = str(err).splitlines()
    assert lines[0].startswith("prog.rasp:2:14: '+' works on s-ops and values")
    assert lines[-1] == "  in f(), called at prog.rasp:4:5"


def test_output_errors():
    src = "s = select(indices, indices, ==);\nx = aggregate(s, tokens);"
    with pytest.raises(RaspTypeError, match=r"prog\.rasp: no s-op named 'nope' \(the program's s-ops: x\)"):
        parse_rasp(src, output="nope", filename="prog.rasp")
    with pytest.raises(RaspTypeError, match="the output 's' is a selector"):
        parse_rasp(src, output="s", filename="prog.rasp")
    with pytest.raises(RaspTypeError, match="assigns no s-op"):
        parse_rasp("x = 3;", filename="prog.rasp")
    with pytest.raises(RaspTypeError, match="RASP source is text"):
        parse_rasp(b"x = tokens;")  # type: ignore[arg-type]


def test_errors_at_evaluation_come_from_the_interpreter():
    prog = parse_rasp("x = 1 / (indices - 1);")
    with pytest.raises(RaspEvaluationError, match="ZeroDivisionError"):
        prog.evaluate(["a", "b"])


# --------------------------------------------------------------------------- #
# The standard library
# --------------------------------------------------------------------------- #

INPUTS = ["a", "ab", "aab", "bab", "abcab", "ccc", "bca"]


def _python_sort(xs):
    return [x for _, x in sorted(zip(xs, xs), key=lambda p: p[0])]


@pytest.mark.parametrize(
    "expr, reference",
    [
        ("count(tokens, \"a\")", lambda xs: [xs.count("a")] * len(xs)),
        ("contains(tokens, \"b\")", lambda xs: ["b" in xs] * len(xs)),
        ("max(tokens, \"b\")", lambda xs: [max(x, "b") for x in xs]),
        ("min(indices, 1)", lambda xs: [min(i, 1) for i in range(len(xs))]),
        ("average(indicator(tokens == \"a\"))", lambda xs: [xs.count("a") / len(xs)] * len(xs)),
        ("load_from_location(tokens, length - 1)", lambda xs: [xs[-1]] * len(xs)),
        ("shift(tokens, 1, \"_\")", lambda xs: ["_"] + xs[:-1]),
        ("mark_first_instance(tokens, \"a\")", lambda xs: [x == "a" and "a" not in xs[:i] for i, x in enumerate(xs)]),
        ("mark_last_instance(tokens, \"a\")",
         lambda xs: [x == "a" and "a" not in xs[i + 1:] for i, x in enumerate(xs)]),
        ("aggregate(select_from_first(tokens, \"b\"), indices, -1)",
         lambda xs: [xs.index("b") if "b" in xs else -1] * len(xs)),
        ("aggregate(select_from_last(tokens, \"a\"), indices, -1)",
         lambda xs: [len(xs) - 1 - xs[::-1].index("a") if "a" in xs else -1] * len(xs)),
        ("sort(tokens, tokens)", _python_sort),
        ("aggregate(select_next_identical(tokens), indices, -1)",
         lambda xs: [next((j for j in range(i + 1, len(xs)) if xs[j] == x), -1) for i, x in enumerate(xs)]),
        ("has_focus(select(tokens, \"c\", ==))", lambda xs: ["c" in xs] * len(xs)),
        ("aggregate(full_s, indicator(tokens == \"a\"))", lambda xs: [xs.count("a") / len(xs)] * len(xs)),
        ("selector_width(select(tokens, tokens, ==))", lambda xs: [xs.count(x) for x in xs]),
        ("length", lambda xs: [len(xs)] * len(xs)),
    ],
)
def test_stdlib(expr, reference):
    prog = parse_rasp(f"out = {expr};")
    for word in INPUTS:
        xs = list(word)
        got = prog.evaluate(xs)
        want = reference(xs)
        assert len(got) == len(want) and all(
            math.isclose(g, w) if isinstance(w, float) else g == w for g, w in zip(got, want)
        ), (word, got, want)


def test_count_of_an_sop_compares_position_by_position():
    prog = parse_rasp("out = count(tokens, tokens_str);")  # every position equals itself
    assert prog.evaluate(list("abc")) == [3, 3, 3]


def test_library_names_can_be_redefined_by_a_program():
    assert run("def max(a, b) { return a; }\nout = max(indices, 5);", list("ab")) == [0, 1]


# --------------------------------------------------------------------------- #
# Examples
# --------------------------------------------------------------------------- #


def _dyck1(xs):
    out, depth, failed = [], 0, False
    for x in xs:
        depth += 1 if x == "(" else -1
        failed = failed or depth < 0
        out.append("F" if failed else ("T" if depth == 0 else "P"))
    return out


def _most_frequent(xs):
    firsts = list(dict.fromkeys(xs))
    ordered = sorted(firsts, key=lambda t: (-xs.count(t), xs.index(t)))
    return ordered + ["-"] * (len(xs) - len(ordered))


EXAMPLE_CASES = {
    "reverse": ("abc", lambda xs: xs[::-1]),
    "histogram": ("abc", lambda xs: [xs.count(x) for x in xs]),
    "sort": ("abcd", _python_sort),
    "most_frequent": ("abc", _most_frequent),
    "dyck1": ("()", _dyck1),
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_CASES))
def test_examples(name):
    alphabet, reference = EXAMPLE_CASES[name]
    prog = parse_rasp_file(EXAMPLES / f"{name}.rasp")
    inputs = [list(p) for n in range(1, 6) for p in itertools.product(alphabet, repeat=n)]
    for xs in inputs[:300]:
        assert prog.evaluate(xs) == reference(xs), xs


# --------------------------------------------------------------------------- #
# Conformance: the paper's programs, with the paper's interpreter's outputs
# --------------------------------------------------------------------------- #


def _conformance_entries():
    entries = []
    for file in ("paper_programs.json", "library_programs.json"):
        path = CONFORMANCE / file
        if path.is_file():
            for entry in json.loads(path.read_text())["programs"]:
                entries.append(pytest.param(entry, id=entry["name"]))
    return entries


def _same(expected, got) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(expected, got, rel_tol=0.0, abs_tol=1e-6)
    return expected == got


_ENTRIES = _conformance_entries()


@pytest.mark.skipif(not _ENTRIES, reason="no conformance data at /work/shared/conformance")
@pytest.mark.parametrize("entry", _ENTRIES or [None])
def test_conformance_program(entry):
    prog = parse_rasp(entry["rasp_source"], output=entry["output_sop"], filename=entry["name"] + ".rasp")
    for case in entry["cases"]:
        got = prog.evaluate(case["input"])
        assert len(got) == len(case["output"]) and all(map(_same, case["output"], got)), (case, got)
    for err in entry.get("expected_errors", []):
        with pytest.raises(RaspError):
            prog.evaluate(err["input"])


@pytest.mark.skipif(not (CONFORMANCE / "run").is_file(), reason="no conformance runner")
@pytest.mark.parametrize("cases", ["paper_programs.json", "library_programs.json"])
def test_conformance_runner_interp_only(cases):
    result = subprocess.run(
        [sys.executable, str(CONFORMANCE / "run"), str(CONFORMANCE / cases), "--interp-only", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0 and last.endswith(" passed, 0 failed"), result.stdout + result.stderr
