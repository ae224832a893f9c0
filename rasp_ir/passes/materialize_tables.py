"""`rasp-materialize-tables`: turn `rasp.map_fn` bodies (written with `arith`) into tables.

The body is run with xDSL's interpreter on every value the input can take, so the
input's value set must be known: the pass infers value sets up to each map_fn.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import AnyFloat, FloatAttr, IntegerAttr, IntegerType, ModuleOp
from xdsl.ir import Attribute
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    impl_terminator,
    register_impls,
)
from xdsl.interpreters.arith import ArithFunctions
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import InterpretationError

from rasp_ir.analysis.value_sets import DEFAULT_VALUE_SET_CAP, infer_op_values
from rasp_ir.dialects.rasp import (
    MapOp,
    MapRegionOp,
    SOpOp,
    SOpType,
    TableAttr,
    Value,
    ValueKind,
    ValuesAttr,
    YieldOp,
    known_values,
)
from rasp_ir.errors import RaspCompileError
from rasp_ir.passes.common import describe, programs, require_vocab_and_length


@register_impls
class _YieldFunctions(InterpreterFunctions):
    @impl_terminator(YieldOp)
    def run_yield(self, interpreter: Interpreter, op: YieldOp, args: PythonValues):
        return ReturnedValues(args), ()


def _as_attr(value: Value, arg_type: Attribute) -> Attribute:
    """A RASP value as the attribute xDSL's arith interpreter works on."""
    if isinstance(arg_type, IntegerType):
        return IntegerAttr(int(value), arg_type)
    return FloatAttr(float(value), arg_type)


def _as_kind(value, kind: ValueKind) -> Value:
    if kind == ValueKind.BOOL:
        return bool(value)
    if kind == ValueKind.INT:
        return int(value)
    if kind == ValueKind.FLOAT:
        return float(value)
    raise RaspCompileError(f"a map_fn body cannot produce {kind} values")


@dataclass(frozen=True)
class MaterializeTablesPass(ModulePass):
    """Replace every `rasp.map_fn` by a `rasp.map` whose table is its body run on each input value."""

    name = "rasp-materialize-tables"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for program in programs(op):
            region_maps = [o for o in program.body.block.ops if isinstance(o, MapRegionOp)]
            if not region_maps:
                continue
            vocab, max_seq_len = require_vocab_and_length(program, self.name)
            interpreter = Interpreter(op)
            interpreter.register_implementations(ArithFunctions())
            interpreter.register_implementations(_YieldFunctions())
            for inner in list(program.body.block.ops):
                if isinstance(inner, MapRegionOp):
                    self._materialize(inner, interpreter)
                elif isinstance(inner, SOpOp):
                    operand_values = [
                        known_values(v).data if isinstance(v.type, SOpType) else None for v in inner.operands
                    ]
                    values = infer_op_values(
                        inner, operand_values, vocab, max_seq_len, DEFAULT_VALUE_SET_CAP, describe(inner)
                    )
                    inner.attributes["values"] = ValuesAttr(tuple(values))

    def _materialize(self, op: MapRegionOp, interpreter: Interpreter) -> None:
        inputs = known_values(op.input)
        assert inputs is not None
        result_type = op.result.type
        assert isinstance(result_type, SOpType)
        arg_type = op.body.block.args[0].type
        if not isinstance(arg_type, IntegerType | AnyFloat):
            raise RaspCompileError(f"{self.name}: {describe(op)}: the body's argument must be an integer or float, not {arg_type}")
        entries = []
        for value in inputs.data:
            if isinstance(value, str):
                raise RaspCompileError(
                    f"{self.name}: {describe(op)}: a map_fn body works on numbers; the input can be the string {value!r}"
                )
            try:
                (result,) = interpreter.run_ssacfg_region(op.body, (_as_attr(value, arg_type),), "map_fn")
                result = result.value.data if hasattr(result, "value") else result
            except (InterpretationError, ArithmeticError, ValueError, AssertionError) as err:
                reason = str(err) or type(err).__name__
                raise RaspCompileError(f"{self.name}: {describe(op)}: the body fails on input {value!r}: {reason}") from err
            entries.append(((value,), _as_kind(result, result_type.value_kind)))
        table = TableAttr(tuple(entries))
        new = MapOp(op.input, table, result_type)
        new.attributes.update(op.attributes)
        new.attributes["values"] = ValuesAttr.of(r for _, r in entries)
        new.result.name_hint = op.result.name_hint
        Rewriter.replace_op(op, new)
