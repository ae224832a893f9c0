"""`Program`: a RASP program, whichever way it was written (DESIGN.md §7).

A Program holds a DSL graph (`rasp_ir.dsl`), the one form every front end can
produce: the DSL directly, `.mlir` text by turning ops back into nodes whose
functions are table lookups, the `.rasp` language through its parser. From it:

- `evaluate` runs the reference interpreter;
- `to_module` / `to_mlir` build the `rasp` dialect: ops in dependency order,
  each s-op with its value set (`values`), each Python function tabulated over
  its inputs' value sets, types carrying the user's encoding annotation;
- `analysis` counts attention layers and heads as the paper does.

Two things the IR cannot say as the DSL does, and how they are recorded (with
a RaspCompileWarning when a compiled model may then differ from the
interpreter), rather than refused:
- a function that raises on an input its value set contains (often one that
  never occurs, like the 0 in the paper's `1 / aggregate(...)` BOS trick):
  the table holds a placeholder there and the op an `undefined` table of those
  inputs, where the IR interpreter raises as the DSL one does;
- an aggregate whose default is of another kind than its values (RASP's 0 for
  bools or strings) holds both, each value as it is, so a compiled model gives
  the default exactly where the interpreter does. Its kind (`_aggregate_kind`):
  bools with a default 0 or 1 stay bool, bools with another number become that
  number's kind (int or float: 0.5 and True are both numbers), and strings with a
  number keep the values' kind, carrying the default (the dialect lets an
  aggregate hold its default and what its input carries); a consumer that needs
  numbers (a mean, a linear map) or an order (`<` in a select) of such a mix
  refuses it with the reason.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import warnings
from collections.abc import Hashable, Iterable, Sequence

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException

from rasp_ir.analysis.encodings import aggregate_encoding
from rasp_ir.analysis.program_analysis import ProgramAnalysis, analyze_graph
from rasp_ir.analysis.value_sets import DEFAULT_VALUE_SET_CAP, infer_op_values
from rasp_ir.dialects import make_context
from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    Encoding,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    MapRegionOp,
    OutputOp,
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
    format_value,
    holding_kind,
    kind_of,
    kind_of_values,
    value_key,
)
from rasp_ir.errors import (
    RaspCompileError,
    RaspCompileWarning,
    RaspEvaluationError,
    RaspInputError,
    RaspSyntaxError,
    RaspTypeError,
)
from rasp_ir.frontend import dsl
from rasp_ir.interpreter.reference import Interpreter, as_value
from rasp_ir.frontend.mlir_text import OpSpans, parse_error_message, parse_ir, parse_verify_error_message, verify_error_message

MAX_TABLE_ENTRIES = 100_000
"""Largest table `to_module` writes for one map before it stops with an error."""

UNDEFINED = "undefined"
"""Attribute of a rasp.map / rasp.sequence_map: a table of the inputs where the
user's function raised; the main table holds a placeholder there."""


def check_vocab_and_length(
    vocab: Sequence[Value] | None, max_seq_len: int | None, error: type[Exception] = RaspCompileError
) -> tuple[tuple[Value, ...] | None, int | None]:
    """The vocabulary as a tuple of tokens and max_seq_len as an int >= 1, or `error`
    saying which one is wrong (a string is not taken as its characters)."""
    if vocab is not None:
        if isinstance(vocab, str | bytes) or not isinstance(vocab, Iterable):
            raise error(f"vocab must be a list of tokens, not {type(vocab).__name__} {vocab!r}")
        vocab = tuple(vocab)
        if not vocab:
            raise error("the vocabulary is empty; give at least one token")
        for token in vocab:
            if as_value(token) is None:
                raise error(f"vocab: not a RASP value: {token!r} (tokens are int, float, bool or str)")
    if max_seq_len is not None:
        if isinstance(max_seq_len, bool) or not isinstance(max_seq_len, int):
            raise error(f"max_seq_len must be an int, not {type(max_seq_len).__name__} {max_seq_len!r}")
        if max_seq_len < 1:
            raise error(f"max_seq_len must be at least 1, not {max_seq_len}")
    return vocab, max_seq_len


