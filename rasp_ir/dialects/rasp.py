"""The `rasp` dialect: RASP programs as SSA IR.

An s-op is an SSA value of type `!rasp.sop<...>`, a selector one of type
`!rasp.selector`. A `rasp.program` holds one block of such ops ending in
`rasp.output`. Element-wise functions are lookup tables (`#rasp.table<...>`)
over the values their inputs can take, so the IR is complete: it prints, parses
back, and can be interpreted or compiled without any Python code behind it.

Where value sets live: an s-op's set of possible values is an *attribute* on the
op that defines it (`values = #rasp.values<[...]>`), not part of its type. The
sets are the result of an analysis (`rasp-infer-values`) that depends on the
program's vocabulary and max_seq_len; keeping them out of the type lets IR be
written, parsed and rewritten before that analysis has run, keeps types short
enough to read at every use, and lets a rewrite create ops without first
recomputing sets. Verifiers check tables against the set when it is known.

Semantics (DESIGN.md section 2): `select(keys, queries, pred)` selects key
position k for query position q when `pred(keys[k], queries[q])`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from functools import cached_property
from enum import auto
from typing import TypeAlias

from xdsl.dialects.builtin import (
    NoneAttr,
    StringAttr,
    SymbolNameConstraint,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    Data,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import (
    HasCanonicalizationPatternsTrait,
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    Pure,
    SymbolOpInterface,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

# A value an s-op can hold at one position.
Value: TypeAlias = int | float | bool | str


# --------------------------------------------------------------------------- #
# Values: how a RASP value is written in the IR.
# --------------------------------------------------------------------------- #


class ValueKind(StrEnum):
    INT = auto()
    FLOAT = auto()
    BOOL = auto()
    STR = auto()


def kind_of(value: Value) -> ValueKind:
    """The kind of a Python value (bool is checked before int: bool subclasses int)."""
    if isinstance(value, bool):
        return ValueKind.BOOL
    if isinstance(value, int):
        return ValueKind.INT
    if isinstance(value, float):
        return ValueKind.FLOAT
    if isinstance(value, str):
        return ValueKind.STR
    raise TypeError(f"not a RASP value: {value!r} ({type(value).__name__})")


def kind_of_values(values: Iterable[Value]) -> ValueKind:
    """The kind that holds all `values`: a mix of ints and floats is float."""
    kinds = {kind_of(v) for v in values}
    if not kinds:
        return ValueKind.INT
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= {ValueKind.INT, ValueKind.FLOAT}:
        return ValueKind.FLOAT
    raise TypeError(f"values of mixed kinds: {', '.join(sorted(kinds))}")


def fits_kind(value: Value, kind: ValueKind) -> bool:
    """Whether an s-op of `kind` may hold `value` (the verifiers' rule).

    Besides its own kind: an int in a float s-op; a bool in an int or float s-op, and
    the number 0 or 1 in a bool s-op (False and True are the numbers 0 and 1). These
    mixes come from aggregates: a bool aggregate holds RASP's default 0 where it selects
    nothing, and one with a default like 0.5 is a float s-op that still copies bools.
    Value sets and tables keep such values apart (`value_key`), so a map or a categorical
    encoding sees each value as it is, while a mean or a numerical encoding sees numbers.
    """
    vk = kind_of(value)
    if vk == kind:
        return True
    if kind == ValueKind.FLOAT:
        return vk in (ValueKind.INT, ValueKind.BOOL)
    if kind == ValueKind.INT:
        return vk == ValueKind.BOOL
    if kind == ValueKind.BOOL:
        return vk in (ValueKind.INT, ValueKind.FLOAT) and value in (0, 1)
    return False


def holding_kind(values: Iterable[Value]) -> ValueKind:
    """The kind that holds all `values` by `fits_kind`: as `kind_of_values`, and bools mixed
    with numbers are bool when the numbers are all 0 or 1, else the numbers' kind (int or
    float). Strings mixed with anything else have no such kind: TypeError."""
    values = list(values)
    kinds = {kind_of(v) for v in values}
    if ValueKind.BOOL not in kinds or len(kinds) == 1 or ValueKind.STR in kinds:
        return kind_of_values(values)
    numbers = [v for v in values if not isinstance(v, bool)]
    if all(v in (0, 1) for v in numbers):
        return ValueKind.BOOL
    return kind_of_values(numbers)


def value_key(value: Value) -> tuple[str, Value]:
    """A hashable key that keeps True, 1 and 1.0 apart (Python's == does not)."""
    return (type(value).__name__, value)


def table_entry_keys(entries: Iterable[tuple[tuple[Value, ...], Value]]) -> tuple:
    """Table entries as `value_key`s, the form in which tables compare."""
    return tuple((tuple(value_key(a) for a in args), value_key(r)) for args, r in entries)


def sort_values(values: Iterable[Value]) -> list[Value]:
    """Distinct values in a stable order: numbers ascending, then strings."""
    unique = {value_key(v): v for v in values}
    return sorted(unique.values(), key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))


