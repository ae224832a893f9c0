"""Canonicalization patterns of the `rasp` dialect, applied by xDSL's `canonicalize`.

Each op's `HasCanonicalizationPatternsTrait` (in `rasp_ir.dialects.rasp`) imports
this module lazily and returns the patterns rooted at that op. Every pattern keeps
the program's meaning (DESIGN.md section 2) exactly as the reference interpreter
computes it, and every op it creates verifies:

maps (fewer MLP sub-layers, so fewer transformer blocks)
- `map(g, map(f, x))` -> `map(g∘f, x)`, when every output of f is a key of g;
- `map(g, sequence_map(f, a, b))` -> `sequence_map(g∘f, a, b)`, likewise;
- `sequence_map(f, map(g, a), b)` -> `sequence_map(f∘(g×id), a, b)` (and for the
  second operand), when f has an entry for every output of g with every second
  argument it knows (and `a` is not numerical: a sequence_map reads one-hot inputs);
- `sequence_map(f, x, x)` -> `map(v -> f(v, v), x)`;
- `map(id, x)` -> `x` when the table is the identity and the types are equal;
- tables (and constants) are written the way `rasp-infer-values` lists values: an
  int argument or output in a float s-op as a float (`1 -> 1` becomes `1.0 -> 1.0`),
  an integral float in an int s-op as an int, which is how the lowering looks them up.

constants (computed once, in the embedding)
- `map(f, constant c)` -> `constant f(c)`;
- `sequence_map(f, constant c, x)` -> `map(v -> f(c, v), x)` (and for the second operand);
- `linear_sequence_map` of two constants -> a constant; of one constant -> a `map`
  over the other operand's value set (when `rasp-infer-values` has recorded it);
- `select(constant a, constant b, pred)` -> the always-true or always-false select;
- `aggregate(sel, constant c, default d)` -> `constant c` when every position gets
  c: d == c and c is a number (a mean of copies of c is c), or d == c and sel
  selects at most one position (also for strings and bools), or sel is always-true
  and c is a number (every query selects at least itself).

selectors (smaller attention scores; a constant selector needs no s-op at all)
- `select_not(select_not(s))` -> `s`; `select_not(select(k, q, p))` -> `select(k, q, not p)`;
- `select_and(s, TRUE)` -> `s`, `select_and(s, FALSE)` -> `FALSE`, `select_and(s, s)` -> `s`,
  `select_and(s, not s)` -> `FALSE`;
- `select_or(s, TRUE)` -> `TRUE`, `select_or(s, FALSE)` -> `s`, `select_or(s, s)` -> `s`,
  `select_or(s, not s)` -> `TRUE`;
- an always-true/false select compares nothing, so its operands become one s-op the
  embedding already holds (the first tokens/indices/constant of the program that is
  surely categorical, or a new categorical `rasp.indices`): an attention head that
  uses it then no longer waits for the s-ops it used to name, and CSE can merge
  equal constant selectors;
- `aggregate(FALSE, x, default d)` -> `constant d` (when d's kind fits the result);
- the paper's BOS trick, `aggregate(s or select(indices, 0, ==), indicator(indices == 0))`
  -> `map(w -> 1/(w+1), selector_width(s and select(indices, 0, !=)))`: one head
  instead of an MLP that pairs up the `or`'s s-ops first;
- `selector_width(c and (a or b))` -> `selector_width(c and a) + selector_width(c and b)`
  when a and b never select the same key and the `or` compares several pairs of
  s-ops: two heads in one layer instead of an MLP that pairs the s-ops up first;
- `selector_width(FALSE)` -> `constant 0`; `selector_width(TRUE)` -> `length`.

New ops keep the replaced op's `name_hint` and, where the replaced op had one and the
value is the same s-op, its `values` attribute (the pipeline re-runs
`rasp-infer-values` after `canonicalize` anyway). Values in new constants and tables
are written as `rasp-infer-values` lists them: an int in a float s-op as a float
(2 -> 2.0; equal as numbers, so the interpreter's outputs compare equal).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import product

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from rasp_ir.analysis.encodings import selects_at_most_one
from rasp_ir.analysis.value_sets import ValueSetTooLarge, infer_op_values
from rasp_ir.analysis.weighted_counts import select_leaves, weighted_count
from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    Encoding,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    Predicate,
    ProgramOp,
    SelectAndOp,
    SelectNotOp,
    SelectOp,
    SelectOrOp,
    SelectorWidthOp,
    SequenceMapOp,
    SOpType,
    TableAttr,
    TokensOp,
    Value,
    ValueKind,
    ValuesAttr,
    fits_kind,
    known_values,
    table_entry_keys,
    value_key,
)
from rasp_ir.passes.lower_composite_selectors import conjuncts, evaluate_selector, leaf_pairs

# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #

NEGATED_PREDICATE: dict[Predicate, Predicate] = {
    Predicate.EQ: Predicate.NEQ,
    Predicate.NEQ: Predicate.EQ,
    Predicate.LT: Predicate.GEQ,
    Predicate.GEQ: Predicate.LT,
    Predicate.LEQ: Predicate.GT,
    Predicate.GT: Predicate.LEQ,
    Predicate.TRUE: Predicate.FALSE,
    Predicate.FALSE: Predicate.TRUE,
}
"""`not pred(k, q)` == `NEGATED_PREDICATE[pred](k, q)` for the values RASP has (all
totally ordered within a kind, no NaN)."""


def _sop_type(value: SSAValue) -> SOpType:
    assert isinstance(value.type, SOpType)
    return value.type


def _kind(value: SSAValue) -> ValueKind:
    return _sop_type(value).value_kind


def _to_kind(v: Value, kind: ValueKind) -> Value:
    """An argument as a table lookup sees it: the interpreter brings it to the kind of
    the s-op it comes from (an int 1 in a float s-op is looked up as 1.0; a bool stays
    a bool, as `rasp-infer-values` lists it)."""
    if kind == ValueKind.FLOAT and _is_number(v):
        return float(v)
    if kind == ValueKind.INT and isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _fits(v: Value, kind: ValueKind) -> bool:
    """Whether an op whose result is an s-op of `kind` may produce `v` (the verifiers' rule)."""
    return fits_kind(v, kind)


def _is_number(v: Value) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


class _Table:
    """A table as the interpreter reads it: arguments brought to their s-ops' kinds,
    then looked up exactly. (The interpreter also accepts a float within 1e-9 of an
    entry; a pattern that needs such a near match does not fire.)"""

    def __init__(self, table: TableAttr, kinds: Sequence[ValueKind]):
        self.entries = table.data
        self.kinds = tuple(kinds)
        self.lookup = table.as_dict()

    def get(self, *args: Value) -> Value | None:
        """The entry at `args`, or None when there is none (no RASP value is None)."""
        key = tuple(value_key(_to_kind(a, k)) for a, k in zip(args, self.kinds))
        return self.lookup.get(key)


def _table(
    entries: Sequence[tuple[tuple[Value, ...], Value]], inputs: Sequence[SSAValue], result: SSAValue
) -> TableAttr | None:
    """A table of `entries` for an op reading `inputs` into `result`, written the way
    `rasp-infer-values` lists values (an int in a float s-op as a float; the lowering
    looks arguments and outputs up in those lists), or None when two entries have the
    same arguments (a table that mixed ints and floats its kinds make equal)."""
    return _distinct_table(_normalized_entries(entries, inputs, result))


def _distinct_table(normalized: list[tuple[tuple[Value, ...], Value]]) -> TableAttr | None:
    """A table of normalized entries, or None when two have the same arguments."""
    keys = {tuple(value_key(a) for a in args) for args, _ in normalized}
    if not normalized or len(keys) != len(normalized):
        return None
    return TableAttr(tuple(normalized))


def _normalized_entries(
    entries: Sequence[tuple[tuple[Value, ...], Value]], inputs: Sequence[SSAValue], result: SSAValue
) -> list[tuple[tuple[Value, ...], Value]]:
    kinds = [_kind(v) for v in inputs]
    out_kind = _kind(result)
    return [
        (tuple(_normalize(_to_kind(a, k), k) for a, k in zip(args, kinds)), _normalize(out, out_kind))
        for args, out in entries
    ]


def _copy_name(new_op: Operation, old_op: Operation) -> None:
    new_op.results[0].name_hint = old_op.results[0].name_hint


def _copy_values(new_op: Operation, old_op: Operation) -> None:
    """Carry the value set over: the new op computes the same s-op as the old one."""
    values = old_op.attributes.get("values")
    if isinstance(values, ValuesAttr):
        new_op.attributes["values"] = values


def _replace_with(rewriter: PatternRewriter, old: Operation, new: Operation, same_values: bool = True) -> None:
    _copy_name(new, old)
    if same_values:
        _copy_values(new, old)
    else:
        _forget_carried_values(old)
    rewriter.replace(old, new)


def _forget_carried_values(old: Operation) -> None:
    """Drop the value sets downstream of `old` that hold values of another kind than their
    s-op (an aggregate's default carried on, e.g. the paper's 0 in a string s-op): their
    verifier accepts those only as carried from the input, and the new op may no longer
    carry them. `rasp-infer-values` runs after canonicalize and writes them anew."""
    todo = list(old.results)
    seen: set[SSAValue] = set()
    while todo:
        value = todo.pop()
        if value in seen:
            continue
        seen.add(value)
        for use in value.uses:
            user = use.operation
            values = user.attributes.get("values")
            if isinstance(values, ValuesAttr) and user.results and isinstance(user.results[0].type, SOpType):
                if any(not _fits(v, user.results[0].type.value_kind) for v in values.data):
                    del user.attributes["values"]
            todo.extend(user.results)


def _max_seq_len(op: Operation) -> int | None:
    """The max_seq_len of the program around `op`, if it has one."""
    max_seq_len = getattr(op.parent_op(), "max_seq_len", None)
    return None if max_seq_len is None else int(max_seq_len.data)


def _constant(value: SSAValue) -> ConstantOp | None:
    owner = value.owner
    return owner if isinstance(owner, ConstantOp) else None


def _new_constant(value: Value, replaced: Operation) -> ConstantOp | None:
    """`rasp.constant value` to replace `replaced` (typed like its result), or None when
    the value's kind does not fit that type. When value sets are known (`replaced` has
    one), the constant gets its own, exact one."""
    result_type = _sop_type(replaced.results[0])
    if not _fits(value, result_type.value_kind):
        return None
    # An int in a float s-op is written as a float (2 -> 2.0, equal as numbers), as
    # `rasp-infer-values` lists it: the lowering looks constants up in that list.
    value = _normalize(value, result_type.value_kind)
    const = ConstantOp(value, result_type)
    if isinstance(replaced.attributes.get("values"), ValuesAttr):
        const.attributes["values"] = ValuesAttr((value,))
    return const


def _normalize(v: Value, kind: ValueKind) -> Value:
    """A value as `rasp-infer-values` lists it in an s-op of `kind`."""
    if kind == ValueKind.FLOAT and _is_number(v):
        return float(v)
    return v


def _constant_selector(value: SSAValue) -> bool | None:
    """True/False for an always-true/always-false select, None for any other selector."""
    owner = value.owner
    if isinstance(owner, SelectOp):
        if owner.predicate.data == Predicate.TRUE:
            return True
        if owner.predicate.data == Predicate.FALSE:
            return False
    return None


# --------------------------------------------------------------------------- #
# map
# --------------------------------------------------------------------------- #


class FoldMapOfConstant(RewritePattern):
    """`map(f, constant c)` -> `constant f(c)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MapOp, rewriter: PatternRewriter) -> None:
        const = _constant(op.input)
        if const is None:
            return
        result = _Table(op.table, [_kind(op.input)]).get(const.value.data)
        if result is None:
            return
        new = _new_constant(result, op)
        if new is not None:
            _replace_with(rewriter, op, new, same_values=False)


class FuseMapOfMap(RewritePattern):
    """`map(g, map(f, x))` -> `map(g∘f, x)`; the inner map stays while something else uses it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MapOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if not isinstance(inner, MapOp):
            return
        g = _Table(op.table, [_kind(inner.result)])
        entries = []
        for args, mid in inner.table.data:
            out = g.get(mid)
            if out is None:
                return
            entries.append((args, out))
        if (table := _table(entries, [inner.input], op.result)) is None:
            return
        new = MapOp(inner.input, table, _sop_type(op.result))
        _replace_with(rewriter, op, new)


class FuseMapOfSequenceMap(RewritePattern):
    """`map(g, sequence_map(f, a, b))` -> `sequence_map(g∘f, a, b)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MapOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if not isinstance(inner, SequenceMapOp):
            return
        g = _Table(op.table, [_kind(inner.result)])
        entries = []
        for args, mid in inner.table.data:
            out = g.get(mid)
            if out is None:
                return
            entries.append((args, out))
        if (table := _table(entries, [inner.lhs, inner.rhs], op.result)) is None:
            return
        new = SequenceMapOp(inner.lhs, inner.rhs, table, _sop_type(op.result))
        _replace_with(rewriter, op, new)


class RemoveIdentityMap(RewritePattern):
    """`map(id, x)` -> `x` when the result has x's type (an encoding conversion, whose
    types differ, stays)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MapOp, rewriter: PatternRewriter) -> None:
        if op.result.type != op.input.type or not op.table.data:
            return
        kind = _kind(op.input)
        for (arg,), out in op.table.data:
            if value_key(_normalize(_to_kind(arg, kind), kind)) != value_key(_normalize(out, kind)):
                return
        if op.input.name_hint is None:
            op.input.name_hint = op.result.name_hint
        rewriter.replace(op, [], [op.input])


