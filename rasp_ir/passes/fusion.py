"""Which element-wise work shares one MLP: the fusion analysis behind the schedule.

Any function of finitely many categorical s-ops, and of at most one numerical one,
is a single exact MLP (see `to_transformer`). So the element-wise ops between two
attention layers need not each take an MLP sub-layer: an s-op that something must
read from the residual stream (a head, the output, or an MLP of a later stage) is
computed by one MLP straight from its *leaves*, the nearest s-ops that are already
in the residual stream; the element-wise ops in between are *fused* into it and take
no dimensions at all. A selector_width is a leaf through its head's scratch
dimension (1/(w+1)), so decoding it fuses into whatever reads it.

When a fused function would need two numerical leaves, or more hidden units than
`max_hidden`, or slopes float32 cannot resolve, the op is *split*: its direct
operands are computed first (in an earlier MLP), which may cost a block; the
schedule records each split and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product

from xdsl.ir import Operation, SSAValue

from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    OutputOp,
    ProgramOp,
    SelectorType,
    SelectorWidthOp,
    SequenceMapOp,
    SOpType,
    TokensOp,
    Value,
    ValueKind,
    known_values,
    value_key,
)
from rasp_ir.analysis.value_sets import normalize_value
from rasp_ir.errors import RaspCompileError

ELEMENTWISE = (MapOp, SequenceMapOp, LinearSequenceMapOp)
WIDTH = (SelectorWidthOp, LengthOp)
DEFAULT_MAX_HIDDEN = 16384
MAX_PRE_ACTIVATION = 1e6
"""Largest pre-activation a step unit may reach: float32 keeps it exact to well under
its 1/2 margin (6e-8 relative error)."""


@dataclass(frozen=True)
class Leaf:
    """An input of a fused MLP: an s-op in the residual stream, or the scratch dimension
    of a selector_width head (then `raw` values are 1/(w+1) and decode to w)."""

    value: SSAValue
    scratch: bool = False

    def raw_values(self) -> list[Value]:
        values = _values(self.value)
        if self.scratch:
            return [1.0 / (int(w) + 1) for w in values]
        return values

    def decode(self, raw: Value) -> Value:
        return int(round(1.0 / float(raw))) - 1 if self.scratch else raw

    @property
    def numerical(self) -> bool:
        if self.scratch:
            return True
        assert isinstance(self.value.type, SOpType)
        return self.value.type.is_numerical


def _values(value: SSAValue) -> list[Value]:
    values = known_values(value)
    if values is None:
        raise RaspCompileError("fusion needs value sets: run rasp-infer-values first")
    return list(values.data)


def is_elementwise(op: Operation) -> bool:
    return isinstance(op, ELEMENTWISE)


def operand_leaves(value: SSAValue, materialized: set[SSAValue], embedded: set[SSAValue]) -> list[Leaf]:
    """The leaves `value` contributes to a fused function: itself when it is in the residual
    stream, its head's scratch dimension for a selector_width, and for an element-wise op
    not in the stream, the leaves of its operands."""
    owner = value.owner
    if value in materialized or value in embedded:
        return [Leaf(value)]
    if isinstance(owner, WIDTH):
        return [Leaf(value, scratch=True)]
    if isinstance(owner, ELEMENTWISE):
        found: dict[Leaf, None] = {}
        for operand in owner.operands:
            found.update(dict.fromkeys(operand_leaves(operand, materialized, embedded)))
        return list(found)
    return [Leaf(value)]  # an aggregate, or an embedded primitive


def cone_leaves(root: Operation, materialized: set[SSAValue], embedded: set[SSAValue]) -> list[Leaf]:
    """The leaves of the function computing `root`'s result, expanding through every
    element-wise operand that is not itself in the residual stream."""
    if isinstance(root, WIDTH):
        return [Leaf(root.results[0], scratch=True)]
    found: dict[Leaf, None] = {}
    for operand in root.operands:
        found.update(dict.fromkeys(operand_leaves(operand, materialized, embedded)))
    return list(found)


def choose_leaves(
    root: Operation, materialized: set[SSAValue], embedded: set[SSAValue], max_hidden: int
) -> tuple[list[Leaf], str | None]:
    """The leaves to compute `root` from: its whole element-wise cone when one MLP can do
    that; else the cone with some operands computed first (fewest, most numerical first);
    else its direct operands. Also the reason the whole cone did not fit, if it did not."""
    leaves = cone_leaves(root, materialized, embedded)
    reason = representable(root, leaves, max_hidden)
    if reason is None or not isinstance(root, ELEMENTWISE):
        return leaves, reason
    operands = list(dict.fromkeys(root.operands))
    per_operand = {v: operand_leaves(v, materialized, embedded) for v in operands}
    order = sorted(operands, key=lambda v: -sum(leaf.numerical for leaf in per_operand[v]))
    kept_whole: set[SSAValue] = set()
    for v in order:
        kept_whole.add(v)
        found: dict[Leaf, None] = {}
        for u in operands:
            found.update(dict.fromkeys([Leaf(u)] if u in kept_whole else per_operand[u]))
        candidate = list(found)
        if representable(root, candidate, max_hidden) is None:
            return candidate, reason
    leaves = _split_leaves(root)
    still = representable(root, leaves, max_hidden)
    if still is not None and not isinstance(root, LinearSequenceMapOp):
        raise RaspCompileError(
            f"'{root.name}'{_named(root)} cannot be compiled to one exact MLP even from its direct "
            f"operands: {still}. Raise the limit with rasp-allocate-layers{{max_hidden=N}} "
            "(or compile(..., max_hidden=N)), lower max_seq_len, or shrink its inputs' value sets"
        )
    return leaves, reason


def _named(op: Operation) -> str:
    hint = op.results[0].name_hint if op.results else None
    return f" (%{hint})" if hint else ""


def evaluate(value: SSAValue, leaf_values: dict[SSAValue, Value]) -> Value:
    """The value of `value` at a position where the leaves (by s-op) hold `leaf_values`."""
    if value in leaf_values:
        return leaf_values[value]
    assert isinstance(value.type, SOpType)
    return normalize_value(_evaluate_op(value, leaf_values), value.type.value_kind)


def _evaluate_op(value: SSAValue, leaf_values: dict[SSAValue, Value]) -> Value:
    owner = value.owner
    if isinstance(owner, ConstantOp):
        return owner.value.data
    if isinstance(owner, MapOp):
        return owner.table.lookup(evaluate(owner.input, leaf_values))
    if isinstance(owner, SequenceMapOp):
        return owner.table.lookup(evaluate(owner.lhs, leaf_values), evaluate(owner.rhs, leaf_values))
    if isinstance(owner, LinearSequenceMapOp):
        a, b = owner.coefficients
        x, y = (float(evaluate(v, leaf_values)) for v in (owner.lhs, owner.rhs))
        v = a * x + b * y
        assert isinstance(owner.result.type, SOpType)
        return int(round(v)) if owner.result.type.value_kind == ValueKind.INT else v
    raise RaspCompileError(f"cannot evaluate {owner} inside a fused MLP")


def tabulate(root: Operation, leaves: Sequence[Leaf]) -> dict[tuple, Value]:
    """root's value for every combination of its leaves' raw values (keyed by value_key)."""
    table: dict[tuple, Value] = {}
    result = root.results[0]
    for raws in product(*(leaf.raw_values() for leaf in leaves)):
        decoded = {leaf.value: leaf.decode(raw) for leaf, raw in zip(leaves, raws)}
        try:
            out = decoded[result] if isinstance(root, WIDTH) else evaluate(result, decoded)
        except KeyError as err:  # tables cover their inputs' value sets: this is a bug
            raise RaspCompileError(
                f"internal error: fusing into '{root.name}'{_named(root)}, a table has no entry for {err}"
            ) from err
        table[tuple(value_key(r) for r in raws)] = out
    return table


def numeric_code(leaves: Sequence[Leaf]) -> tuple[list[float], float, float]:
    """Coefficients s for the numerical leaves such that z = sum(s_j x_j) takes a different
    value on every combination of their values (mixed radix: a one-step change of leaf j
    outweighs every change of the leaves before it). Returns (s, the smallest gap between
    two z values, the span of z); one MLP then computes any function of these leaves as
    exact steps along z."""
    coeffs: list[float] = []
    span, gap = 0.0, math.inf
    for leaf in leaves:
        xs = sorted({float(v) for v in leaf.raw_values()})
        if len(xs) < 2:
            coeffs.append(0.0)
            continue
        step = min(b - a for a, b in zip(xs, xs[1:]))
        scale = 1.0 if gap == math.inf else (span + gap) / step
        coeffs.append(scale)
        gap = min(gap, scale * step)
        span += scale * (xs[-1] - xs[0])
    return coeffs, gap, span


def representable_units(leaves: Sequence[Leaf]) -> int:
    """Most hidden units one MLP needs to compute a function of `leaves` exactly: a gate per
    combination of categorical values, and behind it two units per step in z plus one."""
    combos = math.prod(len(leaf.raw_values()) for leaf in leaves if not leaf.numerical)
    points = math.prod(len(leaf.raw_values()) for leaf in leaves if leaf.numerical)
    return combos * (2 * points + 1) if any(leaf.numerical for leaf in leaves) else combos


def representable(root: Operation, leaves: Sequence[Leaf], max_hidden: int) -> str | None:
    """None when one MLP computes root from `leaves` exactly; else the reason it cannot."""
    numerical = [leaf for leaf in leaves if leaf.numerical]
    if numerical:
        _, gap, span = numeric_code(numerical)
        if gap != math.inf and 2.0 / gap * span + 2.0 > MAX_PRE_ACTIVATION:
            what = "its numerical input needs" if len(numerical) == 1 else f"its {len(numerical)} numerical inputs need"
            return f"{what} steps too fine for float32 ({span / gap:.3g} distinct levels)"
    units = representable_units(leaves)
    if units > max_hidden:
        return f"it would need up to {units} hidden units (more than {max_hidden})"
    return None


def _split_leaves(op: Operation) -> list[Leaf]:
    """The leaves of an op computed from its direct operands. A selector_width operand is
    read through its head's scratch dimension (no decoding MLP first) while that leaves
    at most one numerical input."""
    leaves: list[Leaf] = []
    numerical = sum(1 for v in op.operands if isinstance(v.type, SOpType) and v.type.is_numerical)
    for v in dict.fromkeys(op.operands):
        if isinstance(v.owner, WIDTH) and numerical == 0 and not isinstance(op, LinearSequenceMapOp):
            leaves.append(Leaf(v, scratch=True))
            numerical += 1
        else:
            leaves.append(Leaf(v))
    return leaves


@dataclass
class FusionPlan:
    """What the residual stream holds and how each MLP-computed s-op is built."""

    embedded: set[SSAValue] = field(default_factory=set)
    materialized: set[SSAValue] = field(default_factory=set)
    leaves: dict[Operation, list[Leaf]] = field(default_factory=dict)
    splits: dict[Operation, str] = field(default_factory=dict)


def _embedding_source(op: Operation, sources: dict[SSAValue, str | None]) -> str | None:
    """"tokens" or "indices" when `op` is a function of that input alone (constants
    allowed), "constant" when of constants alone, else None."""
    if isinstance(op, TokensOp):
        return "tokens"
    if isinstance(op, IndicesOp):
        return "indices"
    if isinstance(op, ConstantOp):
        return "constant"
    if not isinstance(op, ELEMENTWISE):
        return None
    found = {sources.get(v) for v in op.operands} - {"constant"}
    if None in found or len(found) > 1:
        return None
    return found.pop() if found else "constant"


def plan_fusion(program: ProgramOp, max_hidden: int = DEFAULT_MAX_HIDDEN) -> FusionPlan:
    """Decide which s-ops live in the residual stream and the leaves of each MLP."""
    plan = FusionPlan()
    ops = list(program.body.block.ops)
    sources: dict[SSAValue, str | None] = {}
    for op in ops:
        if op.results and not isinstance(op.results[0].type, SelectorType):
            sources[op.results[0]] = _embedding_source(op, sources)
            if sources[op.results[0]] is not None:
                plan.embedded.add(op.results[0])

    # What heads and the output read must be in the residual stream.
    needed: list[SSAValue] = []
    for op in ops:
        if isinstance(op, OutputOp):
            needed.append(op.value)
        elif isinstance(op, AggregateOp):
            needed.append(op.input)
        elif op.results and isinstance(op.results[0].type, SelectorType):
            needed.extend(v for v in op.operands if isinstance(v.type, SOpType))
    # An s-op that must be in the stream is computed from its leaves; a split op's
    # operands must then be in the stream too.
    while needed:
        value = needed.pop()
        if value in plan.materialized or value in plan.embedded:
            continue
        owner = value.owner
        if isinstance(owner, AggregateOp):
            plan.materialized.add(value)
            continue
        assert isinstance(owner, Operation)
        plan.materialized.add(value)
        leaves, reason = choose_leaves(owner, plan.materialized, plan.embedded, max_hidden)
        if reason is not None:
            if not isinstance(owner, ELEMENTWISE):
                raise RaspCompileError(f"{owner.name}: cannot decode its width exactly: {reason}")
            plan.splits[owner] = reason
        plan.leaves[owner] = leaves
        for leaf in leaves:
            if not leaf.scratch and leaf.value not in plan.embedded and not isinstance(leaf.value.owner, ConstantOp):
                needed.append(leaf.value)
    return plan
