"""The `transformer` dialect: a compiled RASP program as transformer weights.

A `transformer.model` holds one block: an SSA chain over the residual stream.

    transformer.model @reverse layout ["one", "bos", "tokens=a", "tokens=b", ...] vocab ["a", "b"]
        bos "BOS" max_seq_len 8 tolerance 1.000000e-03 {
      %0 = transformer.embed token_table dense<...> : tensor<3x5xf32>,
                             position_table dense<...> : tensor<9x5xf32> -> !transformer.residual<5>
      %1 = transformer.attention %0 : !transformer.residual<5> {
        transformer.head w_q dense<...> : tensor<5x2xf32>, w_k dense<...> : tensor<5x2xf32>,
                         w_v dense<...> : tensor<5x1xf32>, w_o dense<...> : tensor<1x5xf32>,
                         scale 1.000000e+02 label "aggregate"
      }
      %2 = transformer.mlp %1 : !transformer.residual<5> w1 dense<...> : tensor<5x4xf32>,
                         b1 ..., w2 ..., b2 ... label "map"
      transformer.unembed %2 categorical dims [3, 4] values ["a", "b"] label "output" : !transformer.residual<5>
    }

(`tolerance`, `guards` and every `label` are optional; a numerical output reads
`transformer.unembed %2 numerical dims [6] : !transformer.residual<7>`. Tensors of more than
100 values print as hex bytes, `dense<"0x...">`.)

Structure (checked by the verifiers):
- `!transformer.residual<D>` is the residual stream of width D. Every residual value in a
  model has the same width, and `layout` (one string label per dimension, e.g. "one",
  "bos", "tokens=a", "indices=3", "frac") has exactly D entries.
- The body is `transformer.embed`, then any sequence of `transformer.attention` and
  `transformer.mlp`, each taking the previous op's result, then the terminator
  `transformer.unembed` taking the last result.
- `transformer.attention` has one block of >= 1 `transformer.head` ops (no terminator).
- Weights are `DenseIntOrFPElementsAttr` of `tensor<...xf32>`, every dimension >= 1, finite.
- `vocab` is a `#rasp.values` (ids 0..V-1 in that order), `bos` a `#rasp.value` not in it;
  `max_seq_len` an i64 >= 1; `tolerance` an f64 (default 1e-3, `DEFAULT_TOLERANCE`).
- unembed: `dims` are distinct and < D; categorical needs `values`, one per dim (a
  `#rasp.values`, so distinct); numerical reads exactly one dim and has no `values`;
  only a numerical one may say `rounds`.
- `guards ["%sort = rasp.aggregate" [5, 6, 7], ...]` (optional, after `tolerance`): the
  categorical aggregates whose selector the compiler could not prove to select at most
  one position, each with the one-hot dims of its output (distinct, < D, at least one).

Computation (normative; the numpy executor and the ONNX backend compute exactly this):
- Input ids `[B, S]`, position 0 is BOS. Ids 0..V-1 index `vocab` in order; id V is BOS.
  A mask `[B, S]` is 1 for real positions and 0 for padding (BOS is always 1).
- embed: `x = token_table[ids] + position_table[pos]`, pos = 0..S-1;
  `token_table: [V+1, D]`, `position_table: [max_seq_len+1, D]`.
- attention: every head reads the same x. Per head `q = x@w_q`, `k = x@w_k` ([D, dk]),
  `v = x@w_v` ([D, dv]), `scores = scale * q@k^T` ([B, Sq, Sk]); padded keys get -1e9
  added (not -inf, so padded query rows stay finite); numerically stable softmax over
  keys; `o = softmax@v`. Then `x = x + sum_h o_h @ w_o_h` (`w_o: [dv, D]`). No causal
  mask. Heads in one layer may have different dk/dv.
- mlp: `x = x + relu(x@w1 + b1)@w2 + b2` (`w1 [D,H]`, `b1 [H]`, `w2 [H,D]`, `b2 [D]`).
- unembed, categorical: `scores = x[..., dims]`, output index = argmax (first max wins),
  decoded value = `values[index]`. Numerical: one dim, output value = `x[..., dims[0]]`,
  rounded to the nearest int (half to even) where the unembed `rounds`.
  Outputs leave out the BOS position.
- guards: per guard and position, `max(x[..., dims])` of the final residual (no layer
  writes an s-op's dims twice). A categorical aggregate writes a one-hot row where it
  copies one value, or a mean of equal values; where it averages different values, no
  dim is above 1 - 1/max_seq_len. The runtime refuses an input (`RaspInputError`) with a
  real (not BOS, not padding) position whose max is below 1 - 1/(2 max_seq_len)
  (`rasp_ir.runtime.guards`): there the program averages and the model would copy.

Building from Python (numpy arrays of any float dtype; stored as float32):

    embed = EmbedOp.from_arrays(token_table, position_table)
    heads = [HeadOp.from_arrays(w_q=..., w_k=..., w_v=..., w_o=..., scale=100.0, label="...")]
    attn = AttentionOp(embed.result, heads)
    mlp = MLPOp.from_arrays(attn.result, w1=..., b1=..., w2=..., b2=..., label="...")
    out = UnembedOp(mlp.result, Encoding.CATEGORICAL, dims=[3, 4], values=["a", "b"], label="output")
    model = ModelOp("prog", layout=[...], vocab=[...], bos="BOS", max_seq_len=8,
                    body=[embed, attn, mlp, out], tolerance=1e-3,
                    guards=[("%sort = rasp.aggregate", [5, 6, 7])])

Weights read back as read-only float32 numpy arrays named `<property>_array`
(`head.w_q_array`, `mlp.b1_array`, `embed.token_table_array`; `q_array`, `token_array`...
are short aliases). They are views of the attribute's bytes: nothing is converted per
element, so building and reading models of 100k+ weights takes milliseconds.
`find_model(module)` returns the one `transformer.model` in a module; `model.blocks()` groups
the layers into transformer blocks (attention + the MLP right after it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    BytesAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    StringAttr,
    UnitAttr,
    SymbolNameConstraint,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Block, Data, Dialect, Operation, ParametrizedAttribute, Region, SSAValue, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    VarConstraint,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
)
from xdsl.irdl.declarative_assembly_format import (
    AttributeVariable,
    CustomDirective,
    ParsingState,
    PrintingState,
    irdl_custom_directive,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsolatedFromAbove, IsTerminator, NoTerminator, Pure, SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

from rasp_ir.errors import RaspModelError
from rasp_ir.dialects.rasp import (
    Encoding,
    EncodingAttr,
    Value,
    ValueAttr,
    ValuesAttr,
    format_value,
    value_key,
)

DEFAULT_TOLERANCE = 1e-3


# --------------------------------------------------------------------------- #
# Dense weights <-> numpy
# --------------------------------------------------------------------------- #


def dense_f32(array: np.ndarray | Sequence, name: str = "weight") -> DenseIntOrFPElementsAttr:
    """A `dense<...> : tensor<...xf32>` attribute from a numpy array (copied as raw bytes)."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 0:
        raise ValueError(f"{name}: expected an array, got a scalar")
    if any(d < 1 for d in a.shape):
        raise ValueError(f"{name}: every dimension must be >= 1, got shape {tuple(a.shape)}")
    data = np.ascontiguousarray(a, dtype="<f4").tobytes()
    return DenseIntOrFPElementsAttr(TensorType(f32, a.shape), BytesAttr(data))


