"""`rasp-opt`: the rasp-ir modular optimizer driver (an `xDSLOptMain` subclass).

It reads `rasp` / `transformer` dialect IR as MLIR text, runs a pipeline of
passes over it, and prints the result (`-t mlir`) or emits an ONNX model
(`-t onnx`, when `rasp_ir.backend.onnx` provides `OnnxTarget`).

How the tool is put together (for whoever extends it or writes another CLI):

- `RaspOptMain` registers only what rasp-ir needs: the `builtin`, `arith`,
  `func`, `rasp` and (when its module exists) `transformer` dialects; every pass
  of `rasp_ir.passes.all_passes()`; the named pipelines of `PIPELINES`; the
  `mlir` and `onnx` targets. Pass and target classes are imported only when a
  run uses them (or `--help` describes them).
- Every error a user can cause is turned into a `RaspError` with a message that
  names the place, or is one of xDSL's `ParseError` / `DiagnosticException`.
  `describe_user_error(exc)` formats any of them (and returns None for a bug);
  `run_guarded(tool, body)` runs a command body, prints `TOOL: error: MESSAGE`
  on stderr and returns 1 for a user error, lets `SystemExit` (argparse) through,
  and lets genuine bugs show their traceback. The `rasp` CLI can reuse both.
- `--verify-diagnostics` / `--parsing-diagnostics` keep xDSL's behaviour: the
  diagnostic is printed on stdout and the exit status is 0, which the lit tests
  rely on. In that mode a `RaspError` raised by a pass is printed the same way
  (as `error: in pass 'NAME': MESSAGE`), so pass tests can check its text.
- IR dumps (`--print-ir-before/after[-all]`) go to **stderr**, as in MLIR, so
  stdout stays parseable IR; use `2>&1` to see both in a pipe.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import importlib
import importlib.util
import io
import math
import os
import random
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, cast

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Dialect, Operation
from xdsl.passes import ModulePass, PassPipeline, get_pass_option_infos
from xdsl.printer import Printer
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline, parse_spec
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    ShrinkException,
    VerifyException,
)
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from rasp_ir.errors import RaspError, RaspInputError
from rasp_ir.frontend.mlir_text import (
    LocatingParser,
    OpSpans,
    failing_op,
    op_text,
    parse_error_message,
    parse_verify_error_message,
    verify_error_message,
)

TOOL = "rasp-opt"

PIPELINES: dict[str, str] = {}
"""Named pipelines: a pseudo-pass name usable in `-p`, and its expansion. Filled
lazily from `rasp_ir.passes.DEFAULT_PIPELINE` (see `named_pipelines`)."""

PIPELINE_ALIASES = {"default": "rasp-default-pipeline"}
"""Short names accepted by `--pipeline NAME`."""

_XDSL_PASS_DOCS = {
    "canonicalize": "Apply every op's canonicalization patterns (folds, simplifications) to a fixed point.",
    "cse": "Common subexpression elimination: merge identical pure ops with identical operands.",
    "dce": "Dead code elimination: remove pure ops whose results nothing uses.",
}

_DESCRIPTION = """\
rasp-opt: the rasp-ir modular optimizer driver.

Reads `rasp` or `transformer` dialect IR as MLIR text (a file, or stdin when no
file is given), verifies it, runs a pipeline of passes over it, and writes the
result as MLIR text (-t mlir, the default) or as an ONNX model (-t onnx).
"""

_EXAMPLES = """\
IR dumps:
  --print-ir-before/--print-ir-after/--print-ir-*-all print
  "// -----// IR Dump After PASS //----- //" and the module on stderr (as
  mlir-opt does), so stdout stays parseable IR. Add 2>&1 to see both.

--verify-each:
  after every pass, verify the module and run the reference interpreter on a
  few sample inputs of each rasp.program that has a vocab and max_seq_len,
  comparing with the outputs before the pipeline; once the IR is `transformer`
  dialect, compare the numpy executor's outputs instead.

examples:
  rasp-opt prog.mlir                                  parse, verify, print
  rasp-opt prog.mlir -p rasp-infer-values,canonicalize,cse
  rasp-opt prog.mlir -p 'rasp-infer-values{cap=100}' --print-ir-after-all
  rasp-opt prog.mlir --pipeline default --verify-each
  rasp-opt prog.mlir --pipeline default -t 'onnx{file="model.onnx"}'
  rasp-opt bad.mlir --verify-diagnostics --split-input-file