def _renormalized(op: MapOp | SequenceMapOp) -> MapOp | SequenceMapOp | None:
    """`op` with its table in the canonical form of `_table`, or None when it already is
    (or cannot be: two entries would get the same arguments)."""
    normalized = _normalized_entries(op.table.data, op.operands, op.result)
    if table_entry_keys(normalized) == op.table.entry_keys:
        return None  # already canonical (the common case: checked without building a table)
    table = _distinct_table(normalized)
    if table is None:
        return None
    if isinstance(op, MapOp):
        new: MapOp | SequenceMapOp = MapOp(op.input, table, _sop_type(op.result))
    else:
        new = SequenceMapOp(op.lhs, op.rhs, table, _sop_type(op.result))
    new.attributes.update(op.attributes)
    return new


class NormalizeMapTable(RewritePattern):
    """A map's table written as `rasp-infer-values` lists values: `[1 -> 1, 2 -> 2.5]`
    in a float s-op becomes `[1 -> 1.0, 2 -> 2.5]` (equal as numbers; the lowering
    looks outputs up in the value set, where 1 and 1.0 are different keys)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MapOp, rewriter: PatternRewriter) -> None:
        if (new := _renormalized(op)) is not None:
            _replace_with(rewriter, op, new)


class NormalizeSequenceMapTable(RewritePattern):
    """A sequence_map's table written as `rasp-infer-values` lists values (see NormalizeMapTable)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SequenceMapOp, rewriter: PatternRewriter) -> None:
        if (new := _renormalized(op)) is not None:
            _replace_with(rewriter, op, new)