class Program:
    """A RASP program: its output s-op, a name, and what is known of its inputs."""

    def __init__(
        self,
        output_sop: dsl.SOp,
        name: str | None = None,
        *,
        vocab: Sequence[Value] | None = None,
        max_seq_len: int | None = None,
        bos: Value | None = None,
        source: str | None = None,
    ):
        if not isinstance(output_sop, dsl.SOp):
            raise RaspTypeError(
                f"a program's output must be an s-op, not {type(output_sop).__name__}"
                + (" (a selector is not an output: aggregate it or take its width)"
                   if isinstance(output_sop, dsl.Selector) else "")
            )
        self.output_sop = output_sop
        self.name = _identifier(name or output_sop.label)
        self.vocab, self.max_seq_len = check_vocab_and_length(vocab, max_seq_len, RaspInputError)
        self.bos = bos
        self.source = source
        """The text the program was read from (`.mlir` or `.rasp`), when there is one."""
        self._interpreter = Interpreter(vocab=self.vocab, max_seq_len=max_seq_len)

    def __repr__(self) -> str:
        return f"<Program @{self.name} output={self.output_sop.label}>"

    # ------------------------------------------------------------ building

    @classmethod
    def from_dsl(
        cls,
        sop: dsl.SOp,
        name: str | None = None,
        *,
        vocab: Sequence[Value] | None = None,
        max_seq_len: int | None = None,
        bos: Value | None = None,
        source: str | None = None,
    ) -> Program:
        """The program computing `sop`; `vocab`/`max_seq_len` (optional) check
        inputs and are the defaults of `to_module`."""
        return cls(sop, name, vocab=vocab, max_seq_len=max_seq_len, bos=bos, source=source)

    @classmethod
    def from_mlir(cls, source: str | ModuleOp | ProgramOp, name: str | None = None) -> Program:
        """The program in `rasp` dialect text (or an already parsed module).

        With several `rasp.program`s, `name` picks one. Parse errors raise
        RaspSyntaxError (with file:line:col), verifier errors RaspTypeError."""
        text = source if isinstance(source, str) else None
        op_spans: OpSpans = {}
        if isinstance(source, ProgramOp):
            source = ModuleOp([source.clone()])
        elif isinstance(source, ModuleOp):
            source = source.clone()  # materializing tables rewrites it
        else:
            source, op_spans = _parse_text(source, _MLIR_NAME)
        try:
            source.verify()
        except VerifyException as exc:
            if op_spans:  # placed at the op that fails: `<mlir>:4:3: 'rasp.select': ...`
                raise RaspTypeError(verify_error_message(source, exc, op_spans, _MLIR_NAME)) from None
            raise RaspTypeError(f"invalid rasp IR: {exc}") from None
        program_op = _pick_program(source, name)
        if any(isinstance(op, MapRegionOp) for op in program_op.body.block.ops):
            from rasp_ir.passes.materialize_tables import MaterializeTablesPass

            MaterializeTablesPass().apply(rasp_context(), source)
        program = _from_program_op(program_op)
        program.source = text
        return program

    # ---------------------------------------------------------- evaluating

    def evaluate(self, tokens: Sequence[Value]) -> list:
        """The output on one input (reference interpreter; no BOS)."""
        return self._interpreter.evaluate(self.output_sop, tokens)

    def evaluate_batch(self, batch: Iterable[Sequence[Value]]) -> list[list]:
        """The outputs on several inputs."""
        return self._interpreter.evaluate_batch(self.output_sop, batch)

    def analysis(self) -> ProgramAnalysis:
        """Attention layers and heads per layer, counted as the paper counts them."""
        return analyze_graph(dsl.topological_order(self.output_sop), _children, _head_key, _label)

    # ---------------------------------------------------------- lowering

    def to_module(
        self,
        vocab: Sequence[Value] | None = None,
        max_seq_len: int | None = None,
        bos: Value | None = None,
        name: str | None = None,
        *,
        cap: int = DEFAULT_VALUE_SET_CAP,
        max_table: int = MAX_TABLE_ENTRIES,
    ) -> ModuleOp:
        """The program as a verified `rasp.program` in a module.

        Value sets (and so tables) depend on the vocabulary and max_seq_len, so
        both are needed (given here, or to `from_dsl`/kept from `from_mlir`)."""
        vocab, max_seq_len = check_vocab_and_length(vocab, max_seq_len)
        vocab = self.vocab if vocab is None else vocab
        max_seq_len = self.max_seq_len if max_seq_len is None else max_seq_len
        bos = self.bos if bos is None else bos
        if vocab is None or max_seq_len is None:
            raise RaspCompileError(
                f"@{self.name}: building IR needs the vocabulary and max_seq_len, e.g. "
                "to_mlir(vocab=['a', 'b'], max_seq_len=8)"
            )
        builder = _ModuleBuilder(list(vocab), int(max_seq_len), cap, max_table)
        return builder.build(self.output_sop, _identifier(name or self.name), bos)

    def to_mlir(
        self,
        vocab: Sequence[Value] | None = None,
        max_seq_len: int | None = None,
        bos: Value | None = None,
        name: str | None = None,
        *,
        cap: int = DEFAULT_VALUE_SET_CAP,
        max_table: int = MAX_TABLE_ENTRIES,
    ) -> str:
        """`to_module`, printed: `rasp` dialect text that parses back to the same IR."""
        return print_module(self.to_module(vocab, max_seq_len, bos, name, cap=cap, max_table=max_table))