def format_value(value: Value) -> str:
    """The IR text of one value: `true`, `3`, `-1.5`, `"a"` (floats always show a `.`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        elif "." not in text and "e" not in text:
            text += ".0"
        return text
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    raise TypeError(f"not a RASP value: {value!r}")


def parse_value(parser: AttrParser) -> Value:
    """Parse one value written by `format_value`."""
    if (boolean := parser.parse_optional_boolean()) is not None:
        return boolean
    if (text := parser.parse_optional_str_literal()) is not None:
        return text
    return parser.parse_number(context_msg=" (a RASP value: int, float, bool or string)")


def check_value(value: Value, where: str) -> None:
    kind_of(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise VerifyException(f"{where}: {value} is not a finite number")


# --------------------------------------------------------------------------- #
# Attributes
# --------------------------------------------------------------------------- #


class Encoding(StrEnum):
    CATEGORICAL = auto()
    NUMERICAL = auto()


# Short spellings used inside `!rasp.sop<...>`.
_ENCODING_SHORT = {Encoding.CATEGORICAL: "cat", Encoding.NUMERICAL: "num"}
_ENCODING_FROM_SHORT = {v: k for k, v in _ENCODING_SHORT.items()}


class Predicate(StrEnum):
    """A comparison `pred(key, query)`; TRUE and FALSE ignore both."""

    EQ = auto()
    LT = auto()
    LEQ = auto()
    GT = auto()
    GEQ = auto()
    NEQ = auto()
    TRUE = auto()
    FALSE = auto()

    def __call__(self, key: Value, query: Value) -> bool:
        return _PREDICATES[self](key, query)


_PREDICATES = {
    Predicate.EQ: lambda k, q: k == q,
    Predicate.LT: lambda k, q: k < q,
    Predicate.LEQ: lambda k, q: k <= q,
    Predicate.GT: lambda k, q: k > q,
    Predicate.GEQ: lambda k, q: k >= q,
    Predicate.NEQ: lambda k, q: k != q,
    Predicate.TRUE: lambda k, q: True,
    Predicate.FALSE: lambda k, q: False,
}


@irdl_attr_definition
class ValueKindAttr(EnumAttribute[ValueKind], SpacedOpaqueSyntaxAttribute):
    name = "rasp.kind"


@irdl_attr_definition
class EncodingAttr(EnumAttribute[Encoding], SpacedOpaqueSyntaxAttribute):
    name = "rasp.encoding"


@irdl_attr_definition
class PredicateAttr(EnumAttribute[Predicate], SpacedOpaqueSyntaxAttribute):
    """`#rasp.predicate eq`; in op formats it prints as the bare word (`eq`, `lt`...)."""

    name = "rasp.predicate"


@irdl_attr_definition
class ValueAttr(Data[Value], SpacedOpaqueSyntaxAttribute):
    """One RASP value: `#rasp<value "a">`; in op formats just `"a"`, `3`, `true`."""

    name = "rasp.value"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> Value:
        return parse_value(parser)

    def print_parameter(self, printer: Printer) -> None:
        printer.print_string(format_value(self.data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValueAttr) and value_key(self.data) == value_key(other.data)

    def __hash__(self) -> int:
        return hash(value_key(self.data))

    def verify(self) -> None:
        check_value(self.data, "#rasp.value")


@irdl_attr_definition
class ValuesAttr(Data[tuple[Value, ...]]):
    """A set of RASP values, in order: `#rasp.values["a", "b"]` (in op formats `["a", "b"]`).

    Used for a program's vocabulary and for the inferred value set of an s-op.
    """

    name = "rasp.values"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> tuple[Value, ...]:
        return tuple(parser.parse_comma_separated_list(parser.Delimiter.SQUARE, lambda: parse_value(parser)))

    def print_parameter(self, printer: Printer) -> None:
        printer.print_string("[" + ", ".join(format_value(v) for v in self.data) + "]")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValuesAttr) and [value_key(v) for v in self.data] == [
            value_key(v) for v in other.data
        ]

    def __hash__(self) -> int:
        return hash(tuple(value_key(v) for v in self.data))

    def verify(self) -> None:
        seen: set[tuple[str, Value]] = set()
        for v in self.data:
            check_value(v, "#rasp.values")
            if value_key(v) in seen:
                raise VerifyException(f"#rasp.values: {format_value(v)} appears twice")
            seen.add(value_key(v))

    @staticmethod
    def of(values: Iterable[Value]) -> ValuesAttr:
        """A sorted, duplicate-free value set."""
        return ValuesAttr(tuple(sort_values(values)))

    def kind(self) -> ValueKind:
        return kind_of_values(self.data)


@irdl_attr_definition
class TableAttr(Data[tuple[tuple[tuple[Value, ...], Value], ...]]):
    """A lookup table from argument tuples to a value.

    1-D (for `map`): `#rasp.table[1 -> 2, 2 -> 4]`;
    2-D (for `sequence_map`): `#rasp.table[(1, "a") -> true, ...]`.
    In op formats the `#rasp.table` prefix is left out.
    """

    name = "rasp.table"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> tuple[tuple[tuple[Value, ...], Value], ...]:
        def parse_entry() -> tuple[tuple[Value, ...], Value]:
            if parser.parse_optional_punctuation("(") is not None:
                args = [parse_value(parser)]
                while parser.parse_optional_punctuation(",") is not None:
                    args.append(parse_value(parser))
                parser.parse_punctuation(")")
            else:
                args = [parse_value(parser)]
            parser.parse_punctuation("->")
            return (tuple(args), parse_value(parser))

        return tuple(parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parse_entry))

    def print_parameter(self, printer: Printer) -> None:
        def entry(args: tuple[Value, ...], result: Value) -> str:
            lhs = format_value(args[0]) if len(args) == 1 else "(" + ", ".join(map(format_value, args)) + ")"
            return f"{lhs} -> {format_value(result)}"

        printer.print_string("[" + ", ".join(entry(a, r) for a, r in self.data) + "]")

    @cached_property
    def entry_keys(self) -> tuple:
        """The entries as `value_key`s (how tables compare: 1 and 1.0 are different)."""
        return table_entry_keys(self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableAttr) and self.entry_keys == other.entry_keys

    def __hash__(self) -> int:
        return hash(self.entry_keys)

    @property
    def arity(self) -> int:
        return len(self.data[0][0]) if self.data else 0

    @cached_property
    def _lookup(self) -> dict[tuple[tuple[str, Value], ...], Value]:
        return {tuple(value_key(a) for a in args): r for args, r in self.data}

    def as_dict(self) -> dict[tuple[tuple[str, Value], ...], Value]:
        """Lookup keyed by `value_key` of each argument (built once per table)."""
        return self._lookup

    def lookup(self, *args: Value) -> Value:
        """The table's value at `args`; KeyError when the table has no such entry."""
        return self.as_dict()[tuple(value_key(a) for a in args)]

    def outputs(self) -> list[Value]:
        return sort_values(r for _, r in self.data)

    def verify(self) -> None:
        arities = {len(args) for args, _ in self.data}
        if len(arities) > 1:
            raise VerifyException("#rasp.table: entries have different numbers of arguments")
        seen: set = set()
        for args, result in self.data:
            for v in (*args, result):
                check_value(v, "#rasp.table")
            key = tuple(value_key(a) for a in args)
            if key in seen:
                raise VerifyException(
                    f"#rasp.table: two entries for {', '.join(map(format_value, args))}"
                )
            seen.add(key)

    @staticmethod
    def from_function(fn, domain: Sequence[tuple[Value, ...]]) -> TableAttr:
        return TableAttr(tuple((tuple(args), fn(*args)) for args in domain))


