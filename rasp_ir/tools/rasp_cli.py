"""`rasp`: the command-line tool for everyone who writes, compiles, runs or checks RASP programs.

    rasp compile PROGRAM -o model.onnx       compile a program to an ONNX model
    rasp run MODEL.onnx [TOKENS ...]         run a compiled model (onnxruntime)
    rasp eval PROGRAM [TOKENS ...]           run a program with the reference interpreter
    rasp inspect MODEL.onnx|PROGRAM          blocks, heads, what each reads and writes; --plot
    rasp verify PROGRAM                      the compiled model against the interpreter
    rasp --version

A PROGRAM is a `.py` module defining a DSL s-op, a `.rasp` source file, or a `.mlir` file
in the `rasp` dialect. Every error a user can cause prints `rasp: error: MESSAGE` on
stderr and exits with status 2 (a wrong command line) or 1 (anything else), never with a
traceback. Files are written whole or not at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasp_ir.errors import RaspCompileError, RaspError, RaspEvaluationError, RaspInputError
from rasp_ir.tools.cli_common import (
    TOOL,
    Source,
    ToolError,
    UsageError,
    check_input,
    convert_tokens,
    load_source,
    parse_token_string,
    parse_vocab,
    read_json_inputs,
    run_guarded,
    to_json,
    with_inputs,
)

if TYPE_CHECKING:
    from rasp_ir.dialects.transformer import ModelOp
    from rasp_ir.runtime.model import CompiledModel

FIND_OUTPUT = """\
how the program is found:
  .py    the module is run; its output is the variable named by --output NAME, else
         `program`, else the only s-op defined at module level. Module constants VOCAB
         and MAX_SEQ_LEN are the defaults of --vocab and --max-seq-len.
  .rasp  parsed by the .rasp frontend; the output is the s-op named by --output NAME,
         else the last s-op the program assigns. Give --vocab and --max-seq-len to compile.
  .mlir  a rasp.program (rasp dialect); it carries its vocab and max_seq_len.
         --output NAME picks one rasp.program by name when the file has several.
--vocab a,b,c is comma-separated (ints when every item is an int), or a JSON list.
"""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("rasp-ir")
    except Exception:  # noqa: BLE001 - running from a source tree
        return "unknown"


# --------------------------------------------------------------------------- #
# Argument parsing
# --------------------------------------------------------------------------- #


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are `rasp: error: ...` (status 2), not usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, not {value}")
        return value

    return parse


def _program_options(p: argparse.ArgumentParser, vocab_help: str = "the vocabulary") -> None:
    p.add_argument("--output", metavar="NAME", help="the output s-op: a .py variable, a .rasp name, a rasp.program")
    p.add_argument("--vocab", metavar="a,b,c", help=f"{vocab_help}: comma-separated tokens (ints if all are ints) or a JSON list")
    p.add_argument("--max-seq-len", type=_int_at_least(1), metavar="N", help="the longest input, in tokens")


def _runtime_options(p: argparse.ArgumentParser, batch_size: int = 256) -> None:
    p.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto",
                   help="onnxruntime execution provider (default auto: CUDA when available)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=batch_size, metavar="N",
                   help=f"inputs per onnxruntime call (default {batch_size})")
    p.add_argument("--threads", type=_int_at_least(1), metavar="N", help="onnxruntime intra-op threads")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=TOOL,
        formatter_class=fmt,
        allow_abbrev=False,
        description="rasp-ir: compile RASP programs to transformer weights and ONNX models, run and check them.",
        epilog="""\
A PROGRAM is a .py module defining a DSL s-op, a .rasp source file, or a .mlir file.

examples:
  rasp compile examples/reverse.py -o reverse.onnx
  rasp run reverse.onnx a b c
  rasp eval examples/reverse.py a b c
  rasp inspect reverse.onnx --plot figs/
  rasp verify examples/reverse.py

'rasp COMMAND --help' describes each command.""",
    )
    parser.add_argument("--version", action="version", version=f"{TOOL} (rasp-ir) {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # -- compile -------------------------------------------------------------- #
    p = sub.add_parser(
        "compile",
        help="compile a program to an ONNX model",
        formatter_class=fmt,
        allow_abbrev=False,
        description=_wrap("Compile a RASP program to transformer weights and an ONNX model, and print a summary "
        "(layers, heads, residual width, parameters, compile time)."),
        epilog=FIND_OUTPUT + """
