"""`rasp-infer-encodings`: choose categorical or numerical for every s-op left open.

Rules (an encoding the user wrote is never changed):
- what a `select` compares, and the inputs of a `sequence_map`, must be categorical;
- an aggregate of strings or bools copies one value, so it is categorical; so is an
  aggregate whose selector provably selects at most one position (an `==` select
  on indices, or a map of indices that keeps them apart); any other aggregate of
  numbers may average several, so it is numerical (and its values become floats);
- an aggregate's input has the aggregate's encoding;
- any other s-op takes what its uses need, categorical when they need nothing
  (a `linear_sequence_map` prefers numerical, its natural form).
Where an s-op is needed both ways, a conversion `rasp.map` (identity table) is
inserted in front of the uses that need the other encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from rasp_ir.dialects.rasp import (
    AggregateOp,
    Encoding,
    LinearSequenceMapOp,
    MapOp,
    ProgramOp,
    SelectOp,
    SelectTableOp,
    SequenceMapOp,
    SOpType,
    TableAttr,
    ValueKind,
    format_value,
    known_values,
    value_key,
)
from rasp_ir.analysis.encodings import aggregate_encoding
from rasp_ir.errors import RaspCompileError
from rasp_ir.analysis.value_sets import DEFAULT_VALUE_SET_CAP
from rasp_ir.passes.common import describe, programs
from rasp_ir.passes.infer_values import infer_program_values


def required_encoding(use_op: Operation, operand_index: int) -> Encoding | None:
    """The encoding an op needs for one of its operands (None: it takes either)."""
    if isinstance(use_op, SelectOp | SelectTableOp | SequenceMapOp):
        return Encoding.CATEGORICAL
    if isinstance(use_op, AggregateOp) and operand_index == 1:
        return _encoding(use_op.result)
    if isinstance(use_op, LinearSequenceMapOp) and _encoding(use_op.result) == Encoding.CATEGORICAL:
        return Encoding.CATEGORICAL
    return None


def _is_sum(op: Operation) -> bool:
    """A sequence_map of numbers whose table is a sum of one function per operand,
    f(a, b) = g(a) + h(b) (`a + b`, `100 * a + b`): a linear form, like a
    `linear_sequence_map`. As a number, an MLP computes it piece by piece from its
    inputs; as a one-hot it needs a dimension per sum and all the combinations."""
    if not isinstance(op, SequenceMapOp):
        return False
    entries = {(value_key(a), value_key(b)): out for (a, b), out in op.table.data}
    if not entries or not all(isinstance(out, int | float) and not isinstance(out, bool) for out in entries.values()):
        return False
    a0, b0 = next(iter(entries))
    for (a, b), out in entries.items():
        corners = (entries.get((a, b0)), entries.get((a0, b)))
        if None in corners or abs(out - corners[0] - corners[1] + entries[(a0, b0)]) > 1e-9 * max(1.0, abs(out)):
            return False
    return True


def _encoding(value: SSAValue) -> Encoding | None:
    assert isinstance(value.type, SOpType)
    return value.type.enc


@dataclass(frozen=True)
class InferEncodingsPass(ModulePass):
    """Choose categorical or numerical for each s-op the user left open; insert conversions."""

    name = "rasp-infer-encodings"

    value_set_cap: int = DEFAULT_VALUE_SET_CAP

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for program in programs(op):
            self._decide_aggregates(program)
            self._decide_rest(program)
            infer_program_values(program, self.value_set_cap)
            self._insert_conversions(program)

    def _decide_aggregates(self, program: ProgramOp) -> None:
        for inner in program.body.block.ops:
            if not isinstance(inner, AggregateOp) or _encoding(inner.result) is not None:
                continue
            result_type = inner.result.type
            assert isinstance(result_type, SOpType)
            if aggregate_encoding(inner) == Encoding.CATEGORICAL:
                new_type = result_type.with_encoding(Encoding.CATEGORICAL)
            else:
                if isinstance(inner.default_value, str):
                    raise RaspCompileError(
                        f"{self.name}: {describe(inner)} averages numbers (its selector may select several "
                        f"positions), so its default {format_value(inner.default_value)} must be a number too: "
                        "give a numeric default, or make it categorical if it selects at most one position"
                    )
                new_type = SOpType(ValueKind.FLOAT, Encoding.NUMERICAL)
            Rewriter.replace_value_with_new_type(inner.result, new_type)

    def _decide_rest(self, program: ProgramOp) -> None:
        for inner in reversed(list(program.body.block.ops)):
            for result in inner.results:
                if not isinstance(result.type, SOpType) or result.type.enc is not None:
                    continue
                needs = {required_encoding(use.operation, use.index) for use in result.uses} - {None}
                if Encoding.CATEGORICAL in needs or result.type.value_kind == ValueKind.STR:
                    choice = Encoding.CATEGORICAL
                elif Encoding.NUMERICAL in needs or isinstance(inner, LinearSequenceMapOp) or _is_sum(inner):
                    choice = Encoding.NUMERICAL
                else:
                    choice = Encoding.CATEGORICAL
                Rewriter.replace_value_with_new_type(result, result.type.with_encoding(choice))

    def _insert_conversions(self, program: ProgramOp) -> None:
        for inner in list(program.body.block.ops):
            for result in inner.results:
                if not isinstance(result.type, SOpType):
                    continue
                converted: dict[Encoding, SSAValue] = {}
                for use in list(result.uses):
                    need = required_encoding(use.operation, use.index)
                    if need is None or need == result.type.enc:
                        continue
                    if need not in converted:
                        converted[need] = self._conversion(inner, result, need)
                    use.operation.operands[use.index] = converted[need]

    def _conversion(self, producer: Operation, value: SSAValue, encoding: Encoding) -> SSAValue:
        values = known_values(value)
        if values is None:
            raise RaspCompileError(
                f"{self.name}: {describe(producer)} has no inferred value set; run rasp-infer-values first"
            )
        assert isinstance(value.type, SOpType)
        if encoding == Encoding.NUMERICAL and value.type.value_kind == ValueKind.STR:
            raise RaspCompileError(f"{self.name}: {describe(producer)} holds strings and cannot be numerical")
        text = next((v for v in values.data if isinstance(v, str)), None)
        if encoding == Encoding.NUMERICAL and text is not None:
            raise RaspCompileError(
                f"{self.name}: {describe(producer)} can hold the string {format_value(text)} (an aggregate's "
                "default of another kind than its values), so it cannot be numerical: give a numeric default"
            )
        table = TableAttr(tuple(((v,), v) for v in values.data))
        conversion = MapOp(value, table, value.type.with_encoding(encoding))
        conversion.attributes["values"] = values
        conversion.result.name_hint = f"{value.name_hint or 'sop'}_{encoding.value[:3]}"
        Rewriter.insert_op(conversion, InsertPoint.after(producer))
        return conversion.result