def dense_to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """A read-only float32 view of a dense f32 tensor attribute (no copy)."""
    shape = attr.get_shape()
    return np.frombuffer(attr.data.data, dtype="<f4").reshape(shape)


def _tensor_shape(op: Operation, prop: str, attr: DenseIntOrFPElementsAttr) -> tuple[int, ...]:
    if not isinstance(attr.get_element_type(), Float32Type):
        raise VerifyException(f"'{op.name}': {prop} must be a tensor of f32, not {attr.type}")
    shape = attr.get_shape()
    if not attr.shape_is_complete:
        raise VerifyException(
            f"'{op.name}': {prop} has shape {_fmt_shape(shape)} but holds {len(attr)} values"
        )
    return shape


def _fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _expect_shape(op: Operation, prop: str, attr: DenseIntOrFPElementsAttr, expected: Sequence[int | None], why: str):
    shape = _tensor_shape(op, prop, attr)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected)):
        shown = "[" + ", ".join("?" if e is None else str(e) for e in expected) + "]"
        raise VerifyException(f"'{op.name}': {prop} has shape {_fmt_shape(shape)}, expected {shown} ({why})")
    if not np.all(np.isfinite(dense_to_numpy(attr))):
        raise VerifyException(f"'{op.name}': {prop} holds a NaN or infinite weight")
    return shape