--emit prints IR or text on stdout (the summary then goes to stderr); give it more than
once for several. -o writes the model file, atomically (whole or not at all).

examples:
  rasp compile examples/reverse.py -o reverse.onnx
  rasp compile examples/reverse.py --vocab a,b,c,d --max-seq-len 10 -o reverse10.onnx
  rasp compile examples/histogram.mlir --emit transformer
  rasp compile prog.py --output make_sort --emit mlir --emit onnx-text
  rasp compile prog.py --pipeline 'default,cse' -o prog.onnx""",
    )
    p.add_argument("program", metavar="PROGRAM", help="a .py, .rasp or .mlir program")
    p.add_argument("-o", dest="out", metavar="FILE", help="write the ONNX model to FILE")
    _program_options(p)
    p.add_argument("--emit", action="append", choices=("mlir", "transformer", "onnx-text"),
                   help="print the rasp IR (mlir), the transformer IR, or the ONNX model as text")
    p.add_argument("--pipeline", metavar="SPEC",
                   help="the pass pipeline, as rasp-opt -p takes it ('default' is the default pipeline)")
    p.add_argument("--external-data", action="store_true", help="store the weights in FILE.data beside the model")
    p.add_argument("-q", "--quiet", action="store_true", help="print no summary")
    p.set_defaults(func=cmd_compile)

    # -- run ------------------------------------------------------------------ #
    p = sub.add_parser(
        "run",
        help="run a compiled model",
        formatter_class=fmt,
        allow_abbrev=False,
        description=_wrap("Run a compiled model (onnxruntime) on one input given as TOKENS, or on JSON lines read "
        "from stdin: one input (a JSON list of tokens) per line, one JSON output per line."),
        epilog="""\
TOKENS are matched to the model's vocabulary by their text: with an int vocabulary,
`1` is the int 1. Outputs are printed as JSON lists, without BOS.

examples:
  rasp run reverse.onnx a b c                  -> ["c", "b", "a"]
  printf '["a","b"]\\n["c"]\\n' | rasp run reverse.onnx
  rasp run sort.onnx 3 1 2 --provider cpu
  rasp run big.onnx --batch-size 1024 --threads 4 < inputs.jsonl > outputs.jsonl""",
    )
    p.add_argument("model", metavar="MODEL.onnx", help="a model compiled by rasp-ir")
    p.add_argument("tokens", nargs="*", metavar="TOKENS", help="one input; without it, JSON lines on stdin")
    _runtime_options(p)
    p.set_defaults(func=cmd_run)

    # -- eval ----------------------------------------------------------------- #
    p = sub.add_parser(
        "eval",
        help="run a program with the reference interpreter",
        formatter_class=fmt,
        allow_abbrev=False,
        description=_wrap("Run a program with the reference interpreter (the paper's semantics) on one input given "
        "as TOKENS, or on JSON lines read from stdin, one output per line."),
        epilog=FIND_OUTPUT + """