# --------------------------------------------------------------------------- #
# Types
# --------------------------------------------------------------------------- #


@irdl_attr_definition
class SOpType(ParametrizedAttribute, TypeAttribute):
    """An s-op: `!rasp.sop<cat, str>`, `!rasp.sop<num, float>`, or `!rasp.sop<int>`
    when the encoding is not chosen yet (`rasp-infer-encodings` chooses it)."""

    name = "rasp.sop"

    encoding: EncodingAttr | NoneAttr
    kind: ValueKindAttr

    def __init__(self, kind: ValueKind | ValueKindAttr, encoding: Encoding | EncodingAttr | None = None):
        if isinstance(kind, ValueKind):
            kind = ValueKindAttr(kind)
        if isinstance(encoding, Encoding):
            encoding = EncodingAttr(encoding)
        super().__init__(encoding if encoding is not None else NoneAttr(), kind)

    @property
    def value_kind(self) -> ValueKind:
        return self.kind.data

    @property
    def enc(self) -> Encoding | None:
        return None if isinstance(self.encoding, NoneAttr) else self.encoding.data

    @property
    def is_categorical(self) -> bool:
        return self.enc == Encoding.CATEGORICAL

    @property
    def is_numerical(self) -> bool:
        return self.enc == Encoding.NUMERICAL

    def with_encoding(self, encoding: Encoding | None) -> SOpType:
        return SOpType(self.value_kind, encoding)

    def with_kind(self, kind: ValueKind) -> SOpType:
        return SOpType(kind, self.enc)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        with parser.in_angle_brackets():
            first = parser.parse_identifier()
            if first in _ENCODING_FROM_SHORT:
                encoding: Attribute = EncodingAttr(_ENCODING_FROM_SHORT[first])
                parser.parse_punctuation(",")
                kind_name = parser.parse_identifier()
            else:
                encoding, kind_name = NoneAttr(), first
            if kind_name not in ValueKind.__members__.values():
                parser.raise_error(f"unknown value kind '{kind_name}' (expected int, float, bool or str)")
            return [encoding, ValueKindAttr(ValueKind(kind_name))]

    def print_parameters(self, printer: Printer) -> None:
        if self.enc is None:
            printer.print_string(f"<{self.value_kind}>")
        else:
            printer.print_string(f"<{_ENCODING_SHORT[self.enc]}, {self.value_kind}>")

    def verify(self) -> None:
        if self.is_numerical and self.value_kind == ValueKind.STR:
            raise VerifyException("!rasp.sop: a string s-op cannot be numerical")


