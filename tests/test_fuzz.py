"""Differential fuzzing, bounded for CI: random programs compile into models that agree
with the reference interpreter, or are refused with a RaspError.

Each generated program (every DSL op, composite selectors, numerical and categorical
aggregates, negative and fractional values; see `rasp_ir.testing.strategies`) runs on
the reference interpreter, the numpy executor of its transformer IR, and onnxruntime,
on inputs of mixed lengths run as one batch. Inputs where the interpreter raises are
skipped. A mismatch or a crash that is not a RaspError fails the test with a runnable
reproducer. Longer campaigns: `python benchmarks/fuzz.py --minutes N`.
"""

from __future__ import annotations

import random

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from rasp_ir.testing import Fn, FuzzCase, Node, check_case, minimize, refusal_key  # noqa: E402
from rasp_ir.testing.strategies import fuzz_cases, random_case  # noqa: E402

FUZZ_SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@FUZZ_SETTINGS
@given(fuzz_cases(max_seq_len=12, max_vocab=12, n_inputs=12))
def test_compiled_programs_agree_with_the_interpreter(case: FuzzCase):
    outcome = check_case(case)
    assert not outcome.failed, outcome.describe(case)
