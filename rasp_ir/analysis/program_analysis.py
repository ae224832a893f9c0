"""How many attention layers and heads a RASP program needs, counted as the paper counts.

Element-wise operations are free (they ride on MLPs); attention is what costs:

- `tokens`, `indices` and constants are at layer 0;
- `length` is at layer 1 and takes one head: a transformer has no length built
  in, it computes it by attention (the paper's library does it with an
  aggregate, a compiled model with BOS);
- maps and selectors are at the highest layer of their inputs;
- an `aggregate` or `selector_width` is one layer above the highest of its
  inputs (the selector's s-ops and the aggregated s-op), and takes one head;
  aggregates at the same layer whose selectors are the same (the same node, or
  the same comparison of the same s-ops) share one head, since one attention
  pattern can move several values. That is the paper's count, e.g. Dyck-1 in
  the paper takes heads [1, 1] though its first layer aggregates twice.

`layers` is the highest layer; `heads_per_layer[i]` the heads at layer i+1.
The rules are written once, over any graph (`analyze_graph`); `analyze_program_op`
applies them to a `rasp.program`, `rasp_ir.Program.analysis` to a DSL graph.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from xdsl.ir import Operation, SSAValue

from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    IndicesOp,
    LengthOp,
    ProgramOp,
    SelectAndOp,
    SelectNotOp,
    SelectOp,
    SelectOrOp,
    SelectorWidthOp,
    TokensOp,
    value_key,
)

N = TypeVar("N")


@dataclass
class ProgramAnalysis:
    """What a program needs: attention layers, and heads in each."""

    layers: int
    heads_per_layer: list[int]
    layer_of: dict[str, int] = field(default_factory=dict)
    """The layer of each attention op (aggregate, selector_width, length), by label."""

    @property
    def heads(self) -> int:
        """Heads in all layers together."""
        return sum(self.heads_per_layer)

    def __str__(self) -> str:
        return f"{self.layers} layers, heads per layer {self.heads_per_layer}"


def analyze_graph(
    order: Iterable[N],
    children: Callable[[N], Sequence[N]],
    head_key: Callable[[N], Hashable | None],
    label: Callable[[N], str] = str,
) -> ProgramAnalysis:
    """Apply the rules to nodes given children-first.

    `head_key(node)` is None for a node that needs no attention; for one that
    does, a key such that nodes with equal keys at the same layer share a head.
    """
    layer: dict[int, int] = {}
    heads: dict[int, set[Hashable]] = {}
    layer_of: dict[str, int] = {}
    top = 0
    for node in order:
        below = max((layer[id(c)] for c in children(node)), default=0)
        key = head_key(node)
        if key is None:
            layer[id(node)] = below
            continue
        at = below + 1
        layer[id(node)] = at
        heads.setdefault(at, set()).add(key)
        layer_of[label(node)] = at
        top = max(top, at)
    return ProgramAnalysis(
        layers=top,
        heads_per_layer=[len(heads.get(i, ())) for i in range(1, top + 1)],
        layer_of=layer_of,
    )


# --------------------------------------------------------------------------- #
# The rasp dialect
# --------------------------------------------------------------------------- #


def _value_key(value: SSAValue) -> Hashable:
    """Two SSA values that certainly hold the same s-op or selector get the same key."""
    op = value.owner
    if isinstance(op, TokensOp | IndicesOp | LengthOp):
        return (op.name,)
    if isinstance(op, ConstantOp):
        return ("constant", value_key(op.value.data))
    if isinstance(op, SelectOp):
        return ("select", _value_key(op.keys), _value_key(op.queries), op.predicate.data)
    if isinstance(op, SelectAndOp | SelectOrOp):
        return (op.name, _value_key(op.lhs), _value_key(op.rhs))
    if isinstance(op, SelectNotOp):
        return (op.name, _value_key(op.input))
    return ("value", id(value))


def _op_head_key(op: Operation) -> Hashable | None:
    if isinstance(op, AggregateOp):
        return ("aggregate", _value_key(op.selector))
    if isinstance(op, SelectorWidthOp):
        return ("selector_width", _value_key(op.selector))
    if isinstance(op, LengthOp):
        return ("length",)
    return None


def analyze_program_op(program: ProgramOp) -> ProgramAnalysis:
    """The analysis of a `rasp.program` (ops are already in dependency order)."""
    ops = [op for op in program.body.block.ops if op.results]

    def children(op: Operation) -> list[Operation]:
        return [o.owner for o in op.operands if isinstance(o.owner, Operation)]

    def label(op: Operation) -> str:
        return op.results[0].name_hint or op.name

    return analyze_graph(ops, children, _op_head_key, label)