class NormalizeConstant(RewritePattern):
    """`rasp.constant 1 : !rasp.sop<float>` -> `rasp.constant 1.0 : !rasp.sop<float>`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ConstantOp, rewriter: PatternRewriter) -> None:
        kind = _kind(op.result)
        value = _normalize(op.value.data, kind)
        if value_key(value) == value_key(op.value.data):
            return
        new = ConstantOp(value, _sop_type(op.result))
        new.attributes.update(op.attributes)
        _replace_with(rewriter, op, new)


# --------------------------------------------------------------------------- #
# sequence_map
# --------------------------------------------------------------------------- #


class FoldSequenceMapOfConstant(RewritePattern):
    """`sequence_map(f, constant c, x)` -> `map(v -> f(c, v), x)`, and for a constant
    second operand `map(v -> f(v, c), x)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SequenceMapOp, rewriter: PatternRewriter) -> None:
        for const_index in (0, 1):
            const = _constant(op.operands[const_index])
            if const is None:
                continue
            other = op.operands[1 - const_index]
            kinds = (_kind(op.lhs), _kind(op.rhs))
            c = value_key(_to_kind(const.value.data, kinds[const_index]))
            entries = tuple(
                ((args[1 - const_index],), out)
                for args, out in op.table.data
                if value_key(_to_kind(args[const_index], kinds[const_index])) == c
            )
            if (table := _table(entries, [other], op.result)) is None:
                continue
            new = MapOp(other, table, _sop_type(op.result))
            _replace_with(rewriter, op, new)
            return


class SequenceMapOfSameOperand(RewritePattern):
    """`sequence_map(f, x, x)` -> `map(v -> f(v, v), x)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SequenceMapOp, rewriter: PatternRewriter) -> None:
        if op.lhs != op.rhs:
            return
        kind = _kind(op.lhs)
        entries = tuple(
            ((a,), out)
            for (a, b), out in op.table.data
            if value_key(_to_kind(a, kind)) == value_key(_to_kind(b, kind))
        )
        if (table := _table(entries, [op.lhs], op.result)) is None:
            return
        new = MapOp(op.lhs, table, _sop_type(op.result))
        _replace_with(rewriter, op, new)


