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

from dataclasses import dataclass
from itertools import product

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

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for program in programs(op):
            for inner in list(program.body.block.ops):
                if isinstance(inner, SelectAndOp | SelectOrOp | SelectNotOp) and inner.result.uses:
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
        keys, key_tuples = self._joint(key_sops, owner, "joint_keys")
        queries, query_tuples = self._joint(query_sops, owner, "joint_queries")
        entries = []
        for kt, qt in product(key_tuples, query_tuples):
            holds = evaluate_selector(selector, dict(zip(key_sops, kt)), dict(zip(query_sops, qt)))
            k = _joint_name(kt) if len(kt) > 1 else kt[0]
            q = _joint_name(qt) if len(qt) > 1 else qt[0]
            entries.append(((k, q), holds))
        table_op = SelectTableOp(keys, queries, TableAttr(tuple(entries)))
        table_op.attributes["remark"] = StringAttr(
            f"{describe(owner)} mixed {len(pairs)} (keys, queries) pairs under or/not; "
            "their values are paired up by an MLP first, which may cost a block"
        )
        Rewriter.replace_op(owner, table_op)