With a vocabulary (--vocab, or the program's own), inputs are checked against it and
TOKENS are matched to it by their text; without one, TOKENS are ints when all are ints.

examples:
  rasp eval examples/reverse.py a b c          -> ["c", "b", "a"]
  rasp eval examples/histogram.mlir a b a
  echo '[3, 1, 2]' | rasp eval examples/sort_unique.py""",
    )
    p.add_argument("program", metavar="PROGRAM", help="a .py, .rasp or .mlir program")
    p.add_argument("tokens", nargs="*", metavar="TOKENS", help="one input; without it, JSON lines on stdin")
    _program_options(p, "the vocabulary inputs are checked against")
    p.set_defaults(func=cmd_eval)

    # -- inspect -------------------------------------------------------------- #
    p = sub.add_parser(
        "inspect",
        help="what each block, head and MLP reads and writes",
        formatter_class=fmt,
        allow_abbrev=False,
        description=_wrap("Show a compiled model's blocks, heads and MLPs, what each reads and writes (named by "
        "the residual layout: which dimensions hold which s-op values), MLP sizes, the residual "
        "layout and parameter counts. A PROGRAM is compiled first."),
        epilog=FIND_OUTPUT + """
A head reads the dimensions with non-zero rows of w_q | w_k | w_v and writes those with
non-zero columns of w_o; an MLP reads the non-zero rows of w1 and writes the non-zero
columns of w2. `tokens` means all of an s-op's dimensions, `tokens{a,b}` some of them.

--plot DIR writes PNG figures (needs matplotlib: pip install 'rasp-ir[plot]'): each
head's attention pattern on an example input (--input, default a generated one), its
query-key and output-value matrices, each MLP's lookup table, and the residual stream
after every layer.

examples:
  rasp inspect reverse.onnx
  rasp inspect examples/reverse.py --plot figs/ --input 'a b c'
  rasp inspect examples/histogram.mlir --json""",
    )
    p.add_argument("target", metavar="MODEL.onnx|PROGRAM", help="a compiled model or a program")
    _program_options(p)
    p.add_argument("--pipeline", metavar="SPEC", help="the pass pipeline for a PROGRAM (as for compile)")
    p.add_argument("--plot", metavar="DIR", help="write PNG figures to DIR")
    p.add_argument("--input", metavar="TOKENS", help="the example input of the plots: 'a b c' or a JSON list")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.set_defaults(func=cmd_inspect)

    # -- verify --------------------------------------------------------------- #
    p = sub.add_parser(
        "verify",
        help="check the compiled model against the reference interpreter",
        formatter_class=fmt,
        allow_abbrev=False,
        description=_wrap("Compile PROGRAM (or take --model FILE) and compare the model, run by onnxruntime, with "
        "the reference interpreter on every input up to --exhaustive-len tokens and on --random "
        "random inputs of the longer lengths. Categorical outputs must be equal; numerical ones "
        "equal within the model's tolerance. Prints the first counterexample (input, expected, "
        "got) and exits 1 on a mismatch; exits 0 and prints the counts when all agree."),
        epilog=FIND_OUTPUT + """
defaults: --exhaustive-len is the longest length (up to max_seq_len) that keeps the
sweep at or under 20000 inputs; --random is 1000 when the sweep stops short of
max_seq_len, else 0; --seed 0. With --model, --vocab and --max-seq-len default to the
model's. A progress bar goes to stderr when it is a terminal (or with --progress).

examples:
  rasp verify examples/reverse.py
  rasp verify examples/sort_unique.py --exhaustive-len 3 --random 5000 --seed 1
  rasp verify prog.py --vocab a,b --max-seq-len 12 --model prog.onnx""",
    )
    p.add_argument("program", metavar="PROGRAM", help="a .py, .rasp or .mlir program")
    _program_options(p)
    p.add_argument("--exhaustive-len", type=_int_at_least(0), metavar="L", help="check every input up to L tokens")
    p.add_argument("--random", type=_int_at_least(0), metavar="N", help="check N random inputs")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the random inputs (default 0)")
    p.add_argument("--model", metavar="FILE", help="check this compiled model instead of compiling PROGRAM")
    p.add_argument("--pipeline", metavar="SPEC", help="the pass pipeline (as for compile)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar on stderr (default: when stderr is a terminal)")
    _runtime_options(p, batch_size=512)
    p.set_defaults(func=cmd_verify)
    return parser


# --------------------------------------------------------------------------- #
# Shared steps
# --------------------------------------------------------------------------- #


def _load(args: argparse.Namespace, path: str, command: str) -> Source:
    vocab = parse_vocab(args.vocab) if args.vocab is not None else None
    return load_source(path, args.output, command, vocab, args.max_seq_len)


def _resolve_inputs(args: argparse.Namespace, source: Source, command: str, required: bool) -> tuple[list[Any] | None, int | None]:
    vocab = parse_vocab(args.vocab) if args.vocab is not None else source.vocab
    max_seq_len = args.max_seq_len if args.max_seq_len is not None else source.max_seq_len
    if source.transformer is not None and (args.vocab is not None or args.max_seq_len is not None):
        raise UsageError(
            f"'{source.path}' is transformer IR, which fixes its vocabulary and max_seq_len; "
            "--vocab and --max-seq-len do not apply"
        )
    if required and (vocab is None or max_seq_len is None):
        missing = " and ".join(
            x for x, v in (("the vocabulary (--vocab a,b,c)", vocab), ("the longest input (--max-seq-len N)", max_seq_len))
            if v is None
        )
        where = {
            ".py": " (or define VOCAB and MAX_SEQ_LEN in the module)",
            ".mlir": " (or give the rasp.program `vocab [...] max_seq_len N`)",
        }.get(source.path.suffix.lower(), "")
        raise UsageError(f"'rasp {command}' needs {missing} for '{source.path}'{where}")
    return vocab, max_seq_len


def _resolve_pipeline(spec: str | None) -> str:
    from rasp_ir.passes import DEFAULT_PIPELINE

    if spec is None:
        return DEFAULT_PIPELINE
    from rasp_ir.compiler import parse_pipeline
    from rasp_ir.passes import all_passes
    from rasp_ir.tools.rasp_opt import PIPELINE_ALIASES, _suggest, expand_pipeline

    try:
        specs = expand_pipeline(",".join(_alias(s.strip(), PIPELINE_ALIASES) for s in _split_top(spec)))
    except RaspError as e:
        raise UsageError(f"--pipeline: {e}") from None
    if not specs:
        raise UsageError("--pipeline is empty")
    passes = all_passes()
    for s in specs:
        if s.name not in passes:
            raise UsageError(
                f"--pipeline: unknown pass '{s.name}'{_suggest(s.name, list(passes))}; "
                f"passes: {', '.join(passes)} (and 'default', the default pipeline)"
            )
    text = ",".join(str(s) for s in specs)
    try:
        parse_pipeline(text)
    except RaspCompileError as e:
        raise UsageError(f"--pipeline: {str(e).splitlines()[0]}") from None
    return text


def _alias(piece: str, aliases: dict[str, str]) -> str:
    """A pipeline entry with a named pipeline's short name replaced (its options kept, so that
    the expansion can say a named pipeline takes none)."""
    name, brace, rest = piece.partition("{")
    return aliases.get(name.strip(), name) + brace + rest


def _split_top(spec: str) -> list[str]:
    """Split a pipeline at the commas outside braces."""
    parts, depth, cur = [], 0, ""
    for ch in spec:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


def _to_transformer(source: Source, vocab: Any, max_seq_len: Any, pipeline_spec: str | None) -> Any:
    """The module holding the transformer.model of `source` (compiled when it is a program)."""
    from rasp_ir.compiler import compile_to_transformer, run_pipeline
    from rasp_ir.dialects.transformer import ModelOp

    if source.transformer is not None:
        module = source.transformer.clone()
        if pipeline_spec is not None:
            run_pipeline(module, _resolve_pipeline(pipeline_spec))
    else:
        assert source.program is not None
        module = compile_to_transformer(source.program, vocab, max_seq_len, pipeline=_resolve_pipeline(pipeline_spec))
    if not any(isinstance(op, ModelOp) for op in module.walk()):
        raise RaspCompileError(
            "the pass pipeline did not produce a transformer.model; end it with rasp-to-transformer "
            "(to run other passes over IR, use rasp-opt)"
        )
    return module


def _compiled_model(module: Any, source_text: str | None, provider: str = "auto", threads: int | None = None) -> CompiledModel:
    from rasp_ir.runtime.model import CompiledModel

    return CompiledModel.from_transformer(module, source=source_text, provider=provider, threads=threads)


def _load_model_file(path_text: str, command: str, provider: str = "auto", threads: int | None = None) -> CompiledModel:
    from rasp_ir.runtime.model import load_model

    path = Path(path_text)
    if path.suffix.lower() in (".py", ".rasp", ".mlir"):
        hint = "'rasp eval' runs a program with the interpreter" if command == "run" else "compile it with 'rasp compile'"
        raise UsageError(f"'{path}' is a program, not a compiled model; {hint}")
    return load_model(path, provider=provider, threads=threads)


def _print(text: str, stream: Any = None) -> None:
    stream = stream or sys.stdout
    stream.write(text if text.endswith("\n") else text + "\n")


def _size_text(n: int) -> str:
    return f"{n:,} bytes" if n < 10_000 else f"{n / 1024:,.1f} KiB" if n < 10_000_000 else f"{n / 2**20:,.1f} MiB"


# --------------------------------------------------------------------------- #
# compile
# --------------------------------------------------------------------------- #


def _remarks(module) -> list[str]:
    """The compiler's notes on what cost extra blocks (the `remarks` of the model op)."""
    from xdsl.dialects.builtin import ArrayAttr, StringAttr

    from rasp_ir.dialects.transformer import ModelOp

    notes: list[str] = []
    for op in module.walk():
        attr = op.attributes.get("remarks") if isinstance(op, ModelOp) else None
        if isinstance(attr, ArrayAttr):
            notes.extend(a.data for a in attr.data if isinstance(a, StringAttr))
    return notes