# --------------------------------------------------------------------------- #
# Text
# --------------------------------------------------------------------------- #


def rasp_context() -> Context:
    """A context that knows every dialect rasp-ir reads (builtin, arith, rasp, transformer)."""
    return make_context()


_MLIR_NAME = "<mlir>"


def _parse_text(text: str, filename: str) -> tuple[ModuleOp, OpSpans]:
    try:
        return parse_ir(rasp_context(), text, filename, what="text", expected="no rasp.program")
    except ParseError as exc:
        raise RaspSyntaxError(parse_error_message(exc)) from None
    except VerifyException as exc:
        raise RaspTypeError(parse_verify_error_message(exc, filename)) from None


def parse_module(text: str, filename: str = _MLIR_NAME) -> ModuleOp:
    """Parse `rasp` dialect text; RaspSyntaxError (with file:line:col) when it is not valid,
    or is empty, or ends early; RaspTypeError for an attribute or type that does not verify."""
    return _parse_text(text, filename)[0]


def print_module(module: Operation) -> str:
    """IR text, ending with a newline."""
    out = io.StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue() + "\n"


def _identifier(label: str) -> str:
    """`label` as a valid SSA/symbol name: [A-Za-z_$.-][\\w$.-]*."""
    name = re.sub(r"[^\w$.-]", "_", label, flags=re.ASCII) or "_"
    return name if re.match(r"[A-Za-z_$.-]", name) else "_" + name


# --------------------------------------------------------------------------- #
# Analysis of a DSL graph
# --------------------------------------------------------------------------- #


def _children(node: dsl.RASPExpr) -> Sequence[dsl.RASPExpr]:
    return node.children


def _label(node: dsl.RASPExpr) -> str:
    return node.label


def _structure(node: dsl.RASPExpr) -> Hashable:
    """Equal for nodes that certainly compute the same thing (cheap CSE for head counting)."""
    if isinstance(node, dsl.TokensType | dsl.IndicesType | dsl.LengthType):
        return (node.default_name,)
    if isinstance(node, dsl.Full):
        return ("constant", value_key(node.fill))
    if isinstance(node, dsl.ConstantSOp) and node.is_uniform:
        return ("constant", value_key(node.value))
    if isinstance(node, dsl.Select):
        pred = node.predicate if isinstance(node.predicate, Predicate) else id(node.predicate)
        return ("select", _structure(node.keys), _structure(node.queries), pred)
    if isinstance(node, dsl.SelectorAnd | dsl.SelectorOr):
        return (node.default_name, _structure(node.fst), _structure(node.snd))
    if isinstance(node, dsl.SelectorNot):
        return ("selector_not", _structure(node.inner))
    return ("node", id(node))


