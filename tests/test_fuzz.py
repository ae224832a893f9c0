"""Differential fuzzing, bounded for CI: random programs either compile into models that
agree with the reference interpreter, or are refused with a RaspError.

Each generated program (every DSL op, composite selectors, numerical and categorical
aggregates, negative and fractional values; see `rasp_ir.testing.strategies`) runs on
the reference interpreter, the numpy executor of its transformer IR, and onnxruntime,
on inputs of mixed lengths run as one batch. Inputs where the interpreter raises are
skipped. A mismatch, or a crash that is not a RaspError, fails with a runnable
(minimized) reproducer. Long campaigns: `python benchmarks/fuzz.py --minutes N`.

KNOWN_FAILURES lists the compiler bugs the fuzzer has found that are not fixed yet, each
with its regression test in tests/regressions/test_fuzz_regressions.py (xfail, strict).
A generated case that fails in exactly that way is counted (a hypothesis `event`)
instead of failing this test. When a bug is fixed, its regression test XPASSes (and so
fails, being strict): then remove its xfail mark and its entry here.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, event, given, settings  # noqa: E402

from rasp_ir.testing import (  # noqa: E402
    Fn,
    FuzzCase,
    Mismatch,
    Node,
    Outcome,
    check_case,
    minimize,
    refusal_key,
    same_value,
)
from rasp_ir.testing.strategies import fuzz_cases, random_case  # noqa: E402

# --------------------------------------------------------------------------- #
# Known, unfixed compiler bugs (see tests/regressions/test_fuzz_regressions.py)
# --------------------------------------------------------------------------- #


def _small_numerical_errors(outcome: Outcome) -> bool:
    """A numerical output off by less than 0.05 wherever it is off."""
    return (
        outcome.status == "mismatch"
        and outcome.encoding == "numerical"
        and all(
            not isinstance(e, str) and abs(float(e) - float(g)) < 0.05
            for m in outcome.mismatches
            for e, g in zip(m.expected, m.got)
        )
    )


KNOWN_FAILURES: dict[str, Callable[[FuzzCase, Outcome], bool]] = {
    # name: recognizer (the regression test test_<name> shows the bug)
}


def check(case: FuzzCase, record: Callable[[str], None] = event, shrink: bool = True) -> None:
    """Fail on a new failure, with a reproducer (minimized when `shrink`); count
    (`record`) a known one."""
    outcome = check_case(case)
    record(f"status: {outcome.status}")
    if not outcome.failed:
        return
    for name, known in KNOWN_FAILURES.items():
        if known(case, outcome):
            record(f"known failure: {name}")
            return
    small, small_outcome = minimize(case, outcome, budget_s=60) if shrink else (case, outcome)
    pytest.fail(
        "a compiled model disagrees with the interpreter, or the compiler crashed:\n" + small_outcome.describe(small),
        pytrace=False,
    )


# --------------------------------------------------------------------------- #
# The bounded fuzz runs
# --------------------------------------------------------------------------- #


@settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    # No shrink phase: one compile can take seconds, and hypothesis would shrink for
    # minutes; `minimize` (within 60 s) shrinks the first failing example instead.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fuzz_cases(max_seq_len=12, n_inputs=12))
def test_fuzz_hypothesis(case: FuzzCase):
    """Hypothesis-drawn programs (derandomized: the same ones every run)."""
    check(case)


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_random_programs(seed: int):
    """Bigger and deeper programs, drawn the way `benchmarks/fuzz.py` draws them."""
    for k in range(40):
        check(random_case(random.Random(f"ci-{seed}:{k}"), max_seq_len=12, n_inputs=16), record=lambda _: None)


# --------------------------------------------------------------------------- #
# The fuzzer itself
# --------------------------------------------------------------------------- #


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fuzz_cases())
def test_reproducer_source_is_the_program(case: FuzzCase):
    """The printed reproducer builds the program that was run (same outputs), and the
    generated map functions are total: the interpreter raises only where RASP does."""
    namespace: dict = {}
    exec(case.source(), namespace)  # noqa: S102 - our own generated text
    program = namespace["program"]
    direct = case.program()
    assert namespace["VOCAB"] == list(case.vocab) and namespace["MAX_SEQ_LEN"] == case.max_seq_len
    for tokens in namespace["INPUTS"]:
        assert 1 <= len(tokens) <= case.max_seq_len
        try:
            expected = direct.evaluate(tokens)
        except Exception as exc:  # noqa: BLE001
            assert "average" in str(exc), f"the generator drew a function that is not total: {exc}"
            continue
        assert program.evaluate(tokens) == expected
    assert 1 <= case.depth() <= 6 and len(case.vocab) <= 20 and case.max_seq_len <= 32


def test_generator_covers_every_op_and_predicate():
    ops, predicates, aggregates = set(), set(), set()
    for k in range(300):
        case = random_case(random.Random(k))
        for i in case.reachable():
            n = case.nodes[i]
            ops.add(n.op)
            if n.op == "select":
                predicates.add(n.value)
            if n.op == "aggregate":
                aggregates.add((n.encoding, n.value is not None))
    assert ops == {
        "tokens", "indices", "length", "full", "constant", "map", "sequence_map", "linear_sequence_map",
        "aggregate", "selector_width", "select", "and", "or", "not",
    }
    assert predicates == {"EQ", "LT", "LEQ", "GT", "GEQ", "NEQ", "TRUE", "FALSE"}
    assert {("numerical", True), ("numerical", False), (None, True), (None, False), ("categorical", True)} <= aggregates


def test_minimize_keeps_the_failure(monkeypatch):
    """The minimizer shrinks program, vocabulary, length and input while the failure
    stays (here a fake one: 'any program with a selector_width')."""
    import rasp_ir.testing as testing

    def fake_check(case: FuzzCase, **_: object) -> Outcome:
        if any(case.nodes[i].op == "selector_width" for i in case.reachable()):
            return Outcome(
                "mismatch",
                encoding="categorical",
                mismatches=[Mismatch("executor", list(case.inputs[0]), [0], [1])],
            )
        return Outcome("ok")

    monkeypatch.setattr(testing, "check_case", fake_check)
    nodes = (
        Node("tokens"),
        Node("indices"),
        Node("select", (0, 1), value="LT"),
        Node("map", (1,), fn=Fn.lookup(1, [(0, "a"), (1, "b")], "c")),
        Node("select", (3, 3), value="EQ"),
        Node("or", (2, 4)),
        Node("selector_width", (5,), encoding="categorical"),
        Node("sequence_map", (6, 0), fn=Fn.expr(2, "x == y")),
        Node("aggregate", (2, 7), value=False),
    )
    case = FuzzCase(nodes, 8, ("a", "b", "c"), 8, (("b", "c", "a"), ("a",)))
    small, outcome = minimize(case, fake_check(case), budget_s=30)
    assert outcome.status == "mismatch"
    assert small.size == 3  # one primitive, a select of it, its width
    assert small.nodes[small.output].op == "selector_width"
    assert len(small.vocab) == 1 and small.max_seq_len == 1 and small.inputs == ((small.vocab[0],),)


def test_refusal_key_groups_messages_by_reason():
    a = refusal_key("'n3': takes 5000 values, more than the cap of 4096 (raise it)\nmore text")
    b = refusal_key("'n12': takes 4100 values, more than the cap of 4096 (raise it)")
    assert a == b == "'nN': takes N values, more than the cap of N (raise it)"


@pytest.mark.parametrize(
    ("expected", "got", "encoding", "same"),
    [
        (2, 2.0, "categorical", True),
        (True, 1, "categorical", False),
        ("a", "a", "categorical", True),
        (0.5, 0.5004, "numerical", True),
        (0.5, 0.502, "numerical", False),
        (True, 1.0, "numerical", True),
        (1.0, float("nan"), "numerical", False),
    ],
)
def test_same_value(expected, got, encoding, same):
    assert same_value(expected, got, encoding, 1e-3) is same