class FuseSequenceMapOfMap(RewritePattern):
    """`sequence_map(f, map(g, a), b)` -> `sequence_map(f∘(g×id), a, b)`, and likewise
    for a map as the second operand."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SequenceMapOp, rewriter: PatternRewriter) -> None:
        for index in (0, 1):
            inner = op.operands[index].owner
            if not isinstance(inner, MapOp) or op.lhs == op.rhs:
                continue
            # A sequence_map reads one-hot inputs: never give it a numerical one.
            if _sop_type(inner.input).enc == Encoding.NUMERICAL:
                continue
            table = self._fused(op, inner, index)
            if table is None:
                continue
            operands = [op.lhs, op.rhs]
            operands[index] = inner.input
            new = SequenceMapOp(operands[0], operands[1], table, _sop_type(op.result))
            _replace_with(rewriter, op, new)
            return

    @staticmethod
    def _fused(op: SequenceMapOp, inner: MapOp, index: int) -> TableAttr | None:
        kinds = (_kind(op.lhs), _kind(op.rhs))
        f = _Table(op.table, kinds)
        # The other operand's values f knows, in table order.
        others: dict = {}
        for args, _ in op.table.data:
            other = _to_kind(args[1 - index], kinds[1 - index])
            others.setdefault(value_key(other), other)
        # Entries in operand order: the first operand's values outermost, as tables are written.
        pairs = [((a, mid), other) for (a,), mid in inner.table.data for other in others.values()]
        if index == 1:
            pairs = [((a, mid), other) for other in others.values() for (a,), mid in inner.table.data]
        entries = []
        for (a, mid), other in pairs:
            out = f.get(mid, other) if index == 0 else f.get(other, mid)
            if out is None:
                return None
            entries.append(((a, other) if index == 0 else (other, a), out))
        inputs = [op.lhs, op.rhs]
        inputs[index] = inner.input
        return _table(entries, inputs, op.result)


# --------------------------------------------------------------------------- #
# linear_sequence_map
# --------------------------------------------------------------------------- #


def _linear_value(a: Value, x: Value, b: Value, y: Value, kind: ValueKind) -> Value | None:
    """`a*x + b*y` as the interpreter computes it, in a form an s-op of `kind` can hold
    (an integral float in an int s-op becomes an int; None when it cannot be held)."""
    v = a * x + b * y  # type: ignore[operator]
    if kind == ValueKind.INT and isinstance(v, float):
        if not v.is_integer():
            return None
        v = int(v)
    return v if _fits(v, kind) else None


class FoldLinearSequenceMapOfConstant(RewritePattern):
    """`linear_sequence_map(constant c1, constant c2)` -> `constant a*c1 + b*c2`;
    with one constant, a `map` over the other operand's (known) value set."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: LinearSequenceMapOp, rewriter: PatternRewriter) -> None:
        a, b = op.coefficients
        kind = _kind(op.result)
        lhs, rhs = _constant(op.lhs), _constant(op.rhs)
        if lhs is not None and rhs is not None:
            v = _linear_value(a, lhs.value.data, b, rhs.value.data, kind)
            if v is not None and (new := _new_constant(v, op)) is not None:
                _replace_with(rewriter, op, new, same_values=False)
            return
        if lhs is None and rhs is None:
            return
        other = op.rhs if lhs is not None else op.lhs
        owner = other.owner
        values = owner.attributes.get("values") if isinstance(owner, Operation) else None
        if not isinstance(values, ValuesAttr) or not values.data:
            return
        entries = []
        for v in values.data:
            if lhs is not None:
                out = _linear_value(a, lhs.value.data, b, v, kind)
            else:
                assert rhs is not None
                out = _linear_value(a, v, b, rhs.value.data, kind)
            if out is None:
                return
            entries.append(((v,), out))
        if (table := _table(entries, [other], op.result)) is None:
            return
        new = MapOp(other, table, _sop_type(op.result))
        _replace_with(rewriter, op, new)


# --------------------------------------------------------------------------- #
# selectors
# --------------------------------------------------------------------------- #


class FoldSelectOfConstants(RewritePattern):
    """`select(constant a, constant b, pred)` -> `select(..., true)` or `select(..., false)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectOp, rewriter: PatternRewriter) -> None:
        if op.predicate.data in (Predicate.TRUE, Predicate.FALSE):
            return
        keys, queries = _constant(op.keys), _constant(op.queries)
        if keys is None or queries is None:
            return
        holds = op.predicate.data(keys.value.data, queries.value.data)
        new = SelectOp(op.keys, op.queries, Predicate.TRUE if holds else Predicate.FALSE)
        _replace_with(rewriter, op, new)


class CanonicalConstantSelectOperands(RewritePattern):
    """An always-true/false select compares nothing: give it, as both operands, an s-op
    the embedding holds, so that no attention head that uses it waits for the s-ops it
    named, and CSE can merge equal constant selectors.

    The operand is the first tokens/indices/constant of the program that is categorical
    already (its type says so, it holds strings, or a select compares it), so that
    `rasp-infer-encodings` needs no conversion for it; when there is none, a new
    `rasp.indices : !rasp.sop<cat, int>` (nothing reads its dimensions, so
    `transformer-drop-unread-dims` removes them)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectOp, rewriter: PatternRewriter) -> None:
        if op.predicate.data not in (Predicate.TRUE, Predicate.FALSE):
            return
        block = op.parent_block()
        if block is None:
            return
        anchor: SSAValue | None = None
        for candidate in block.ops:
            if candidate is op:
                break
            if isinstance(candidate, TokensOp | IndicesOp | ConstantOp) and _surely_categorical(candidate.results[0]):
                anchor = candidate.results[0]
                break
        if anchor is not None and op.keys == anchor and op.queries == anchor:
            return
        if anchor is None:
            indices = IndicesOp(SOpType(ValueKind.INT, Encoding.CATEGORICAL))
            indices.result.name_hint = "indices"
            rewriter.insert(indices, InsertPoint.at_start(block))
            anchor = indices.result
        new = SelectOp(anchor, anchor, op.predicate.data)
        _replace_with(rewriter, op, new)