def _prints_losslessly(values: np.ndarray) -> bool:
    """Whether xDSL's printer writes every f32 element as a decimal that parses back.

    xDSL 0.75 prints some f32 values (integer-valued, 7 to 9 digits, e.g. 1234567.0) as a
    hex bit pattern (`0x4996B438`) inside a `dense<[...]>` list, and its parser then reads
    that pattern as an integer: the value changes on a round trip. Such tensors are printed
    in the hex-bytes form `dense<"0x...">` instead, which round-trips exactly.
    """
    for v in values.ravel().tolist():
        text = f"{v:.5e}"
        text = text[: text.find("e")] + "0" + text[text.find("e") :]
        if np.float32(float(text)) == np.float32(v):
            continue
        if "." not in f"{v:.9g}":
            return False
    return True


def print_dense_f32(printer: Printer, attr: Attribute) -> None:
    """Print a weight tensor so that it parses back bit for bit."""
    if (
        isinstance(attr, DenseIntOrFPElementsAttr)
        and isinstance(attr.get_element_type(), Float32Type)
        and attr.shape_is_complete
        and 1 < len(attr) <= 100
    ):
        values = dense_to_numpy(attr)
        if not np.all(values == values.flat[0]) and not _prints_losslessly(values):
            printer.print_string(f'dense<"0x{attr.data.data.hex().upper()}"> : ')
            printer.print_attribute(attr.type)
            return
    printer.print_attribute(attr)


@irdl_custom_directive
class Weight(CustomDirective):
    """`custom<Weight>($w)`: a dense f32 tensor, printed so that it round-trips exactly."""

    weight: AttributeVariable

    def parse(self, parser: Parser, state: ParsingState) -> None:
        self.weight.set(state, parser.parse_attribute())

    def print(self, printer: Printer, state: PrintingState, op: IRDLOperation) -> None:
        state.print_whitespace(printer)
        attr = self.weight.get(op)
        assert attr is not None
        print_dense_f32(printer, attr)


# --------------------------------------------------------------------------- #
# Types
# --------------------------------------------------------------------------- #


@irdl_attr_definition
class ResidualType(ParametrizedAttribute, TypeAttribute):
    """The residual stream of width D: `!transformer.residual<D>`."""

    name = "transformer.residual"

    width_attr: IntAttr

    def __init__(self, width: int | IntAttr):
        super().__init__(IntAttr(width) if isinstance(width, int) else width)

    @property
    def width(self) -> int:
        return self.width_attr.data

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        with parser.in_angle_brackets():
            width = parser.parse_integer(allow_boolean=False, allow_negative=False)
        return [IntAttr(width)]

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.width}>")

    def verify(self) -> None:
        if self.width < 1:
            raise VerifyException(f"!transformer.residual: the width must be >= 1, not {self.width}")


@irdl_attr_definition
class GuardsAttr(Data[tuple[tuple[str, tuple[int, ...]], ...]]):
    """Run-time guards of a model: `#transformer.guards["%sort = rasp.aggregate" [5, 6, 7]]`
    (in the model's format just the list). Each is a label (the aggregate, as the compiler
    names it) and the residual dims of its one-hot output."""

    name = "transformer.guards"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> tuple[tuple[str, tuple[int, ...]], ...]:
        def entry() -> tuple[str, tuple[int, ...]]:
            label = parser.parse_str_literal(" (a guard's label)")
            dims = parser.parse_comma_separated_list(
                parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False, allow_negative=False)
            )
            return (label, tuple(dims))

        return tuple(parser.parse_comma_separated_list(parser.Delimiter.SQUARE, entry))

    def print_parameter(self, printer: Printer) -> None:
        entries = ", ".join(
            f"{format_value(label)} [{', '.join(map(str, dims))}]" for label, dims in self.data
        )
        printer.print_string(f"[{entries}]")

    @staticmethod
    def of(guards: Iterable[tuple[str, Sequence[int]]]) -> GuardsAttr:
        return GuardsAttr(tuple((str(label), tuple(int(d) for d in dims)) for label, dims in guards))


def _width(value: SSAValue, op: Operation, role: str = "the operand") -> int:
    if not isinstance(value.type, ResidualType):
        raise VerifyException(f"'{op.name}': {role} has type {value.type}, expected !transformer.residual")
    return value.type.width


# --------------------------------------------------------------------------- #
# Ops
# --------------------------------------------------------------------------- #


def _opt_label(label: str | StringAttr | None) -> dict[str, Attribute]:
    if label is None:
        return {}
    return {"label": StringAttr(label) if isinstance(label, str) else label}