@irdl_attr_definition
class SelectorType(ParametrizedAttribute, TypeAttribute):
    """A selector: a boolean matrix over (query, key) positions."""

    name = "rasp.selector"


def _sop(value: SSAValue, role: str, op: Operation) -> SOpType:
    """The s-op type of `value`, or a verifier error that says what was given instead."""
    if isinstance(value.type, SelectorType):
        raise VerifyException(f"'{op.name}': expected an s-op for {role}, got a selector")
    if not isinstance(value.type, SOpType):
        raise VerifyException(f"'{op.name}': {role} has type {value.type}, expected !rasp.sop")
    return value.type


def _selector(value: SSAValue, role: str, op: Operation) -> None:
    if not isinstance(value.type, SelectorType):
        raise VerifyException(
            f"'{op.name}': {role} is {value.type} where a selector (!rasp.selector) is expected"
        )


def known_values(value: SSAValue) -> ValuesAttr | None:
    """The inferred value set of an s-op, when `rasp-infer-values` has recorded one."""
    owner = value.owner
    if isinstance(owner, Operation):
        attr = owner.attributes.get("values")
        if isinstance(attr, ValuesAttr):
            return attr
    return None


def _check_result_kind(op: Operation, values: Iterable[Value], what: str) -> None:
    """Every value the op may produce must fit its result's declared kind."""
    result_type = op.results[0].type
    assert isinstance(result_type, SOpType)
    kind = result_type.value_kind
    for v in values:
        if not fits_kind(v, kind):
            raise VerifyException(
                f"'{op.name}': {what} {format_value(v)} is {kind_of(v)}, but the result is !rasp.sop of {kind}"
            )


# --------------------------------------------------------------------------- #
# Canonicalization traits: the patterns live in `rasp_ir.passes.rasp_canonicalization`
# and are imported only when `canonicalize` asks for them (xDSL's own idiom).
# --------------------------------------------------------------------------- #


class ConstantHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import constant_patterns

        return constant_patterns()


class MapHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import map_patterns

        return map_patterns()


class SequenceMapHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import sequence_map_patterns

        return sequence_map_patterns()


class LinearSequenceMapHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import linear_sequence_map_patterns

        return linear_sequence_map_patterns()


class SelectHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import select_patterns

        return select_patterns()


class SelectAndHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import select_and_patterns

        return select_and_patterns()


class SelectOrHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import select_or_patterns

        return select_or_patterns()


class SelectNotHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import select_not_patterns

        return select_not_patterns()


class AggregateHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import aggregate_patterns

        return aggregate_patterns()


class SelectorWidthHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from rasp_ir.passes.rasp_canonicalization import selector_width_patterns

        return selector_width_patterns()


# --------------------------------------------------------------------------- #
# Ops
# --------------------------------------------------------------------------- #


class SOpOp(IRDLOperation):
    """Base of ops that define one s-op. Their `values` attribute, when present, is
    the inferred set of values the s-op can take."""

    def verify_values(self) -> None:
        values = self.attributes.get("values")
        if values is None:
            return
        if not isinstance(values, ValuesAttr):
            raise VerifyException(f"'{self.name}': attribute 'values' must be #rasp.values")
        _check_result_kind(self, values.data, "inferred value")

    def verify_(self) -> None:
        self.verify_values()


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """A RASP program: `rasp.program @reverse vocab ["a", "b"] max_seq_len 8 bos "BOS" { ... }`."""

    name = "rasp.program"

    sym_name = prop_def(SymbolNameConstraint())
    vocab = opt_prop_def(ValuesAttr)
    max_seq_len = opt_prop_def(ValueAttr)
    bos = opt_prop_def(ValueAttr)
    body = region_def("single_block")

    traits = traits_def(SymbolOpInterface(), IsolatedFromAbove())

    assembly_format = (
        "$sym_name (`vocab` $vocab^)? (`max_seq_len` $max_seq_len^)? (`bos` $bos^)? attr-dict-with-keyword $body"
    )

    def __init__(
        self,
        name: str,
        body: Region,
        vocab: Sequence[Value] | None = None,
        max_seq_len: int | None = None,
        bos: Value | None = None,
    ):
        props: dict[str, Attribute] = {"sym_name": StringAttr(name)}
        if vocab is not None:
            props["vocab"] = ValuesAttr(tuple(vocab))
        if max_seq_len is not None:
            props["max_seq_len"] = ValueAttr(int(max_seq_len))
        if bos is not None:
            props["bos"] = ValueAttr(bos)
        super().__init__(properties=props, regions=[body])

    @property
    def seq_len(self) -> int | None:
        """max_seq_len as an int, or None when not known."""
        return None if self.max_seq_len is None else int(self.max_seq_len.data)

    @property
    def vocabulary(self) -> tuple[Value, ...] | None:
        return None if self.vocab is None else self.vocab.data

    @property
    def output(self) -> OutputOp:
        term = self.body.block.last_op
        assert isinstance(term, OutputOp)
        return term

    def verify_(self) -> None:
        if self.max_seq_len is not None:
            n = self.max_seq_len.data
            if kind_of(n) != ValueKind.INT or n < 1:
                raise VerifyException(
                    f"'rasp.program' @{self.sym_name.data}: max_seq_len must be an integer >= 1, not {format_value(n)}"
                )
        if self.bos is not None and self.vocab is not None:
            if value_key(self.bos.data) in {value_key(v) for v in self.vocab.data}:
                raise VerifyException(
                    f"'rasp.program' @{self.sym_name.data}: BOS {format_value(self.bos.data)} is also in the vocabulary"
                )
        last = self.body.block.last_op
        if not isinstance(last, OutputOp):
            raise VerifyException(
                f"'rasp.program' @{self.sym_name.data}: the body must end with 'rasp.output'"
            )


