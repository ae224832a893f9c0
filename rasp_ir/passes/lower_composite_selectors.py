"""`rasp-lower-composite-selectors`: give every selector a form one attention head can score.

A head scores a query against a key with a bilinear form over their residual
vectors. An `and` of selects over different (keys, queries) pairs is a sum of
per-pair 0/1 tables (selected iff every table holds), and any combination over
one pair is a single table, so those need nothing. But an `or`/`not` that mixes
selects over different s-ops needs the *joint* value of those s-ops on each side
(a product of one-hots is not linear in the residual). This pass makes the
joint values explicit: a `sequence_map` pairs the key s-ops up (and another the
query s-ops), and a `rasp.select_table` over the pairs replaces the mixed part.
The pairing maps cost an MLP sub-layer before the head, which can add a block;
the pass says so in a remark on the new select.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from rasp_ir.dialects.rasp import (
    Encoding,
    Predicate,
    ProgramOp,
    SelectAndOp,
    SelectNotOp,
    SelectOp,
    SelectOrOp,
    SelectTableOp,
    SequenceMapOp,
    SOpType,
    TableAttr,
    Value,
    ValueKind,
    ValuesAttr,
    format_value,
    known_values,
)
from rasp_ir.analysis.weighted_counts import weighted_count
from rasp_ir.errors import RaspCompileError
from rasp_ir.passes.common import describe, programs


def leaf_pairs(selector: SSAValue) -> set[tuple[SSAValue, SSAValue]]:
    """The (keys, queries) pairs a selector's non-constant selects compare."""
    owner = selector.owner
    if isinstance(owner, SelectOp):
        if owner.predicate.data in (Predicate.TRUE, Predicate.FALSE):
            return set()
        return {(owner.keys, owner.queries)}
    if isinstance(owner, SelectTableOp):
        return {(owner.keys, owner.queries)}
    pairs: set[tuple[SSAValue, SSAValue]] = set()
    for operand in owner.operands:  # type: ignore[union-attr]
        pairs |= leaf_pairs(operand)
    return pairs


def evaluate_selector(selector: SSAValue, keys: dict[SSAValue, Value], queries: dict[SSAValue, Value]) -> bool:
    """Whether the selector holds for one key position and one query position, given
    the values the s-ops it compares take there."""
    owner = selector.owner
    if isinstance(owner, SelectOp):
        pred = owner.predicate.data
        if pred in (Predicate.TRUE, Predicate.FALSE):
            return pred == Predicate.TRUE
        return pred(keys[owner.keys], queries[owner.queries])
    if isinstance(owner, SelectTableOp):
        return owner.holds(keys[owner.keys], queries[owner.queries])
    if isinstance(owner, SelectAndOp):
        return evaluate_selector(owner.lhs, keys, queries) and evaluate_selector(owner.rhs, keys, queries)
    if isinstance(owner, SelectOrOp):
        return evaluate_selector(owner.lhs, keys, queries) or evaluate_selector(owner.rhs, keys, queries)
    if isinstance(owner, SelectNotOp):
        return not evaluate_selector(owner.input, keys, queries)
    raise RaspCompileError(f"unexpected selector op {owner}")


def conjuncts(selector: SSAValue) -> list[SSAValue]:
    """The operands of the top-level `and`s of a selector."""
    if isinstance(selector.owner, SelectAndOp):
        return conjuncts(selector.owner.lhs) + conjuncts(selector.owner.rhs)
    return [selector]


def _joint_name(values: tuple[Value, ...]) -> str:
    return "(" + ", ".join(format_value(v) for v in values) + ")"


