"""`rasp verify`: a compiled model against the reference interpreter, input by input.

The inputs are every sequence up to `exhaustive_len` tokens (shortest first), then
`random` sequences of the lengths the sweep did not cover, drawn with a seeded RNG. They
are checked in batches; the first input where the model's output differs from the
interpreter's (categorical values exactly, numerical ones within the model's tolerance),
or where the program itself is undefined (e.g. it averages strings), or that the model refuses
(its run-time guard: a categorical aggregate that would average different values), is the
counterexample.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from rasp_ir.errors import RaspEvaluationError

if TYPE_CHECKING:
    from rasp_ir.program import Program
    from rasp_ir.runtime.model import CompiledModel

EXHAUSTIVE_BUDGET = 20_000
"""The default sweep length keeps the number of exhaustive inputs at or under this."""

DEFAULT_RANDOM = 1000
"""Random inputs checked by default when the sweep does not reach max_seq_len."""


def default_exhaustive_len(vocab_size: int, max_seq_len: int, budget: int = EXHAUSTIVE_BUDGET) -> int:
    """The longest L <= max_seq_len with at most `budget` inputs of lengths 1..L."""
    total, length = 0, 0
    while length < max_seq_len:
        total += vocab_size ** (length + 1)
        if total > budget:
            break
        length += 1
    return length


def count_exhaustive(vocab_size: int, length: int) -> int:
    return sum(vocab_size**n for n in range(1, length + 1))


def generate_inputs(
    vocab: Sequence[Any], max_seq_len: int, exhaustive_len: int, random_count: int, seed: int
) -> Iterator[list[Any]]:
    vocab = list(vocab)
    for n in range(1, exhaustive_len + 1):
        for combo in itertools.product(vocab, repeat=n):
            yield list(combo)
    rng = random.Random(seed)
    low = exhaustive_len + 1 if exhaustive_len < max_seq_len else 1
    for _ in range(random_count):
        n = rng.randint(low, max_seq_len)
        yield [rng.choice(vocab) for _ in range(n)]


def same_value(expected: Any, got: Any, tolerance: float, numerical: bool) -> bool:
    if numerical:
        if isinstance(expected, str) or isinstance(got, str):
            return False
        try:
            a, b = float(expected), float(got)
        except (TypeError, ValueError):
            return False
        return not (math.isnan(a) or math.isnan(b)) and abs(a - b) <= tolerance
    if isinstance(expected, str) or isinstance(got, str):
        return isinstance(expected, str) and isinstance(got, str) and expected == got
    if isinstance(expected, bool) != isinstance(got, bool):
        return False
    return expected == got


class Progress:
    """A plain-text progress bar on a stream (redrawn at most 10 times a second)."""

    def __init__(self, total: int, stream: TextIO, enabled: bool, label: str = "verify", width: int = 30):
        self.total = max(total, 1)
        self.stream = stream
        self.enabled = enabled
        self.label = label
        self.width = width
        self._last = 0.0
        self._drawn = False

    def update(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} inputs ({frac:4.0%})")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Counterexample:
    index: int
    tokens: list[Any]
    expected: list[Any] | None
    got: list[Any] | str  # a str: the model refused the input (why)
    error: str | None = None

    def first_difference(self, tolerance: float, numerical: bool) -> int | None:
        if self.expected is None or isinstance(self.got, str):
            return None
        for i, (a, b) in enumerate(zip(self.expected, self.got)):
            if not same_value(a, b, tolerance, numerical):
                return i
        return None if len(self.expected) == len(self.got) else min(len(self.expected), len(self.got))


@dataclass
class VerifyResult:
    checked: int
    exhaustive: int
    random: int
    seconds: float
    counterexample: Counterexample | None = None
    mismatches_in_batch: int = 0
    lengths: list[int] = field(default_factory=list)


def _reference(program: Program, batch: list[list[Any]]) -> list[tuple[list[Any] | None, str | None]]:
    try:
        return [(out, None) for out in program.evaluate_batch(batch)]
    except RaspEvaluationError:
        pass
    results: list[tuple[list[Any] | None, str | None]] = []
    for tokens in batch:
        try:
            results.append((program.evaluate(tokens), None))
        except RaspEvaluationError as e:
            results.append((None, str(e)))
    return results


def _run_model(model: CompiledModel, batch: list[list[Any]], batch_size: int) -> list[list[Any] | str]:
    """The model's output per input; for an input its run-time guard refuses, why (a str)."""
    from rasp_ir.runtime.guards import InputRefused

    try:
        return list(model.run(batch, batch_size=batch_size))
    except InputRefused:
        pass
    outputs: list[list[Any] | str] = []
    for tokens in batch:
        try:
            outputs.append(model.run([tokens])[0])
        except InputRefused as e:
            outputs.append(
                f"refused: at position {e.position}, the program's aggregate `{e.aggregate}` averages "
                "different values, and the model copies one"
            )
    return outputs


def verify(
    program: Program,
    model: CompiledModel,
    vocab: Sequence[Any],
    max_seq_len: int,
    *,
    exhaustive_len: int,
    random_count: int,
    seed: int = 0,
    batch_size: int = 512,
    progress: bool = False,
    stream: TextIO | None = None,
) -> VerifyResult:
    """Check `model` against `program` (see the module docstring); stops at the first batch
    that holds a counterexample."""
    stream = stream or sys.stderr
    exhaustive = count_exhaustive(len(vocab), exhaustive_len)
    total = exhaustive + random_count
    numerical = model.encoding == "numerical"
    tolerance = model.tolerance
    bar = Progress(total, stream, progress)
    start = time.perf_counter()
    done = 0
    inputs = generate_inputs(vocab, max_seq_len, exhaustive_len, random_count, seed)
    try:
        bar.update(0, force=True)
        while True:
            batch = list(itertools.islice(inputs, batch_size))
            if not batch:
                break
            expected = _reference(program, batch)
            got = _run_model(model, batch, batch_size)
            bad: list[Counterexample] = []
            for k, (tokens, (exp, err), out) in enumerate(zip(batch, expected, got)):
                if err is not None:
                    bad.append(Counterexample(done + k, tokens, None, out, err))
                elif isinstance(out, str):
                    bad.append(Counterexample(done + k, tokens, exp, out))
                elif len(exp) != len(out) or not all(
                    same_value(a, b, tolerance, numerical) for a, b in zip(exp, out)
                ):
                    bad.append(Counterexample(done + k, tokens, exp, out))
            if bad:
                done += bad[0].index - done + 1
                bar.update(done, force=True)
                return VerifyResult(
                    done, min(done, exhaustive), max(0, done - exhaustive), time.perf_counter() - start,
                    bad[0], len(bad),
                )
            done += len(batch)
            bar.update(done)
        bar.update(done, force=True)
    finally:
        bar.close()
    return VerifyResult(done, min(done, exhaustive), max(0, done - exhaustive), time.perf_counter() - start)
