"""Helpers of the `rasp` command-line tool: errors, loading programs, parsing tokens.

- `UsageError` (exit status 2) and `ToolError` (exit status 1) are the tool's own
  `RaspError`s; `run_guarded` prints any user error as `rasp: error: MESSAGE`.
- `load_source(path)` reads a program: `.py` (a module defining a DSL s-op), `.rasp` (the
  language frontend) or `.mlir` (`rasp` dialect, or already `transformer` dialect).
- `parse_vocab`, `convert_tokens`, `read_json_inputs` turn command-line text and JSON lines
  into token lists.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rasp_ir.errors import RaspError, RaspInputError, RaspSyntaxError, RaspTypeError

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp

    from rasp_ir.program import Program

TOOL = "rasp"

PROGRAM_EXTENSIONS = (".py", ".rasp", ".mlir")


class ToolError(RaspError):
    """A user error found by the tool (a missing file, an unwritable output...): exit status 1."""


class UsageError(RaspError):
    """The command line itself is wrong (a bad option value, an unknown extension): exit status 2."""


# --------------------------------------------------------------------------- #
# Reporting errors
# --------------------------------------------------------------------------- #

_LOCATION = re.compile(r"^\S.*:\d+:\d+:?$")


def tidy_message(text: str) -> str:
    """xDSL's parse errors read `file:line:col`, the source line, carets, then the message;
    put the message after the location instead: `file:line:col: message`, source, carets."""
    lines = text.rstrip().split("\n")
    if len(lines) >= 4 and _LOCATION.match(lines[0]) and set(lines[2].strip()) <= {"^"} and lines[2].strip():
        message = " ".join(line.strip() for line in lines[3:] if line.strip())
        return f"{lines[0].rstrip(':')}: {message}\n{lines[1]}\n{lines[2]}"
    return text.rstrip()


def describe_error(exc: BaseException) -> str | None:
    """The message for an error a user can cause, or None for a bug."""
    if isinstance(exc, RaspError):
        text = str(exc).strip() or type(exc).__name__
        return tidy_message(text)
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"'{exc.filename}': {exc.strerror or exc}"
    if "xdsl" in sys.modules:
        from rasp_ir.tools.rasp_opt import describe_user_error

        text = describe_user_error(exc)
        return None if text is None else tidy_message(text)
    return None


def run_guarded(body: Callable[[], int | None]) -> int:
    """Run a command; a user error prints `rasp: error: ...` on stderr and returns 2 (usage)
    or 1 (anything else); bugs keep their traceback."""
    try:
        return body() or 0
    except KeyboardInterrupt:
        print(f"{TOOL}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep the exit-time flush quiet
        except OSError:
            pass
        return 1
    except BaseException as exc:  # noqa: BLE001 - re-raised below unless a user error
        if isinstance(exc, SystemExit):
            raise
        message = describe_error(exc)
        if message is None:
            raise
        print(f"{TOOL}: error: {message}", file=sys.stderr)
        sys.stderr.flush()
        return 2 if isinstance(exc, UsageError) else 1


# --------------------------------------------------------------------------- #
# Option values
# --------------------------------------------------------------------------- #


def _int_or_none(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_vocab(text: str) -> list[Any]:
    """`a,b,c` -> ["a", "b", "c"]; `1,2,3` -> [1, 2, 3] (ints when every item is one);
    a JSON list (`'["a", 1, true]'`) is taken as it is. Items are stripped of spaces."""
    text = text.strip()
    if text.startswith("["):
        try:
            vocab = json.loads(text)
        except ValueError as e:
            raise UsageError(f"--vocab {text!r} starts with '[' but is not a JSON list ({e})") from None
        if not isinstance(vocab, list) or not all(isinstance(v, str | int | float | bool) for v in vocab):
            raise UsageError("--vocab as JSON must be a list of strings, numbers or booleans")
    else:
        items = text.split(",")
        if any(not item.strip() for item in items):
            raise UsageError(
                f"--vocab {text!r} has an empty item; give comma-separated tokens like a,b,c "
                "(or a JSON list for tokens with commas or spaces)"
            )
        ints = [_int_or_none(item) for item in items]
        vocab = ints if all(i is not None for i in ints) else [item.strip() for item in items]
    if not vocab:
        raise UsageError("--vocab is empty; give at least one token")
    seen: set[tuple[str, Any]] = set()
    for v in vocab:
        key = (type(v).__name__, v)
        if key in seen:
            raise UsageError(f"--vocab lists the token {v!r} twice")
        seen.add(key)
    return vocab


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


def _token_texts(v: Any) -> list[str]:
    """The ways a token may be written on the command line."""
    if isinstance(v, str):
        return [v]
    if isinstance(v, bool):
        return ["true" if v else "false", str(v)]
    texts = [str(v), json.dumps(v)]
    if isinstance(v, float) and v.is_integer():
        texts.append(str(int(v)))
    return texts


def convert_tokens(words: Sequence[str], vocab: Sequence[Any] | None, where: str = "argument") -> list[Any]:
    """Command-line words -> tokens of `vocab` (a word names the token whose text it is:
    "1" is the int 1 in an int vocabulary). Without a vocabulary: ints when every word is
    one, else strings."""
    if vocab is None:
        ints = [_int_or_none(w) for w in words]
        return ints if words and all(i is not None for i in ints) else list(words)
    lookup: dict[str, Any] = {}
    for v in vocab:  # strings first: a string token "1" wins over an int 1
        if isinstance(v, str):
            lookup.setdefault(v, v)
    for v in vocab:
        for text in _token_texts(v):
            lookup.setdefault(text, v)
    out = []
    for i, w in enumerate(words):
        if w not in lookup:
            from rasp_ir.runtime.codec import show_vocab

            raise RaspInputError(f"token {w!r} ({where} {i + 1}) is not in the vocabulary {show_vocab(list(vocab))}")
        out.append(lookup[w])
    return out


def parse_token_string(text: str, vocab: Sequence[Any] | None, option: str = "--input") -> list[Any]:
    """`"a b c"` (words separated by spaces) or a JSON list -> tokens."""
    text = text.strip()
    if text.startswith("["):
        try:
            tokens = json.loads(text)
        except ValueError as e:
            raise UsageError(f"{option} starts with '[' but is not a JSON list ({e})") from None
        if not isinstance(tokens, list):
            raise UsageError(f"{option} must be a JSON list of tokens")
        return tokens
    words = text.split()
    if not words:
        raise UsageError(f"{option} is empty; give tokens separated by spaces, e.g. {option} 'a b c'")
    return convert_tokens(words, vocab, "token")


def check_input(tokens: list[Any], max_seq_len: int | None, where: str) -> None:
    if not tokens:
        raise RaspInputError(f"{where}: the input is empty; an input has at least one token")
    if max_seq_len is not None and len(tokens) > max_seq_len:
        raise RaspInputError(f"{where}: the input has {len(tokens)} tokens, more than max_seq_len {max_seq_len}")


def read_json_inputs(stream: TextIO, name: str = "<stdin>") -> Iterator[tuple[int, list[Any]]]:
    """`(line number, tokens)` for each non-blank line: a JSON list of tokens. No line at
    all is an error (an empty batch), as in the API."""
    seen = 0
    for number, line in enumerate(stream, start=1):
        text = line.strip()
        if not text:
            continue
        seen += 1
        try:
            tokens = json.loads(text)
        except ValueError as e:
            raise RaspInputError(
                f"{name}:{number}: not JSON ({e.args[0] if e.args else e}); give one JSON list of tokens "
                'per line, e.g. ["a", "b"]'
            ) from None
        if isinstance(tokens, str):
            raise RaspInputError(
                f"{name}:{number}: a JSON string, not a list of tokens; write {json.dumps(list(tokens))} "
                "for its characters"
            )
        if not isinstance(tokens, list):
            raise RaspInputError(f"{name}:{number}: expected a JSON list of tokens, got {text[:40]}")
        for t in tokens:
            if not isinstance(t, str | int | float | bool):
                raise RaspInputError(f"{name}:{number}: the token {json.dumps(t)} is not a string, number or boolean")
        yield number, tokens
    if not seen:
        raise RaspInputError(
            f"{name}: no input: give tokens as arguments, or one JSON list of tokens per line, e.g. [\"a\", \"b\"]"
        )


def to_json(values: Sequence[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


# --------------------------------------------------------------------------- #
# Loading programs
# --------------------------------------------------------------------------- #


@dataclass
class Source:
    """A program read from a file (or, for `.mlir`, possibly transformer IR)."""

    path: Path
    text: str
    program: Program | None
    transformer: ModuleOp | None
    vocab: list[Any] | None
    max_seq_len: int | None

    def need_program(self, command: str) -> Program:
        if self.program is None:
            raise ToolError(
                f"'{self.path}' holds transformer IR, not a rasp.program; 'rasp {command}' needs the program"
            )
        return self.program


def read_text(path: Path) -> str:
    if not path.exists():
        raise ToolError(f"'{path}': no such file")
    if path.is_dir():
        raise ToolError(f"'{path}' is a directory, not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"'{path}' is not a UTF-8 text file") from None
    except OSError as e:
        raise ToolError(f"cannot read '{path}': {e.strerror or e}") from None


def check_extension(path: Path, allowed: Sequence[str], command: str) -> str:
    ext = path.suffix.lower()
    if ext in allowed:
        return ext
    hint = ""
    if ext == ".onnx":
        hint = f"; 'rasp {command}' takes a program, and a compiled model goes to 'rasp run' or 'rasp inspect'"
    elif ext in PROGRAM_EXTENSIONS:
        hint = f"; 'rasp {command}' takes a compiled model (.onnx): compile the program with 'rasp compile' first"
    shown = ", ".join(allowed)
    raise UsageError(f"'{path}': unknown file extension '{ext or '(none)'}' (rasp {command} reads {shown}){hint}")


def load_source(
    path_text: str,
    output: str | None,
    command: str,
    vocab: Sequence[Any] | None = None,
    max_seq_len: int | None = None,
) -> Source:
    """Read a program. `vocab` and `max_seq_len` (from the command line) go to the .rasp
    frontend, whose typed token views depend on the vocabulary."""
    path = Path(path_text)
    ext = check_extension(path, PROGRAM_EXTENSIONS, command)
    text = read_text(path)
    if ext == ".py":
        return _load_py(path, text, output)
    if ext == ".rasp":
        return _load_rasp(path, text, output, vocab, max_seq_len)
    return _load_mlir(path, text, output)


def _load_rasp(
    path: Path, text: str, output: str | None, vocab: Sequence[Any] | None, max_seq_len: int | None
) -> Source:
    try:
        from rasp_ir.frontend import rasp_parser
    except ImportError as e:
        raise ToolError(
            f"cannot read '{path}': the .rasp language frontend (rasp_ir.frontend.rasp_parser) is not "
            f"available in this rasp-ir ({e}); write the program as a .py DSL module or .mlir instead"
        ) from None
    options: dict[str, Any] = {}
    if vocab is not None:
        options["vocab"] = list(vocab)
    if max_seq_len is not None:
        options["max_seq_len"] = max_seq_len
    parse_file = getattr(rasp_parser, "parse_rasp_file", None)
    if parse_file is not None:  # resolves `load "x.rasp";` next to the file
        program = parse_file(path, output, **options)
    else:
        program = rasp_parser.parse_rasp(text, output=output, filename=str(path), **options)
    return Source(path, text, program, None, _vocab_of(program), getattr(program, "max_seq_len", None))


def _vocab_of(program: Any) -> list[Any] | None:
    vocab = getattr(program, "vocab", None)
    return None if vocab is None else list(vocab)


def _load_mlir(path: Path, text: str, output: str | None) -> Source:
    from xdsl.utils.exceptions import ParseError, VerifyException

    from rasp_ir.dialects import make_context
    from rasp_ir.dialects.transformer import ModelOp
    from rasp_ir.frontend.mlir_text import parse_error_message, parse_ir, parse_verify_error_message, verify_error_message
    from rasp_ir.program import Program

    try:
        module, op_spans = parse_ir(make_context(), text, str(path), what="file", expected="no rasp.program")
    except ParseError as exc:
        raise RaspSyntaxError(parse_error_message(exc)) from None
    except VerifyException as exc:
        raise RaspTypeError(parse_verify_error_message(exc, str(path))) from None
    try:
        module.verify()
    except VerifyException as exc:  # placed at the op that fails, as rasp-opt does
        raise RaspTypeError(verify_error_message(module, exc, op_spans, str(path))) from None
    models = [op for op in module.walk() if isinstance(op, ModelOp)]
    if models:
        return Source(path, text, None, module, list(models[0].vocabulary), models[0].seq_len)
    program = Program.from_mlir(module, name=output)
    return Source(path, text, program, None, _vocab_of(program), program.max_seq_len)


def _user_frame_line(exc: BaseException, path: Path) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path or frame.filename == str(path):
            line = frame.lineno
    return line


def _syntax_error_message(exc: SyntaxError, path: Path) -> str:
    line, col = exc.lineno or 1, exc.offset or 1
    text = (exc.text or "").rstrip("\n")
    message = f"{path}:{line}:{col}: {exc.msg}"
    if text.strip():
        stripped = text.lstrip()
        indent = len(text) - len(stripped)
        message += f"\n    {stripped}\n    {' ' * max(0, col - 1 - indent)}^"
    return message


def _load_py(path: Path, text: str, output: str | None) -> Source:
    from rasp_ir.frontend import dsl
    from rasp_ir.program import Program

    try:
        code = compile(text, str(path), "exec")
    except SyntaxError as exc:
        raise RaspSyntaxError(_syntax_error_message(exc, path)) from None
    name = "_rasp_program_" + re.sub(r"\W", "_", path.stem)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # so the program can import modules beside it
    try:
        exec(code, module.__dict__)  # noqa: S102 - running the user's program is the point
    except SystemExit:
        raise ToolError(f"{path}: the program called exit() while being loaded") from None
    except RaspError as exc:
        line = _user_frame_line(exc, path)
        message = f"{path}{f':{line}' if line else ''}: {exc}"
        try:
            located = type(exc)(message)
        except TypeError:  # an error class with its own constructor
            located = ToolError(message)
        raise located from None
    except Exception as exc:  # the user's code failed
        line = _user_frame_line(exc, path)
        raise ToolError(
            f"{path}{f':{line}' if line else ''}: loading the program raised {type(exc).__name__}: {exc}"
        ) from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
        if previous is not None:
            sys.modules[name] = previous
    ns = module.__dict__
    sop = _pick_sop(ns, path, output)
    vocab = ns.get("VOCAB")
    max_seq_len = ns.get("MAX_SEQ_LEN")
    if vocab is not None:
        if isinstance(vocab, str | bytes) or not isinstance(vocab, Sequence | set | frozenset | tuple):
            raise ToolError(f"{path}: VOCAB must be a list of tokens, not {type(vocab).__name__}")
        vocab = list(vocab)
    if max_seq_len is not None and (isinstance(max_seq_len, bool) or not isinstance(max_seq_len, int)):
        raise ToolError(f"{path}: MAX_SEQ_LEN must be an int, not {type(max_seq_len).__name__}")
    if max_seq_len is not None and max_seq_len < 1:
        raise ToolError(f"{path}: MAX_SEQ_LEN must be at least 1, not {max_seq_len}")
    if vocab is not None and not vocab:
        raise ToolError(f"{path}: VOCAB is empty; give at least one token")
    if isinstance(sop, Program):
        return Source(path, text, sop, None, vocab if vocab is not None else _vocab_of(sop),
                      max_seq_len if max_seq_len is not None else sop.max_seq_len)
    assert isinstance(sop, dsl.SOp)
    program = Program.from_dsl(sop)
    return Source(path, text, program, None, vocab, max_seq_len)


def _pick_sop(ns: dict[str, Any], path: Path, output: str | None) -> Any:
    from rasp_ir.frontend import dsl
    from rasp_ir.program import Program

    def kind(v: Any) -> str:
        if isinstance(v, dsl.Selector):
            return "a selector (aggregate it, or take its selector_width, to get an s-op)"
        return f"a {type(v).__name__}"

    primitives = (dsl.TokensType, dsl.IndicesType, dsl.LengthType)
    candidates = [
        k for k, v in ns.items()
        if not k.startswith("_") and isinstance(v, dsl.SOp) and not isinstance(v, primitives)
    ]
    if output is not None:
        if output not in ns:
            listed = f"; its s-ops: {', '.join(candidates)}" if candidates else ""
            raise ToolError(f"{path} defines no variable '{output}' (given by --output){listed}")
        value = ns[output]
        if not isinstance(value, dsl.SOp | Program):
            raise ToolError(f"'{output}' in {path} is {kind(value)}, not an s-op")
        return value
    if "program" in ns:
        value = ns["program"]
        if not isinstance(value, dsl.SOp | Program):
            raise ToolError(f"'program' in {path} is {kind(value)}, not an s-op; name the output with --output NAME")
        return value
    if len(candidates) == 1:
        return ns[candidates[0]]
    if not candidates:
        raise ToolError(
            f"{path} defines no RASP s-op at module level; define the output as `program = ...` "
            "(a rasp_ir.dsl s-op)"
        )
    raise ToolError(
        f"{path} defines several s-ops ({', '.join(candidates)}) and none is called 'program'; "
        "pick the output with --output NAME"
    )


def with_inputs(program: Program, vocab: Sequence[Any] | None, max_seq_len: int | None) -> Program:
    """`program` checking its inputs against `vocab` and `max_seq_len`."""
    from rasp_ir.program import Program

    same_vocab = (vocab is None and program.vocab is None) or (
        vocab is not None and program.vocab is not None and list(vocab) == list(program.vocab)
    )
    if same_vocab and max_seq_len == program.max_seq_len:
        return program
    return Program.from_dsl(program.output_sop, program.name, vocab=vocab, max_seq_len=max_seq_len, bos=program.bos)