@irdl_op_definition
class OutputOp(IRDLOperation):
    """The program's result: `rasp.output %x : !rasp.sop<cat, str>`."""

    name = "rasp.output"
    value = operand_def()  # any type: the verifier says what is wrong with a selector here
    traits = traits_def(IsTerminator(), HasParent(ProgramOp))
    assembly_format = "$value attr-dict `:` type($value)"

    def __init__(self, value: SSAValue):
        super().__init__(operands=[value])

    def verify_(self) -> None:
        _sop(self.value, "the output", self)


@irdl_op_definition
class TokensOp(SOpOp):
    """The input tokens: `%t = rasp.tokens : !rasp.sop<cat, str>`."""

    name = "rasp.tokens"
    result = result_def(SOpType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, result_type: SOpType):
        super().__init__(result_types=[result_type])


class _PositionalOp(SOpOp):
    """An int s-op the input's positions determine (indices, length)."""

    result = result_def(SOpType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, result_type: SOpType | None = None):
        super().__init__(result_types=[result_type or SOpType(ValueKind.INT, Encoding.CATEGORICAL)])

    def verify_(self) -> None:
        super().verify_()
        _require_kind(self, ValueKind.INT)


@irdl_op_definition
class IndicesOp(_PositionalOp):
    """Positions 0..n-1: `%i = rasp.indices : !rasp.sop<cat, int>`."""

    name = "rasp.indices"


@irdl_op_definition
class LengthOp(_PositionalOp):
    """The sequence length n at every position: `%n = rasp.length : !rasp.sop<cat, int>`."""

    name = "rasp.length"


def _require_kind(op: Operation, kind: ValueKind) -> None:
    t = op.results[0].type
    assert isinstance(t, SOpType)
    if t.value_kind != kind:
        raise VerifyException(f"'{op.name}': result must be an s-op of {kind}, not {t.value_kind}")


@irdl_op_definition
class ConstantOp(SOpOp):
    """One value at every position: `%c = rasp.constant 3 : !rasp.sop<cat, int>`."""

    name = "rasp.constant"
    value = prop_def(ValueAttr)
    result = result_def(SOpType)
    traits = traits_def(Pure(), ConstantHasCanonicalizationPatterns())
    assembly_format = "$value attr-dict `:` type($result)"

    def __init__(self, value: Value, result_type: SOpType | None = None):
        result_type = result_type or SOpType(kind_of(value), Encoding.CATEGORICAL)
        super().__init__(properties={"value": ValueAttr(value)}, result_types=[result_type])

    def verify_(self) -> None:
        super().verify_()
        _check_result_kind(self, [self.value.data], "constant")


def _check_table_covers(op: Operation, table: TableAttr, inputs: Sequence[SSAValue]) -> None:
    """A table must have an entry for every combination of its inputs' known values."""
    sets = [known_values(v) for v in inputs]
    if any(s is None for s in sets):
        return
    entries = table.as_dict()
    missing: list[tuple[Value, ...]] = []
    for combo in itertools.product(*([value_key(v) for v in s.data] for s in sets if s is not None)):
        if combo not in entries:
            missing.append(tuple(key[1] for key in combo))
            if len(missing) >= 3:
                break
    if missing:
        shown = ", ".join(
            format_value(m[0]) if len(m) == 1 else "(" + ", ".join(map(format_value, m)) + ")" for m in missing
        )
        raise VerifyException(
            f"'{op.name}': the table does not cover the input values {shown}"
            + (" (and more)" if len(missing) >= 3 else "")
        )


@irdl_op_definition
class MapOp(SOpOp):
    """`%y = rasp.map %x, [1 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>`."""

    name = "rasp.map"
    input = operand_def()  # any type: the verifier says what is wrong with a selector here
    table = prop_def(TableAttr)
    result = result_def(SOpType)
    traits = traits_def(Pure(), MapHasCanonicalizationPatterns())
    assembly_format = "$input `,` $table attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue, table: TableAttr, result_type: SOpType):
        super().__init__(operands=[input], properties={"table": table}, result_types=[result_type])

    def verify_(self) -> None:
        super().verify_()
        _sop(self.input, "the input", self)
        if self.table.data and self.table.arity != 1:
            raise VerifyException(f"'{self.name}': the table must map one argument, not {self.table.arity}")
        _check_result_kind(self, [r for _, r in self.table.data], "table value")
        _check_table_covers(self, self.table, [self.input])