@irdl_op_definition
class EmbedOp(IRDLOperation):
    """Token plus position embedding: `%0 = transformer.embed token_table ..., position_table ... : R`."""

    name = "transformer.embed"

    token_table = prop_def(DenseIntOrFPElementsAttr)
    position_table = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(ResidualType)

    traits = traits_def(Pure())
    custom_directives = (Weight,)

    assembly_format = (
        "`token_table` custom<Weight>($token_table) `,` `position_table` custom<Weight>($position_table)"
        " attr-dict `->` type($result)"
    )

    def __init__(self, token_table: DenseIntOrFPElementsAttr, position_table: DenseIntOrFPElementsAttr):
        width = token_table.get_shape()[-1]
        super().__init__(
            properties={"token_table": token_table, "position_table": position_table},
            result_types=[ResidualType(width)],
        )

    @staticmethod
    def from_arrays(token_table: np.ndarray, position_table: np.ndarray) -> EmbedOp:
        """`token_table` [V+1, D] (row V is BOS), `position_table` [max_seq_len+1, D]."""
        return EmbedOp(dense_f32(token_table, "token_table"), dense_f32(position_table, "position_table"))

    @property
    def width(self) -> int:
        return _width(self.result, self, "the result")

    @property
    def token_table_array(self) -> np.ndarray:
        return dense_to_numpy(self.token_table)

    @property
    def position_table_array(self) -> np.ndarray:
        return dense_to_numpy(self.position_table)

    # Short names for the same arrays.
    token_array = token_table_array
    position_array = position_table_array

    def verify_(self) -> None:
        d = _width(self.result, self, "the result")
        model = self.parent_op()
        rows_tok: int | None = None
        rows_pos: int | None = None
        if isinstance(model, ModelOp):
            rows_tok = len(model.vocab.data) + 1
            rows_pos = model.seq_len + 1
        _expect_shape(self, "token_table", self.token_table, [rows_tok, d], "[V+1, D]: one row per token and BOS")
        _expect_shape(
            self, "position_table", self.position_table, [rows_pos, d], "[max_seq_len+1, D]: one row per position"
        )


@irdl_op_definition
class HeadOp(IRDLOperation):
    """One attention head: `transformer.head w_q ..., w_k ..., w_v ..., w_o ..., scale 1.0 label "..."`."""

    name = "transformer.head"

    w_q = prop_def(DenseIntOrFPElementsAttr)
    w_k = prop_def(DenseIntOrFPElementsAttr)
    w_v = prop_def(DenseIntOrFPElementsAttr)
    w_o = prop_def(DenseIntOrFPElementsAttr)
    scale = prop_def(FloatAttr[Float64Type])
    label = opt_prop_def(StringAttr)

    traits = lazy_traits_def(lambda: (HasParent(AttentionOp),))
    custom_directives = (Weight,)

    assembly_format = (
        "`w_q` custom<Weight>($w_q) `,` `w_k` custom<Weight>($w_k) `,` `w_v` custom<Weight>($w_v) `,`"
        " `w_o` custom<Weight>($w_o) `,` `scale` $scale (`label` $label^)? attr-dict"
    )

    def __init__(
        self,
        w_q: DenseIntOrFPElementsAttr,
        w_k: DenseIntOrFPElementsAttr,
        w_v: DenseIntOrFPElementsAttr,
        w_o: DenseIntOrFPElementsAttr,
        scale: float | FloatAttr,
        label: str | StringAttr | None = None,
    ):
        if not isinstance(scale, FloatAttr):
            scale = FloatAttr(float(scale), Float64Type())
        super().__init__(
            properties={"w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": w_o, "scale": scale, **_opt_label(label)}
        )

    @staticmethod
    def from_arrays(
        *,
        w_q: np.ndarray,
        w_k: np.ndarray,
        w_v: np.ndarray,
        w_o: np.ndarray,
        scale: float = 1.0,
        label: str | None = None,
    ) -> HeadOp:
        """`w_q`, `w_k` [D, dk], `w_v` [D, dv], `w_o` [dv, D]; scores are `scale * q@k^T`."""
        return HeadOp(
            dense_f32(w_q, "w_q"), dense_f32(w_k, "w_k"), dense_f32(w_v, "w_v"), dense_f32(w_o, "w_o"), scale, label
        )

    @property
    def w_q_array(self) -> np.ndarray:
        return dense_to_numpy(self.w_q)

    @property
    def w_k_array(self) -> np.ndarray:
        return dense_to_numpy(self.w_k)

    @property
    def w_v_array(self) -> np.ndarray:
        return dense_to_numpy(self.w_v)

    @property
    def w_o_array(self) -> np.ndarray:
        return dense_to_numpy(self.w_o)

    # Short names for the same arrays.
    q_array = w_q_array
    k_array = w_k_array
    v_array = w_v_array
    o_array = w_o_array

    @property
    def scale_value(self) -> float:
        return float(self.scale.value.data)

    @property
    def label_text(self) -> str | None:
        return None if self.label is None else self.label.data

    @property
    def dk(self) -> int:
        return self.w_q.get_shape()[-1]

    @property
    def dv(self) -> int:
        return self.w_v.get_shape()[-1]

    def verify_(self) -> None:
        layer = self.parent_op()
        d: int | None = None
        if isinstance(layer, AttentionOp):
            d = _width(layer.input, layer, "the input")
        (_, dk) = _expect_shape(self, "w_q", self.w_q, [d, None], "[D, dk]")
        _expect_shape(self, "w_k", self.w_k, [d, dk], "[D, dk] with the same dk as w_q")
        (_, dv) = _expect_shape(self, "w_v", self.w_v, [d, None], "[D, dv]")
        _expect_shape(self, "w_o", self.w_o, [dv, d], "[dv, D] with the same dv as w_v")
        if not np.isfinite(self.scale_value):
            raise VerifyException(f"'{self.name}': scale {self.scale_value} is not a finite number")