def _head_key(node: dsl.RASPExpr) -> Hashable | None:
    if isinstance(node, dsl.Aggregate):
        return ("aggregate", _structure(node.selector))
    if isinstance(node, dsl.SelectorWidth):
        return ("selector_width", _structure(node.selector))
    if isinstance(node, dsl.LengthType):
        return ("length",)
    return None


# --------------------------------------------------------------------------- #
# DSL -> rasp dialect
# --------------------------------------------------------------------------- #


def _fmt_args(args: Sequence[Value]) -> str:
    return ", ".join(format_value(a) for a in args)


def _mark_undefined(op: Operation, undefined: TableAttr | None) -> Operation:
    if undefined is not None:
        op.attributes[UNDEFINED] = undefined
    return op


def _aggregate_kind(x_kind: ValueKind, values: Sequence[Value], default: Value) -> ValueKind:
    """The kind of a categorical aggregate's result, which copies `values` (of an s-op
    of `x_kind`) or gives `default`: the input's kind when it holds the default too (a
    bool s-op holds 0 and 1), else the kind that holds both (`holding_kind`: bools with
    0.5 are floats), else, for strings with numbers, the input's kind, carrying the
    default of another kind as the dialect allows."""
    everything = [*values, default]
    if all(fits_kind(v, x_kind) for v in everything):
        return x_kind
    try:
        return holding_kind(everything)
    except TypeError:
        return x_kind


