"""Reading MLIR text (`rasp` / `transformer` dialect) with messages that name the place.

`rasp`, `rasp-opt` and `Program.from_mlir` all read IR through `LocatingParser`, xDSL's
parser that also remembers where each op starts, so that:

- an empty input (nothing but blanks or comments) says so: `FILE: the file is empty: no
  rasp.program` (an `EmptyInputError`, a `ParseError` whose message has no line:col);
- text that ends early (a truncated file) says what is missing and which op is left open:
  `FILE:6:1: unexpected end of input: expected the `}` that closes rasp.program
  (FILE:2:3); ...` (an `EndOfInputError`, a `ParseError`);
- an op that does not verify is reported at its own `FILE:line:col`, with the source line
  and carets (`verify_error_message`), as for a parse error.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, Region
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException
from xdsl.utils.lexer import Span
from xdsl.utils.mlir_lexer import MLIRTokenKind

OpSpans = dict[int, tuple[Operation, Span[Any]]]
"""`id(op)` -> (op, the span of the op's first token), for every op parsed."""


class EmptyInputError(ParseError):
    """The input holds no IR at all (it is empty, or only comments)."""

    def __str__(self) -> str:
        return f"{self.span.input.name}: {self.msg}"


class EndOfInputError(ParseError):
    """The text ends in the middle of an op or region (a truncated file)."""


@dataclass
class _OpenOp:
    """An op being parsed: where it starts, its name once read, the `{` of its open region."""

    span: Span[Any]
    name: str | None = None
    regions: list[Span[Any]] = field(default_factory=list)


def _at_end(span: Span[Any]) -> bool:
    return span.start >= len(span.input.content)


def _where(span: Span[Any], line_offset: int) -> str:
    return str(dataclasses.replace(span, line_offset=line_offset).get_location())


class LocatingParser(Parser):
    """xDSL's parser, also remembering where each op starts in the source (`op_spans`),
    with plain messages for an empty input and for text that ends early.

    `what` names the input in the empty-input message ("file", "input", "text"), and
    `expected` says what it should have held ("no rasp.program"). `line_offset` is the
    line of the text's first line in its file, less one (for `--split-input-file`).
    """

    def __init__(
        self,
        ctx: Context,
        input: str | bytes,
        name: str = "<unknown>",
        *,
        what: str = "input",
        expected: str = "no IR to read",
        line_offset: int = 0,
    ):
        super().__init__(ctx, input, name)
        self.op_spans: OpSpans = {}
        self.what = what
        self.expected = expected
        self.line_offset = line_offset
        self._open: list[_OpenOp] = []

    # -- recording ---------------------------------------------------------- #

    def _remember_open_ops(self, exc: BaseException) -> None:
        """Attach the ops (and regions) open when `exc` was raised, innermost last."""
        if not hasattr(exc, "rasp_open_ops"):
            exc.rasp_open_ops = [  # type: ignore[attr-defined]
                _OpenOp(o.span, o.name, list(o.regions)) for o in self._open
            ]

    def parse_operation(self) -> Operation:
        span = self._current_token.span
        self._open.append(_OpenOp(span))
        try:
            op = super().parse_operation()
        except VerifyException as exc:
            # An attribute or type that does not verify is rejected while parsing,
            # as a VerifyException with no place; remember the innermost op.
            if not hasattr(exc, "rasp_span"):
                exc.rasp_span = span  # type: ignore[attr-defined]
            raise
        except ParseError as exc:
            self._remember_open_ops(exc)
            raise
        finally:
            self._open.pop()
        self.op_spans[id(op)] = (op, span)
        return op

    def _get_op_by_name(self, name: str) -> type[Operation]:
        op_type = super()._get_op_by_name(name)
        if self._open and self._open[-1].name is None:
            self._open[-1].name = name
        return op_type

    def parse_optional_region(self, arguments: Any = None) -> Region | None:
        if self._current_token.kind != MLIRTokenKind.L_BRACE or not self._open:
            return super().parse_optional_region(arguments)
        regions = self._open[-1].regions
        regions.append(self._current_token.span)
        try:
            return super().parse_optional_region(arguments)
        except ParseError as exc:
            self._remember_open_ops(exc)
            raise
        finally:
            regions.pop()

    # -- the module ------------------------------------------------------------ #

    def parse_module(self, allow_implicit_module: bool = True) -> ModuleOp:
        if self._current_token.kind == MLIRTokenKind.EOF:
            state = "is empty" if not self.lexer.input.content.strip() else "holds only comments"
            raise EmptyInputError(self._current_token.span, f"the {self.what} {state}: {self.expected}")
        try:
            return super().parse_module(allow_implicit_module)
        except ParseError as exc:
            if type(exc) is not ParseError or not _at_end(exc.span):
                raise
            open_ops: list[_OpenOp] = getattr(exc, "rasp_open_ops", [])
            if open_ops:  # the text ends inside an op
                message = self._end_of_input_message(exc.msg.strip(), open_ops)
            elif exc.msg == "Could not parse entire input!":  # only aliases, no op
                message = f"the {self.what} holds no operation: {self.expected}"
            else:  # the whole text was read (e.g. `values used but not defined`)
                raise
            raise EndOfInputError(exc.span, message) from None

    def _end_of_input_message(self, msg: str, open_ops: list[_OpenOp]) -> str:
        """What is missing at the end of the text, `open_ops` being the ops being parsed
        there (outermost first)."""

        def name(o: _OpenOp) -> str:
            return o.name or "the operation"

        def at(o: _OpenOp) -> str:
            return f"{name(o)} ({_where(o.span, self.line_offset)})"

        inner = open_ops[-1]
        if inner.regions and msg == "in block definition":  # at the end of a region's ops
            text = f"unexpected end of input: expected the `}}` that closes {at(inner)}"
        else:
            text = f"unexpected end of input in {at(inner)}: {msg}"
        missing = [at(o) for o in reversed(open_ops[:-1]) if o.regions]
        if missing:
            text += f"; also missing: the `}}` of {', '.join(missing)}"
        return text + ". Is the file cut short?"


# --------------------------------------------------------------------------- #
# Messages
# --------------------------------------------------------------------------- #


def located(span: Span[Any], message: str) -> str:
    """`file:line:col: message`, then the source line with carets under the place
    (left out when that line is blank, as at the end of a file)."""
    context = span.print_with_context(None).rstrip("\n").split("\n")[1:]
    if context and not context[0].strip():
        context = []
    return "\n".join([f"{span.get_location()}: {message}", *context])


def parse_error_message(exc: ParseError) -> str:
    """A parse error as `file:line:col: message` + source line + carets."""
    if isinstance(exc, EmptyInputError):
        return str(exc)
    if type(exc) is not ParseError and not isinstance(exc, EndOfInputError):
        return str(exc).rstrip()  # several spans (MultipleSpansParseError): xDSL's own layout
    return located(exc.span, exc.msg)


def op_text(op: Operation, limit: int = 160) -> str:
    """The first line of an op's custom form (its header, for ops with regions)."""
    stream = io.StringIO()
    try:
        Printer(stream=stream).print_op(op)
    except Exception:  # noqa: BLE001 - invalid IR may not print
        return op.name
    line = stream.getvalue().strip().split("\n")[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def failing_op(module: Operation, message: str) -> Operation | None:
    """The op whose own verifier raises `message` (or, failing that, any op that fails)."""
    first: Operation | None = None
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except VerifyException as exc:
            if str(exc) == message:
                return op
            first = first or op
        except Exception:  # noqa: BLE001 - only looking for the culprit
            first = first or op
    return first


def _text(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


def verify_error_message(
    module: Operation, exc: VerifyException, op_spans: OpSpans, input_name: str, line_offset: int = 0
) -> str:
    """`module.verify()`'s error placed at the failing op: `file:line:col: message` + the
    source line and carets; without a known place, `FILE: the IR does not verify: ...`
    and the op's text."""
    message = _text(exc)
    op = failing_op(module, str(exc))
    entry = op_spans.get(id(op)) if op is not None else None
    if entry is not None and entry[0] is op:
        return located(dataclasses.replace(entry[1], line_offset=line_offset), message)
    where = f"{input_name}: the IR does not verify: {message}"
    if op is not None:
        where += f"\n  in: {op_text(op)}"
    return where


def parse_verify_error_message(exc: VerifyException, input_name: str, line_offset: int = 0) -> str:
    """A VerifyException raised while parsing (an attribute or type that does not verify),
    placed at the op being parsed when known."""
    span = getattr(exc, "rasp_span", None)
    if span is None:
        return f"{input_name}: the IR does not verify: {_text(exc)}"
    return located(dataclasses.replace(span, line_offset=line_offset), _text(exc))


def parse_ir(
    ctx: Context,
    text: str | bytes,
    name: str,
    *,
    what: str = "input",
    expected: str = "no IR to read",
    allow_implicit_module: bool = True,
) -> tuple[ModuleOp, OpSpans]:
    """Parse `text`: the module and where each op starts. Raises xDSL's ParseError (an
    `EmptyInputError` / `EndOfInputError` for an empty / truncated input) and, for an
    attribute that does not verify, a VerifyException (see `parse_verify_error_message`)."""
    parser = LocatingParser(ctx, text, name, what=what, expected=expected)
    module = parser.parse_module(allow_implicit_module)
    return module, parser.op_spans
