"""Bad input, everywhere a user can give it (issue 8): one test per case.

Every bad input must give one clear message and a non-zero exit status (2 for a wrong
command line, 1 for anything else), never a traceback, and must leave no half-written
output file. The command-line tools are called in-process (`rasp_ir.tools.rasp_cli.main`,
`rasp_ir.tools.rasp_opt.main`); the Python API must raise a `rasp_ir.RaspError` subclass.

Cases whose right behaviour is not there yet are `xfail(strict=True)`: each pins the
behaviour we want, so it starts failing loudly (XPASS) the day it is fixed.
`docs/errors.md` lists every check with the message a user sees.
"""

from __future__ import annotations

import io
import json
import random
import resource
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from onnx import helper

import rasp_ir
from rasp_ir import dsl
from rasp_ir.errors import (
    RaspCompileError,
    RaspError,
    RaspEvaluationError,
    RaspInputError,
    RaspModelError,
    RaspSyntaxError,
    RaspTypeError,
)
from rasp_ir.tools.rasp_cli import main as rasp_main
from rasp_ir.tools.rasp_opt import main as opt_main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
REVERSE_PY = EXAMPLES / "reverse.py"
REVERSE_MLIR = EXAMPLES / "reverse.mlir"

DSL_HEADER = "from rasp_ir.frontend.dsl import *\n"


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def rasp(capsys, *argv, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """`rasp ARGV` in-process: (exit status, stdout, stderr); never a traceback."""
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = rasp_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def rasp_error(capsys, code: int, *argv, stdin: str | None = None, monkeypatch=None) -> str:
    """`rasp ARGV` must fail with `code` and one `rasp: error: ...` message; returns stderr."""
    got, out, err = rasp(capsys, *argv, stdin=stdin, monkeypatch=monkeypatch)
    assert got == code, (got, out, err)
    assert err.startswith("rasp: error: "), err
    assert err.count("rasp: error:") == 1, err
    return err


def opt(capsys, *argv) -> tuple[int, str, str]:
    """`rasp-opt ARGV` in-process; argparse's usage errors (SystemExit 2) become the status."""
    try:
        code = opt_main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def opt_error(capsys, code: int, *argv) -> str:
    got, out, err = opt(capsys, *argv)
    assert got == code, (got, out, err)
    assert "rasp-opt: error: " in err, err
    assert err.count("rasp-opt: error:") == 1, err
    return err


def api_error(cls: type[RaspError], fn, *words: str) -> str:
    """`fn()` must raise `cls` (a RaspError) whose message holds every word."""
    with pytest.raises(RaspError) as info:
        fn()
    assert isinstance(info.value, cls), repr(info.value)
    message = str(info.value)
    for word in words:
        assert word in message, message
    return message


def has(text: str, *words: str) -> None:
    for word in words:
        assert word in text, text


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def reverse_program() -> rasp_ir.Program:
    return rasp_ir.Program.from_mlir(REVERSE_MLIR.read_text())


def edit_meta(model: onnx.ModelProto, key: str, value: str | None) -> onnx.ModelProto:
    """A copy of `model` with metadata `key` set to `value` (removed when None)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    entries = [(p.key, p.value) for p in copy.metadata_props if p.key != key]
    if value is not None:
        entries.append((key, value))
    del copy.metadata_props[:]
    for k, v in entries:
        copy.metadata_props.add(key=k, value=v)
    return copy


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """examples/reverse.py compiled: vocab a, b, c; max_seq_len 5."""
    path = tmp_path_factory.mktemp("model") / "reverse.onnx"
    assert rasp_main(["compile", str(REVERSE_PY), "-o", str(path), "-q"]) == 0
    return path


@pytest.fixture(scope="module")
def model(model_path) -> rasp_ir.CompiledModel:
    return rasp_ir.load_model(model_path, provider="cpu")


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory, model_path) -> dict[str, Path]:
    """Model files that are not usable rasp-ir models, by kind."""
    folder = tmp_path_factory.mktemp("bad_models")
    data = model_path.read_bytes()
    good = onnx.load(str(model_path))
    files: dict[str, bytes | onnx.ModelProto] = {
        "random": random.Random(0).randbytes(4096),
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "no_vocab": edit_meta(good, "rasp_ir.vocab", None),
        "bad_max_seq_len": edit_meta(good, "rasp_ir.max_seq_len", "abc"),
        "future_format": edit_meta(good, "rasp_ir.format_version", "99"),
        "short_output_table": edit_meta(good, "rasp_ir.output_values", '["a"]'),
        "max_seq_len_0": edit_meta(good, "rasp_ir.max_seq_len", "0"),
    }
    no_metadata = onnx.ModelProto()
    no_metadata.CopyFrom(good)
    del no_metadata.metadata_props[:]
    files["no_metadata"] = no_metadata
    no_node = onnx.ModelProto()
    no_node.CopyFrom(good)
    no_node.graph.node.pop()  # the node that makes the graph's output
    files["damaged_graph"] = no_node
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    files["foreign"] = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
    paths = {}
    for name, content in files.items():
        path = folder / f"{name}.onnx"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            onnx.save(content, str(path))
        paths[name] = path
    return paths


# =========================================================================== #
# Source programs: .rasp
# =========================================================================== #


def test_rasp_syntax_error(capsys, tmp_path):
    path = write(tmp_path / "bad.rasp", "x = select(tokens, tokens, ==;\n")
    err = rasp_error(capsys, 1, "eval", path, "a")
    has(err, f"{path}:1:30: unexpected ';'; expected ')'", "^")
    api_error(RaspSyntaxError, lambda: rasp_ir.parse_rasp("x = ;"), "<rasp>:1:5", "expected an expression")


def test_rasp_selector_where_an_sop_is_expected(capsys, tmp_path):
    path = write(tmp_path / "t.rasp", "x = aggregate(tokens, tokens);\n")
    err = rasp_error(capsys, 1, "compile", path, "--vocab", "a,b", "--max-seq-len", "3", "-o", tmp_path / "m.onnx")
    has(err, f"{path}:1:15", "aggregate's first argument is a selector, not an s-op")
    assert not (tmp_path / "m.onnx").exists()
    api_error(RaspTypeError, lambda: rasp_ir.parse_rasp("x = aggregate(tokens, tokens);"), "is a selector")


def test_rasp_selector_in_arithmetic(capsys, tmp_path):
    path = write(tmp_path / "t.rasp", "s = select(tokens, tokens, ==);\ny = s + 1;\n")
    err = rasp_error(capsys, 1, "eval", path, "a")
    has(err, f"{path}:2:5", "'+' works on s-ops and values, not on a selector")


@pytest.mark.parametrize(
    "source, message",
    [
        ("x = aggregate(select(tokens, tokens, ==));", "aggregate takes 2 to 3 arguments, but 1 was given"),
        ("x = selector_width(select(tokens, tokens, ==), tokens);",
         "selector_width takes 1 argument, but 2 were given"),
        ("def f(a) { return a + 1; }\nx = f(tokens_int, 2);", "f takes 1 argument (a), but 2 were given"),
    ],
    ids=["aggregate", "selector_width", "user-function"],
)
def test_rasp_wrong_number_of_arguments(capsys, tmp_path, source, message):
    path = write(tmp_path / "t.rasp", source + "\n")
    has(rasp_error(capsys, 1, "eval", path, "1"), message, "^")
    api_error(RaspTypeError, lambda: rasp_ir.parse_rasp(source), message)


def test_rasp_unknown_name(capsys, tmp_path):
    path = write(tmp_path / "t.rasp", "x = foo(tokens);\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), f"{path}:1:5: unknown name 'foo'")


def test_rasp_compile_time_division_by_zero(tmp_path):
    api_error(RaspEvaluationError, lambda: rasp_ir.parse_rasp("x = 1/0;\ny = tokens;"), "division by zero in '/'")


def test_rasp_program_without_an_sop(capsys, tmp_path):
    path = write(tmp_path / "t.rasp", "s = select(tokens, tokens, ==);\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), "the program assigns no s-op, so there is no output")
    api_error(RaspTypeError, lambda: rasp_ir.parse_rasp("s = select(tokens, tokens, ==);", output="s"),
              "the output 's' is a selector")
    api_error(RaspTypeError, lambda: rasp_ir.parse_rasp("x = tokens;", output="y"), "no s-op named 'y'")


def test_rasp_file_that_is_not_text(capsys, tmp_path):
    path = tmp_path / "bin.rasp"
    path.write_bytes(b"\xff\xfe garbage")
    has(rasp_error(capsys, 1, "eval", path, "a"), "is not a UTF-8 text file")


# =========================================================================== #
# Source programs: .py (the DSL)
# =========================================================================== #


def test_py_syntax_error(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "x = Map(lambda t: t, tokens\n")
    has(rasp_error(capsys, 1, "compile", path, "-o", tmp_path / "m.onnx"), f"{path}:2:", "was never closed", "^")
    assert not (tmp_path / "m.onnx").exists()


def test_py_program_that_raises_while_loading(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "import nosuchmodule\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), f"{path}:2: loading the program raised ModuleNotFoundError")


def test_py_program_that_calls_exit(capsys, tmp_path):
    path = write(tmp_path / "p.py", "import sys\nsys.exit(3)\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), "the program called exit() while being loaded")


def test_py_output_is_a_selector(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "program = Select(tokens, tokens, Comparison.EQ)\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), "'program' in", "is a selector")
    api_error(RaspTypeError, lambda: rasp_ir.Program.from_dsl(dsl.Select(dsl.tokens, dsl.tokens, dsl.Comparison.EQ)),
              "a program's output must be an s-op")


def test_py_selector_where_an_sop_is_expected(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "program = Aggregate(tokens, tokens)\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), f"{path}:2: Aggregate's selector must be a selector")
    with pytest.raises(RaspTypeError, match="Map's input must be an s-op"):
        dsl.Map(lambda x: x, dsl.Select(dsl.tokens, dsl.tokens, dsl.Comparison.EQ))


def test_py_map_with_the_wrong_number_of_arguments(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "VOCAB = [0, 1]\nMAX_SEQ_LEN = 3\n"
                 "program = Map(lambda x, y: x, tokens)\n")
    has(rasp_error(capsys, 1, "eval", path, "0"), "missing 1 required positional argument: 'y'")
    err = rasp_error(capsys, 1, "compile", path, "-o", tmp_path / "m.onnx")
    has(err, "it fails on every value its input 'tokens' can take, so it has no table")
    assert not (tmp_path / "m.onnx").exists()


def test_py_numerical_select_keys(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "VOCAB = [1, 2]\nMAX_SEQ_LEN = 3\n"
                 "n = numerical(Map(lambda x: x, tokens))\n"
                 "program = SelectorWidth(Select(n, indices, Comparison.EQ))\n")
    assert rasp(capsys, "eval", path, "1", "2")[0] == 0  # the interpreter has no encodings
    err = rasp_error(capsys, 1, "compile", path, "-o", tmp_path / "m.onnx")
    has(err, "the keys are a numerical s-op; a select compares categorical s-ops")
    assert not (tmp_path / "m.onnx").exists()
    keys = dsl.numerical(dsl.Map(lambda x: x, dsl.tokens))
    prog = rasp_ir.Program.from_dsl(dsl.SelectorWidth(dsl.Select(keys, dsl.indices, dsl.Comparison.EQ)))
    api_error(RaspCompileError, lambda: rasp_ir.compile(prog, vocab=[1, 2], max_seq_len=3), "numerical")


def test_py_bad_module_constants(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "VOCAB = 'abc'\nprogram = Map(lambda x: x, tokens)\n")
    has(rasp_error(capsys, 1, "compile", path, "--max-seq-len", "3"), "VOCAB must be a list of tokens, not str")
    path = write(tmp_path / "q.py", DSL_HEADER + "VOCAB = ['a']\nMAX_SEQ_LEN = '3'\n"
                 "program = Map(lambda x: x, tokens)\n")
    has(rasp_error(capsys, 1, "compile", path), "MAX_SEQ_LEN must be an int, not str")


def test_py_max_seq_len_zero_is_refused(capsys, tmp_path):
    path = write(tmp_path / "p.py", DSL_HEADER + "VOCAB = ['a']\nMAX_SEQ_LEN = 0\nprogram = Map(lambda x: x, tokens)\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), "MAX_SEQ_LEN")


# =========================================================================== #
# IR: .mlir text
# =========================================================================== #


def _mlir(tmp_path: Path, old: str, new: str, name: str = "bad.mlir") -> Path:
    text = REVERSE_MLIR.read_text()
    assert old in text
    return write(tmp_path / name, text.replace(old, new, 1))


def test_mlir_unknown_op(capsys, tmp_path):
    path = _mlir(tmp_path, "rasp.select ", "rasp.selekt ")
    has(rasp_error(capsys, 1, "compile", path, "-o", tmp_path / "m.onnx"),
        f"{path}:7:25: Operation rasp.selekt is not registered", "^^^")
    assert not (tmp_path / "m.onnx").exists()
    has(opt_error(capsys, 1, path), f"{path}:7:25: Operation rasp.selekt is not registered")
    api_error(RaspSyntaxError, lambda: rasp_ir.Program.from_mlir(path.read_text()), "rasp.selekt is not registered")


def test_mlir_unknown_attribute(capsys, tmp_path):
    path = _mlir(tmp_path, "#rasp.values[0, 1, 2, 3, 4]", "#rasp.valuez[0, 1, 2, 3, 4]")
    has(rasp_error(capsys, 1, "compile", path), f"{path}:3:51: 'rasp.valuez' is not registered")
    has(opt_error(capsys, 1, path), "'rasp.valuez' is not registered")


def test_mlir_unknown_predicate(capsys, tmp_path):
    path = _mlir(tmp_path, ", eq :", ", eqq :")
    has(rasp_error(capsys, 1, "compile", path), f"{path}:7:47: Expected `eq`, `lt`, `leq`, `gt`, `geq`, `neq`")


def test_mlir_unknown_keyword(capsys, tmp_path):
    path = _mlir(tmp_path, "max_seq_len 5", "maxlen 5")
    has(opt_error(capsys, 1, path), f"{path}:2:47: Expected region!")


def test_mlir_syntax_garbage(capsys, tmp_path):
    path = write(tmp_path / "g.mlir", "garbage {{{\n")
    has(rasp_error(capsys, 1, "eval", path, "a"), f"{path}:1:9: Operation garbage is not registered")
    api_error(RaspSyntaxError, lambda: rasp_ir.Program.from_mlir("garbage {"), "<mlir>:1:9")


def test_mlir_truncated_file_says_what_is_missing(capsys, tmp_path):
    path = write(tmp_path / "cut.mlir", "".join(REVERSE_MLIR.read_text().splitlines(keepends=True)[:5]))
    err = rasp_error(capsys, 1, "compile", path)
    assert "end of" in err or "'}'" in err or "`}`" in err, err


@pytest.mark.parametrize("tool", ["rasp", "rasp-opt"])
def test_mlir_empty_file_says_it_is_empty(capsys, tmp_path, tool):
    path = write(tmp_path / "empty.mlir", "")
    err = rasp_error(capsys, 1, "compile", path) if tool == "rasp" else opt_error(capsys, 1, path)
    assert "empty" in err or "no rasp.program" in err, err
    assert "Could not parse entire input" not in err


def test_mlir_without_a_program(capsys, tmp_path):
    path = write(tmp_path / "m.mlir", "builtin.module {}\n")
    has(rasp_error(capsys, 1, "compile", path), "the IR has no rasp.program")
    api_error(RaspTypeError, lambda: rasp_ir.Program.from_mlir("builtin.module {}"), "the IR has no rasp.program")
    api_error(RaspTypeError, lambda: rasp_ir.Program.from_mlir(REVERSE_MLIR.read_text(), name="nope"),
              "no rasp.program named @nope")


def test_mlir_selector_where_an_sop_is_expected(capsys, tmp_path):
    path = _mlir(tmp_path, "rasp.aggregate %flip, %tokens", "rasp.aggregate %tokens, %tokens")
    has(rasp_error(capsys, 1, "compile", path),
        f"{path}:9:31: operand is used with type !rasp.selector, but has been previously used or defined with type "
        "!rasp.sop<str>")
    api_error(RaspSyntaxError, lambda: rasp_ir.Program.from_mlir(path.read_text()), "!rasp.selector")


PROGRAM = """\
rasp.program @p vocab [0, 1] max_seq_len 3 {{
  %i = rasp.indices : !rasp.sop<cat, int>
{body}
}}
"""


def test_mlir_map_of_a_selector(capsys, tmp_path):
    path = write(tmp_path / "m.mlir", PROGRAM.format(body="""\
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %m = rasp.map %s, [0 -> 1] : !rasp.selector -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>"""))
    has(rasp_error(capsys, 1, "compile", path), "'rasp.map': expected an s-op for the input, got a selector")
    has(opt_error(capsys, 1, path), f"{path}:4:3: 'rasp.map': expected an s-op for the input, got a selector")
    api_error(RaspTypeError, lambda: rasp_ir.Program.from_mlir(path.read_text()), "got a selector")


def test_mlir_selector_as_the_output(capsys, tmp_path):
    path = write(tmp_path / "m.mlir", PROGRAM.format(body="""\
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  rasp.output %s : !rasp.selector"""))
    has(rasp_error(capsys, 1, "compile", path), "'rasp.output': expected an s-op for the output, got a selector")


NUMERICAL_SELECT = """\
rasp.program @p vocab [0, 1] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<num, int>
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %t, %i, eq : !rasp.sop<num, int>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}
"""


def test_mlir_numerical_select_keys(capsys, tmp_path):
    path = write(tmp_path / "n.mlir", NUMERICAL_SELECT)
    message = "'rasp.select': the keys are a numerical s-op; a select compares categorical s-ops"
    has(opt_error(capsys, 1, path), f"{path}:4:3: {message}")
    has(rasp_error(capsys, 1, "compile", path, "-o", tmp_path / "m.onnx"), message)
    assert not (tmp_path / "m.onnx").exists()
    api_error(RaspTypeError, lambda: rasp_ir.Program.from_mlir(NUMERICAL_SELECT), message)


def test_mlir_verifier_error_names_the_file_and_line(capsys, tmp_path):
    path = write(tmp_path / "n.mlir", NUMERICAL_SELECT)
    has(rasp_error(capsys, 1, "compile", path), f"{path}:4:")


def test_mlir_wrong_number_of_operands(capsys, tmp_path):
    path = write(tmp_path / "m.mlir", PROGRAM.format(body="""\
  %s = rasp.select %i, eq : !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>"""))
    has(rasp_error(capsys, 1, "compile", path), f"{path}:3:24: operand expected")


def test_mlir_undefined_value(capsys, tmp_path):
    path = write(tmp_path / "m.mlir", PROGRAM.format(body="  rasp.output %zz : !rasp.sop<cat, int>"))
    has(rasp_error(capsys, 1, "compile", path), "values used but not defined: [%zz]")


def test_mlir_bad_max_seq_len(capsys, tmp_path):
    path = write(tmp_path / "m.mlir", PROGRAM.replace("max_seq_len 3", "max_seq_len -2").format(
        body="  rasp.output %i : !rasp.sop<cat, int>"))
    has(rasp_error(capsys, 1, "compile", path), "max_seq_len must be an integer >= 1, not -2")
    has(opt_error(capsys, 1, path), f"{path}:1:1:", "max_seq_len must be an integer >= 1, not -2")


def test_mlir_empty_vocab(capsys, tmp_path):
    path = write(tmp_path / "m.mlir", PROGRAM.replace("vocab [0, 1]", "vocab []").format(
        body="  rasp.output %i : !rasp.sop<cat, int>"))
    has(rasp_error(capsys, 1, "compile", path, "-o", tmp_path / "m.onnx"), "the vocabulary is empty")
    assert not (tmp_path / "m.onnx").exists()


# =========================================================================== #
# Passes and pipelines
# =========================================================================== #


def test_opt_unknown_pass(capsys):
    has(opt_error(capsys, 1, REVERSE_MLIR, "-p", "nosuch"), "unknown pass 'nosuch'", "rasp-opt --help")
    has(opt_error(capsys, 1, REVERSE_MLIR, "-p", "rasp-infer-value"), "(did you mean 'rasp-infer-values'?)")


def test_opt_unknown_pass_option(capsys):
    err = opt_error(capsys, 1, REVERSE_MLIR, "-p", "rasp-infer-values{bogus=1}")
    has(err, "bad options for pass 'rasp-infer-values'", '["bogus"] not found', "(its options: cap: int)")


def test_opt_bad_pass_option_value(capsys):
    err = opt_error(capsys, 1, REVERSE_MLIR, "-p", "rasp-infer-values{cap=abc}")
    has(err, "bad options for pass 'rasp-infer-values'", "Incompatible types")


def test_opt_malformed_pipeline(capsys):
    err = opt_error(capsys, 1, REVERSE_MLIR, "-p", "rasp-infer-values{cap=3")
    has(err, "bad pass pipeline 'rasp-infer-values{cap=3'", "Malformed pass arguments")
    has(opt_error(capsys, 1, REVERSE_MLIR, "-p", "cse,,"), "bad pass pipeline")


def test_opt_unknown_named_pipeline(capsys):
    has(opt_error(capsys, 1, REVERSE_MLIR, "--pipeline", "nosuch"), "unknown pipeline 'nosuch'", "known pipelines")
    has(opt_error(capsys, 1, REVERSE_MLIR, "--print-ir-after", "nosuch"), "--print-ir-after: unknown pass 'nosuch'")


def test_opt_usage_errors_exit_2(capsys):
    code, _, err = opt(capsys, REVERSE_MLIR, "-t", "nonsense")
    assert code == 2 and "argument -t/--target: invalid choice: 'nonsense'" in err
    code, _, err = opt(capsys, REVERSE_MLIR, "-f", "nosuch")
    assert code == 2 and "argument -f/--frontend: invalid choice: 'nosuch'" in err
    code, _, err = opt(capsys, REVERSE_MLIR, "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err


def test_opt_bad_target_option(capsys):
    has(opt_error(capsys, 1, REVERSE_MLIR, "-t", "onnx{bogus=1}"), "bad options for target 'onnx'", "bogus")


def test_opt_onnx_target_without_transformer_ir(capsys, tmp_path):
    target = f'onnx{{file="{tmp_path / "m.onnx"}"}}'
    has(opt_error(capsys, 1, REVERSE_MLIR, "-t", target), "no 'transformer.model' in the IR")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("cap", ["0", "-1"])
def test_opt_non_positive_cap_is_a_bad_option(capsys, cap):
    has(opt_error(capsys, 1, REVERSE_MLIR, "-p", f"rasp-infer-values{{cap={cap}}}"), "bad options for pass")


def test_compile_unknown_pass(capsys, tmp_path):
    out = tmp_path / "m.onnx"
    err = rasp_error(capsys, 2, "compile", REVERSE_PY, "--pipeline", "rasp-infer-value", "-o", out)
    has(err, "--pipeline: unknown pass 'rasp-infer-value' (did you mean 'rasp-infer-values'?)")
    assert not out.exists()
    api_error(RaspCompileError, lambda: rasp_ir.compile(reverse_program(), pipeline="nosuch"),
              "bad pass pipeline 'nosuch'", "Unrecognized passes")


def test_compile_unknown_pass_option(capsys, tmp_path):
    out = tmp_path / "m.onnx"
    err = rasp_error(capsys, 2, "compile", REVERSE_PY, "--pipeline", "rasp-infer-values{bogus=1},default", "-o", out)
    has(err, "--pipeline: bad pass pipeline", '["bogus"] not found in expected arguments ["cap"]')
    err = rasp_error(capsys, 2, "compile", REVERSE_PY, "--pipeline", "rasp-infer-values{cap=abc},default")
    has(err, "Incompatible types")
    assert not out.exists()


def test_compile_empty_pipeline(capsys):
    has(rasp_error(capsys, 2, "compile", REVERSE_PY, "--pipeline", ""), "--pipeline is empty")


def test_compile_pipeline_that_stops_short(capsys, tmp_path):
    out = tmp_path / "m.onnx"
    err = rasp_error(capsys, 1, "compile", REVERSE_PY, "--pipeline", "rasp-infer-values", "-o", out)
    has(err, "did not produce a transformer.model; end it with rasp-to-transformer")
    assert not out.exists()
    api_error(RaspCompileError, lambda: rasp_ir.compile(reverse_program(), pipeline="rasp-infer-values"),
              "did not produce a transformer.model")


def test_compile_named_pipeline_with_options(capsys):
    err = rasp_error(capsys, 2, "compile", REVERSE_PY, "--pipeline", "default{x=1}")
    has(err, "takes no options")


# =========================================================================== #
# Compilation limits
# =========================================================================== #


def test_value_set_over_the_cap_in_rasp_opt(capsys):
    err = opt_error(capsys, 1, REVERSE_MLIR, "-p", "rasp-infer-values{cap=2}")
    has(err, "in pass 'rasp-infer-values{cap=2}': %indices = rasp.indices: takes 5 values, more than the cap of 2",
        "raise it with rasp-infer-values{cap=N} or lower max_seq_len")


def test_value_set_over_the_cap_in_rasp_compile(capsys, tmp_path):
    out = tmp_path / "m.onnx"
    err = rasp_error(capsys, 1, "compile", REVERSE_PY, "--pipeline", "rasp-infer-values{cap=2},default", "-o", out)
    has(err, "takes 5 values, more than the cap of 2")
    assert not out.exists()
    api_error(RaspCompileError, lambda: reverse_program().to_module(cap=2),
              "'indices': takes 5 values, more than the cap of 2")


def test_value_set_over_the_default_cap(capsys, tmp_path):
    out = tmp_path / "m.onnx"
    err = rasp_error(capsys, 1, "compile", REVERSE_PY, "--max-seq-len", "10000", "-o", out)
    has(err, "'indices': takes 10000 values, more than the cap of 4096")
    assert not out.exists()


def test_program_too_large_to_compile(capsys, tmp_path):
    out = tmp_path / "m.onnx"
    err = rasp_error(capsys, 1, "compile", REVERSE_PY, "--max-seq-len", "512", "-o", out)
    has(err, "its table would have 262144 entries (more than 100000); lower max_seq_len")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    api_error(RaspCompileError, lambda: rasp_ir.compile(reverse_program(), vocab=["a", "b"], max_seq_len=512),
              "262144 entries")


def _limit_memory() -> None:  # runs in the child: 2 GiB of address space at most
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_huge_max_seq_len_is_refused_quickly(tmp_path):
    out = tmp_path / "m.onnx"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rasp_ir.tools.rasp_cli", "compile", str(REVERSE_PY), "--max-seq-len",
             "100000000000", "-o", str(out)],
            capture_output=True, text=True, timeout=5, preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("not refused within 5 s")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    has(done.stderr, "more than the cap")
    assert not out.exists()


# =========================================================================== #
# Model files
# =========================================================================== #


@pytest.mark.parametrize(
    "kind, message",
    [
        ("random", "is not a readable ONNX model (it may be truncated or another kind of file)"),
        ("truncated", "is not a readable ONNX model (it may be truncated or another kind of file)"),
        ("empty", "is not an ONNX model (it parses to an empty model)"),
        ("foreign", "is an ONNX model but not a rasp-ir model (its metadata has no 'rasp_ir.format: rasp-ir-model' "
                    "marker); compile a RASP program with rasp-ir to get one"),
        ("no_metadata", "is an ONNX model but not a rasp-ir model"),
        ("no_vocab", "the rasp-ir metadata lacks 'rasp_ir.vocab'; the model file is damaged"),
        ("bad_max_seq_len", "the metadata entry 'rasp_ir.max_seq_len' is malformed"),
        ("future_format", "uses rasp-ir model format 99, which this rasp-ir cannot read (it reads 1, 2); upgrade rasp-ir"),
        ("damaged_graph", "is a damaged ONNX model (it may be truncated): Graph output 'output' is not an output"),
    ],
)
def test_unusable_model_file(capsys, bad_models, kind, message):
    path = bad_models[kind]
    has(rasp_error(capsys, 1, "run", path, "a"), f"'{path}'", message)
    has(rasp_error(capsys, 1, "inspect", path), message)
    has(rasp_error(capsys, 1, "verify", REVERSE_PY, "--model", path), message)
    api_error(RaspModelError, lambda: rasp_ir.load_model(path), message)


def test_model_whose_output_table_does_not_match_the_graph(capsys, bad_models):
    path = bad_models["short_output_table"]
    has(rasp_error(capsys, 1, "run", path, "a", "b"), "rasp_ir.output_values")


def test_model_with_an_impossible_max_seq_len(capsys, bad_models):
    path = bad_models["max_seq_len_0"]
    api_error(RaspModelError, lambda: rasp_ir.load_model(path), "rasp_ir.max_seq_len")


def test_model_with_missing_external_weights(capsys, tmp_path):
    path = tmp_path / "m.onnx"
    assert rasp(capsys, "compile", REVERSE_PY, "--external-data", "-o", path, "-q")[0] == 0
    (tmp_path / "m.onnx.data").unlink()
    has(rasp_error(capsys, 1, "run", path, "a"), "the model's external weight file 'm.onnx.data' is missing")


def test_program_where_a_model_is_expected_and_back(capsys, model_path):
    has(rasp_error(capsys, 2, "run", REVERSE_PY, "a"), "is a program, not a compiled model; 'rasp eval' runs a program")
    has(rasp_error(capsys, 2, "compile", model_path), "unknown file extension '.onnx'", "'rasp run' or 'rasp inspect'")


def test_model_path_that_is_a_directory(capsys, tmp_path):
    has(rasp_error(capsys, 1, "run", tmp_path, "a"), "is a directory, not a model file")
    api_error(RaspModelError, lambda: rasp_ir.load_model(tmp_path), "is a directory, not a model file")


# =========================================================================== #
# Runtime inputs
# =========================================================================== #


def test_token_not_in_the_vocabulary(capsys, monkeypatch, model_path, model):
    has(rasp_error(capsys, 1, "run", model_path, "a", "z"),
        "token 'z' (argument 2) is not in the vocabulary ['a', 'b', 'c']")
    err = rasp_error(capsys, 1, "run", model_path, stdin='["a"]\n["a", "z"]\n', monkeypatch=monkeypatch)
    has(err, "token 'z' (<stdin>:2, position 1) is not in the model's vocabulary")
    has(rasp_error(capsys, 1, "eval", REVERSE_PY, "a", "z"), "token 'z' (argument 2) is not in the vocabulary")
    api_error(RaspInputError, lambda: model.run([["a", "z"]]),
              "token 'z' (sequence 0, position 1) is not in the model's vocabulary ['a', 'b', 'c']")
    api_error(RaspInputError, lambda: model.run([[None]]), "token None")
    api_error(RaspInputError, lambda: reverse_program().evaluate(["a", "z"]), "token 'z' at position 1")


def test_sequence_longer_than_max_seq_len(capsys, monkeypatch, model_path, model):
    has(rasp_error(capsys, 1, "run", model_path, *"abcabc"), "the input has 6 tokens, more than max_seq_len 5")
    err = rasp_error(capsys, 1, "run", model_path, stdin='["a","b","c","a","b","c"]\n', monkeypatch=monkeypatch)
    has(err, "<stdin>:1: the input has 6 tokens, more than max_seq_len 5")
    has(rasp_error(capsys, 1, "eval", REVERSE_PY, *"abcabc"), "more than max_seq_len 5")
    api_error(RaspInputError, lambda: model.run([list("abcabc")]),
              "sequence 0 has 6 tokens, more than the model's max_seq_len 5")
    api_error(RaspInputError, lambda: reverse_program().evaluate(list("abcabc")), "more than max_seq_len 5")


def test_empty_token_list(capsys, monkeypatch, model_path):
    err = rasp_error(capsys, 1, "run", model_path, stdin="[]\n", monkeypatch=monkeypatch)
    has(err, "<stdin>:1: the input is empty; an input has at least one token")
    has(rasp_error(capsys, 1, "eval", REVERSE_PY, stdin="[]\n", monkeypatch=monkeypatch), "the input is empty")
    api_error(RaspInputError, lambda: reverse_program().evaluate([]), "the input is empty")


def test_empty_token_list_through_the_api(model):
    api_error(RaspInputError, lambda: model.run([["a"], []]), "empty")


def test_empty_batch(model):
    api_error(RaspInputError, lambda: model.run([]), "the batch is empty: give at least one sequence of tokens")


@pytest.mark.parametrize(
    "batch, message",
    [
        ("abc", "got the string 'abc'; to run one sequence, pass [tokens]"),
        (["abc"], "sequence 0 is the string 'abc', not a list of tokens"),
        (None, "expected a batch (a list of token lists), got NoneType"),
        ([None], "sequence 0 is None, not a list of tokens"),
    ],
    ids=["string", "list-of-strings", "None", "list-of-None"],
)
def test_batch_of_the_wrong_shape(model, batch, message):
    api_error(RaspInputError, lambda: model.run(batch), message)


@pytest.mark.parametrize("command", ["run", "eval"])
@pytest.mark.parametrize("stdin", ["", "\n\n"], ids=["empty", "blank-lines"])
def test_empty_stdin(capsys, monkeypatch, model_path, command, stdin):
    target = model_path if command == "run" else REVERSE_PY
    err = rasp_error(capsys, 1, command, target, stdin=stdin, monkeypatch=monkeypatch)
    assert "no input" in err or "empty" in err, err


@pytest.mark.parametrize(
    "line, message",
    [
        ('["a", "b"', "<stdin>:1: not JSON (Expecting ',' delimiter"),
        ("[a]", "<stdin>:1: not JSON"),
        ('"abc"', '<stdin>:1: a JSON string, not a list of tokens; write ["a", "b", "c"] for its characters'),
        ('{"a": 1}', '<stdin>:1: expected a JSON list of tokens, got {"a": 1}'),
        ('[["a"]]', '<stdin>:1: the token ["a"] is not a string, number or boolean'),
        ("[null]", "<stdin>:1: the token null is not a string, number or boolean"),
    ],
    ids=["unclosed", "bare-word", "string", "object", "nested", "null"],
)
def test_bad_json_on_stdin(capsys, monkeypatch, model_path, line, message):
    has(rasp_error(capsys, 1, "run", model_path, stdin=line + "\n", monkeypatch=monkeypatch), message)
    has(rasp_error(capsys, 1, "eval", REVERSE_PY, stdin=line + "\n", monkeypatch=monkeypatch), message)


def test_bad_json_after_good_lines_answers_them_first(capsys, monkeypatch, model_path):
    monkeypatch.setattr(sys, "stdin", io.StringIO('["a", "b"]\n[a]\n["c"]\n'))
    assert rasp_main(["run", str(model_path)]) == 1
    out, err = capsys.readouterr()
    assert out == '["b", "a"]\n' and err.startswith("rasp: error: <stdin>:2: not JSON")


def test_twenty_thousand_json_lines_run_in_batches(capsys, monkeypatch, model_path):
    from rasp_ir.runtime.model import CompiledModel

    rng = random.Random(0)
    inputs = [[rng.choice("abc") for _ in range(rng.randint(1, 5))] for _ in range(20_000)]
    rows: list[int] = []
    run_ids = CompiledModel.run_ids

    def spy(self, tokens, mask):
        rows.append(len(tokens))
        return run_ids(self, tokens, mask)

    monkeypatch.setattr(CompiledModel, "run_ids", spy)
    stdin = "".join(json.dumps(t) + "\n" for t in inputs)
    code, out, err = rasp(capsys, "run", model_path, stdin=stdin, monkeypatch=monkeypatch)
    assert code == 0 and err == ""
    assert [json.loads(line) for line in out.splitlines()] == [t[::-1] for t in inputs]
    assert sum(rows) == 20_000 and max(rows) <= 256 and len(rows) >= 20_000 // 256


def test_twenty_thousand_sequences_through_the_api(model):
    batch = [list("abc"), list("ab"), list("cabca")] * 6667
    outputs = model.run(batch, batch_size=512)
    assert len(outputs) == len(batch) and outputs[:3] == [list("cba"), list("ba"), list("acbac")]


def test_provider_cuda_without_cuda(capsys, model_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    err = rasp_error(capsys, 1, "run", model_path, "--provider", "cuda", "a")
    has(err, "provider 'cuda' was requested, but this onnxruntime has no CUDAExecutionProvider",
        "pip uninstall -y onnxruntime && pip install 'rasp-ir[gpu]'")
    api_error(RaspModelError, lambda: rasp_ir.load_model(model_path, provider="cuda").run([["a"]]),
              "no CUDAExecutionProvider")
    api_error(RaspModelError, lambda: rasp_ir.compile(reverse_program(), provider="cuda").run([["a"]]),
              "no CUDAExecutionProvider")


def test_unknown_provider(capsys, model_path):
    has(rasp_error(capsys, 2, "run", model_path, "--provider", "tpu", "a"),
        "argument --provider: invalid choice: 'tpu' (choose from 'auto', 'cpu', 'cuda')")
    api_error(RaspModelError, lambda: rasp_ir.load_model(model_path, provider="tpu"),
              "unknown execution provider 'tpu': use 'auto', 'cpu' or 'cuda'")


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--batch-size", "0", "argument --batch-size: must be >= 1, not 0"),
        ("--batch-size", "-3", "argument --batch-size: must be >= 1, not -3"),
        ("--batch-size", "x", "argument --batch-size: expected an integer, got 'x'"),
        ("--threads", "0", "argument --threads: must be >= 1, not 0"),
    ],
)
def test_bad_runtime_option_values(capsys, model_path, option, value, message):
    has(rasp_error(capsys, 2, "run", model_path, f"{option}={value}", "a"), message)


# =========================================================================== #
# --vocab and --max-seq-len, and their API counterparts
# =========================================================================== #


@pytest.mark.parametrize("command", ["compile", "eval", "verify"])
@pytest.mark.parametrize(
    "value, message",
    [
        ("0", "argument --max-seq-len: must be >= 1, not 0"),
        ("-3", "argument --max-seq-len: must be >= 1, not -3"),
        ("2.5", "argument --max-seq-len: expected an integer, got '2.5'"),
        ("x", "argument --max-seq-len: expected an integer, got 'x'"),
    ],
)
def test_bad_max_seq_len_option(capsys, tmp_path, command, value, message):
    out = tmp_path / "m.onnx"
    extra = ["-o", out] if command == "compile" else ["a"] if command == "eval" else []
    has(rasp_error(capsys, 2, command, REVERSE_PY, f"--max-seq-len={value}", *extra), message)
    assert not out.exists()


@pytest.mark.parametrize(
    "value, code, message",
    [
        ("", 2, "--vocab '' has an empty item"),
        ("a,,b", 2, "--vocab 'a,,b' has an empty item"),
        ("[]", 2, "--vocab is empty; give at least one token"),
        ("a,b,a", 2, "--vocab lists the token 'a' twice"),
        ("[a", 2, "--vocab '[a' starts with '[' but is not a JSON list"),
        ("[1, [2]]", 2, "--vocab as JSON must be a list of strings, numbers or booleans"),
        ("[true, 1]", 1, "the vocabulary mixes kinds of values: values of mixed kinds: bool, int"),
    ],
)
def test_bad_vocab_option(capsys, tmp_path, value, code, message):
    out = tmp_path / "m.onnx"
    has(rasp_error(capsys, code, "compile", REVERSE_PY, f"--vocab={value}", "-o", out), message)
    assert not out.exists()


@pytest.mark.parametrize(
    "vocab, max_seq_len, message",
    [
        (["a"], 0, "max_seq_len must be at least 1, not 0"),
        (["a"], -1, "max_seq_len must be at least 1, not -1"),
        ([], 3, "the vocabulary is empty"),
        (["a", "a"], 3, '"a" appears twice'),
        ([None], 3, "not a RASP value: None"),
        ([1, "a"], 3, "values of mixed kinds: int, str"),
        ([float("nan")], 3, "nan is not a finite number"),
        (None, 3, "building IR needs the vocabulary and max_seq_len"),
        (["a"], None, "building IR needs the vocabulary and max_seq_len"),
    ],
)
def test_bad_vocab_or_max_seq_len_through_the_api(vocab, max_seq_len, message):
    prog = rasp_ir.Program.from_dsl(dsl.Map(lambda x: x, dsl.tokens))
    api_error(RaspCompileError, lambda: rasp_ir.compile(prog, vocab=vocab, max_seq_len=max_seq_len), message)


@pytest.mark.parametrize("max_seq_len", [2.5, "5", "x", True])
def test_non_integer_max_seq_len_through_the_api(max_seq_len):
    prog = rasp_ir.Program.from_dsl(dsl.Map(lambda x: x, dsl.tokens))
    api_error(RaspCompileError, lambda: rasp_ir.compile(prog, vocab=["a"], max_seq_len=max_seq_len), "max_seq_len")


@pytest.mark.parametrize("vocab", ["abc", 5])
def test_vocab_that_is_not_a_list_through_the_api(vocab):
    prog = rasp_ir.Program.from_dsl(dsl.Map(lambda x: x, dsl.tokens))
    api_error(RaspCompileError, lambda: rasp_ir.compile(prog, vocab=vocab, max_seq_len=3), "vocab")


@pytest.mark.parametrize("entry", ["from_dsl", "parse_rasp"])
@pytest.mark.parametrize("vocab, max_seq_len", [(["a"], 0), ([], 3)], ids=["max_seq_len-0", "empty-vocab"])
def test_impossible_vocab_or_max_seq_len_when_building_a_program(entry, vocab, max_seq_len):
    def build():
        if entry == "from_dsl":
            return rasp_ir.Program.from_dsl(dsl.Map(lambda x: x, dsl.tokens), vocab=vocab, max_seq_len=max_seq_len)
        return rasp_ir.parse_rasp("x = tokens;", vocab=vocab, max_seq_len=max_seq_len)

    with pytest.raises(RaspError):
        build()


def test_compile_given_an_sop_instead_of_a_program():
    try:
        result = rasp_ir.compile(dsl.Map(lambda x: x, dsl.tokens), vocab=["a"], max_seq_len=3)
    except RaspError as exc:
        assert "Program" in str(exc)
    else:
        assert isinstance(result, rasp_ir.CompiledModel)


# =========================================================================== #
# Files: missing inputs, unwritable outputs
# =========================================================================== #


@pytest.mark.parametrize("command", ["compile", "eval", "inspect", "verify"])
def test_missing_program_file(capsys, tmp_path, command):
    path = tmp_path / "nothere.py"
    assert rasp_error(capsys, 1, command, path) == f"rasp: error: '{path}': no such file\n"


def test_missing_model_file(capsys, tmp_path):
    path = tmp_path / "nothere.onnx"
    has(rasp_error(capsys, 1, "run", path, "a"), f"'{path}': no such model file")
    has(rasp_error(capsys, 1, "inspect", path), "no such model file")
    api_error(RaspModelError, lambda: rasp_ir.load_model(path), "no such model file")


def test_missing_mlir_file_in_rasp_opt(capsys, tmp_path):
    path = tmp_path / "nothere.mlir"
    has(opt_error(capsys, 1, path), f"cannot read '{path}': No such file or directory")


def test_program_path_that_is_a_directory(capsys, tmp_path):
    folder = tmp_path / "d.py"
    folder.mkdir()
    has(rasp_error(capsys, 1, "eval", folder, "a"), "is a directory, not a file")


def test_unknown_program_extension(capsys, tmp_path):
    has(rasp_error(capsys, 2, "compile", tmp_path / "p.txt"), "unknown file extension '.txt'")
    has(opt_error(capsys, 1, write(tmp_path / "p.txt", "")), "unknown file extension .txt", "use -f mlir")


def test_output_whose_parent_is_a_file(capsys, tmp_path):
    (tmp_path / "file.txt").write_text("")
    err = rasp_error(capsys, 1, "compile", REVERSE_PY, "-o", tmp_path / "file.txt" / "m.onnx")
    has(err, f"cannot write '{tmp_path / 'file.txt' / 'm.onnx'}'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_output_whose_parent_is_a_file_says_so(capsys, tmp_path):
    (tmp_path / "file.txt").write_text("")
    err = rasp_error(capsys, 1, "compile", REVERSE_PY, "-o", tmp_path / "file.txt" / "m.onnx")
    assert "not a directory" in err.lower(), err


def test_output_that_is_a_directory(capsys, tmp_path):
    has(rasp_error(capsys, 1, "compile", REVERSE_PY, "-o", tmp_path), "is a directory; give a file name")
    assert list(tmp_path.iterdir()) == []


def test_output_in_a_missing_directory(capsys, tmp_path):
    out = tmp_path / "missing" / "dir" / "m.onnx"
    has(rasp_error(capsys, 1, "compile", REVERSE_PY, "-o", out), "cannot write")
    assert list(tmp_path.iterdir()) == []


def test_failed_compile_leaves_an_existing_output_alone(capsys, tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    rasp_error(capsys, 1, "compile", REVERSE_PY, "--max-seq-len", "512", "-o", out)
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_save_to_an_unwritable_path_through_the_api(tmp_path, model):
    (tmp_path / "file.txt").write_text("")
    with pytest.raises((OSError, RaspError)):
        model.save(tmp_path / "file.txt" / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_opt_output_in_a_missing_directory(capsys, tmp_path):
    out = tmp_path / "missing" / "out.mlir"
    has(opt_error(capsys, 1, REVERSE_MLIR, "-o", out), f"cannot write '{out}': No such file or directory")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("why", ["parse-error", "pass-error"])
def test_opt_failed_run_leaves_no_output_file(capsys, tmp_path, why):
    out = tmp_path / "out.mlir"
    if why == "parse-error":
        opt_error(capsys, 1, _mlir(tmp_path, "rasp.select ", "rasp.selekt "), "-o", out)
    else:
        opt_error(capsys, 1, REVERSE_MLIR, "-p", "rasp-infer-values{cap=2}", "-o", out)
    assert not out.exists()


def test_opt_onnx_target_with_an_unwritable_file(capsys, tmp_path):
    (tmp_path / "file.txt").write_text("")
    target = f'onnx{{file="{tmp_path / "file.txt" / "m.onnx"}"}}'
    has(opt_error(capsys, 1, REVERSE_MLIR, "--pipeline", "default", "-t", target), "cannot write")