@dataclass(frozen=True)
class LowerCompositeSelectorsPass(ModulePass):
    """Pair up s-ops for `or`/`not` selectors over several s-ops (one head per selector)."""

    name = "rasp-lower-composite-selectors"

    max_entries: int = 1_000_000
    """Largest (key, query) table one composite selector may need."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for program in programs(op):
            for inner in list(program.body.block.ops):
                if (
                    isinstance(inner, SelectAndOp | SelectOrOp | SelectNotOp)
                    and inner.result.uses
                    and not _only_counted_by_weight(inner.result)
                ):
                    for part in conjuncts(inner.result):
                        if len(leaf_pairs(part)) > 1:
                            self._lower(program, part)

    def _joint(self, sops: list[SSAValue], before: Operation, role: str) -> tuple[SSAValue, list[tuple[Value, ...]]]:
        """An s-op whose value at each position names the tuple of `sops`' values there."""
        value_sets = []
        for sop in sops:
            values = known_values(sop)
            if values is None:
                raise RaspCompileError(f"{self.name}: run rasp-infer-values first")
            value_sets.append(list(values.data))
        joint, joint_values = sops[0], [(v,) for v in value_sets[0]]
        for sop, values in zip(sops[1:], value_sets[1:]):
            pairs = [(a, b) for a in joint_values for b in values]
            table = TableAttr(
                tuple(((_joint_name(a) if len(a) > 1 else a[0], b), _joint_name((*a, b))) for a, b in pairs)
            )
            step = SequenceMapOp(joint, sop, table, SOpType(ValueKind.STR, Encoding.CATEGORICAL))
            joint_values = [(*a, b) for a, b in pairs]
            step.attributes["values"] = ValuesAttr.of(_joint_name(t) for t in joint_values)
            step.result.name_hint = f"{role}_" + "_".join(s.name_hint or "sop" for s in sops)
            Rewriter.insert_op(step, InsertPoint.before(before))
            joint = step.result
        return joint, joint_values

    def _lower(self, program: ProgramOp, selector: SSAValue) -> None:
        owner = selector.owner
        assert isinstance(owner, Operation)
        pairs = sorted(leaf_pairs(selector), key=lambda p: (str(p[0].name_hint), str(p[1].name_hint)))
        key_sops = list(dict.fromkeys(k for k, _ in pairs))
        query_sops = list(dict.fromkeys(q for _, q in pairs))
        key_sets = [_values_of(v) for v in key_sops]
        query_sets = [_values_of(v) for v in query_sops]
        size = math.prod(map(len, key_sets)) * math.prod(map(len, query_sets))
        if size > self.max_entries:
            raise RaspCompileError(
                f"{self.name}: {describe(owner)} mixes selects over {len(key_sops)} key and "
                f"{len(query_sops)} query s-ops under or/not; one head needs their joint values, "
                f"a table of {size:,} (key, query) pairs (more than {self.max_entries:,}). "
                "Lower max_seq_len or the vocabulary, or write the condition over one pair of s-ops"
            )
        holds = _truth_table(selector, key_sops, key_sets, query_sops, query_sets)
        keys, key_tuples = self._joint(key_sops, owner, "joint_keys")
        queries, query_tuples = self._joint(query_sops, owner, "joint_queries")
        key_names = [_joint_name(t) if len(t) > 1 else t[0] for t in key_tuples]
        query_names = [_joint_name(t) if len(t) > 1 else t[0] for t in query_tuples]
        entries = tuple(
            ((k, q), bool(holds[i, j])) for i, k in enumerate(key_names) for j, q in enumerate(query_names)
        )
        table_op = SelectTableOp(keys, queries, TableAttr(entries))
        table_op.attributes["remark"] = StringAttr(
            f"{describe(owner)} mixed {len(pairs)} (keys, queries) pairs under or/not; "
            "their values are paired up by an MLP first, which may cost a block"
        )
        Rewriter.replace_op(owner, table_op)


def _only_counted_by_weight(selector: SSAValue) -> bool:
    """Whether every use of the selector (through `and`/`or`/`not`) is a selector_width
    that one head counts with weighted keys (`analysis.weighted_counts`), which needs no
    paired values."""
    for use in selector.uses:
        user = use.operation
        if isinstance(user, SelectAndOp | SelectOrOp | SelectNotOp):
            if not _only_counted_by_weight(user.results[0]):
                return False
        elif weighted_count(user) is None:
            return False
    return True


def _values_of(sop: SSAValue) -> list[Value]:
    values = known_values(sop)
    if values is None:
        raise RaspCompileError(f"{LowerCompositeSelectorsPass.name}: run rasp-infer-values first")
    return list(values.data)


def _truth_table(
    selector: SSAValue,
    key_sops: list[SSAValue],
    key_sets: list[list[Value]],
    query_sops: list[SSAValue],
    query_sets: list[list[Value]],
) -> np.ndarray:
    """Whether the selector holds, for every joint key tuple (rows, in product order) and
    joint query tuple (columns): each select's small table, spread over the joint grid."""
    key_index = np.indices([len(v) for v in key_sets]).reshape(len(key_sets), -1)
    query_index = np.indices([len(v) for v in query_sets]).reshape(len(query_sets), -1)

    def walk(sel: SSAValue) -> np.ndarray:
        owner = sel.owner
        if isinstance(owner, SelectOp | SelectTableOp):
            if isinstance(owner, SelectOp) and owner.predicate.data in (Predicate.TRUE, Predicate.FALSE):
                value = owner.predicate.data == Predicate.TRUE
                return np.full((key_index.shape[1], query_index.shape[1]), value)
            ki, qi = key_sops.index(owner.keys), query_sops.index(owner.queries)
            small = np.array(
                [[evaluate_selector(sel, {owner.keys: k}, {owner.queries: q}) for q in query_sets[qi]]
                 for k in key_sets[ki]],
                dtype=bool,
            ).reshape(len(key_sets[ki]), len(query_sets[qi]))
            return small[np.ix_(key_index[ki], query_index[qi])]
        if isinstance(owner, SelectAndOp):
            return walk(owner.lhs) & walk(owner.rhs)
        if isinstance(owner, SelectOrOp):
            return walk(owner.lhs) | walk(owner.rhs)
        if isinstance(owner, SelectNotOp):
            return ~walk(owner.input)
        raise RaspCompileError(f"unexpected selector op {owner}")

    return walk(selector)