def cmd_compile(args: argparse.Namespace) -> int:
    import onnx

    from rasp_ir.program import print_module

    emits: list[str] = list(dict.fromkeys(args.emit or []))
    source = _load(args, args.program, "compile")
    if source.transformer is not None and "mlir" in emits:
        raise UsageError(f"'{source.path}' is already transformer IR; --emit mlir prints rasp IR (use --emit transformer)")
    vocab, max_seq_len = _resolve_inputs(args, source, "compile", required=source.transformer is None)
    start = time.perf_counter()
    texts: dict[str, str] = {}
    if "mlir" in emits:
        assert source.program is not None
        texts["mlir"] = source.program.to_mlir(vocab=vocab, max_seq_len=max_seq_len)
    module = _to_transformer(source, vocab, max_seq_len, args.pipeline)
    model = _compiled_model(module, source.text if source.program is not None else None)
    elapsed = time.perf_counter() - start
    if "transformer" in emits:
        texts["transformer"] = print_module(module)
    if "onnx-text" in emits:
        texts["onnx-text"] = onnx.printer.to_text(model.onnx)
    if args.out is not None:
        out = Path(args.out)
        if out.is_dir():
            raise ToolError(f"-o '{out}' is a directory; give a file name, e.g. {out / (model.name + '.onnx')}")
        try:
            model.save(out, external_data=args.external_data)
        except OSError as e:
            raise ToolError(f"cannot write '{out}': {e.strerror or e}") from None
        except ValueError as e:  # protobuf refuses models over 2 GB
            if "2GB" not in str(e) and "exceeds" not in str(e):
                raise
            raise ToolError(f"cannot write '{out}': {e} (try --external-data)") from None
    for kind in emits:
        _print(texts[kind])
    if not args.quiet:
        log = sys.stderr if emits else sys.stdout
        s = model.summary()
        lines = [
            f"compiled @{model.name} in {elapsed:.2f} s: {s.layers} layer{'s' if s.layers != 1 else ''}, "
            f"{s.heads} head{'s' if s.heads != 1 else ''} (per layer {s.heads_per_layer}), "
            f"residual width {s.residual_width}, {s.params:,} parameters",
            "  MLP hidden per layer: " + ", ".join(str(h) if h else "-" for h in s.mlp_hidden_per_layer),
        ]
        if source.program is not None:
            try:
                a = source.program.analysis()
                lines.append(
                    f"  the program needs {a.layers} attention layer{'s' if a.layers != 1 else ''}, "
                    f"heads per layer {a.heads_per_layer} (the paper's count)"
                )
            except RaspError:
                pass
        for remark in _remarks(module):
            lines.append(f"  note: {remark}")
        if args.out is not None:
            lines.append(f"wrote {args.out} ({_size_text(Path(args.out).stat().st_size)})")
        elif not emits:
            lines.append("no file written (give -o FILE to write the model)")
        _print("\n".join(lines), log)
    return 0