class EqualityOnValuesTheOtherSideLacks(RewritePattern):
    """`select(x, y, ==)` (or `!=`) where an element-wise x can hold several values y never
    holds: each of them selects no query (with `!=`, every query) alike, so they become
    one of them: `select(map(x: v -> v if v is a value of y else s), y, pred)`, s the
    first such value (and likewise for y against x). The head then reads a one-hot of
    the values that can match and one more, and the MLP computing it steps only where
    the match changes (long_addition's `indices + length - add_index`, which is a
    fraction wherever several `+` are averaged)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectOp, rewriter: PatternRewriter) -> None:
        if op.predicate.data not in (Predicate.EQ, Predicate.NEQ):
            return
        for index in (0, 1):
            side, other = op.operands[index], op.operands[1 - index]
            if not isinstance(side.owner, MapOp | SequenceMapOp | LinearSequenceMapOp):
                continue
            values, matches = known_values(side), known_values(other)
            if values is None or matches is None:
                continue
            can_match = set(matches.data)  # Python's ==, as the interpreter compares: 1 == 1.0
            foreign = [v for v in values.data if v not in can_match]
            if len(foreign) < 2:
                continue
            entries = tuple(((v,), v if v in can_match else foreign[0]) for v in values.data)
            if (table := _table(entries, [side], side)) is None:
                continue
            merged = MapOp(side, table, _sop_type(side))
            merged.result.name_hint = side.name_hint
            rewriter.insert(merged, InsertPoint.before(op))
            operands = [op.keys, op.queries]
            operands[index] = merged.result
            _replace_with(rewriter, op, SelectOp(operands[0], operands[1], op.predicate.data))
            return


def _surely_categorical(value: SSAValue) -> bool:
    """Categorical now, or sure to be made categorical by `rasp-infer-encodings`."""
    t = _sop_type(value)
    if t.enc is not None:
        return t.is_categorical
    return t.value_kind == ValueKind.STR or any(isinstance(use.operation, SelectOp) for use in value.uses)


class SelectNotOfSelectNot(RewritePattern):
    """`select_not(select_not(s))` -> `s`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectNotOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if isinstance(inner, SelectNotOp):
            rewriter.replace(op, [], [inner.input])


class SelectNotOfSelect(RewritePattern):
    """`select_not(select(k, q, pred))` -> `select(k, q, not pred)`
    (eq <-> neq, lt <-> geq, leq <-> gt, true <-> false)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectNotOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if op.result.uses and all(isinstance(use.operation, SelectNotOp) for use in op.result.uses):
            return  # not(not(...)) cancels: leave it to SelectNotOfSelectNot
        if isinstance(inner, SelectOp):
            new = SelectOp(inner.keys, inner.queries, NEGATED_PREDICATE[inner.predicate.data])
            _replace_with(rewriter, op, new)


def _complementary(a: SSAValue, b: SSAValue) -> bool:
    """Whether selector b is the complement of selector a (`s` and `select_not(s)`, or
    selects over the same s-ops with negated predicates)."""
    oa, ob = a.owner, b.owner
    if isinstance(oa, SelectNotOp) and oa.input == b or isinstance(ob, SelectNotOp) and ob.input == a:
        return True
    return (
        isinstance(oa, SelectOp)
        and isinstance(ob, SelectOp)
        and oa.keys == ob.keys
        and oa.queries == ob.queries
        and NEGATED_PREDICATE[oa.predicate.data] == ob.predicate.data
    )


def _some_sop(selector: SSAValue) -> SSAValue:
    """An s-op that a (composite) selector compares."""
    owner = selector.owner
    assert isinstance(owner, Operation)
    for operand in owner.operands:
        if isinstance(operand.type, SOpType):
            return operand
    return _some_sop(owner.operands[0])


def _constant_select(op: SelectAndOp | SelectOrOp, value: bool) -> SelectOp:
    """An always-true/false select to replace `op` (CanonicalConstantSelectOperands then
    picks its operands)."""
    sop = _some_sop(op.lhs)
    return SelectOp(sop, sop, Predicate.TRUE if value else Predicate.FALSE)


class SimplifySelectAnd(RewritePattern):
    """`select_and(s, TRUE)` -> `s`; `select_and(s, FALSE)` -> `FALSE`; `select_and(s, s)` -> `s`;
    `select_and(s, not s)` -> `FALSE` (either operand order)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectAndOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs:
            rewriter.replace(op, [], [op.lhs])
            return
        for this, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            constant = _constant_selector(this)
            if constant is True:
                rewriter.replace(op, [], [other])
                return
            if constant is False:
                rewriter.replace(op, [], [this])
                return
        if _complementary(op.lhs, op.rhs):
            _replace_with(rewriter, op, _constant_select(op, False))


