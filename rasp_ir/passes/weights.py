"""Exact weights for the pieces of a compiled RASP program (pure numpy, no IR).

Conventions shared with `rasp-to-transformer`:
- The residual stream has a constant-one dimension (1 at every position) and a BOS
  dimension (1 at position 0 only).
- A categorical s-op takes one dimension per value (one-hot); a numerical s-op one.
- `x_bos` is the residual vector at the BOS position. It is the same for every input,
  because the BOS query of every head attends only to the BOS key (see `Head`), so the
  compiler knows it exactly and every head and MLP can set what it does at BOS by
  correcting its weights' BOS row. MLPs are silent at BOS; heads write a known value.

Every construction comes with the margin it needs and is exact outside it: steps
switch completely within a quarter of the gap between neighbouring values, lookups
read one-hot inputs, and softmax scales are computed from max_seq_len and the
value gaps so that attention noise stays far inside those margins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rasp_ir.dialects.rasp import Value

NOISE = 1e-7
"""Largest error any attention head may add to a value it writes (absolute, per unit of value)."""


def as_number(v: Value) -> float:
    """The numerical encoding of a value (bools are 0/1)."""
    if isinstance(v, str):
        raise TypeError(f"the string {v!r} has no numerical encoding")
    return float(v)


@dataclass
class MLPWeights:
    """An MLP under construction: hidden units are appended one at a time."""

    width: int
    w1: list[np.ndarray] = field(default_factory=list)
    b1: list[float] = field(default_factory=list)
    w2: list[np.ndarray] = field(default_factory=list)

    def unit(self, reads: dict[int, float], bias: float, writes: dict[int, float]) -> None:
        """Add a hidden unit relu(sum(reads[d] * x[d]) + bias) that adds writes[d] * unit to x[d]."""
        col = np.zeros(self.width)
        for d, w in reads.items():
            col[d] += w
        row = np.zeros(self.width)
        for d, w in writes.items():
            row[d] += w
        self.w1.append(col)
        self.b1.append(bias)
        self.w2.append(row)

    def arrays(self, x_bos: np.ndarray, bos_dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(w1, b1, w2, b2), with every unit switched off at the BOS position."""
        w1 = np.stack(self.w1, axis=1) if self.w1 else np.zeros((self.width, 0))
        b1 = np.asarray(self.b1, dtype=np.float64)
        pre_at_bos = x_bos @ w1 + b1
        # Push every pre-activation at BOS to -1 or below: relu gives exactly 0 there.
        w1[bos_dim] -= np.maximum(pre_at_bos + 1.0, 0.0)
        w2 = np.stack(self.w2, axis=0) if self.w2 else np.zeros((0, self.width))
        return w1, b1, w2, np.zeros(self.width)


def lookup_units(
    mlp: MLPWeights, in_dims: Sequence[int], in_values: Sequence[Value], write: Callable[[Value], dict[int, float]]
) -> None:
    """A categorical input: one unit per value, relu(2 x[v] - 1) is 1 exactly where the
    input is v, and 0 where x[v] is off by less than 1/2 from 0: a one-hot that float32
    left slightly off (an MLP's steps wrote it) does not leak through the other units."""
    for d, v in zip(in_dims, in_values):
        writes = write(v)
        if any(writes.values()):
            mlp.unit({d: 2.0}, -1.0, writes)


def affine_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(a, b) with ys == a*xs + b on every point (to 1e-9 relative), or None."""
    if len(xs) < 2:
        return (0.0, ys[0]) if ys else None
    a = (ys[-1] - ys[0]) / (xs[-1] - xs[0])
    b = ys[0] - a * xs[0]
    scale = max(1.0, max(abs(y) for y in ys))
    if all(abs(a * x + b - y) <= 1e-9 * scale for x, y in zip(xs, ys)):
        return a, b
    return None


def min_gap(values: Sequence[float]) -> float:
    ordered = sorted(set(values))
    gaps = [b - a for a, b in zip(ordered, ordered[1:])]
    return min(gaps) if gaps else math.inf


def aggregate_scale(max_seq_len: int, value_bound: float, gap: float, tolerance: float) -> float:
    """Softmax scale for a mean over the selected positions.

    Selected keys score 1 above unselected ones and 1/2 above the BOS key (the default),
    so each unselected key weighs at most e^-scale and BOS at most e^-scale/2 relative to a
    selected one. The mean is then off by at most (n+1) e^-scale/2 (2*bound + 1): make that
    smaller than the noise budget, a tenth of the tolerance, and an eighth of the gap between
    the values this aggregate can take (so later steps still tell them apart).
    """
    budget = min(NOISE * max(1.0, value_bound), tolerance / 10.0, gap / 8.0)
    return 2.0 * math.log((max_seq_len + 1) * (2.0 * value_bound + 1.0) / budget)


WIDTH_LEAK = 1e-8
"""Most that unselected keys may move a selector_width head's share of BOS (1/(w+1) or
b/(b+w), `fusion.width_bos_weight`)."""


def width_share(w: int, bos_weight: float) -> float:
    """What a selector_width head writes where w keys are selected and its BOS key weighs
    as `bos_weight` selected keys (b): BOS's share of the attention, b/(b+w)."""
    return bos_weight / (bos_weight + w)