@irdl_op_definition
class AttentionOp(IRDLOperation):
    """An attention layer of parallel heads, added to the residual stream.

        %1 = transformer.attention %0 : !transformer.residual<5> {
          transformer.head ...
        }
    """

    name = "transformer.attention"

    T: ClassVar = VarConstraint("T", base(ResidualType))

    input = operand_def(T)
    result = result_def(T)
    body = region_def("single_block")

    traits = traits_def(Pure(), NoTerminator())

    assembly_format = "$input attr-dict-with-keyword `:` type($input) $body"

    def __init__(self, input: SSAValue | Operation, heads: Iterable[HeadOp] | Region):
        value = SSAValue.get(input)
        body = heads if isinstance(heads, Region) else Region(Block(list(heads)))
        super().__init__(operands=[value], result_types=[value.type], regions=[body])

    @property
    def heads(self) -> list[HeadOp]:
        return [op for op in self.body.block.ops if isinstance(op, HeadOp)]

    def verify_(self) -> None:
        ops = list(self.body.block.ops)
        if not ops:
            raise VerifyException(f"'{self.name}': an attention layer needs at least one 'transformer.head'")
        for op in ops:
            if not isinstance(op, HeadOp):
                raise VerifyException(
                    f"'{self.name}': the body may hold only 'transformer.head' ops, not '{op.name}'"
                )
        if self.body.block.args:
            raise VerifyException(f"'{self.name}': the body takes no arguments")