# --------------------------------------------------------------------------- #
# run and eval
# --------------------------------------------------------------------------- #


def _stream_inputs(
    handle_batch, batch_size: int, check, interactive: bool | None = None
) -> None:
    """Read JSON lines from stdin, check each, hand them on in batches; print the outputs."""
    stdin = sys.stdin
    if interactive is None:
        try:
            interactive = stdin.isatty()
        except (AttributeError, ValueError):
            interactive = False
    pending: list[tuple[int, list[Any]]] = []
    if interactive:
        print(f"{TOOL}: reading inputs, one JSON list of tokens per line (end with Ctrl-D)", file=sys.stderr)

    def flush() -> None:
        if not pending:
            return
        outputs = handle_batch(pending)
        sys.stdout.write("".join(to_json(o) + "\n" for o in outputs))
        sys.stdout.flush()
        pending.clear()

    try:
        for number, tokens in read_json_inputs(stdin):
            check(number, tokens)
            pending.append((number, tokens))
            if interactive or len(pending) >= batch_size:
                flush()
    except RaspError:
        flush()  # the outputs of the lines before the bad one, then the error
        raise
    flush()


def cmd_run(args: argparse.Namespace) -> int:
    model = _load_model_file(args.model, "run", args.provider, args.threads)
    codec = model.codec

    def check(where: str, tokens: list[Any]) -> None:
        check_input(tokens, model.max_seq_len, where)
        for j, t in enumerate(tokens):
            codec.token_id(t, f" ({where}, position {j})")

    def outputs(batch: list[list[Any]]) -> list[list[Any]]:
        results = model.run(batch, batch_size=args.batch_size)
        if model.encoding == "numerical":  # float32 values as float32's shortest text; rounded ones are ints
            results = [[v if isinstance(v, int) else _float32_text(v) for v in row] for row in results]
        return results

    if args.tokens:
        tokens = convert_tokens(args.tokens, model.vocab)
        check("the input", tokens)
        _print(to_json(outputs([tokens])[0]))
        return 0
    _stream_inputs(
        lambda batch: outputs([t for _, t in batch]),
        args.batch_size,
        lambda number, tokens: check(f"<stdin>:{number}", tokens),
    )
    return 0


