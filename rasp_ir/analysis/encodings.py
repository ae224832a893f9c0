"""Which encoding an aggregate gets when the user did not choose one.

Shared by `rasp-infer-encodings` and by value-set inference (which must know
whether an open aggregate will copy or average before the compiler decides).
"""

from __future__ import annotations

from xdsl.ir import SSAValue

from rasp_ir.dialects.rasp import (
    AggregateOp,
    Encoding,
    IndicesOp,
    MapOp,
    Predicate,
    SelectAndOp,
    SelectOp,
    SOpType,
    ValueKind,
    value_key,
)


def _unique_per_position(value: SSAValue) -> bool:
    """True when no two positions can hold the same value (indices, or an injective map of them)."""
    owner = value.owner
    if isinstance(owner, IndicesOp):
        return True
    if isinstance(owner, MapOp) and _unique_per_position(owner.input):
        outputs = [value_key(r) for _, r in owner.table.data]
        return len(outputs) == len(set(outputs))
    return False


def selects_at_most_one(selector: SSAValue) -> bool:
    """A sufficient condition for every query selecting at most one key."""
    owner = selector.owner
    if isinstance(owner, SelectOp):
        return owner.predicate.data == Predicate.EQ and _unique_per_position(owner.keys)
    if isinstance(owner, SelectAndOp):
        return selects_at_most_one(owner.lhs) or selects_at_most_one(owner.rhs)
    return False


def aggregate_encoding(op: AggregateOp) -> Encoding:
    """The encoding of `op`: the user's, else categorical when it can only copy one value
    (strings and bools cannot be averaged; a selector that picks at most one position),
    else numerical (it may average several numbers)."""
    result_type = op.result.type
    assert isinstance(result_type, SOpType)
    if result_type.enc is not None:
        return result_type.enc
    input_type = op.input.type
    assert isinstance(input_type, SOpType)
    if input_type.value_kind in (ValueKind.STR, ValueKind.BOOL) or selects_at_most_one(op.selector):
        return Encoding.CATEGORICAL
    return Encoding.NUMERICAL