@irdl_op_definition
class MLPOp(IRDLOperation):
    """A ReLU MLP added to the residual stream:
    `%2 = transformer.mlp %1 w1 ..., b1 ..., w2 ..., b2 ... label "..." : !transformer.residual<5>`."""

    name = "transformer.mlp"

    T: ClassVar = VarConstraint("T", base(ResidualType))

    input = operand_def(T)
    w1 = prop_def(DenseIntOrFPElementsAttr)
    b1 = prop_def(DenseIntOrFPElementsAttr)
    w2 = prop_def(DenseIntOrFPElementsAttr)
    b2 = prop_def(DenseIntOrFPElementsAttr)
    label = opt_prop_def(StringAttr)
    result = result_def(T)

    traits = traits_def(Pure())
    custom_directives = (Weight,)

    assembly_format = (
        "$input `:` type($input) `w1` custom<Weight>($w1) `,` `b1` custom<Weight>($b1) `,` `w2` custom<Weight>($w2)"
        " `,` `b2` custom<Weight>($b2) (`label` $label^)? attr-dict"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        w1: DenseIntOrFPElementsAttr,
        b1: DenseIntOrFPElementsAttr,
        w2: DenseIntOrFPElementsAttr,
        b2: DenseIntOrFPElementsAttr,
        label: str | StringAttr | None = None,
    ):
        value = SSAValue.get(input)
        super().__init__(
            operands=[value],
            result_types=[value.type],
            properties={"w1": w1, "b1": b1, "w2": w2, "b2": b2, **_opt_label(label)},
        )

    @staticmethod
    def from_arrays(
        input: SSAValue | Operation,
        *,
        w1: np.ndarray,
        b1: np.ndarray,
        w2: np.ndarray,
        b2: np.ndarray,
        label: str | None = None,
    ) -> MLPOp:
        """`w1` [D, H], `b1` [H], `w2` [H, D], `b2` [D]."""
        return MLPOp(input, dense_f32(w1, "w1"), dense_f32(b1, "b1"), dense_f32(w2, "w2"), dense_f32(b2, "b2"), label)

    @property
    def w1_array(self) -> np.ndarray:
        return dense_to_numpy(self.w1)

    @property
    def b1_array(self) -> np.ndarray:
        return dense_to_numpy(self.b1)

    @property
    def w2_array(self) -> np.ndarray:
        return dense_to_numpy(self.w2)

    @property
    def b2_array(self) -> np.ndarray:
        return dense_to_numpy(self.b2)

    @property
    def hidden(self) -> int:
        return self.w1.get_shape()[-1]

    @property
    def label_text(self) -> str | None:
        return None if self.label is None else self.label.data

    def verify_(self) -> None:
        d = _width(self.input, self, "the input")
        (_, h) = _expect_shape(self, "w1", self.w1, [d, None], "[D, H]")
        _expect_shape(self, "b1", self.b1, [h], "[H] with the hidden size H of w1")
        _expect_shape(self, "w2", self.w2, [h, d], "[H, D]")
        _expect_shape(self, "b2", self.b2, [d], "[D]")


@irdl_op_definition
class UnembedOp(IRDLOperation):
    """Reads the output s-op from the residual stream and ends the model.

        transformer.unembed %2 categorical dims [3, 4] values ["a", "b"] : !transformer.residual<5>
        transformer.unembed %2 numerical dims [6] : !transformer.residual<7>
        transformer.unembed %2 numerical dims [6] rounds : !transformer.residual<7>

    `rounds`: the output s-op holds ints, and the decoder rounds the numerical output to
    the nearest int (the compiler keeps its float32 error under a quarter, so the result
    is exact)."""

    name = "transformer.unembed"

    input = operand_def(ResidualType)
    encoding = prop_def(EncodingAttr)
    dims = prop_def(DenseArrayBase[I64])
    values = opt_prop_def(ValuesAttr)
    label = opt_prop_def(StringAttr)
    rounds = opt_prop_def(UnitAttr)

    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(ModelOp)))

    assembly_format = (
        "$input $encoding `dims` $dims (`values` $values^)? (`rounds` $rounds^)? (`label` $label^)? attr-dict "
        "`:` type($input)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        encoding: Encoding | EncodingAttr,
        dims: Sequence[int],
        values: Sequence[Value] | ValuesAttr | None = None,
        label: str | StringAttr | None = None,
        rounds: bool = False,
    ):
        if isinstance(encoding, Encoding):
            encoding = EncodingAttr(encoding)
        props: dict[str, Attribute] = {
            "encoding": encoding,
            "dims": DenseArrayBase.from_list(i64, [int(d) for d in dims]),
            **_opt_label(label),
        }
        if values is not None:
            props["values"] = values if isinstance(values, ValuesAttr) else ValuesAttr(tuple(values))
        if rounds:
            props["rounds"] = UnitAttr()
        super().__init__(operands=[SSAValue.get(input)], properties=props)

    @property
    def rounds_to_int(self) -> bool:
        return self.rounds is not None

    @property
    def is_categorical(self) -> bool:
        return self.encoding.data == Encoding.CATEGORICAL

    @property
    def dim_list(self) -> list[int]:
        return list(self.dims.get_values())

    @property
    def value_table(self) -> tuple[Value, ...] | None:
        return None if self.values is None else self.values.data

    @property
    def label_text(self) -> str | None:
        return None if self.label is None else self.label.data

    def verify_(self) -> None:
        d = _width(self.input, self, "the input")
        dims = self.dim_list
        if not dims:
            raise VerifyException(f"'{self.name}': dims is empty; the output needs at least one dimension")
        for i in dims:
            if not 0 <= i < d:
                raise VerifyException(f"'{self.name}': dim {i} is out of range for a residual of width {d}")
        if len(set(dims)) != len(dims):
            raise VerifyException(f"'{self.name}': dims {dims} lists a dimension twice")
        if self.is_categorical:
            if self.values is None:
                raise VerifyException(f"'{self.name}': a categorical output needs 'values', one per dim")
            if len(self.values.data) != len(dims):
                raise VerifyException(
                    f"'{self.name}': {len(dims)} dims but {len(self.values.data)} values; give one value per dim"
                )
        else:
            if len(dims) != 1:
                raise VerifyException(f"'{self.name}': a numerical output reads exactly one dim, not {len(dims)}")
            if self.values is not None:
                raise VerifyException(f"'{self.name}': a numerical output takes no 'values' table")
        if self.rounds is not None and self.is_categorical:
            raise VerifyException(f"'{self.name}': only a numerical output 'rounds' (to ints)")