class _ModuleBuilder:
    """Builds one `rasp.program`, node by node, with value sets and tables."""

    def __init__(self, vocab: list[Value], max_seq_len: int, cap: int, max_table: int = MAX_TABLE_ENTRIES):
        if not vocab:
            raise RaspCompileError("the vocabulary is empty")
        if max_seq_len < 1:
            raise RaspCompileError(f"max_seq_len must be at least 1, not {max_seq_len}")
        try:
            self.token_kind = kind_of_values(vocab)
        except TypeError as exc:
            raise RaspCompileError(f"the vocabulary mixes kinds of values: {exc}") from None
        self.vocab = vocab
        self.max_seq_len = max_seq_len
        self.cap = cap
        self.max_table = max_table
        self.block = Block()
        self.ssa: dict[int, SSAValue] = {}
        self.values: dict[int, list[Value]] = {}

    # -------------------------------------------------------------- driver

    def build(self, output: dsl.SOp, name: str, bos: Value | None) -> ModuleOp:
        try:
            program = ProgramOp(name, Region(self.block), vocab=self.vocab, max_seq_len=self.max_seq_len, bos=bos)
        except (TypeError, VerifyException) as exc:
            raise RaspCompileError(f"@{name}: {exc}") from None
        built: list[tuple[Operation, dsl.RASPExpr]] = []
        for node in dsl.topological_order(output):
            op = self._lower(node)
            op.results[0].name_hint = _identifier(node.label)
            self.block.add_op(op)
            if isinstance(node, dsl.SOp):
                operand_values = [self.values.get(id(c)) for c in node.children]
                try:
                    values = infer_op_values(
                        op, operand_values, self.vocab, self.max_seq_len, self.cap, where=f"'{node.label}'"
                    )
                except TypeError as exc:
                    raise RaspCompileError(f"'{node.label}': {exc}") from None
                op.attributes["values"] = ValuesAttr.of(values)
                self.values[id(node)] = list(op.attributes["values"].data)
            self.ssa[id(node)] = op.results[0]
            built.append((op, node))
        self.block.add_op(OutputOp(self.ssa[id(output)]))
        # Verify op by op (once the block is complete) so an error names the DSL node.
        for op, node in built:
            try:
                op.verify()
            except VerifyException as exc:
                raise RaspCompileError(f"'{node.label}' cannot be compiled: {exc}") from None
        module = ModuleOp([program])
        try:
            module.verify()
        except VerifyException as exc:
            raise RaspCompileError(f"@{name}: the IR built from the program is invalid: {exc}") from None
        return module

    def _type(self, node: dsl.SOp, kind: ValueKind) -> SOpType:
        try:
            return SOpType(kind, node.encoding)
        except VerifyException as exc:
            raise RaspCompileError(f"'{node.label}' cannot be compiled: {exc}") from None

    # ------------------------------------------------------------ lowering

    def _lower(self, node: dsl.RASPExpr) -> Operation:
        def ssa(child: dsl.RASPExpr) -> SSAValue:
            return self.ssa[id(child)]

        if isinstance(node, dsl.TokensType):
            return TokensOp(self._type(node, self.token_kind))
        if isinstance(node, dsl.IndicesType):
            return IndicesOp(self._type(node, ValueKind.INT))
        if isinstance(node, dsl.LengthType):
            return LengthOp(self._type(node, ValueKind.INT))
        if isinstance(node, dsl.Full | dsl.ConstantSOp):
            value = node.fill if isinstance(node, dsl.Full) else node.value
            if isinstance(node, dsl.ConstantSOp) and not node.is_uniform:
                raise RaspCompileError(
                    f"constant '{node.label}' lists one value per position, which fixes the input length; "
                    "only a single value (Full(value)) compiles"
                )
            return ConstantOp(value, self._type(node, kind_of(value)))
        if isinstance(node, dsl.LinearSequenceMap):
            return self._linear(node)
        if isinstance(node, dsl.Map):
            table, undefined = self._tabulate(node, [node.inner])
            op = MapOp(ssa(node.inner), table, self._type(node, self._table_kind(node, table)))
            return _mark_undefined(op, undefined)
        if isinstance(node, dsl.SequenceMap):
            table, undefined = self._tabulate(node, [node.fst, node.snd])
            kind = self._table_kind(node, table)
            op = SequenceMapOp(ssa(node.fst), ssa(node.snd), table, self._type(node, kind))
            return _mark_undefined(op, undefined)
        if isinstance(node, dsl.Select):
            if not isinstance(node.predicate, Predicate):
                raise RaspCompileError(
                    f"select '{node.label}' uses a Python function as its predicate; only Comparison "
                    "predicates (EQ, LT, LEQ, GT, GEQ, NEQ, TRUE, FALSE) compile: combine selects with & | ~, "
                    "or map the keys/queries first"
                )
            self._check_order(node)
            return SelectOp(ssa(node.keys), ssa(node.queries), node.predicate)
        if isinstance(node, dsl.SelectorAnd):
            return SelectAndOp(ssa(node.fst), ssa(node.snd))
        if isinstance(node, dsl.SelectorOr):
            return SelectOrOp(ssa(node.fst), ssa(node.snd))
        if isinstance(node, dsl.SelectorNot):
            return SelectNotOp(ssa(node.inner))
        if isinstance(node, dsl.SelectorWidth):
            return SelectorWidthOp(ssa(node.selector), self._type(node, ValueKind.INT))
        if isinstance(node, dsl.Aggregate):
            return self._aggregate(node)
        raise RaspCompileError(f"'{node.label}': a {type(node).__name__} cannot be compiled")

    def _check_order(self, node: dsl.Select) -> None:
        """An ordered select (`<`, `<=`, `>`, `>=`) of strings with numbers has no meaning
        (the interpreter raises); such a mix comes from an aggregate's default."""
        if node.predicate not in (Predicate.LT, Predicate.LEQ, Predicate.GT, Predicate.GEQ):
            return
        values = [(child, v) for child in (node.keys, node.queries) for v in self.values[id(child)]]
        text = next(((c, v) for c, v in values if isinstance(v, str)), None)
        number = next(((c, v) for c, v in values if not isinstance(v, str)), None)
        if text is None or number is None:
            return
        raise RaspCompileError(
            f"select '{node.label}' orders its keys and queries ('{node.predicate}'), but they can hold "
            f"the string {format_value(text[1])} (in '{text[0].label}') and {format_value(number[1])} "
            f"(in '{number[0].label}'), which have no order; if one is an aggregate's default, give "
            "that aggregate a default of the same kind as its values"
        )

    def _kind(self, node: dsl.RASPExpr) -> ValueKind:
        t = self.ssa[id(node)].type
        assert isinstance(t, SOpType)
        return t.value_kind

    def _linear(self, node: dsl.LinearSequenceMap) -> Operation:
        kinds = (self._kind(node.fst), self._kind(node.snd))
        for child, kind in zip((node.fst, node.snd), kinds):
            if kind == ValueKind.STR:
                raise RaspCompileError(
                    f"linear_sequence_map '{node.label}': its input '{child.label}' holds strings"
                )
        # Ints (and bools, the numbers 0 and 1) times int coefficients sum to ints; the
        # value sets decide, as an s-op may hold numbers of another kind than its own
        # (a bool aggregate's default 0.5, say: a float s-op).
        ints = all(isinstance(c, int) for c in (node.fst_fac, node.snd_fac)) and not any(
            isinstance(v, float) for child in (node.fst, node.snd) for v in self.values[id(child)]
        )
        result = self._type(node, ValueKind.INT if ints else ValueKind.FLOAT)
        return LinearSequenceMapOp(
            self.ssa[id(node.fst)], self.ssa[id(node.snd)], node.fst_fac, node.snd_fac, result
        )

    def _tabulate(
        self, node: dsl.Map | dsl.SequenceMap, inputs: list[dsl.RASPExpr]
    ) -> tuple[TableAttr, TableAttr | None]:
        """The function as a table over every combination of its inputs' values,
        and the entries where it raised (None when it never did).

        Value sets are exact for each op but not for combinations: the paper's
        `1 / aggregate(...)` BOS trick divides by a mean that can be 0 in
        isolation but never is at run time. So a function that raises on some
        inputs does not stop compilation: those entries hold a placeholder (a
        value the function does return), the op records them in an `undefined`
        table (the IR interpreter raises there, as the DSL interpreter does),
        and a RaspCompileWarning says what a compiled model gives instead."""
        domains = [self.values[id(c)] for c in inputs]
        size = math.prod(len(d) for d in domains)
        if size > self.max_table:
            raise RaspCompileError(
                f"{node.default_name} '{node.label}': its table would have {size} entries "
                f"(more than {self.max_table}); lower max_seq_len or make its inputs take fewer values"
            )
        results: list[tuple[tuple[Value, ...], Value | None]] = []
        failures: list[tuple[tuple[Value, ...], Exception]] = []
        for args in itertools.product(*domains):
            try:
                r = node.f(*args)
            except Exception as exc:  # a user's function
                failures.append((args, exc))
                results.append((args, None))
                continue
            v = as_value(r)
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                raise RaspCompileError(
                    f"{node.default_name} '{node.label}' returned {r!r} on ({_fmt_args(args)}); "
                    "an s-op holds finite int, float, bool or str values"
                )
            results.append((args, v))
        if not failures:
            return TableAttr(tuple(results)), None  # type: ignore[arg-type]
        sources = " and ".join(f"'{c.label}'" for c in inputs)
        args, exc = failures[0]
        what = (
            f"{node.default_name} '{node.label}' raised {type(exc).__name__}: {exc} on ({_fmt_args(args)})"
            + (f" and {len(failures) - 1} more inputs" if len(failures) > 1 else "")
        )
        defined = [v for _, v in results if v is not None]
        if not defined:
            raise RaspCompileError(
                f"{what}: it fails on every value its input {sources} can take, so it has no table"
            )
        placeholder = defined[0]
        warnings.warn(
            f"{what}, which its input {sources} can take with this vocabulary and max_seq_len "
            f"{self.max_seq_len}. The IR marks these inputs undefined; a compiled model gives "
            f"{format_value(placeholder)} there. If such an input can occur, make the function handle it.",
            RaspCompileWarning,
            stacklevel=2,
        )
        table = TableAttr(tuple((a, placeholder if v is None else v) for a, v in results))
        return table, TableAttr(tuple((a, placeholder) for a, _ in failures))

    @staticmethod
    def _table_kind(node: dsl.RASPExpr, table: TableAttr) -> ValueKind:
        try:
            return holding_kind(r for _, r in table.data)
        except TypeError:
            kinds = sorted({str(kind_of(r)) for _, r in table.data})
            raise RaspCompileError(
                f"{node.default_name} '{node.label}' returns values of mixed kinds ({', '.join(kinds)}); "
                "an s-op holds one kind (ints and floats mix as floats, bools and numbers as numbers)"
            ) from None

    def _aggregate(self, node: dsl.Aggregate) -> Operation:
        values = self.values[id(node.sop)]
        x_kind = self._kind(node.sop)
        default = node.default
        if node.encoding == Encoding.NUMERICAL:
            if x_kind == ValueKind.STR:
                raise RaspCompileError(f"aggregate '{node.label}' is numerical but averages strings")
            kind = ValueKind.FLOAT
        else:
            kind = _aggregate_kind(x_kind, values, node.default_value)
        selector, sop = self.ssa[id(node.selector)], self.ssa[id(node.sop)]
        op = AggregateOp(selector, sop, self._type(node, kind), default)
        if node.encoding is None and aggregate_encoding(op) == Encoding.NUMERICAL:
            # The compiler will average here (it cannot show the selector picks one
            # position), so the result takes means: a float s-op. (The first op is
            # dropped with its uses, or rewrites would see a detached user.)
            op.drop_all_references()
            op = AggregateOp(selector, sop, self._type(node, ValueKind.FLOAT), default)
        elif node.encoding is None and x_kind not in (ValueKind.STR, ValueKind.BOOL):
            # Proven here to copy one value: keep that decision. Later rewrites may hide
            # what proved it (a table folded into another), and deciding "numerical" then
            # would leave int tables reading a float s-op.
            op.drop_all_references()
            op = AggregateOp(selector, sop, SOpType(kind, Encoding.CATEGORICAL), default)
        if aggregate_encoding(op) == Encoding.NUMERICAL:
            self._check_numerical_aggregate(node, values)
        return op

    @staticmethod
    def _check_numerical_aggregate(node: dsl.Aggregate, values: list[Value]) -> None:
        """A numerical aggregate holds numbers: neither a string it would average nor a string default."""
        text = next((v for v in values if isinstance(v, str)), None)
        if text is not None:
            raise RaspCompileError(
                f"aggregate '{node.label}' averages numbers (it is numerical: its selector may select "
                f"several positions), but its input '{node.sop.label}' can hold the string {format_value(text)} "
                "(an aggregate's default of another kind than its values): give that aggregate a numeric default"
            )
        if isinstance(node.default_value, str):
            raise RaspCompileError(
                f"aggregate '{node.label}' averages numbers (it is numerical: its selector may select "
                f"several positions), so its default {format_value(node.default_value)} must be a number "
                "too: give a numeric default, or make it categorical if it selects at most one position"
            )