@irdl_op_definition
class SequenceMapOp(SOpOp):
    """`%z = rasp.sequence_map %x, %y, [(1, 2) -> 3] : A, B -> C`."""

    name = "rasp.sequence_map"
    lhs = operand_def()  # any type: the verifier says what is wrong with a selector here
    rhs = operand_def()  # any type: the verifier says what is wrong with a selector here
    table = prop_def(TableAttr)
    result = result_def(SOpType)
    traits = traits_def(Pure(), SequenceMapHasCanonicalizationPatterns())
    assembly_format = "$lhs `,` $rhs `,` $table attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue, table: TableAttr, result_type: SOpType):
        super().__init__(operands=[lhs, rhs], properties={"table": table}, result_types=[result_type])

    def verify_(self) -> None:
        super().verify_()
        _sop(self.lhs, "the first input", self)
        _sop(self.rhs, "the second input", self)
        if self.table.data and self.table.arity != 2:
            raise VerifyException(f"'{self.name}': the table must map two arguments, not {self.table.arity}")
        _check_result_kind(self, [r for _, r in self.table.data], "table value")
        _check_table_covers(self, self.table, [self.lhs, self.rhs])


@irdl_op_definition
class LinearSequenceMapOp(SOpOp):
    """`a*x + b*y` per position: `%z = rasp.linear_sequence_map %x, %y coeffs(1.0, -1.0) : A, B -> C`."""

    name = "rasp.linear_sequence_map"
    lhs = operand_def()  # any type: the verifier says what is wrong with a selector here
    rhs = operand_def()  # any type: the verifier says what is wrong with a selector here
    lhs_coeff = prop_def(ValueAttr)
    rhs_coeff = prop_def(ValueAttr)
    result = result_def(SOpType)
    traits = traits_def(Pure(), LinearSequenceMapHasCanonicalizationPatterns())
    assembly_format = (
        "$lhs `,` $rhs `coeffs` `(` $lhs_coeff `,` $rhs_coeff `)` attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"
    )

    def __init__(self, lhs: SSAValue, rhs: SSAValue, a: float, b: float, result_type: SOpType):
        super().__init__(
            operands=[lhs, rhs],
            properties={"lhs_coeff": ValueAttr(a), "rhs_coeff": ValueAttr(b)},
            result_types=[result_type],
        )

    @property
    def coefficients(self) -> tuple[float, float]:
        return (self.lhs_coeff.data, self.rhs_coeff.data)

    def verify_(self) -> None:
        super().verify_()
        for coeff in (self.lhs_coeff, self.rhs_coeff):
            if kind_of(coeff.data) not in (ValueKind.INT, ValueKind.FLOAT):
                raise VerifyException(f"'{self.name}': coefficient {format_value(coeff.data)} is not a number")
        for operand, role in ((self.lhs, "the first input"), (self.rhs, "the second input")):
            t = _sop(operand, role, self)
            if t.value_kind not in (ValueKind.INT, ValueKind.FLOAT, ValueKind.BOOL):
                raise VerifyException(f"'{self.name}': {role} holds {t.value_kind}; a linear map needs numbers")
        if _sop(self.result, "the result", self).value_kind not in (ValueKind.INT, ValueKind.FLOAT):
            raise VerifyException(f"'{self.name}': the result must hold int or float")