@irdl_op_definition
class ModelOp(IRDLOperation):
    """A compiled transformer: `transformer.model @name layout [...] vocab [...] bos "BOS"
    max_seq_len 8 (tolerance 1.0e-03)? { embed; (attention | mlp)*; unembed }`."""

    name = "transformer.model"

    sym_name = prop_def(SymbolNameConstraint())
    layout = prop_def(ArrayAttr[StringAttr])
    vocab = prop_def(ValuesAttr)
    bos = prop_def(ValueAttr)
    max_seq_len = prop_def(IntegerAttr[I64])
    tolerance = opt_prop_def(FloatAttr[Float64Type])
    guards = opt_prop_def(GuardsAttr)
    body = region_def("single_block")

    traits = traits_def(SymbolOpInterface(), IsolatedFromAbove())

    assembly_format = (
        "$sym_name `layout` $layout `vocab` $vocab `bos` $bos `max_seq_len` $max_seq_len"
        " (`tolerance` $tolerance^)? (`guards` $guards^)? attr-dict-with-keyword $body"
    )

    def __init__(
        self,
        name: str,
        *,
        layout: Sequence[str],
        vocab: Sequence[Value] | ValuesAttr,
        bos: Value | ValueAttr,
        max_seq_len: int,
        body: Region | Iterable[Operation],
        tolerance: float | None = None,
        guards: Iterable[tuple[str, Sequence[int]]] | GuardsAttr | None = None,
    ):
        props: dict[str, Attribute] = {
            "sym_name": StringAttr(name),
            "layout": ArrayAttr([StringAttr(s) for s in layout]),
            "vocab": vocab if isinstance(vocab, ValuesAttr) else ValuesAttr(tuple(vocab)),
            "bos": bos if isinstance(bos, ValueAttr) else ValueAttr(bos),
            "max_seq_len": IntegerAttr(int(max_seq_len), i64),
        }
        if tolerance is not None:
            props["tolerance"] = FloatAttr(float(tolerance), Float64Type())
        if guards is not None:
            attr = guards if isinstance(guards, GuardsAttr) else GuardsAttr.of(guards)
            if attr.data:
                props["guards"] = attr
        region = body if isinstance(body, Region) else Region(Block(list(body)))
        super().__init__(properties=props, regions=[region])

    # -- accessors --------------------------------------------------------- #

    @property
    def model_name(self) -> str:
        return self.sym_name.data

    @property
    def layout_labels(self) -> list[str]:
        return [s.data for s in self.layout.data]

    @property
    def vocabulary(self) -> tuple[Value, ...]:
        return self.vocab.data

    @property
    def bos_value(self) -> Value:
        return self.bos.data

    @property
    def seq_len(self) -> int:
        return self.max_seq_len.value.data

    @property
    def tolerance_value(self) -> float:
        return DEFAULT_TOLERANCE if self.tolerance is None else float(self.tolerance.value.data)

    @property
    def width(self) -> int:
        return len(self.layout.data)

    @property
    def guard_list(self) -> list[tuple[str, list[int]]]:
        """The run-time guards: (label of the aggregate, dims of its one-hot output)."""
        return [] if self.guards is None else [(label, list(dims)) for label, dims in self.guards.data]

    @property
    def embed(self) -> EmbedOp:
        first = self.body.block.first_op
        assert isinstance(first, EmbedOp)
        return first

    @property
    def layers(self) -> list[AttentionOp | MLPOp]:
        return [op for op in self.body.block.ops if isinstance(op, AttentionOp | MLPOp)]

    def blocks(self) -> list[tuple[AttentionOp | None, MLPOp | None]]:
        """The layers grouped into transformer blocks: an attention layer and the MLP right
        after it form one block; an MLP not preceded by attention, or an attention layer not
        followed by an MLP, is a block on its own (the other half is None)."""
        blocks: list[tuple[AttentionOp | None, MLPOp | None]] = []
        for layer in self.layers:
            if isinstance(layer, MLPOp) and blocks and blocks[-1][0] is not None and blocks[-1][1] is None:
                blocks[-1] = (blocks[-1][0], layer)
            elif isinstance(layer, MLPOp):
                blocks.append((None, layer))
            else:
                blocks.append((layer, None))
        return blocks

    @property
    def unembed(self) -> UnembedOp:
        last = self.body.block.last_op
        assert isinstance(last, UnembedOp)
        return last

    # -- verification ------------------------------------------------------ #

    def verify_(self) -> None:
        where = f"'{self.name}' @{self.sym_name.data}"
        if self.seq_len < 1:
            raise VerifyException(f"{where}: max_seq_len must be >= 1, not {self.seq_len}")
        if self.tolerance is not None and not (self.tolerance_value >= 0 and np.isfinite(self.tolerance_value)):
            raise VerifyException(f"{where}: tolerance must be a finite number >= 0, not {self.tolerance_value}")
        if not self.vocab.data:
            raise VerifyException(f"{where}: the vocabulary is empty")
        if value_key(self.bos.data) in {value_key(v) for v in self.vocab.data}:
            raise VerifyException(f"{where}: BOS {format_value(self.bos.data)} is also in the vocabulary")
        ops = list(self.body.block.ops)
        if not ops or not isinstance(ops[0], EmbedOp):
            raise VerifyException(f"{where}: the body must start with 'transformer.embed'")
        if not isinstance(ops[-1], UnembedOp):
            raise VerifyException(f"{where}: the body must end with 'transformer.unembed'")
        d = ops[0].width
        if len(self.layout.data) != d:
            raise VerifyException(
                f"{where}: the layout has {len(self.layout.data)} labels but the residual stream has width {d}"
            )
        for label, dims in self.guard_list:
            if not dims:
                raise VerifyException(f"{where}: the guard of {label} reads no dims; give at least one")
            if len(set(dims)) != len(dims):
                raise VerifyException(f"{where}: the guard of {label} lists a dim twice: {dims}")
            for i in dims:
                if not 0 <= i < d:
                    raise VerifyException(
                        f"{where}: the guard of {label} reads dim {i}, out of range for a residual of width {d}"
                    )
        prev: SSAValue = ops[0].result
        for op in ops[1:]:
            if isinstance(op, EmbedOp):
                raise VerifyException(f"{where}: 'transformer.embed' may appear only once, first")
            if not isinstance(op, AttentionOp | MLPOp | UnembedOp):
                raise VerifyException(
                    f"{where}: the body may hold only transformer.embed/attention/mlp/unembed, not '{op.name}'"
                )
            if op.input is not prev:
                raise VerifyException(
                    f"{where}: '{op.name}' must read the result of the op just before it (the residual chain)"
                )
            if _width(op.input, op, "the input") != d:
                raise VerifyException(f"{where}: '{op.name}' reads a residual of width {op.input.type.width}, not {d}")
            if not isinstance(op, UnembedOp):
                prev = op.result


def find_model(obj: Operation, name: str | None = None) -> ModelOp:
    """The `transformer.model` that `obj` is or holds (searched recursively).

    With several models in `obj`, `name` picks one by symbol name; without a name, more
    than one model is an error. Raises `RaspModelError` when there is none that fits."""
    if isinstance(obj, ModelOp) and (name is None or obj.model_name == name):
        return obj
    if not isinstance(obj, Operation):
        raise RaspModelError(f"expected a transformer.model or a module holding one, got {type(obj).__name__}")
    models = [op for op in obj.walk() if isinstance(op, ModelOp)]
    if name is not None:
        models = [m for m in models if m.model_name == name]
    if not models:
        which = f" named @{name}" if name is not None else ""
        raise RaspModelError(
            f"no 'transformer.model'{which} in the IR (lower a rasp.program with rasp-to-transformer first)"
        )
    if len(models) > 1:
        names = ", ".join("@" + m.model_name for m in models)
        raise RaspModelError(f"the IR holds {len(models)} transformer models ({names}); pick one by name")
    return models[0]


Transformer = Dialect(
    "transformer",
    [ModelOp, EmbedOp, AttentionOp, HeadOp, MLPOp, UnembedOp],
    [ResidualType, GuardsAttr],
)