"""


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


class ToolError(RaspError):
    """A user error found by the tool itself: bad pipeline, unknown pass, missing file..."""


class InvalidIR(RaspError):
    """IR that does not verify. `original` is xDSL's exception, printed as is under
    `--verify-diagnostics`."""

    def __init__(self, message: str, original: Exception):
        super().__init__(message)
        self.original = original


class PassError(RaspError):
    """A pass that stopped with a user error (a `RaspError` or an xDSL diagnostic)."""

    def __init__(self, pass_label: str, original: Exception, pass_name: str | None = None):
        text = _first_text(original)
        if pass_name and text.startswith(f"{pass_name}:"):  # the pass named itself already
            text = text[len(pass_name) + 1 :].strip()
        super().__init__(f"in pass '{pass_label}': {text}")
        self.pass_label = pass_label
        self.original = original


class SemanticMismatch(RaspError):
    """`--verify-each` found a pass that changed what the program computes."""


def _first_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


def describe_user_error(exc: BaseException) -> str | None:
    """The message to show for an error a user can cause, or None when `exc` is a bug.

    Handles `RaspError` (the project's own), xDSL's `ParseError`,
    `DiagnosticException` (verifier and pass failures) and `ArgSpecParseError`
    (a malformed pass pipeline or target spec).
    """
    if isinstance(exc, RaspError):
        return _first_text(exc)
    if isinstance(exc, ParseError):
        return parse_error_message(exc)
    if isinstance(exc, DiagnosticException):
        return _first_text(exc)
    if isinstance(exc, ArgSpecParseError):
        return _first_text(exc)
    return None


def run_guarded(tool: str, body: Callable[[], int | None]) -> int:
    """Run a command-line body; report user errors as `TOOL: error: ...` on stderr.

    Returns the exit status: the body's (0 when it returns None), 1 after a user
    error, 130 after Ctrl-C. `SystemExit` passes through (argparse's usage
    errors exit 2) and so do bugs, with their traceback.
    """
    try:
        return body() or 0
    except KeyboardInterrupt:
        print(f"{tool}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`rasp-opt ... | head`): not worth a traceback. Point
        # stdout at devnull so that Python's flush at exit does not fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except BaseException as exc:  # noqa: BLE001 - re-raised below unless a user error
        message = describe_user_error(exc)
        if message is None:
            raise
        print(f"{tool}: error: {message}", file=sys.stderr)
        return 1


# --------------------------------------------------------------------------- #
# Registries
# --------------------------------------------------------------------------- #


def _load_transformer_dialect() -> Dialect:
    module = importlib.import_module("rasp_ir.dialects.transformer")
    for value in vars(module).values():
        if isinstance(value, Dialect) and value.name == "transformer":
            return value
    raise ImportError("rasp_ir.dialects.transformer defines no Dialect named 'transformer'")


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def named_pipelines() -> dict[str, str]:
    """Pseudo-pass name -> the pipeline it stands for."""
    if not PIPELINES:
        from rasp_ir.passes import DEFAULT_PIPELINE

        PIPELINES["rasp-default-pipeline"] = DEFAULT_PIPELINE
    return PIPELINES


def expand_pipeline(spec: str, pipelines: dict[str, str] | None = None) -> list[ArgSpec]:
    """Parse a pass pipeline string, replacing each named pipeline by its passes.

    Raises `ToolError` for malformed text or options given to a named pipeline.
    """
    pipelines = named_pipelines() if pipelines is None else pipelines
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError as exc:
        detail = _first_text(exc).removeprefix("Error parsing pass pipeline specification:").strip()
        raise ToolError(f"bad pass pipeline {spec!r}: {detail}") from None
    result: list[ArgSpec] = []
    for s in specs:
        if s.name in pipelines:
            if s.parameters:
                raise ToolError(f"the named pipeline '{s.name}' takes no options")
            result.extend(expand_pipeline(pipelines[s.name], {k: v for k, v in pipelines.items() if k != s.name}))
        else:
            result.append(s)
    return result


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _pass_label(p: ModulePass) -> str:
    """`name`, or `name{opt=value}` when the pass was given non-default options."""
    try:
        return str(p.spec())
    except Exception:  # noqa: BLE001 - a pass with unusual fields still gets a label
        return p.name


# --------------------------------------------------------------------------- #
# --verify-each: differential check against the reference interpreter
# --------------------------------------------------------------------------- #


def _sample_inputs(vocab: Sequence[Any], max_seq_len: int, count: int) -> list[list[Any]]:
    """A few deterministic inputs: short and full-length ones, from a fixed seed."""
    if not vocab or count <= 0:
        return []
    rng = random.Random(0)
    lengths = sorted({1, min(2, max_seq_len), min(3, max_seq_len), max_seq_len})
    samples: list[list[Any]] = [[vocab[0]] * max_seq_len]
    while len(samples) < count:
        n = lengths[len(samples) % len(lengths)]
        samples.append([rng.choice(list(vocab)) for _ in range(n)])
    unique: dict[str, list[Any]] = {}
    for s in samples:
        unique.setdefault(repr([(type(v).__name__, v) for v in s]), s)
    return list(unique.values())[:count]


def _same_value(a: Any, b: Any, tol: float, strict_kinds: bool) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if strict_kinds and (isinstance(a, bool) != isinstance(b, bool)):
        return False
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    if math.isnan(fa) or math.isnan(fb):
        return False
    return abs(fa - fb) <= tol


def _same_output(a: Sequence[Any], b: Sequence[Any], tol: float, strict_kinds: bool) -> bool:
    return len(a) == len(b) and all(_same_value(x, y, tol, strict_kinds) for x, y in zip(a, b, strict=True))


@dataclasses.dataclass
class _Reference:
    where: str
    cases: list[tuple[list[Any], list[Any]]]


class SemanticChecker:
    """Runs each program on sample inputs after each pass and compares with the first run.

    Degrades gracefully: when the interpreter or the executor cannot be imported
    (or cannot read the IR before any reference exists), it says so once on
    stderr and checks only that the IR verifies.
    """

    RASP_TOLERANCE = 1e-9
    TRANSFORMER_TOLERANCE = 1e-3  # DESIGN.md section 2: the default numerical tolerance

    def __init__(self, samples: int = 8, note: Callable[[str], None] | None = None):
        self.samples = samples
        self.references: dict[str, _Reference] = {}
        self._note_sink = note or (lambda msg: print(f"{TOOL}: note: {msg}", file=sys.stderr))
        self._notes: set[str] = set()

    def _note(self, msg: str) -> None:
        if msg not in self._notes:
            self._notes.add(msg)
            self._note_sink(f"--verify-each: {msg}")

    def check(self, module: ModuleOp, where: str) -> None:
        from rasp_ir.dialects.rasp import ProgramOp

        programs = [op for op in module.walk() if isinstance(op, ProgramOp)]
        if programs:
            for program in programs:
                self._check_program(program, where)
        elif any(op.name.startswith("transformer.") for op in module.walk()):
            if not self.references:
                self._note("no rasp.program to compare with (the input is transformer IR); only verifying the IR")
                return
            self._check_transformer(module, where)

    # -- rasp level ---------------------------------------------------------- #

    def _check_program(self, program: Any, where: str) -> None:
        name = program.sym_name.data
        if program.vocabulary is None or program.seq_len is None:
            self._note(f"@{name} has no vocab or max_seq_len, so it cannot be run; only verifying it")
            return
        try:
            from rasp_ir.program import Program
        except ImportError as exc:
            self._note(f"the reference interpreter is not available ({exc}); only verifying the IR")
            return
        text = _module_text(ModuleOp([program.clone()]))
        reference = self.references.get(name)
        try:
            runnable = Program.from_mlir(text)
        except RaspError as exc:
            if reference is None:
                self._note(f"cannot run @{name} at {where} ({_first_text(exc)}); checking starts once it can")
                return
            raise SemanticMismatch(
                f"after {where}, the reference interpreter cannot run @{name} any more: {_first_text(exc)}"
            ) from None
        if reference is None:
            cases: list[tuple[list[Any], list[Any]]] = []
            for tokens in _sample_inputs(list(program.vocabulary), program.seq_len, self.samples):
                try:
                    cases.append((tokens, list(runnable.evaluate(tokens))))
                except RaspError:
                    continue  # undefined for this input (e.g. a mean of strings); not a reference
            self.references[name] = _Reference(where, cases)
            return
        for tokens, expected in reference.cases:
            try:
                got: Any = list(runnable.evaluate(tokens))
            except RaspError as exc:
                got = f"an error: {_first_text(exc)}"
            if isinstance(got, str) or not _same_output(expected, got, self.RASP_TOLERANCE, strict_kinds=True):
                raise SemanticMismatch(
                    f"after {where}, @{name} computes {got!r} for input {tokens!r}; "
                    f"at {reference.where} it computed {expected!r}"
                )

    # -- transformer level --------------------------------------------------- #

    def _check_transformer(self, module: ModuleOp, where: str) -> None:
        if len(self.references) != 1:
            self._note("the module held several programs; the transformer-level check needs exactly one")
            return
        (name, reference), = self.references.items()
        try:
            from rasp_ir.interpreter.transformer_executor import TransformerExecutor
        except ImportError as exc:
            self._note(f"the transformer executor is not available ({exc}); only verifying the IR")
            return
        try:
            executor = TransformerExecutor(module)
        except RaspError as exc:
            raise SemanticMismatch(f"after {where}, the transformer executor cannot run the model: {_first_text(exc)}") from None
        by_length: dict[int, list[tuple[list[Any], list[Any]]]] = {}
        for tokens, expected in reference.cases:
            by_length.setdefault(len(tokens), []).append((tokens, expected))
        for cases in by_length.values():
            try:
                outputs = list(executor.run([tokens for tokens, _ in cases]))
            except RaspError as exc:
                raise SemanticMismatch(
                    f"after {where}, the transformer executor failed on {cases[0][0]!r}: {_first_text(exc)}"
                ) from None
            for (tokens, expected), got in zip(cases, outputs, strict=True):
                got = list(got)
                if not _same_output(expected, got, self.TRANSFORMER_TOLERANCE, strict_kinds=False):
                    raise SemanticMismatch(
                        f"after {where}, the transformer computes {got!r} for input {tokens!r}; "
                        f"@{name} at {reference.where} computed {expected!r}"
                    )


def _module_text(module: Operation, generic: bool = False) -> str:
    stream = io.StringIO()
    Printer(stream=stream, print_generic_format=generic).print_op(module)
    stream.write("\n")
    return stream.getvalue()


# --------------------------------------------------------------------------- #
# The tool
# --------------------------------------------------------------------------- #


class _HelpParser(argparse.ArgumentParser):
    """An argument parser whose epilog (the pass list) is built only for --help."""

    def __init__(self, *args: Any, epilog_fn: Callable[[], str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._epilog_fn = epilog_fn

    def format_help(self) -> str:
        self.epilog = self._epilog_fn()
        return super().format_help()


class RaspOptMain(xDSLOptMain):
    """xDSL's opt driver, with rasp-ir's dialects, passes, targets and error handling."""

    version_format = "rasp-opt (rasp-ir {rasp_ir_version}), built on xDSL {{xdsl_version}}"

    def __init__(self, args: Sequence[str] | None = None, description: str = _DESCRIPTION):
        # Mirrors xDSLOptMain.__init__ (xdsl 0.75.0), with a help text that lists the
        # passes lazily and with user errors raised as `ToolError`.
        self.available_frontends = {}
        self.available_passes = {}
        self.available_targets = {}
        self.ctx = Context()
        self.register_all_dialects()
        self.register_all_frontends()
        self.register_all_passes()
        self.register_all_targets()

        arg_parser = _HelpParser(
            prog=TOOL,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog_fn=self.help_epilog,
        )
        self.register_all_arguments(arg_parser)
        self.args = arg_parser.parse_args(args=args)

        try:
            target_spec = parse_spec(self.args.target)
        except ArgSpecParseError as exc:
            arg_parser.error(f"argument -t/--target: {_first_text(exc)}")
        if target_spec.name not in self.available_targets:
            arg_parser.error(
                f"argument -t/--target: invalid choice: '{target_spec.name}' "
                f"(choose from {', '.join(self.available_targets)})"
            )
        # A missing backend or a bad target option fails now, not after the passes ran.
        self._target_class = cast(Callable[[], type[Target]], self.available_targets[target_spec.name])()
        self._check_target_options(target_spec)
        if self.args.frontend:
            try:
                frontend_name = parse_spec(self.args.frontend).name
            except ArgSpecParseError as exc:
                arg_parser.error(f"argument -f/--frontend: {_first_text(exc)}")
            if frontend_name not in self.available_frontends:
                arg_parser.error(
                    f"argument -f/--frontend: invalid choice: '{frontend_name}' "
                    f"(choose from {', '.join(self.available_frontends)})"
                )

        self.ctx.allow_unregistered = self.args.allow_unregistered_dialect
        if self.args.disable_verify:
            from xdsl.ir import Attribute
            from xdsl.xdsl_opt_main import _empty_post_init  # pyright: ignore[reportPrivateUsage]

            Attribute.__post_init__ = _empty_post_init  # xDSL's own behaviour for --disable-verify
        if self.args.syntax_highlight:
            from xdsl.utils.diagnostic import Diagnostic

            Diagnostic.colored = True

        self._op_spans: OpSpans = {}
        self._line_offset = 0
        self.setup_pipeline()

    # -- registration ----------------------------------------------------- #

    def register_all_dialects(self) -> None:
        def builtin():
            from xdsl.dialects.builtin import Builtin

            return Builtin

        def arith():
            from xdsl.dialects.arith import Arith

            return Arith

        def func():
            from xdsl.dialects.func import Func

            return Func

        def rasp():
            from rasp_ir.dialects.rasp import Rasp

            return Rasp

        self.ctx.register_dialect("builtin", builtin)
        self.ctx.register_dialect("arith", arith)
        self.ctx.register_dialect("func", func)
        self.ctx.register_dialect("rasp", rasp)
        # Written separately; without it, `transformer.*` ops are unregistered (a parse error).
        if _module_exists("rasp_ir.dialects.transformer"):
            self.ctx.register_dialect("transformer", _load_transformer_dialect)

    def register_all_frontends(self) -> None:
        def mlir():
            from xdsl.frontend.mlir import MLIRFrontend

            return MLIRFrontend

        def rasp():
            from rasp_ir.frontend.rasp_frontend import RaspFrontend

            return RaspFrontend

        self.available_frontends["mlir"] = mlir
        self.available_frontends["rasp"] = rasp

    def register_all_passes(self) -> None:
        from rasp_ir.passes import all_passes

        for name, factory in all_passes().items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        def mlir():
            from xdsl.targets.mlir import MLIRTarget

            return MLIRTarget

        def onnx():
            try:
                from rasp_ir.backend.onnx import OnnxTarget
            except ImportError as exc:
                raise ToolError(f"target 'onnx' is not available: cannot import rasp_ir.backend.onnx.OnnxTarget ({exc})") from None
            return OnnxTarget

        self.available_targets["mlir"] = mlir
        self.available_targets["onnx"] = onnx

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        from importlib.metadata import PackageNotFoundError, version

        try:
            rasp_ir_version = version("rasp-ir")
        except PackageNotFoundError:
            rasp_ir_version = "unknown"
        for action in arg_parser._actions:  # pyright: ignore[reportPrivateUsage]
            if "--version" in action.option_strings:
                action.version_format = self.version_format.format(rasp_ir_version=rasp_ir_version)  # type: ignore[attr-defined]
            if "--passes" in action.option_strings:
                action.help = "comma-separated pass pipeline, e.g. 'rasp-infer-values{cap=100},cse' (passes are listed below)"
            if "--target" in action.option_strings:
                action.help = "output format: mlir (default) or onnx; e.g. -t 'onnx{file=\"m.onnx\"}'"
            if "--version" in action.option_strings:
                action.help = "print the rasp-ir and xDSL versions and exit"
            if "--disable-verify" in action.option_strings:
                action.help = "do not verify the IR (after parsing and after each pass)"
            if "--print-between-passes" in action.option_strings:
                action.help = "print the IR between passes on stdout (xDSL style); prefer --print-ir-after-all"
        group = arg_parser.add_argument_group("rasp-opt")
        group.add_argument(
            "--pipeline",
            metavar="NAME",
            help="run a named pipeline: 'default' (= rasp-default-pipeline, rasp.program to transformer IR)",
        )
        group.add_argument("--print-ir-before-all", action="store_true", help="dump the IR before every pass (stderr)")
        group.add_argument("--print-ir-after-all", action="store_true", help="dump the IR after every pass (stderr)")
        group.add_argument(
            "--print-ir-before", metavar="PASS[,PASS]", default="", help="dump the IR before these passes (stderr)"
        )
        group.add_argument(
            "--print-ir-after", metavar="PASS[,PASS]", default="", help="dump the IR after these passes (stderr)"
        )
        group.add_argument(
            "--verify-each",
            action="store_true",
            help="after every pass, verify the IR and compare program outputs on sample inputs with the input program's",
        )
        group.add_argument(
            "--verify-each-samples", type=int, default=8, metavar="N", help="sample inputs per program for --verify-each (8)"
        )

    # -- help --------------------------------------------------------------- #

    def help_epilog(self) -> str:
        lines = ["passes:"]
        entries: list[tuple[str, str]] = []
        for name, factory in self.available_passes.items():
            entries.append((name, self._describe_pass(name, factory)))
        for name, expansion in named_pipelines().items():
            entries.append((name, "named pipeline: " + expansion.replace(",", ", ")))
        width = max(len(n) for n, _ in entries) + 2
        for name, text in entries:
            wrapped = textwrap.wrap(text, width=max(40, 100 - width - 2), break_on_hyphens=False) or [""]
            lines.append(f"  {name.ljust(width)}{wrapped[0]}")
            lines.extend(" " * (width + 2) + more for more in wrapped[1:])
        lines.append("")
        return "\n".join(lines) + "\n" + _EXAMPLES

    @staticmethod
    def _describe_pass(name: str, factory: Callable[[], type[ModulePass]]) -> str:
        try:
            cls = factory()
        except ImportError as exc:
            return f"(not available: {exc})"
        except Exception as exc:  # noqa: BLE001 - --help must list the other passes
            return f"(cannot be loaded: {type(exc).__name__}: {exc})"
        doc = (cls.__doc__ or "").strip()
        if not doc or doc.startswith(cls.__name__ + "("):  # a dataclass's generated docstring
            doc = _XDSL_PASS_DOCS.get(name, "")
        text = doc.split("\n\n")[0].split("\n")[0].strip() if doc else "(no description)"
        try:
            options = get_pass_option_infos(cls)
        except TypeError:
            options = ()
        if options:
            shown = ", ".join(
                f"{o.name.replace('_', '-')}: {o.expected_type.strip(chr(39))}"
                + (f" = {o.default_value}" if o.default_value is not None else "")
                for o in options
            )
            text += f" {{{shown}}}"
        return text

    # -- pipeline ----------------------------------------------------------- #

    def setup_pipeline(self) -> None:
        spec = self.args.passes
        if self.args.pipeline:
            if spec:
                raise ToolError(
                    "give either --pipeline or -p, not both "
                    "(to combine them, name the pipeline in -p, e.g. -p 'rasp-default-pipeline,cse')"
                )
            name = PIPELINE_ALIASES.get(self.args.pipeline, self.args.pipeline)
            if name not in named_pipelines():
                choices = sorted({*PIPELINE_ALIASES, *named_pipelines()})
                raise ToolError(
                    f"unknown pipeline '{self.args.pipeline}'{_suggest(self.args.pipeline, choices)}; "
                    f"known pipelines: {', '.join(choices)}"
                )
            spec = name
        specs = expand_pipeline(spec)
        passes: list[ModulePass] = []
        for s in specs:
            passes.append(self._instantiate_pass(s))
        self.pipeline = PassPipeline(tuple(passes))
        self.print_before = self._pass_name_set(self.args.print_ir_before, "--print-ir-before")
        self.print_after = self._pass_name_set(self.args.print_ir_after, "--print-ir-after")

    def _unknown_pass(self, name: str) -> ToolError:
        return ToolError(
            f"unknown pass '{name}'{_suggest(name, [*self.available_passes, *named_pipelines()])}; "
            f"run '{TOOL} --help' to list the passes"
        )

    def _instantiate_pass(self, spec: ArgSpec) -> ModulePass:
        factory = self.available_passes.get(spec.name)
        if factory is None:
            raise self._unknown_pass(spec.name)
        try:
            cls = factory()
        except ImportError as exc:
            raise ToolError(f"pass '{spec.name}' is not available: {exc}") from None
        except Exception as exc:
            exc.add_note(f"{TOOL}: internal error while loading pass '{spec.name}' (a bug in rasp-ir)")
            raise
        try:
            return cls.from_pass_spec(spec)
        except RaspError as exc:
            raise ToolError(f"bad options for pass '{spec.name}': {_first_text(exc)}") from None
        except (ValueError, TypeError) as exc:
            options = ", ".join(
                f"{o.name.replace('_', '-')}: {o.expected_type.strip(chr(39))}" for o in get_pass_option_infos(cls)
            ) or "none"
            raise ToolError(
                f"bad options for pass '{spec.name}' in '{spec}': {_first_text(exc)} (its options: {options})"
            ) from None

    def _pass_name_set(self, text: str, flag: str) -> frozenset[str]:
        names = frozenset(n.strip() for n in text.split(",") if n.strip())
        for name in names:
            if name not in self.available_passes:
                raise ToolError(f"{flag}: " + str(self._unknown_pass(name)))
        return names

    # -- input / output ----------------------------------------------------- #

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        try:
            return super().get_input_stream()
        except OSError as exc:
            raise RaspInputError(f"cannot read '{self.args.input_file}': {exc.strerror or exc}") from None

    def prepare_input(self) -> tuple[list[tuple[IO[bytes], int]], str]:
        # xDSL rejects an unknown extension even under `-f mlir`; here `-f` wins.
        if self.args.input_file is not None and not self.args.frontend:
            ext = self.args.input_file.rpartition(".")[2] if "." in self.args.input_file.rsplit("/", 1)[-1] else ""
            if ext not in self.available_frontends:
                raise ToolError(
                    f"cannot read '{self.args.input_file}': unknown file extension "
                    f"{'.' + ext if ext else '(none)'}; rasp-opt reads MLIR text (.mlir), "
                    "use -f mlir to read it anyway"
                )
        if self.args.frontend:
            f, _ = self.get_input_stream()
            name = parse_spec(self.args.frontend).name
            chunks: list[tuple[IO[bytes], int]] = [(f, 0)]
            if self.args.split_input_file:
                pieces = f.read().split(b"// -----")
                f.close()
                offsets, line = [], 0
                for piece in pieces:
                    offsets.append(line)
                    line += piece.count(b"\n")
                chunks = [(io.BytesIO(p), o) for p, o in zip(pieces, offsets, strict=True)]
            return chunks, name
        return super().prepare_input()

    def prepare_output(self) -> IO[str]:
        """Stdout, or (with -o) a buffer that `_write_output` saves whole once all went well:
        a failed run leaves no file."""
        if self.args.output_file is None:
            return sys.stdout
        directory = Path(self.args.output_file).parent
        if not directory.exists():
            raise ToolError(f"cannot write '{self.args.output_file}': No such file or directory")
        if not directory.is_dir():
            raise ToolError(f"cannot write '{self.args.output_file}': '{directory}' is not a directory")
        return io.StringIO()

    def _write_output(self, text: str) -> None:
        path = Path(self.args.output_file)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise ToolError(f"cannot write '{path}': {exc.strerror or exc}") from None

    def parse_chunk(self, chunk: IO[bytes], file_extension: str, start_offset: int = 0) -> ModuleOp | None:
        self._op_spans = {}
        self._line_offset = start_offset
        frontend = parse_spec(self.args.frontend or file_extension)
        if frontend.name != "mlir" or frontend.parameters:
            return super().parse_chunk(chunk, file_extension, start_offset)
        parser = LocatingParser(
            self.ctx,
            chunk.read(),
            self.get_input_name(),
            what="file" if self.args.input_file is not None and not self.args.split_input_file else "input",
            line_offset=start_offset,
        )
        try:
            module = parser.parse_module(not self.args.no_implicit_module)
        except VerifyException as exc:
            raise InvalidIR(parse_verify_error_message(exc, self.get_input_name(), start_offset), exc) from None
        self._op_spans = parser.op_spans
        return module

    def _check_target_options(self, spec: ArgSpec) -> Target:
        try:
            return self._target_class.from_spec(spec)
        except (ValueError, TypeError) as exc:
            raise ToolError(f"bad options for target '{spec.name}': {_first_text(exc)}") from None

    def output_resulting_program(self, prog: ModuleOp) -> str:
        spec = parse_spec(self.args.target)
        if spec.name == "mlir":
            return super().output_resulting_program(prog)
        target = self._check_target_options(spec)
        output = io.StringIO()
        target.emit(self.ctx, prog, output)
        return output.getvalue()

    # -- verification ------------------------------------------------------- #

    def verify_module(self, module: ModuleOp, after: str | None) -> None:
        """module.verify(), turned into `InvalidIR` with a message that names the op.

        For the input (`after` is None) the op's file:line:col is known; after a pass
        the message says which pass left invalid IR (a bug in that pass).
        """
        try:
            module.verify()
        except VerifyException as exc:
            if after is None:
                where = verify_error_message(module, exc, self._op_spans, self.get_input_name(), self._line_offset)
            else:
                where = f"the IR does not verify after pass '{after}': {_first_text(exc)}"
                op = failing_op(module, str(exc))
                if op is not None:
                    where += f"\n  in: {op_text(op)}"
            raise InvalidIR(where, exc) from None

    # -- running passes ----------------------------------------------------- #

    def _dump(self, when: str, label: str, module: ModuleOp) -> None:
        stream = sys.stderr
        stream.write(f"// -----// IR Dump {when} {label} //----- //\n")
        try:
            stream.write(_module_text(module, generic=self.args.print_op_generic or when.endswith("Failed")))
        except Exception as exc:  # noqa: BLE001 - a dump must not hide the real error
            stream.write(f"// (cannot print the IR: {exc})\n")
        stream.write("\n")
        stream.flush()

    def apply_passes(self, prog: ModuleOp) -> None:
        args = self.args
        verify = not args.disable_verify
        if verify:
            self.verify_module(prog, after=None)
        checker = SemanticChecker(args.verify_each_samples) if args.verify_each else None
        if checker is not None:
            checker.check(prog, "the input")

        passes = self.pipeline.passes
        for index, p in enumerate(passes):
            label = _pass_label(p)
            if args.print_ir_before_all or p.name in self.print_before:
                self._dump("Before", label, prog)
            start = time.perf_counter()
            try:
                p.apply(self.ctx, prog)
            except (RaspError, DiagnosticException) as exc:
                if args.print_ir_after_all or p.name in self.print_after:
                    self._dump("After", label + " Failed", prog)
                raise PassError(label, exc, p.name) from exc
            except Exception as exc:
                exc.add_note(f"{TOOL}: internal error while running pass '{label}' (a bug in rasp-ir, not in the input)")
                raise
            if args.time_passes:
                print(f"Pass {p.name} took {time.perf_counter() - start} seconds")
            if args.print_ir_after_all or p.name in self.print_after:
                self._dump("After", label, prog)
            if args.print_between_passes and index < len(passes) - 1:
                print(f"IR after {p.name}:")
                Printer(stream=sys.stdout).print_op(prog)
                print("\n\n\n")
            if verify or checker is not None:
                self.verify_module(prog, after=label)
            if checker is not None:
                checker.check(prog, f"pass '{label}'")

    # -- driver --------------------------------------------------------------- #

    def run(self) -> int:  # pyright: ignore[reportIncompatibleMethodOverride]
        """Process every input chunk; return the exit status (1 if any chunk failed)."""
        chunks, file_extension = self.prepare_input()
        output_stream = self.prepare_output()
        failed = False
        try:
            for i, (chunk, offset) in enumerate(chunks):
                try:
                    if i > 0:
                        output_stream.write("// -----\n")
                    module = self.parse_chunk(chunk, file_extension, offset)
                    if module is not None:
                        self.apply_passes(module)
                        output_stream.write(self.output_resulting_program(module))
                    output_stream.flush()
                except ParseError as exc:
                    exc.span = dataclasses.replace(exc.span, line_offset=offset)
                    if self.args.parsing_diagnostics:
                        print(exc)
                    else:
                        self._report(exc)
                        failed = True
                except (InvalidIR, PassError, DiagnosticException) as exc:
                    original = exc.original if isinstance(exc, (InvalidIR, PassError)) else exc
                    if self.args.verify_diagnostics and isinstance(original, DiagnosticException):
                        self._print_diagnostic(original)
                    elif self.args.verify_diagnostics:
                        print(f"error: {_first_text(exc)}")
                    else:
                        self._report(exc)
                        failed = True
                except RaspError as exc:
                    if self.args.verify_diagnostics and not isinstance(exc, ToolError):
                        print(f"error: {_first_text(exc)}")
                    else:
                        self._report(exc)
                        failed = True
                finally:
                    chunk.close()
        except ShrinkException:
            assert self.args.shrink
            print("Success, can shrink")
            return 0
        finally:
            if output_stream is not sys.stdout:
                assert isinstance(output_stream, io.StringIO)
                if not failed:
                    self._write_output(output_stream.getvalue())
        if self.args.shrink:
            print("Failure, can't shrink")
            return 1
        return 1 if failed else 0

    @staticmethod
    def _print_diagnostic(exc: BaseException) -> None:
        """What xDSL prints under --verify-diagnostics: the message and the annotated IR."""
        print(exc)
        for note in getattr(exc, "__notes__", ()):
            print(note)

    @staticmethod
    def _report(exc: BaseException) -> None:
        message = describe_user_error(exc)
        print(f"{TOOL}: error: {message if message is not None else exc}", file=sys.stderr)
        sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """The `rasp-opt` entry point; returns the exit status."""
    return run_guarded(TOOL, lambda: RaspOptMain(args=argv).run())


if __name__ == "__main__":
    sys.exit(main())