# --------------------------------------------------------------------------- #
# rasp dialect -> DSL
# --------------------------------------------------------------------------- #


class TableFunction:
    """A map function read from IR: a table lookup.

    Arguments are first brought to the input's kind (an int 1 in a float s-op is
    looked up as 1.0); a float that is not in the table matches an entry within
    1e-9 (relative). A value outside the table, or one the op marks `undefined`,
    raises RaspEvaluationError."""

    def __init__(
        self, table: TableAttr, kinds: Sequence[ValueKind], where: str, undefined: TableAttr | None = None
    ):
        self.table = table.as_dict()
        self.kinds = tuple(kinds)
        self.where = where
        self.entries = table.data
        self.undefined = set() if undefined is None else set(undefined.as_dict())

    def __call__(self, *args: Value) -> Value:
        args = tuple(_to_kind(a, k) for a, k in zip(args, self.kinds))
        key = tuple(value_key(a) for a in args)
        if key not in self.table:
            close = (e for e, _ in self.entries if all(_close(a, b) for a, b in zip(args, e)))
            entry = next(close, None)
            if entry is None:
                raise RaspEvaluationError(
                    f"{self.where}: the table has no entry for the input ({_fmt_args(args)}); it covers "
                    f"{len(self.entries)} inputs (rebuild the IR for a larger vocabulary or max_seq_len)"
                )
            key = tuple(value_key(a) for a in entry)
        if key in self.undefined:
            raise RaspEvaluationError(
                f"{self.where} is undefined at ({_fmt_args(args)}): the function raised there when the IR was built"
            )
        return self.table[key]