def _float32_text(v: Any) -> Any:
    import numpy as np

    try:
        return float(str(np.float32(v)))
    except (TypeError, ValueError):
        return v


def cmd_eval(args: argparse.Namespace) -> int:
    source = _load(args, args.program, "eval")
    vocab, max_seq_len = _resolve_inputs(args, source, "eval", required=False)
    program = with_inputs(source.need_program("eval"), vocab, max_seq_len)

    def evaluate(where: str, tokens: list[Any]) -> list[Any]:
        try:
            return program.evaluate(tokens)
        except RaspEvaluationError as e:
            raise RaspEvaluationError(f"{where}: {e}") from None
        except RaspInputError as e:
            raise RaspInputError(f"{where}: {e}") from None

    if args.tokens:
        tokens = convert_tokens(args.tokens, vocab)
        check_input(tokens, max_seq_len, "the input")
        _print(to_json(evaluate("the input", tokens)))
        return 0
    _stream_inputs(
        lambda batch: [evaluate(f"<stdin>:{n}", t) for n, t in batch],
        64,
        lambda number, tokens: check_input(tokens, max_seq_len, f"<stdin>:{number}"),
    )
    return 0


# --------------------------------------------------------------------------- #
# inspect
# --------------------------------------------------------------------------- #


def cmd_inspect(args: argparse.Namespace) -> int:
    from rasp_ir.analysis.inspect import format_inspection, inspect_model, model_from_onnx
    from rasp_ir.dialects.transformer import find_model

    if args.input is not None and args.plot is None:
        raise UsageError("--input is the example input of the plots; give --plot DIR with it")
    if args.plot is not None:
        from rasp_ir.analysis.plots import require_matplotlib

        require_matplotlib()
    path = Path(args.target)
    program = None
    if path.suffix.lower() in (".py", ".rasp", ".mlir"):
        source = _load(args, args.target, "inspect")
        vocab, max_seq_len = _resolve_inputs(args, source, "inspect", required=source.transformer is None)
        model_op: ModelOp = find_model(_to_transformer(source, vocab, max_seq_len, args.pipeline))
        program = source.program
    else:
        for flag in ("output", "vocab", "max_seq_len", "pipeline"):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag.replace('_', '-')} applies to a program; '{path}' is a compiled model")
        from rasp_ir.runtime.files import load_onnx
        from rasp_ir.runtime.model import CompiledModel

        proto = load_onnx(path)
        CompiledModel(proto, where=f"'{path}'")  # checks the metadata: a clear error for a foreign model
        model_op = model_from_onnx(proto, where=f"'{path}'")
    info = inspect_model(model_op)
    if program is not None:
        try:
            a = program.analysis()
            info.program_layers, info.program_heads_per_layer = a.layers, list(a.heads_per_layer)
        except RaspError:
            pass
    if args.json:
        _print(json.dumps(info.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        _print(format_inspection(info))
    if args.plot is not None:
        from rasp_ir.analysis.plots import write_plots

        tokens = parse_token_string(args.input, model_op.vocabulary) if args.input is not None else None
        if tokens is not None:
            check_input(tokens, model_op.seq_len, "--input")
        paths = write_plots(model_op, args.plot, tokens)
        _print(f"wrote {len(paths)} figures to {args.plot}: " + ", ".join(p.name for p in paths),
               sys.stderr if args.json else sys.stdout)
    return 0


# --------------------------------------------------------------------------- #
# verify
# --------------------------------------------------------------------------- #


def cmd_verify(args: argparse.Namespace) -> int:
    from rasp_ir.tools.cli_verify import DEFAULT_RANDOM, count_exhaustive, default_exhaustive_len, verify

    source = _load(args, args.program, "verify")
    program = source.need_program("verify")
    if args.model is not None:
        model = _load_model_file(args.model, "verify", args.provider, args.threads)
        vocab = parse_vocab(args.vocab) if args.vocab is not None else list(model.vocab)
        max_seq_len = args.max_seq_len if args.max_seq_len is not None else model.max_seq_len
        for t in vocab:
            model.codec.token_id(t, " (from --vocab)")
        if max_seq_len > model.max_seq_len:
            raise ToolError(
                f"--max-seq-len {max_seq_len} is more than the model's max_seq_len {model.max_seq_len}"
            )
    else:
        vocab, max_seq_len = _resolve_inputs(args, source, "verify", required=True)
        assert vocab is not None and max_seq_len is not None
        model = _compiled_model(_to_transformer(source, vocab, max_seq_len, args.pipeline), source.text,
                                args.provider, args.threads)
    reference = with_inputs(program, vocab, max_seq_len)
    length = args.exhaustive_len
    if length is None:
        length = default_exhaustive_len(len(vocab), max_seq_len)
    elif length > max_seq_len:
        raise UsageError(f"--exhaustive-len {length} is more than max_seq_len {max_seq_len}")
    random_count = args.random if args.random is not None else (DEFAULT_RANDOM if length < max_seq_len else 0)
    if count_exhaustive(len(vocab), length) + random_count == 0:
        raise UsageError("nothing to check: give --exhaustive-len L >= 1 or --random N >= 1")
    progress = args.progress if args.progress is not None else _isatty(sys.stderr)
    result = verify(
        reference, model, vocab, max_seq_len,
        exhaustive_len=length, random_count=random_count, seed=args.seed,
        batch_size=args.batch_size, progress=progress, stream=sys.stderr,
    )
    cx = result.counterexample
    if cx is None:
        parts = []
        if result.exhaustive:
            parts.append(f"every input up to length {length}: {result.exhaustive:,}")
        if result.random:
            parts.append(f"random inputs (seed {args.seed}): {result.random:,}")
        parts.append(f"vocab of {len(vocab)}, max_seq_len {max_seq_len}")
        _print(
            f"verified @{model.name}: the model agrees with the program on all {result.checked:,} inputs "
            f"({'; '.join(parts)}) in {result.seconds:.2f} s"
        )
        return 0
    numerical = model.encoding == "numerical"
    lines = [f"counterexample (found at input #{cx.index + 1:,}):", f"  input:    {to_json(cx.tokens)}"]
    if cx.error is not None:
        lines.append(f"  expected: the program is undefined on this input: {cx.error}")
    else:
        lines.append(f"  expected: {to_json(cx.expected or [])}")
    lines.append(f"  got:      {cx.got if isinstance(cx.got, str) else to_json(cx.got)}")  # str: refused
    pos = cx.first_difference(model.tolerance, numerical)
    if pos is not None:
        tol = f" (tolerance {model.tolerance:g})" if numerical else ""
        lines.append(f"  first difference at position {pos}{tol}")
    more = f"; {result.mismatches_in_batch - 1} more in the same batch" if result.mismatches_in_batch > 1 else ""
    lines.append(f"verify failed: the model disagrees with the program @{program.name}{more}")
    _print("\n".join(lines))
    return 1


def _looks_like_option(word: str) -> bool:
    if not word.startswith("-") or word == "-":
        return False
    try:
        float(word)
        return False  # a negative number is a token
    except ValueError:
        return True


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------- #


def main(argv: Sequence[str] | None = None) -> int:
    """The `rasp` entry point; returns the exit status."""

    def body() -> int:
        parser = build_parser()
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit as e:  # --help and --version
            return e.code if isinstance(e.code, int) else 0
        # argparse gives a `nargs="*"` positional only the words before the first option;
        # the words after one (`rasp run m.onnx --provider cpu a b`) are tokens too.
        if extra:
            if hasattr(args, "tokens") and not any(_looks_like_option(w) for w in extra):
                args.tokens = list(args.tokens) + extra
            else:
                where = f"{TOOL} {args.command}" if args.command else TOOL
                raise UsageError(f"unrecognized arguments: {' '.join(extra)} (see '{where} --help')")
        if args.command is None:
            raise UsageError("give a command: compile, run, eval, inspect or verify (see 'rasp --help')")
        return args.func(args)

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        print(f"{TOOL}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        return run_guarded(body)


if __name__ == "__main__":
    sys.exit(main())