def width_from_share(share: float, bos_weight: float) -> int:
    return int(round(bos_weight / share - bos_weight))


def width_scale(max_seq_len: int) -> float:
    """Softmax scale for selector_width's head: BOS and the w selected keys share the
    attention, 1/(w+1) each (BOS's share is b/(b+w) where it weighs b keys: its smallest gap is
    only larger). Unselected keys weigh e^-scale each, moving the share by at most
    n e^-scale, which must stay below a quarter of the smallest gap 1/((n+1)(n+2)) with room
    to spare, and below WIDTH_LEAK, so that MLPs may read several widths through one joint
    code (`fusion.joint_codes`, which multiplies a width's noise by its coefficient):
    n e^-scale <= min(gap/64, WIDTH_LEAK)."""
    n = max_seq_len
    gap = 1.0 / ((n + 1) * (n + 2))
    return math.log(n / min(gap / 64.0, WIDTH_LEAK))


def gated_units(
    mlp: MLPWeights,
    gate: dict[int, float],
    arity: int,
    x: dict[int, float] | None,
    xs: Sequence[float],
    outputs: Sequence[np.ndarray],
    one_dim: int,
) -> None:
    """Units that write outputs[i] where the numerical input x (a linear form of the
    residual, `x[d]` the weight of dimension d) is xs[i] (sorted) and the categorical gate
    matches, and nothing elsewhere.

    The gate is `arity` one-hot dimensions (`gate`, weight 1 each) that sum to `arity`
    exactly on the wanted combination of categorical values and to at most arity-1 on any
    other; with arity 0 it always holds. One unit relu(2 (sum - arity) + 1) (relu(one) with
    no gate) writes outputs[0]: 1 on the combination, and 0 on any other even where float32
    left the one-hots off by less than 1/4 each (closed gates do not leak). Then, for each gap between neighbouring xs where the output
    changes, a step from 0 to 1 across the gap: relu(L(x-t)+1/2) - relu(L(x-t)-1/2), with t
    the midpoint and L = 2/gap, is exactly 0 up to t - gap/4 and exactly 1 from t + gap/4.
    Gated steps also read M * (sum - arity): no shift on the combination, at least M down
    elsewhere, with M larger than any step's reach, which silences them.
    """
    base = {d: 2.0 * w for d, w in gate.items()} if arity else {one_dim: 1.0}
    if np.any(outputs[0]):
        mlp.unit(base, 1.0 - 2.0 * arity if arity else 0.0, _writes(outputs[0]))
    if x is None:
        return
    for i in range(len(xs) - 1):
        delta = outputs[i + 1] - outputs[i]
        if not np.any(delta):
            continue
        gap = xs[i + 1] - xs[i]
        slope = 2.0 / gap
        t = (xs[i] + xs[i + 1]) / 2.0
        big = slope * max(abs(xs[-1] - t), abs(xs[0] - t)) + 2.0 if arity else 0.0
        reads = {d: big for d in gate}
        for d, w in x.items():
            reads[d] = reads.get(d, 0.0) + slope * w
        writes = _writes(delta)
        mlp.unit(reads, -slope * t + 0.5 - big * arity, writes)
        mlp.unit(reads, -slope * t - 0.5 - big * arity, {d: -w for d, w in writes.items()})


def plateau_units(mlp: MLPWeights, gate: dict[int, float], arity: int, output: np.ndarray) -> None:
    """Two units that write `output` where the categorical gate (see `gated_units`) holds
    and nothing elsewhere, with a flat top: relu(4(sum - arity) + 2) - relu(4(sum - arity) + 1)
    is exactly 1 while the gate's one-hots are off by less than 1/4 in all, and exactly 0
    on other combinations while off by less than 1/4 there. A one-hot that an MLP's steps
    left slightly off is read without passing its error on (one unit, as `gated_units`
    builds, passes it on doubled), at the cost of one more unit per combination."""
    if not np.any(output):
        return
    reads = {d: 4.0 * w for d, w in gate.items()} if arity else {0: 0.0}
    writes = _writes(output)
    shift = -4.0 * arity
    mlp.unit(reads, shift + 2.0, writes)
    mlp.unit(reads, shift + 1.0, {d: -w for d, w in writes.items()})


def _writes(vector: np.ndarray) -> dict[int, float]:
    return {int(d): float(vector[d]) for d in np.flatnonzero(vector)}