def _to_kind(v: Value, kind: ValueKind) -> Value:
    # A bool stays a bool: a float s-op may hold bools as they are (`fits_kind`).
    if kind == ValueKind.FLOAT and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if kind == ValueKind.INT and isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _close(a: Value, b: Value) -> bool:
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool) != isinstance(b, bool):
        return value_key(a) == value_key(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _pick_program(module: ModuleOp, name: str | None) -> ProgramOp:
    programs = [op for op in module.walk() if isinstance(op, ProgramOp)]
    if name is not None:
        programs = [p for p in programs if p.sym_name.data == name]
        if not programs:
            raise RaspTypeError(f"no rasp.program named @{name}")
    if not programs:
        raise RaspTypeError("the IR has no rasp.program")
    if len(programs) > 1:
        names = ", ".join(f"@{p.sym_name.data}" for p in programs)
        raise RaspTypeError(f"the IR has several rasp.programs ({names}); pick one with name=...")
    return programs[0]


def _from_program_op(program: ProgramOp) -> Program:
    nodes: dict[SSAValue, dsl.RASPExpr] = {}
    output: dsl.SOp | None = None
    for op in program.body.block.ops:
        if isinstance(op, OutputOp):
            output = nodes[op.value]  # type: ignore[assignment]
            continue
        node = _node_of(op, nodes)
        result = op.results[0]
        if result.name_hint:
            node.named(result.name_hint)
        if isinstance(result.type, SOpType):
            node.encoding = result.type.enc
        nodes[result] = node
    assert output is not None  # the verifier requires rasp.output
    bos = None if program.bos is None else program.bos.data
    return Program(
        output, program.sym_name.data, vocab=program.vocabulary, max_seq_len=program.seq_len, bos=bos
    )


def _node_of(op: Operation, nodes: dict[SSAValue, dsl.RASPExpr]) -> dsl.RASPExpr:
    where = f"'{op.name}'" + (f" %{op.results[0].name_hint}" if op.results and op.results[0].name_hint else "")

    def kind(v: SSAValue) -> ValueKind:
        assert isinstance(v.type, SOpType)
        return v.type.value_kind

    if isinstance(op, TokensOp):
        return dsl.TokensType()
    if isinstance(op, IndicesOp):
        return dsl.IndicesType()
    if isinstance(op, LengthOp):
        return dsl.LengthType()
    if isinstance(op, ConstantOp):
        return dsl.Full(op.value.data)
    undefined = op.attributes.get(UNDEFINED)
    undefined = undefined if isinstance(undefined, TableAttr) else None
    if isinstance(op, MapOp):
        return dsl.Map(TableFunction(op.table, [kind(op.input)], where, undefined), nodes[op.input])
    if isinstance(op, SequenceMapOp):
        f = TableFunction(op.table, [kind(op.lhs), kind(op.rhs)], where, undefined)
        return dsl.SequenceMap(f, nodes[op.lhs], nodes[op.rhs])
    if isinstance(op, LinearSequenceMapOp):
        a, b = op.coefficients
        return dsl.LinearSequenceMap(nodes[op.lhs], nodes[op.rhs], a, b)
    if isinstance(op, SelectOp):
        return dsl.Select(nodes[op.keys], nodes[op.queries], op.predicate.data)
    if isinstance(op, SelectAndOp):
        return dsl.SelectorAnd(nodes[op.lhs], nodes[op.rhs])
    if isinstance(op, SelectOrOp):
        return dsl.SelectorOr(nodes[op.lhs], nodes[op.rhs])
    if isinstance(op, SelectNotOp):
        return dsl.SelectorNot(nodes[op.input])
    if isinstance(op, SelectorWidthOp):
        return dsl.SelectorWidth(nodes[op.selector])
    if isinstance(op, AggregateOp):
        default = None if op.default is None else op.default.data
        return dsl.Aggregate(nodes[op.selector], nodes[op.input], default=default)
    raise RaspTypeError(f"{where}: not an op of a rasp.program body")


__all__ = ["Program", "RaspCompileWarning", "TableFunction", "parse_module", "print_module", "rasp_context"]