@irdl_op_definition
class MapRegionOp(SOpOp):
    """A map written with `arith` ops, for hand-written IR; `rasp-materialize-tables`
    evaluates the body on every input value and replaces it with a `rasp.map`.

        %y = rasp.map_fn %x : !rasp.sop<cat, int> -> !rasp.sop<cat, int> {
        ^bb0(%v : i64):
          %c1 = arith.constant 1 : i64
          %r = arith.addi %v, %c1 : i64
          rasp.yield %r : i64
        }
    """

    name = "rasp.map_fn"
    input = operand_def()  # any type: the verifier says what is wrong with a selector here
    result = result_def(SOpType)
    body = region_def("single_block")
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result) $body"

    def verify_(self) -> None:
        super().verify_()
        _sop(self.input, "the input", self)
        block = self.body.block
        if len(block.args) != 1:
            raise VerifyException(f"'{self.name}': the body takes exactly one argument, the input value")
        if not isinstance(block.last_op, YieldOp):
            raise VerifyException(f"'{self.name}': the body must end with 'rasp.yield'")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a `rasp.map_fn` body with the mapped value."""

    name = "rasp.yield"
    value = operand_def()
    traits = traits_def(IsTerminator(), HasParent(MapRegionOp))
    assembly_format = "$value attr-dict `:` type($value)"

    def __init__(self, value: SSAValue):
        super().__init__(operands=[value])


@irdl_op_definition
class SelectOp(IRDLOperation):
    """`%s = rasp.select %keys, %queries, lt : !rasp.sop<cat, int>, !rasp.sop<cat, int>`.

    Query position q selects key position k when `pred(keys[k], queries[q])`."""

    name = "rasp.select"
    keys = operand_def()  # any type: the verifier says what is wrong with a selector here
    queries = operand_def()  # any type: the verifier says what is wrong with a selector here
    predicate = prop_def(PredicateAttr)
    result = result_def(SelectorType)
    traits = traits_def(Pure(), SelectHasCanonicalizationPatterns())
    assembly_format = "$keys `,` $queries `,` $predicate attr-dict `:` type($keys) `,` type($queries)"

    def __init__(self, keys: SSAValue, queries: SSAValue, predicate: Predicate):
        super().__init__(
            operands=[keys, queries], properties={"predicate": PredicateAttr(predicate)}, result_types=[SelectorType()]
        )

    def verify_(self) -> None:
        k = _sop(self.keys, "the keys", self)
        q = _sop(self.queries, "the queries", self)
        for t, role in ((k, "keys"), (q, "queries")):
            if t.is_numerical:
                raise VerifyException(
                    f"'{self.name}': the {role} are a numerical s-op; a select compares categorical s-ops "
                    "(convert it with a categorical map first)"
                )
        ordered = self.predicate.data in (Predicate.LT, Predicate.LEQ, Predicate.GT, Predicate.GEQ)
        if ordered and (k.value_kind == ValueKind.STR) != (q.value_kind == ValueKind.STR):
            raise VerifyException(
                f"'{self.name}': '{self.predicate.data}' compares {k.value_kind} keys with {q.value_kind} queries"
            )
        if ordered:
            # An s-op can carry a value of another kind (an aggregate's default, such as
            # RASP's 0 in a string s-op); strings and numbers have no order.
            sets = [known_values(v) for v in (self.keys, self.queries)]
            values = [v for s in sets if s is not None for v in s.data]
            if len({isinstance(v, str) for v in values}) > 1:
                text = next(format_value(v) for v in values if isinstance(v, str))
                number = next(format_value(v) for v in values if not isinstance(v, str))
                raise VerifyException(
                    f"'{self.name}': '{self.predicate.data}' would compare {number} with the string {text}; "
                    "strings and numbers have no order"
                )


class _BinarySelectorOp(IRDLOperation):
    lhs = operand_def(SelectorType)
    rhs = operand_def(SelectorType)
    result = result_def(SelectorType)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        super().__init__(operands=[lhs, rhs], result_types=[SelectorType()])


@irdl_op_definition
class SelectAndOp(_BinarySelectorOp):
    """Both selectors select: `%s = rasp.select_and %a, %b`."""

    name = "rasp.select_and"
    traits = traits_def(Pure(), SelectAndHasCanonicalizationPatterns())


@irdl_op_definition
class SelectOrOp(_BinarySelectorOp):
    """Either selector selects: `%s = rasp.select_or %a, %b`."""

    name = "rasp.select_or"
    traits = traits_def(Pure(), SelectOrHasCanonicalizationPatterns())


@irdl_op_definition
class SelectNotOp(IRDLOperation):
    """The complement: `%s = rasp.select_not %a`."""

    name = "rasp.select_not"
    input = operand_def(SelectorType)
    result = result_def(SelectorType)
    traits = traits_def(Pure(), SelectNotHasCanonicalizationPatterns())
    assembly_format = "$input attr-dict"

    def __init__(self, input: SSAValue):
        super().__init__(operands=[input], result_types=[SelectorType()])


@irdl_op_definition
class SelectTableOp(IRDLOperation):
    """A selector given by a predicate table over (key, query) values:
    `%s = rasp.select_table %keys, %queries, [("a", "b") -> true, ...] : A, B`.

    Query position q selects key position k when `table[(keys[k], queries[q])]` is true.
    `rasp-lower-composite-selectors` builds it for an `or`/`not` of selects over several
    s-ops, from s-ops that pair those s-ops' values up.
    """

    name = "rasp.select_table"
    keys = operand_def()  # any type: the verifier says what is wrong with a selector here
    queries = operand_def()  # any type: the verifier says what is wrong with a selector here
    table = prop_def(TableAttr)
    result = result_def(SelectorType)
    traits = traits_def(Pure())
    assembly_format = "$keys `,` $queries `,` $table attr-dict `:` type($keys) `,` type($queries)"

    def __init__(self, keys: SSAValue, queries: SSAValue, table: TableAttr):
        super().__init__(operands=[keys, queries], properties={"table": table}, result_types=[SelectorType()])

    def holds(self, key: Value, query: Value) -> bool:
        return bool(self.table.lookup(key, query))

    def verify_(self) -> None:
        k = _sop(self.keys, "the keys", self)
        q = _sop(self.queries, "the queries", self)
        for t, role in ((k, "keys"), (q, "queries")):
            if t.is_numerical:
                raise VerifyException(f"'{self.name}': the {role} are a numerical s-op; a select compares categorical s-ops")
        if self.table.data and self.table.arity != 2:
            raise VerifyException(f"'{self.name}': the table must map (key, query) pairs, not {self.table.arity} values")
        for _, holds in self.table.data:
            if not isinstance(holds, bool):
                raise VerifyException(f"'{self.name}': table entries must be true or false, not {format_value(holds)}")
        _check_table_covers(self, self.table, [self.keys, self.queries])


@irdl_op_definition
class AggregateOp(SOpOp):
    """Mean of the selected values, or the default where none is selected:
    `%y = rasp.aggregate %sel, %x default 0 : !rasp.sop<cat, str> -> !rasp.sop<cat, str>`."""

    name = "rasp.aggregate"
    selector = operand_def(SelectorType)
    input = operand_def()  # any type: the verifier says what is wrong with a selector here
    default = opt_prop_def(ValueAttr)
    result = result_def(SOpType)
    traits = traits_def(Pure(), AggregateHasCanonicalizationPatterns())
    assembly_format = "$selector `,` $input (`default` $default^)? attr-dict `:` type($input) `->` type($result)"

    def __init__(self, selector: SSAValue, input: SSAValue, result_type: SOpType, default: Value | None = None):
        props = {"default": ValueAttr(default)} if default is not None else {}
        super().__init__(operands=[selector, input], properties=props, result_types=[result_type])

    @property
    def default_value(self) -> Value:
        """The value where nothing is selected (0 unless given)."""
        return 0 if self.default is None else self.default.data

    def verify_values(self) -> None:
        # The default may be of another kind than the values (the paper's default is 0,
        # also for strings), so it is left out of the kind check; so are the values of
        # another kind that the input carries (an earlier aggregate's default), which a
        # copy passes on as they are.
        values = self.attributes.get("values")
        if isinstance(values, ValuesAttr):
            carried = {value_key(self.default_value)}
            input_values = known_values(self.input)
            if input_values is not None and isinstance(self.input.type, SOpType):
                input_kind = self.input.type.value_kind
                carried.update(value_key(v) for v in input_values.data if not fits_kind(v, input_kind))
            _check_result_kind(self, [v for v in values.data if value_key(v) not in carried], "inferred value")
        else:
            super().verify_values()

    def verify_(self) -> None:
        super().verify_()
        _selector(self.selector, "the first operand", self)
        x = _sop(self.input, "the aggregated value", self)
        y = _sop(self.result, "the result", self)
        if x.is_numerical and y.is_categorical or x.is_categorical and y.is_numerical:
            raise VerifyException(
                f"'{self.name}': mismatched encodings: the input is {x.enc} but the result is {y.enc}"
            )
        if y.is_numerical and x.value_kind == ValueKind.STR:
            raise VerifyException(f"'{self.name}': a numerical aggregate cannot average strings")
        if y.is_numerical and kind_of(self.default_value) == ValueKind.STR:
            raise VerifyException(
                f"'{self.name}': a numerical aggregate's default must be a number, not {format_value(self.default_value)}"
            )


@irdl_op_definition
class SelectorWidthOp(SOpOp):
    """How many key positions each query selects: `%w = rasp.selector_width %sel : !rasp.sop<cat, int>`."""

    name = "rasp.selector_width"
    selector = operand_def(SelectorType)
    result = result_def(SOpType)
    traits = traits_def(Pure(), SelectorWidthHasCanonicalizationPatterns())
    assembly_format = "$selector attr-dict `:` type($result)"

    def __init__(self, selector: SSAValue, result_type: SOpType | None = None):
        super().__init__(
            operands=[selector], result_types=[result_type or SOpType(ValueKind.INT, Encoding.CATEGORICAL)]
        )

    def verify_(self) -> None:
        super().verify_()
        _selector(self.selector, "the operand", self)
        _require_kind(self, ValueKind.INT)


# Ops that define one s-op, by how the compiler treats them.
ATTENTION_OPS: tuple[type[Operation], ...] = (AggregateOp, SelectorWidthOp)
ELEMENTWISE_OPS: tuple[type[Operation], ...] = (MapOp, SequenceMapOp, LinearSequenceMapOp, MapRegionOp)
PRIMITIVE_OPS: tuple[type[Operation], ...] = (TokensOp, IndicesOp, LengthOp, ConstantOp)
SELECTOR_OPS: tuple[type[Operation], ...] = (SelectOp, SelectTableOp, SelectAndOp, SelectOrOp, SelectNotOp)

Rasp = Dialect(
    "rasp",
    [
        ProgramOp,
        OutputOp,
        TokensOp,
        IndicesOp,
        LengthOp,
        ConstantOp,
        MapOp,
        SequenceMapOp,
        LinearSequenceMapOp,
        MapRegionOp,
        YieldOp,
        SelectOp,
        SelectTableOp,
        SelectAndOp,
        SelectOrOp,
        SelectNotOp,
        AggregateOp,
        SelectorWidthOp,
    ],
    [ValueKindAttr, EncodingAttr, PredicateAttr, ValueAttr, ValuesAttr, TableAttr, SOpType, SelectorType],
)
