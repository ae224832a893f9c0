"""Run-time guards: refuse an input on which a compiled model would answer wrongly.

A categorical aggregate copies one value per query. RASP's meaning (DESIGN.md §2) is the
mean of the selected values, so where the selector selects several positions that hold
different values, the model's copy is wrong. Where the compiler cannot prove that this
never happens, it records a guard: the aggregate's one-hot output dims. The model then
computes, per guard and position, the largest of those dims: 1 where one value (or a mean
of equal values) was copied, at most 1 - 1/max_seq_len where different values were
averaged. Below `guard_threshold`, at a real position, the runtime raises `InputRefused`.

Used by the ONNX runtime (`CompiledModel`) and the numpy executor; needs only numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rasp_ir.errors import RaspInputError


def guard_threshold(max_seq_len: int) -> float:
    """Halfway between 1 (a copy) and 1 - 1/max_seq_len (the largest share of one value in a
    mean of several different ones)."""
    return 1.0 - 1.0 / (2.0 * max_seq_len)


class InputRefused(RaspInputError):
    """A compiled model refuses an input: at `position` of input `index` (in the batch given
    to `run`), the program's `aggregate` averages several different values, and the model,
    whose aggregate is categorical, would copy one. `cases` lists every refused input of the
    batch as (index, position, aggregate, share), the first position of each, by index."""

    def __init__(
        self, index: int, position: int, aggregate: str, share: float,
        cases: list[tuple[int, int, str, float]] | None = None,
    ):
        self.index = index
        self.position = position
        self.aggregate = aggregate
        self.share = share
        self.cases = cases if cases is not None else [(index, position, aggregate, share)]
        super().__init__(
            f"input {index} of the batch, position {position}: the program's aggregate `{aggregate}` "
            "averages several different values there, but this compiled model copies one value per "
            "position (the aggregate is categorical), so it refuses the input instead of giving a wrong "
            "answer. To compile the average, make the aggregate numerical (e.g. dsl.numerical(...))"
        )


def find_refusal(
    guard: np.ndarray,
    mask: np.ndarray,
    labels: Sequence[str],
    max_seq_len: int,
    indices: Sequence[int] | None = None,
) -> InputRefused | None:
    """The first refusal (smallest input index, then position) in `guard` `[B, S, G]` (the
    largest guarded dim per position, BOS left out) at real positions of `mask` `[B, S]`;
    `indices[b]` is row b's index in the user's batch (default: b)."""
    guard = np.asarray(guard)
    if guard.size == 0 or not labels:
        return None
    real = np.asarray(mask)[..., None] != 0
    bad = ~(guard >= guard_threshold(max_seq_len)) & real  # NaN counts as bad
    if not bad.any():
        return None
    rows, positions, which = np.nonzero(bad)
    index = np.asarray(indices if indices is not None else range(guard.shape[0]))[rows]
    cases: list[tuple[int, int, str, float]] = []
    for k in np.lexsort((which, positions, index)).tolist():
        if not cases or cases[-1][0] != int(index[k]):
            share = float(guard[rows[k], positions[k], which[k]])
            cases.append((int(index[k]), int(positions[k]), labels[int(which[k])], share))
    return InputRefused(*cases[0], cases=cases)


def check_guards(
    guard: np.ndarray,
    mask: np.ndarray,
    labels: Sequence[str],
    max_seq_len: int,
    indices: Sequence[int] | None = None,
) -> None:
    """Raise the first refusal `find_refusal` finds."""
    refusal = find_refusal(guard, mask, labels, max_seq_len, indices)
    if refusal is not None:
        raise refusal


__all__ = ["InputRefused", "check_guards", "find_refusal", "guard_threshold"]
