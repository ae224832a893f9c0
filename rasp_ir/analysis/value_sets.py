"""The exact set of values each s-op can take, from the vocabulary and max_seq_len.

One rule per op. `rasp-infer-values` applies them to a whole program; the
DSL's `to_mlir` applies them op by op while it tabulates Python functions, so
both agree by construction.

Sets are exact, not approximations in the style of tracr: a numerical mean can
take every value (v1 + ... + vn) / n over multisets of its input's values with
n <= max_seq_len, which for {0, 1} is every k/n.
"""

from __future__ import annotations

from fractions import Fraction
from collections.abc import Sequence

from rasp_ir.analysis.encodings import aggregate_encoding
from rasp_ir.dialects.rasp import (
    Encoding,
    AggregateOp,
    ConstantOp,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    SelectorWidthOp,
    SequenceMapOp,
    SOpType,
    TokensOp,
    Value,
    ValueKind,
    sort_values,
    value_key,
)
from rasp_ir.errors import RaspCompileError

DEFAULT_VALUE_SET_CAP = 4096
"""Largest value set an s-op may have before inference stops with an error."""


class ValueSetTooLarge(RaspCompileError):
    pass


def _as_number(v: Value) -> Fraction:
    if isinstance(v, str):
        raise RaspCompileError(f"cannot average the string {v!r}")
    return Fraction(int(v)) if isinstance(v, bool) else Fraction(v)


def normalize_value(v: Value, kind: ValueKind) -> Value:
    """A value in the Python type of `kind` (ints stay ints only in int s-ops), so that
    lookups keyed by `value_key` (which keeps 1 and 1.0 apart) find it. A bool stays a
    bool: a float s-op may hold bools as they are (`fits_kind`; a bool aggregate with a
    default like 0.5), and a map or a categorical encoding must see True, not 1.0."""
    if kind == ValueKind.FLOAT and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if kind == ValueKind.INT and isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def mean_values(inputs: Sequence[Value], max_seq_len: int, cap: int, where: str) -> list[Value]:
    """Every mean of a non-empty multiset of at most `max_seq_len` values from `inputs`."""
    text = next((v for v in inputs if isinstance(v, str)), None)
    if text is not None:
        raise RaspCompileError(
            f"{where} averages numbers, but its input can hold the string {text!r}; a mean needs "
            "numbers (if the string is an aggregate's default, give that aggregate a numeric one)"
        )
    numbers = sorted({_as_number(v) for v in inputs})
    means: set[Fraction] = set(numbers)
    sums: set[Fraction] = {Fraction(0)}
    for n in range(1, max_seq_len + 1):
        sums = {s + x for s in sums for x in numbers}
        means.update(s / n for s in sums)
        if len(means) > cap:
            raise ValueSetTooLarge(
                f"{where}: the mean of {len(numbers)} possible values over up to {max_seq_len} positions "
                f"takes more than {cap} values (raise the cap with rasp-infer-values{{cap=N}}, "
                "lower max_seq_len, or make the aggregate categorical if it selects one position)"
            )
    return [float(m) for m in sorted(means)]


def infer_op_values(
    op,
    operand_values: Sequence[Sequence[Value] | None],
    vocab: Sequence[Value],
    max_seq_len: int,
    cap: int = DEFAULT_VALUE_SET_CAP,
    where: str | None = None,
) -> list[Value]:
    """The values `op`'s result can take, given the value sets of its s-op operands
    (in operand order; None for selector operands)."""
    where = where or f"'{op.name}'"
    result_type = op.results[0].type
    assert isinstance(result_type, SOpType)
    kind = result_type.value_kind

    def done(values) -> list[Value]:
        out = sort_values(normalize_value(v, kind) for v in values)
        if len(out) > cap:
            raise ValueSetTooLarge(
                f"{where}: takes {len(out)} values, more than the cap of {cap} "
                "(raise it with rasp-infer-values{cap=N} or lower max_seq_len)"
            )
        return out

    if isinstance(op, IndicesOp | LengthOp | SelectorWidthOp):
        # Checked before the set is built: max_seq_len may be absurdly large.
        count = max_seq_len + (1 if isinstance(op, SelectorWidthOp) else 0)
        if count > cap:
            raise ValueSetTooLarge(
                f"{where}: takes {count} values, more than the cap of {cap} "
                "(raise it with rasp-infer-values{cap=N} or lower max_seq_len)"
            )
    if isinstance(op, TokensOp):
        return done(vocab)
    if isinstance(op, IndicesOp):
        return done(range(max_seq_len))
    if isinstance(op, LengthOp):
        return done(range(1, max_seq_len + 1))
    if isinstance(op, SelectorWidthOp):
        return done(range(max_seq_len + 1))
    if isinstance(op, ConstantOp):
        return done([op.value.data])
    if isinstance(op, MapOp):
        (xs,) = operand_values
        table = op.table.as_dict()
        return done(table[(value_key(x),)] for x in xs if (value_key(x),) in table)
    if isinstance(op, SequenceMapOp):
        xs, ys = operand_values
        table = op.table.as_dict()
        keys = ((value_key(x), value_key(y)) for x in xs for y in ys)
        return done(table[k] for k in keys if k in table)
    if isinstance(op, LinearSequenceMapOp):
        xs, ys = operand_values
        a, b = op.coefficients
        text = next((v for v in [*xs, *ys] if isinstance(v, str)), None)
        if text is not None:
            raise RaspCompileError(
                f"{where}: a linear map needs numbers, but its input can hold the string {text!r} "
                "(if the string is an aggregate's default, give that aggregate a numeric one)"
            )
        return done(a * _as_float(x) + b * _as_float(y) for x in xs for y in ys)
    if isinstance(op, AggregateOp):
        _, xs = operand_values
        default = [op.default_value]
        if aggregate_encoding(op) == Encoding.NUMERICAL:
            # A mean sees bools as 0/1, and so does a numerical encoding of the default.
            number = [int(v) if isinstance(v, bool) else v for v in default]
            return done(mean_values(xs, max_seq_len, cap, where) + number)
        # A categorical aggregate copies one selected value (see DESIGN.md section 2).
        return done(list(xs) + default)
    raise RaspCompileError(f"{where}: no value-set rule for '{op.name}'")


def _as_float(v: Value) -> float:
    if isinstance(v, str):
        raise RaspCompileError(f"a linear map cannot take the string {v!r}")
    return float(v)