class SimplifySelectOr(RewritePattern):
    """`select_or(s, TRUE)` -> `TRUE`; `select_or(s, FALSE)` -> `s`; `select_or(s, s)` -> `s`;
    `select_or(s, not s)` -> `TRUE` (either operand order)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectOrOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs:
            rewriter.replace(op, [], [op.lhs])
            return
        for this, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            constant = _constant_selector(this)
            if constant is True:
                rewriter.replace(op, [], [this])
                return
            if constant is False:
                rewriter.replace(op, [], [other])
                return
        if _complementary(op.lhs, op.rhs):
            _replace_with(rewriter, op, _constant_select(op, True))


class OrOfImpliedPart(RewritePattern):
    """`select_or(a, b)` -> `a` where b selects only what a selects (either order).

    sort_bos's `select(num_before, indices - 1, ==) or (select(indices, 0, ==) and
    select(indices, indices, ==))`: the second part selects key 0 for query 0, which the
    first selects too (num_before is -1 at position 0). The `or` mixes three pairs of
    s-ops, which `rasp-lower-composite-selectors` would pair up in an MLP (width 227 for
    sort_bos); `a` alone is one pair. Checked over every combination of the values of
    what the compared s-ops are computed from (through maps and sequence_maps), on the
    key side and on the query side, independently: that covers every pair of positions."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectOrOp, rewriter: PatternRewriter) -> None:
        for kept, dropped in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            if _implies(dropped, kept):
                rewriter.replace(op, [], [kept])
                return


IMPLICATION_CHECK_CAP = 1 << 15
"""Most combinations of root values `OrOfImpliedPart` enumerates."""


def _implies(premise: SSAValue, conclusion: SSAValue) -> bool:
    """Whether every (key, query) pair `premise` selects is selected by `conclusion`, over
    every combination of the values the compared s-ops' roots can take (sound: False
    when not proven)."""
    compared: dict[str, dict[SSAValue, None]] = {"keys": {}, "queries": {}}
    for selector in (premise, conclusion):
        leaves = select_leaves(selector)
        if leaves is None:
            return False
        for leaf in leaves:
            compared["keys"][leaf.keys] = None
            compared["queries"][leaf.queries] = None
    roots: dict[str, dict[SSAValue, None]] = {"keys": {}, "queries": {}}
    for side in roots:
        for sop in compared[side]:
            if not _collect_roots(sop, roots[side]):
                return False
    sides = [list(roots["keys"]), list(roots["queries"])]
    value_sets = []
    for root in sides[0] + sides[1]:
        values = _root_values(root)
        if values is None:
            return False
        value_sets.append(values)
    if math.prod(len(v) for v in value_sets) > IMPLICATION_CHECK_CAP:
        return False
    n_keys = len(sides[0])
    for combo in product(*value_sets):
        try:
            keys = _evaluate_sops(compared["keys"], dict(zip(sides[0], combo[:n_keys])))
            queries = _evaluate_sops(compared["queries"], dict(zip(sides[1], combo[n_keys:])))
            if evaluate_selector(premise, keys, queries) and not evaluate_selector(conclusion, keys, queries):
                return False
        except (KeyError, TypeError):  # a value the tables lack, an order between kinds
            return False
    return True


def _root_values(root: SSAValue) -> list[Value] | None:
    """The values `root` can take: its value set, else (before value sets, or for a width
    canonicalization made) what value-set inference gives tokens, indices and widths."""
    values = known_values(root)
    if values is not None:
        return list(values.data)
    owner = root.owner
    program = owner.parent_op() if isinstance(owner, Operation) else None
    if not isinstance(owner, TokensOp | IndicesOp | SelectorWidthOp) or not isinstance(program, ProgramOp):
        return None
    vocab, n = program.vocabulary, program.seq_len
    if n is None or (vocab is None and isinstance(owner, TokensOp)):
        return None
    try:
        return infer_op_values(owner, [None] * len(owner.operands), vocab or (), n)
    except ValueSetTooLarge:
        return None


def _collect_roots(sop: SSAValue, roots: dict[SSAValue, None]) -> bool:
    """Add what `sop` is computed from through tables (maps, sequence_maps) to `roots`;
    False for an element-wise op without a table."""
    owner = sop.owner
    if isinstance(owner, MapOp | SequenceMapOp):
        return all(_collect_roots(operand, roots) for operand in owner.operands)
    if isinstance(owner, LinearSequenceMapOp):
        return False
    if not isinstance(owner, ConstantOp):
        roots[sop] = None
    return True


def _evaluate_sops(sops: dict[SSAValue, None], env: dict[SSAValue, Value]) -> dict[SSAValue, Value]:
    """Each s-op's value given its roots' values (`env`, extended in place)."""

    def value(sop: SSAValue) -> Value:
        if sop not in env:
            owner = sop.owner
            if isinstance(owner, ConstantOp):
                env[sop] = owner.value.data
            else:
                assert isinstance(owner, MapOp | SequenceMapOp)
                env[sop] = owner.table.lookup(*(value(operand) for operand in owner.operands))
        return env[sop]

    return {sop: value(sop) for sop in sops}


class OrOfConstantSelects(RewritePattern):
    """`select(x, c1, p1) or select(x, c2, p2)` -> `select(map(x), constant True, ==)`,
    with the map `v -> p1(v, c1) or p2(v, c2)` (and the same with x on the query side,
    constants as keys): rover's `select(relative_clause_pos, 2, ==) or
    select(relative_clause_pos, 6, ==)`.

    The two selects compare x with two different constant s-ops, two (keys, queries)
    pairs under `or`, which `rasp-lower-composite-selectors` pairs up in an MLP before
    the head (often one more block); the map is a function of x alone, which a head
    reads through x's one-hot where only heads read it (`head folding`), compared with
    one constant: one select, one pair."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectOrOp, rewriter: PatternRewriter) -> None:
        tests = [_constant_test(side) for side in (op.lhs, op.rhs)]
        if tests[0] is None or tests[1] is None:
            return
        (side, x, first), (other_side, other_x, second) = tests
        values = known_values(x)
        if side != other_side or x != other_x or values is None:
            return
        try:
            entries = [((v,), bool(first(v) or second(v))) for v in values.data]
        except TypeError:  # an order between values of different kinds: leave it
            return
        table = _distinct_table(entries)
        if table is None:
            return
        flag = MapOp(x, table, SOpType(ValueKind.BOOL))  # rasp-infer-encodings chooses
        flag.result.name_hint = f"{x.name_hint or 'sop'}_test"
        true = ConstantOp(True, SOpType(ValueKind.BOOL))
        keys, queries = (flag.result, true.result) if side == "keys" else (true.result, flag.result)
        rewriter.insert([flag, true], InsertPoint.before(op))
        _replace_with(rewriter, op, SelectOp(keys, queries, Predicate.EQ))


def _constant_test(selector: SSAValue) -> tuple[str, SSAValue, Callable[[Value], bool]] | None:
    """For a select of an s-op x against a constant: the side x is on ("keys" or
    "queries"), x, and the test on x's value; else None."""
    op = selector.owner
    if not isinstance(op, SelectOp) or op.predicate.data in (Predicate.TRUE, Predicate.FALSE):
        return None
    pred = op.predicate.data
    key_const, query_const = _constant(op.keys), _constant(op.queries)
    if query_const is not None and key_const is None:
        c = query_const.value.data
        return "keys", op.keys, lambda v: pred(v, c)
    if key_const is not None and query_const is None:
        c = key_const.value.data
        return "queries", op.queries, lambda v: pred(c, v)
    return None


# --------------------------------------------------------------------------- #
# aggregate, selector_width
# --------------------------------------------------------------------------- #


class FoldAggregateOfFalse(RewritePattern):
    """`aggregate(FALSE, x, default d)` -> `constant d`: nothing is ever selected."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AggregateOp, rewriter: PatternRewriter) -> None:
        if _constant_selector(op.selector) is not False:
            return
        new = _new_constant(op.default_value, op)
        if new is not None:
            _replace_with(rewriter, op, new, same_values=False)


class FoldAggregateOfConstant(RewritePattern):
    """`aggregate(sel, constant c, default d)` -> `constant c` when every position gets c
    (or a number equal to it: a mean of several ints is a float, and 2.0 == 2):
    - d == c, and c is a number (a mean of copies of c is c), or sel selects at most one
      position (then a string or bool is only ever copied);
    - sel is always-true and c is a number: every query selects at least itself.
    Averaging several strings or bools is an error in the interpreter, so those are kept."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AggregateOp, rewriter: PatternRewriter) -> None:
        const = _constant(op.input)
        if const is None:
            return
        c, d = const.value.data, op.default_value
        number = _is_number(c)
        if number and _is_number(d):
            same_default = c == d
        else:
            same_default = value_key(c) == value_key(d)
        at_most_one = selects_at_most_one(op.selector)
        numerical = _sop_type(op.result).is_numerical
        if same_default and (number or (at_most_one and not numerical)):
            pass
        elif _constant_selector(op.selector) is True and number:
            pass
        else:
            return
        new = _new_constant(c, op)
        if new is not None:
            _replace_with(rewriter, op, new, same_values=False)


class WidthWithFirstPosition(RewritePattern):
    """The paper's selector_width without the primitive (its BOS trick):
    `aggregate(s or select(indices, 0, ==), indicator(indices == 0))` -> `map(w -> 1/(w+1),
    selector_width(s and select(indices, 0, !=)))`.

    Every query selects position 0, so the mean of "is position 0" over what it selects is
    1/n for the n positions selected: position 0 and the w others that s selects. The
    interpreter computes it as 1/n (an int over an int), and so does the map. One head
    scores `s and (key is not position 0)` (an `and` over different s-ops is a sum of
    scores), where the `or` would need the joint values of s's s-ops and indices, i.e. an
    MLP before the head. The default is never used: position 0 is always there."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AggregateOp, rewriter: PatternRewriter) -> None:
        if _kind(op.result) != ValueKind.FLOAT or not _is_first_indicator(op.input):
            return
        either = op.selector.owner
        if not isinstance(either, SelectOrOp):
            return
        for first, other in ((either.lhs, either.rhs), (either.rhs, either.lhs)):
            if _selects_first_position(first):
                break
        else:
            return
        n = _max_seq_len(op)
        if n is None:
            return
        select_first = first.owner
        assert isinstance(select_first, SelectOp)
        not_first = SelectOp(select_first.keys, select_first.queries, Predicate.NEQ)
        others = SelectAndOp(other, not_first.results[0])
        width = SelectorWidthOp(others.results[0], SOpType(ValueKind.INT, Encoding.CATEGORICAL))
        # w <= n - 1 (position 0 is not counted); w = n, which value-set inference
        # allows, gets a share the aggregate could take, so tables reading it cover it.
        table = _table([((w,), 1 / min(w + 1, n)) for w in range(n + 1)], [width.results[0]], op.result)
        if table is None:
            return
        share = MapOp(width.results[0], table, _sop_type(op.result))
        rewriter.insert([not_first, others, width], InsertPoint.before(op))
        _replace_with(rewriter, op, share, same_values=False)


def _selects_first_position(selector: SSAValue) -> bool:
    """`select(indices, constant 0, ==)`: every query selects position 0 alone."""
    op = selector.owner
    if not isinstance(op, SelectOp) or op.predicate.data != Predicate.EQ:
        return False
    const = _constant(op.queries)
    return (
        isinstance(op.keys.owner, IndicesOp)
        and const is not None
        and _is_number(const.value.data)
        and const.value.data == 0
    )


def _is_first_indicator(value: SSAValue) -> bool:
    """A map of indices that is 1 at position 0 and 0 elsewhere (on every index)."""
    op = value.owner
    if not isinstance(op, MapOp) or not isinstance(op.input.owner, IndicesOp):
        return False
    n = _max_seq_len(op)
    if n is None:
        return False
    table = op.table.as_dict()
    for i in range(n):
        out = table.get((value_key(i),))
        if out is None or not _is_number(out) or out != (1 if i == 0 else 0):
            return False
    return True


class WidthOfDisjointOr(RewritePattern):
    """`selector_width(c and (a or b))` -> `selector_width(c and a) + selector_width(c and b)`
    when no key is ever selected by both a and b, and the `or` compares more than one
    (keys, queries) pair of s-ops.

    Such an `or` has no single head (a head's score is a sum of one bilinear term per
    pair; a selected set like "smaller key, or equal key and earlier position" is not a
    threshold of any such sum), so `rasp-lower-composite-selectors` would pair its
    s-ops up in an MLP before the head, often one more block. Two heads in the same
    layer count the two disjoint parts instead, and the MLP after them adds the counts.
    Disjoint: some select of a and some select of b compare the same s-ops with
    predicates that never hold together (`<` and `==`, `<=` and `>`, `p` and `not p`, ...).
    Not where one head counts the whole selector with weighted keys
    (`analysis.weighted_counts`: short max_seq_len), which saves the second head."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectorWidthOp, rewriter: PatternRewriter) -> None:
        if weighted_count(op) is not None:
            return
        parts = conjuncts(op.selector)
        for index, part in enumerate(parts):
            either = part.owner
            if isinstance(either, SelectOrOp) and len(leaf_pairs(part)) > 1 and _disjoint(either.lhs, either.rhs):
                break
        else:
            return
        n = _max_seq_len(op)
        if n is None:
            return
        rest = parts[:index] + parts[index + 1 :]
        new_ops: list[Operation] = []
        widths = []
        for side in (either.lhs, either.rhs):
            selector = side
            for other in rest:
                both = SelectAndOp(selector, other)
                new_ops.append(both)
                selector = both.results[0]
            width = SelectorWidthOp(selector, SOpType(ValueKind.INT))  # rasp-infer-encodings chooses
            width.results[0].name_hint = f"{op.results[0].name_hint or 'width'}_part"
            new_ops.append(width)
            widths.append(width.results[0])
        # The parts select disjoint keys among at most n, so a + b <= n; the table says
        # so (a sum past n is unreachable) and keeps the width's value set 0..n, which
        # tables already built over this width cover.
        entries = [((a, b), min(a + b, n)) for a in range(n + 1) for b in range(n + 1)]
        table = _table(entries, widths, op.result)
        if table is None:  # (ints only: cannot happen) leave no dangling uses behind
            for new_op in reversed(new_ops):
                new_op.erase()
            return
        total = SequenceMapOp(widths[0], widths[1], table, _sop_type(op.result))
        rewriter.insert(new_ops, InsertPoint.before(op))
        _replace_with(rewriter, op, total, same_values=False)


# A key value below, equal to and above the query value: the three relations any two
# values of one kind can have, so two comparison predicates hold together on some
# values iff they do on one of these.
_ORDER_WITNESSES = ((0, 1), (1, 1), (1, 0))


def _disjoint(a: SSAValue, b: SSAValue) -> bool:
    """Whether selectors a and b never select the same key for the same query: a
    conjunct of a and one of b are complementary, or compare the same s-ops with
    predicates that hold on none of the three order relations together."""
    for x in conjuncts(a):
        for y in conjuncts(b):
            if _complementary(x, y):
                return True
            ox, oy = x.owner, y.owner
            if (
                isinstance(ox, SelectOp)
                and isinstance(oy, SelectOp)
                and ox.keys == oy.keys
                and ox.queries == oy.queries
                and not any(ox.predicate.data(k, q) and oy.predicate.data(k, q) for k, q in _ORDER_WITNESSES)
            ):
                return True
    return False


class FoldSelectorWidthOfConstant(RewritePattern):
    """`selector_width(FALSE)` -> `constant 0`; `selector_width(TRUE)` -> `length`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SelectorWidthOp, rewriter: PatternRewriter) -> None:
        constant = _constant_selector(op.selector)
        if constant is None:
            return
        result_type = _sop_type(op.result)
        new: Operation | None = LengthOp(result_type) if constant else _new_constant(0, op)
        if new is not None:
            _replace_with(rewriter, op, new, same_values=False)


# --------------------------------------------------------------------------- #
# Per-op pattern sets (what each op's HasCanonicalizationPatternsTrait returns)
# --------------------------------------------------------------------------- #


def map_patterns() -> tuple[RewritePattern, ...]:
    return (FoldMapOfConstant(), RemoveIdentityMap(), FuseMapOfMap(), FuseMapOfSequenceMap(), NormalizeMapTable())


def sequence_map_patterns() -> tuple[RewritePattern, ...]:
    return (
        FoldSequenceMapOfConstant(),
        SequenceMapOfSameOperand(),
        FuseSequenceMapOfMap(),
        NormalizeSequenceMapTable(),
    )


def constant_patterns() -> tuple[RewritePattern, ...]:
    return (NormalizeConstant(),)


def linear_sequence_map_patterns() -> tuple[RewritePattern, ...]:
    return (FoldLinearSequenceMapOfConstant(),)


def select_patterns() -> tuple[RewritePattern, ...]:
    return (FoldSelectOfConstants(), CanonicalConstantSelectOperands(), EqualityOnValuesTheOtherSideLacks())


def select_not_patterns() -> tuple[RewritePattern, ...]:
    return (SelectNotOfSelectNot(), SelectNotOfSelect())


def select_and_patterns() -> tuple[RewritePattern, ...]:
    return (SimplifySelectAnd(),)


def select_or_patterns() -> tuple[RewritePattern, ...]:
    return (SimplifySelectOr(), OrOfConstantSelects(), OrOfImpliedPart())


def aggregate_patterns() -> tuple[RewritePattern, ...]:
    return (FoldAggregateOfFalse(), FoldAggregateOfConstant(), WidthWithFirstPosition())


def selector_width_patterns() -> tuple[RewritePattern, ...]:
    return (FoldSelectorWidthOfConstant(), WidthOfDisjointOr())


__all__ = [
    "NEGATED_PREDICATE",
    "aggregate_patterns",
    "constant_patterns",
    "linear_sequence_map_patterns",
    "map_patterns",
    "select_and_patterns",
    "select_not_patterns",
    "select_or_patterns",
    "select_patterns",
    "selector_width_patterns",
    "sequence_map_patterns",
]
