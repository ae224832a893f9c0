"""`rasp`, the command-line tool: every subcommand on the examples, and every error path.

Most tests call `main([...])` in-process (fast) and read stdout/stderr with capsys; a few
run the installed `rasp` entry point in a subprocess to prove it is wired. An error must
print `rasp: error: ...` on stderr, exit 2 (usage) or 1 (other), and never a traceback.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from rasp_ir.tools.rasp_cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
REVERSE = str(EXAMPLES / "reverse.py")
RASP_EXE = Path(sys.executable).parent / "rasp"


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def fails(capsys, code: int, *argv: str, stdin: str | None = None, monkeypatch=None) -> str:
    """Run a command that must fail with `code`; return its one error message."""
    got, out, err = run(capsys, *argv, stdin=stdin, monkeypatch=monkeypatch)
    assert got == code, (got, out, err)
    assert err.startswith("rasp: error: "), err
    return err


@pytest.fixture(scope="module")
def reverse_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "reverse.onnx"
    assert main(["compile", REVERSE, "-o", str(path), "-q"]) == 0
    return path


# --------------------------------------------------------------------------- #
# help, version, no command
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("command", ["compile", "run", "eval", "inspect", "verify"])
def test_every_subcommand_has_help_with_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "examples:" in out and f"rasp {command} " in out.split("examples:")[1]


def test_compile_help_says_how_the_program_is_found(capsys):
    _, out, _ = run(capsys, "compile", "--help")
    assert "--output NAME" in out and "`program`" in out and "VOCAB" in out and "MAX_SEQ_LEN" in out


def test_version(capsys):
    from importlib.metadata import version

    code, out, _ = run(capsys, "--version")
    assert code == 0 and version("rasp-ir") in out


def test_no_command_and_unknown_command(capsys):
    assert "give a command" in fails(capsys, 2)
    assert "invalid choice: 'bogus'" in fails(capsys, 2, "bogus")
    assert "required: PROGRAM" in fails(capsys, 2, "compile")


# --------------------------------------------------------------------------- #
# compile
# --------------------------------------------------------------------------- #


def test_compile_writes_the_model_and_prints_a_summary(capsys, tmp_path):
    out_file = tmp_path / "reverse.onnx"
    code, out, _ = run(capsys, "compile", REVERSE, "-o", out_file)
    assert code == 0
    assert out.startswith("compiled @reverse in ")
    for word in ("layers", "heads", "residual width", "parameters", "MLP hidden", "the paper's count", "wrote"):
        assert word in out
    model = onnx.load(str(out_file))
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["rasp_ir.vocab"]) == ["a", "b", "c"] and meta["rasp_ir.max_seq_len"] == "5"
    assert "Aggregate(flip, tokens)" in meta["rasp_ir.source"]


@pytest.mark.parametrize(
    "name, extra",
    [
        ("reverse.mlir", []),
        ("histogram.mlir", []),
        ("frac_prevs.py", []),
        ("sort_unique.py", []),
        ("reverse.rasp", ["--vocab", "a,b,c", "--max-seq-len", "5"]),
        ("histogram.rasp", ["--vocab", "a,b", "--max-seq-len", "4"]),
    ],
)
def test_compile_examples_of_every_kind(capsys, tmp_path, name, extra):
    code, out, _ = run(capsys, "compile", EXAMPLES / name, *extra, "-o", tmp_path / "m.onnx")
    assert code == 0 and (tmp_path / "m.onnx").stat().st_size > 0 and "wrote" in out


def test_compile_options_override_the_module_constants(capsys, tmp_path):
    path = tmp_path / "r.onnx"
    assert run(capsys, "compile", REVERSE, "--vocab", "a,b,c,d", "--max-seq-len", "7", "-o", path, "-q")[0] == 0
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(meta["rasp_ir.vocab"]) == ["a", "b", "c", "d"] and meta["rasp_ir.max_seq_len"] == "7"
    code, out, _ = run(capsys, "run", path, "d", "a", "b", "c", "c", "a", "d")
    assert code == 0 and json.loads(out) == ["d", "a", "c", "c", "b", "a", "d"]


def test_int_vocab(capsys, tmp_path):
    path = tmp_path / "s.onnx"
    code, _, _ = run(capsys, "compile", EXAMPLES / "sort_unique.py", "--vocab", "1,2,3,4", "--max-seq-len", "4",
                     "-o", path, "-q")
    assert code == 0
    code, out, _ = run(capsys, "run", path, "3", "1", "4", "2")
    assert code == 0 and json.loads(out) == [1, 2, 3, 4]


def test_emit_prints_ir_and_the_summary_goes_to_stderr(capsys):
    from rasp_ir.program import Program

    code, out, err = run(capsys, "compile", REVERSE, "--emit", "mlir")
    assert code == 0 and "compiled @reverse" in err and "compiled" not in out
    assert Program.from_mlir(out).evaluate(["a", "b"]) == ["b", "a"]  # prints IR that parses back
    code, out, _ = run(capsys, "compile", REVERSE, "--emit", "transformer", "--emit", "onnx-text", "-q")
    assert code == 0 and "transformer.model @reverse" in out and "ir_version" in out
    assert out.index("transformer.model") < out.index("ir_version")


def test_compile_transformer_ir_round_trip(capsys, tmp_path):
    code, out, _ = run(capsys, "compile", REVERSE, "--emit", "transformer", "-q")
    ir = tmp_path / "reverse_t.mlir"
    ir.write_text(out)
    assert run(capsys, "compile", ir, "-o", tmp_path / "t.onnx", "-q")[0] == 0
    code, out, _ = run(capsys, "run", tmp_path / "t.onnx", "a", "b", "c")
    assert json.loads(out) == ["c", "b", "a"]
    assert "transformer IR, not a rasp.program" in fails(capsys, 1, "eval", ir, "a")
    assert "fixes its vocabulary" in fails(capsys, 2, "compile", ir, "--vocab", "a,b")
    assert "--emit transformer" in fails(capsys, 2, "compile", ir, "--emit", "mlir")


def test_pipeline_option(capsys):
    code, _, err = run(capsys, "compile", REVERSE, "--pipeline", "default,cse", "--emit", "transformer")
    assert code == 0 and "compiled @reverse" in err
    assert "unknown pass 'nosuch'" in fails(capsys, 2, "compile", REVERSE, "--pipeline", "nosuch")
    assert "rasp-to-transformer" in fails(capsys, 1, "compile", REVERSE, "--pipeline", "rasp-infer-values")


def test_failed_compile_leaves_the_existing_file_alone(capsys, tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old contents")
    fails(capsys, 1, "compile", REVERSE, "--pipeline", "rasp-infer-values", "-o", target)
    assert target.read_bytes() == b"old contents"
    fails(capsys, 1, "compile", REVERSE, "--output", "flip", "-o", tmp_path / "new.onnx")
    assert not (tmp_path / "new.onnx").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary files left behind


def test_compile_errors(capsys, tmp_path):
    assert "'nothere.py': no such file" in fails(capsys, 1, "compile", "nothere.py")
    assert "unknown file extension '.txt'" in fails(capsys, 2, "compile", tmp_path / "p.txt")
    assert "'rasp run' or 'rasp inspect'" in fails(capsys, 2, "compile", tmp_path / "p.onnx")
    assert "empty item" in fails(capsys, 2, "compile", REVERSE, "--vocab", "a,,b")
    assert "twice" in fails(capsys, 2, "compile", REVERSE, "--vocab", "a,b,a")
    assert "--max-seq-len: must be >= 1" in fails(capsys, 2, "compile", REVERSE, "--max-seq-len", "0")
    assert "--max-seq-len: expected an integer" in fails(capsys, 2, "compile", REVERSE, "--max-seq-len", "x")
    assert "invalid choice: 'foo'" in fails(capsys, 2, "compile", REVERSE, "--emit", "foo")
    assert "no variable 'nope'" in fails(capsys, 1, "compile", REVERSE, "--output", "nope")
    assert "is a selector" in fails(capsys, 1, "compile", REVERSE, "--output", "flip")
    assert "is a directory" in fails(capsys, 1, "compile", REVERSE, "-o", tmp_path)
    rasp = EXAMPLES / "reverse.rasp"
    err = fails(capsys, 2, "compile", rasp)
    assert "--vocab" in err and "--max-seq-len" in err
    (tmp_path / "file.txt").write_text("")
    err = fails(capsys, 1, "compile", REVERSE, "-o", tmp_path / "file.txt" / "m.onnx")
    assert "cannot write" in err and err.count("\n") == 1


def test_python_program_errors(capsys, tmp_path):
    bad = tmp_path / "syntax.py"
    bad.write_text("from rasp_ir.frontend.dsl import *\nx = Map(lambda t: t, tokens\n")
    err = fails(capsys, 1, "eval", bad, "a")
    assert f"{bad}:2:" in err and "was never closed" in err and "^" in err
    raising = tmp_path / "raising.py"
    raising.write_text("from rasp_ir.frontend.dsl import *\nx = Map(lambda t: t, tokens)\ny = 1 / 0\n")
    assert f"{raising}:3: loading the program raised ZeroDivisionError" in fails(capsys, 1, "eval", raising, "a")
    several = tmp_path / "several.py"
    several.write_text("from rasp_ir.frontend.dsl import *\nx = Map(lambda t: t, tokens)\nz = Map(str, x)\n")
    assert "several s-ops (x, z)" in fails(capsys, 1, "eval", several, "a")
    # --output picks one; without `program`, the only module-level s-op is the output
    code, out, _ = run(capsys, "eval", several, "--output", "z", "1")
    assert code == 0 and json.loads(out) == ["1"]
    single = tmp_path / "single.py"
    single.write_text("from rasp_ir.frontend.dsl import *\nVOCAB = [1, 2]\nx = Map(lambda t: t * 10, tokens)\n")
    code, out, _ = run(capsys, "eval", single, "2", "1")
    assert code == 0 and json.loads(out) == [20, 10]
    dsl_error = tmp_path / "dsl_error.py"
    dsl_error.write_text("from rasp_ir.frontend.dsl import *\nx = Select(tokens, tokens, 5)\n")
    assert f"{dsl_error}:2: Select's predicate" in fails(capsys, 1, "eval", dsl_error, "a")
    empty = tmp_path / "empty.py"
    empty.write_text("VOCAB = [1]\n")
    assert "no RASP s-op" in fails(capsys, 1, "eval", empty, "1")


def test_mlir_and_rasp_syntax_errors_show_a_caret(capsys, tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text((EXAMPLES / "reverse.mlir").read_text().replace("rasp.select ", "rasp.selec "))
    err = fails(capsys, 1, "compile", bad)
    lines = err.rstrip("\n").split("\n")
    assert lines[0].startswith(f"rasp: error: {bad}:7:") and "rasp.selec is not registered" in lines[0]
    assert "rasp.selec %indices" in lines[1] and set(lines[2].strip()) == {"^"}
    bad_rasp = tmp_path / "bad.rasp"
    bad_rasp.write_text("x = select(tokens, tokens, ==;\n")
    err = fails(capsys, 1, "eval", bad_rasp, "a")
    assert f"{bad_rasp}:1:" in err and "^" in err


def test_rasp_frontend_missing(capsys, monkeypatch):
    import rasp_ir.frontend

    monkeypatch.delattr(rasp_ir.frontend, "rasp_parser", raising=False)
    monkeypatch.setitem(sys.modules, "rasp_ir.frontend.rasp_parser", None)
    err = fails(capsys, 1, "eval", EXAMPLES / "reverse.rasp", "a")
    assert ".rasp language frontend" in err and "not" in err


# --------------------------------------------------------------------------- #
# run
# --------------------------------------------------------------------------- #


def test_compile_then_run_round_trip(capsys, monkeypatch, reverse_model):
    code, out, _ = run(capsys, "run", reverse_model, "a", "b", "c")
    assert code == 0 and json.loads(out) == ["c", "b", "a"]
    stdin = '["a", "b"]\n\n["c"]\n["a","a","b","c","c"]\n'
    code, out, _ = run(capsys, "run", reverse_model, "--batch-size", "2", "--provider", "cpu", "--threads", "1",
                       stdin=stdin, monkeypatch=monkeypatch)
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [["b", "a"], ["c"], ["c", "c", "b", "a", "a"]]


def test_run_numerical_model(capsys, tmp_path):
    path = tmp_path / "frac.onnx"
    assert run(capsys, "compile", EXAMPLES / "frac_prevs.py", "-o", path, "-q")[0] == 0
    code, out, _ = run(capsys, "run", path, "a", "b", "a")
    assert code == 0 and json.loads(out) == [1.0, 0.5, 0.6666667]  # float32 values, shortest text


def test_run_prints_a_numerical_int_output_as_ints(capsys, tmp_path):
    """x + y - z is a numerical int output, which the model rounds: printed as `[2, 3, 4]`
    (the interpreter's ints), not `[2.0, 3.0, 4.0]`."""
    path = tmp_path / "sum_diff.onnx"
    assert run(capsys, "compile", EXAMPLES / "sum_diff.py", "-o", path, "-q")[0] == 0
    code, out, _ = run(capsys, "run", path, "1", "2", "3")
    assert code == 0 and out.strip() == "[2, 3, 4]"


def test_run_options_may_come_before_the_tokens(capsys, reverse_model):
    code, out, _ = run(capsys, "run", reverse_model, "--provider", "cpu", "a", "b")
    assert code == 0 and json.loads(out) == ["b", "a"]
    assert "unrecognized arguments: --bogus" in fails(capsys, 2, "run", reverse_model, "a", "--bogus")


def test_run_errors(capsys, monkeypatch, tmp_path, reverse_model):
    assert "token 'x' (argument 2) is not in the vocabulary" in fails(capsys, 1, "run", reverse_model, "a", "x")
    assert "more than max_seq_len 5" in fails(capsys, 1, "run", reverse_model, *"abcabc")
    assert "'rasp eval'" in fails(capsys, 2, "run", REVERSE, "a")
    assert "no such model file" in fails(capsys, 1, "run", tmp_path / "none.onnx", "a")
    assert "--batch-size: must be >= 1" in fails(capsys, 2, "run", reverse_model, "--batch-size", "0")
    monkeypatch.setattr(sys, "stdin", io.StringIO('["a", "b"]\n["a", "q"]\n'))
    assert main(["run", str(reverse_model)]) == 1
    out, err = capsys.readouterr()
    assert out == '["b", "a"]\n'  # the lines before the bad one are answered
    assert err.startswith("rasp: error: ") and "<stdin>:2, position 1" in err and "'q'" in err
    assert "<stdin>:1: not JSON" in fails(capsys, 1, "run", reverse_model, stdin="[a]\n", monkeypatch=monkeypatch)
    assert "a JSON string" in fails(capsys, 1, "run", reverse_model, stdin='"abc"\n', monkeypatch=monkeypatch)
    assert "input is empty" in fails(capsys, 1, "run", reverse_model, stdin="[]\n", monkeypatch=monkeypatch)
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    assert "not a readable ONNX model" in fails(capsys, 1, "run", junk, "a")
    foreign = tmp_path / "foreign.onnx"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)]), str(foreign))
    assert "not a rasp-ir model" in fails(capsys, 1, "run", foreign, "a")
    assert "not a rasp-ir model" in fails(capsys, 1, "inspect", foreign)


def test_run_cuda_without_cuda(capsys, reverse_model):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    assert "CUDAExecutionProvider" in fails(capsys, 1, "run", reverse_model, "--provider", "cuda", "a")


# --------------------------------------------------------------------------- #
# eval
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "name, tokens, expected",
    [
        ("reverse.py", ["a", "b", "c"], ["c", "b", "a"]),
        ("reverse.mlir", ["a", "b"], ["b", "a"]),
        ("reverse.rasp", ["a", "b", "c"], ["c", "b", "a"]),
        ("histogram.py", ["a", "b", "a"], [2, 1, 2]),
        ("histogram.mlir", ["a", "b", "a"], [2, 1, 2]),
        ("sort_unique.py", ["3", "1", "2"], [1, 2, 3]),
        ("length.py", ["a", "b"], [2, 2]),
    ],
)
def test_eval_examples(capsys, name, tokens, expected):
    code, out, _ = run(capsys, "eval", EXAMPLES / name, *tokens)
    assert code == 0 and json.loads(out) == expected


def test_eval_json_lines(capsys, monkeypatch):
    code, out, _ = run(capsys, "eval", REVERSE, stdin='["a","b"]\n["c"]\n', monkeypatch=monkeypatch)
    assert code == 0 and out.splitlines() == ['["b", "a"]', '["c"]']


def test_eval_errors(capsys, monkeypatch, tmp_path):
    assert "not in the vocabulary" in fails(capsys, 1, "eval", REVERSE, "a", "z")
    assert "more than max_seq_len 2" in fails(capsys, 1, "eval", REVERSE, "--max-seq-len", "2", "a", "b", "c")
    err = fails(capsys, 1, "eval", REVERSE, stdin='["a"]\n["a", "z"]\n', monkeypatch=monkeypatch)
    assert err.startswith("rasp: error: <stdin>:2:")
    mean = tmp_path / "mean.py"
    mean.write_text(
        "from rasp_ir.frontend.dsl import *\n"
        "program = Aggregate(Select(tokens, tokens, Comparison.TRUE), tokens)\n"
    )
    assert "cannot average strings" in fails(capsys, 1, "eval", mean, "a", "b")
    code, out, _ = run(capsys, "eval", mean, "1", "2")  # without a vocabulary, ints when all are ints
    assert code == 0 and json.loads(out) == [1.5, 1.5]


# --------------------------------------------------------------------------- #
# inspect
# --------------------------------------------------------------------------- #


def test_inspect_model_file(capsys, reverse_model):
    code, out, _ = run(capsys, "inspect", reverse_model)
    assert code == 0
    assert out.startswith("model @reverse:")
    blocks, residual = out.split("residual stream")
    head_rows = [line for line in blocks.splitlines() if "head 0" in line]
    assert len(head_rows) == 2
    # the output head reads opp_index (query), indices (key), tokens (value) and writes the output
    last = head_rows[-1]
    assert "opp_index" in last and "indices" in last and "tokens" in last and "reverse" in last
    rows = {line.split()[1]: line for line in residual.splitlines()[3:] if line.strip()}
    assert set(rows) >= {"one", "bos", "indices", "tokens", "opp_index", "reverse"}
    assert "a b c" in rows["tokens"] and "embed" in rows["tokens"] and "output" in rows["reverse"]
    assert "MLP hidden" in out and "total" in blocks


def test_inspect_program_matches_the_model_file(capsys, reverse_model):
    _, from_file, _ = run(capsys, "inspect", reverse_model)
    code, from_program, _ = run(capsys, "inspect", REVERSE)
    assert code == 0 and "the paper's count" in from_program

    def residual(text: str) -> str:
        return text.split("residual stream")[1]

    assert residual(from_file) == residual(from_program)


def test_inspect_json(capsys):
    code, out, _ = run(capsys, "inspect", EXAMPLES / "histogram.mlir", "--json")
    data = json.loads(out)
    assert code == 0 and data["name"] == "hist" and data["summary"]["heads_per_layer"] == [1]
    assert data["blocks"][0]["heads"][0]["writes"]


def test_rebuilt_model_runs_like_the_onnx_model(reverse_model):
    from rasp_ir.analysis.inspect import model_from_onnx, sample_inputs
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor
    from rasp_ir.runtime import load_model

    model = load_model(reverse_model)
    rebuilt = model_from_onnx(model.onnx)
    inputs = sample_inputs(model.vocab, model.max_seq_len, 60)
    assert TransformerExecutor(rebuilt).run(inputs) == model.run(inputs)


def test_mlp_tables_compute_the_map(reverse_model):
    from rasp_ir.analysis.inspect import mlp_tables, model_from_onnx
    from rasp_ir.runtime import load_model

    tables = mlp_tables(model_from_onnx(load_model(reverse_model).onnx))
    opp = [t for t in tables if t.outputs == ["opp_index"]]
    assert len(opp) == 1 and opp[0].exhaustive
    # whatever encodes the length, index i of a length-n input maps to n - 1 - i: the row
    # for index 0 holds every length, so its outputs are 0..max_seq_len-1
    col = "indices"
    i = opp[0].inputs.index(col)
    outs = sorted(int(o[0]) for inp, o in opp[0].rows if inp[i] == "0")
    assert outs == [0, 1, 2, 3, 4]


def test_inspect_plot_writes_real_pngs(capsys, tmp_path, reverse_model):
    from PIL import Image

    figs = tmp_path / "figs"
    code, out, _ = run(capsys, "inspect", reverse_model, "--plot", figs, "--input", "a b c a")
    assert code == 0 and "wrote" in out
    names = sorted(p.name for p in figs.iterdir())
    assert "residual.png" in names
    assert {"layer0_head0_attention.png", "layer0_head0_qk.png", "layer0_head0_ov.png"} <= set(names)
    assert any(n.endswith("_mlp.png") for n in names)
    assert not [n for n in names if not n.endswith(".png")]  # no temporary files
    for path in figs.iterdir():
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            image.load()
            assert image.width >= 100 and image.height >= 100
            assert np.asarray(image).std() > 0  # not a blank canvas


def test_inspect_plot_on_a_program_with_a_generated_input(capsys, tmp_path):
    import matplotlib.image

    code, _, _ = run(capsys, "inspect", EXAMPLES / "frac_prevs.py", "--plot", tmp_path)
    assert code == 0
    image = matplotlib.image.imread(tmp_path / "layer0_head0_attention.png")
    assert image.shape[0] >= 100 and image.shape[1] >= 100


def test_inspect_errors(capsys, monkeypatch, tmp_path, reverse_model):
    assert "give --plot DIR" in fails(capsys, 2, "inspect", reverse_model, "--input", "a")
    assert "applies to a program" in fails(capsys, 2, "inspect", reverse_model, "--vocab", "a,b")
    assert "not in the vocabulary" in fails(capsys, 1, "inspect", reverse_model, "--plot", tmp_path, "--input", "a x")
    assert "more than max_seq_len" in fails(
        capsys, 1, "inspect", reverse_model, "--plot", tmp_path, "--input", "a b c a b c"
    )
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert "pip install 'rasp-ir[plot]'" in fails(capsys, 1, "inspect", reverse_model, "--plot", tmp_path / "x")


# --------------------------------------------------------------------------- #
# verify
# --------------------------------------------------------------------------- #


def test_verify_examples_agree(capsys):
    code, out, err = run(capsys, "verify", REVERSE)
    assert code == 0 and "agrees with the program on all 363 inputs" in out
    assert err == ""  # no progress bar when stderr is not a terminal
    code, out, _ = run(capsys, "verify", EXAMPLES / "frac_prevs.mlir", "--exhaustive-len", "3", "--random", "20")
    assert code == 0 and "every input up to length 3: 39" in out and "random inputs (seed 0): 20" in out


def test_verify_progress_bar(capsys):
    code, _, err = run(capsys, "verify", EXAMPLES / "histogram.rasp", "--vocab", "a,b", "--max-seq-len", "4",
                       "--progress", "--batch-size", "8")
    assert code == 0 and "\rverify [" in err and "30/30 inputs" in err


def test_verify_finds_a_counterexample_in_a_broken_model(capsys, tmp_path, reverse_model):
    model = onnx.load(str(reverse_model))
    layout = json.loads({p.key: p.value for p in model.metadata_props}["rasp_ir.layout"])
    out_b = layout.index("reverse=b")  # the residual dim that says "the output is b"
    flipped = 0
    for init in model.graph.initializer:
        if init.name.endswith(".w_o"):  # flip the one weight that writes it
            w = numpy_helper.to_array(init).copy()
            rows = np.flatnonzero(w[:, out_b] > 0.5)
            if len(rows) == 1:
                w[rows[0], out_b] = -w[rows[0], out_b]
                init.CopyFrom(numpy_helper.from_array(w, init.name))
                flipped += 1
    assert flipped == 1
    broken = tmp_path / "broken.onnx"
    onnx.save(model, str(broken))
    code, out, _ = run(capsys, "verify", REVERSE, "--model", broken)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("counterexample")
    got = {line.split(":")[0].strip(): line.split(":", 1)[1].strip() for line in lines[1:4]}
    assert set(got) == {"input", "expected", "got"} and got["expected"] != got["got"]
    tokens = json.loads(got["input"])
    assert json.loads(got["expected"]) == tokens[::-1]  # the reference interpreter's answer
    assert "verify failed" in out
    # the intact model passes the same check
    assert run(capsys, "verify", REVERSE, "--model", reverse_model)[0] == 0


def test_verify_reports_an_input_where_the_program_is_undefined(capsys, tmp_path):
    mean = tmp_path / "mean.py"
    mean.write_text(
        "from rasp_ir.frontend.dsl import *\n"
        "program = Aggregate(Select(tokens, tokens, Comparison.TRUE), tokens, default='a')\n"
    )
    code, out, _ = run(capsys, "verify", mean, "--vocab", "a,b", "--max-seq-len", "3")
    assert code == 1 and "the program is undefined on this input" in out and "cannot average strings" in out


def test_verify_errors(capsys, tmp_path, reverse_model):
    assert "more than max_seq_len 5" in fails(capsys, 2, "verify", REVERSE, "--exhaustive-len", "6")
    assert "nothing to check" in fails(capsys, 2, "verify", REVERSE, "--exhaustive-len", "0", "--random", "0")
    assert "--max-seq-len" in fails(capsys, 2, "verify", EXAMPLES / "reverse.rasp")
    assert "not in the model's vocabulary" in fails(
        capsys, 1, "verify", REVERSE, "--model", reverse_model, "--vocab", "a,z"
    )
    assert "more than the model's max_seq_len" in fails(
        capsys, 1, "verify", REVERSE, "--model", reverse_model, "--max-seq-len", "9"
    )


def test_default_exhaustive_length_stays_under_the_budget():
    from rasp_ir.tools.cli_verify import count_exhaustive, default_exhaustive_len

    assert default_exhaustive_len(3, 5) == 5
    assert default_exhaustive_len(5, 6) == 6  # 19530 inputs
    assert default_exhaustive_len(9, 6) == 4  # 7380; length 5 would make 66429
    assert count_exhaustive(9, default_exhaustive_len(9, 6)) <= 20_000


def test_vocab_and_token_parsing():
    from rasp_ir.tools.cli_common import convert_tokens, parse_vocab

    assert parse_vocab("a,b,c") == ["a", "b", "c"]
    assert parse_vocab("1, 2,3") == [1, 2, 3]
    assert parse_vocab("1,b") == ["1", "b"]
    assert parse_vocab('["a b", 1, true]') == ["a b", 1, True]
    assert convert_tokens(["1", "2"], [1, 2]) == [1, 2]
    assert convert_tokens(["1", "x"], ["1", 1, "x"]) == ["1", "x"]  # a string token wins over an int
    assert convert_tokens(["true"], [True, False]) == [True]
    assert convert_tokens(["1", "2"], None) == [1, 2]
    assert convert_tokens(["1", "b"], None) == ["1", "b"]


# --------------------------------------------------------------------------- #
# the installed entry point
# --------------------------------------------------------------------------- #


def _exe() -> str:
    exe = shutil.which("rasp", path=str(RASP_EXE.parent)) or shutil.which("rasp")
    if exe is None:
        pytest.fail("the `rasp` entry point is not installed: pip install -e .")
    return exe


def test_entry_point_compile_and_run(tmp_path):
    model = tmp_path / "reverse.onnx"
    done = subprocess.run([_exe(), "compile", REVERSE, "-o", str(model)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "compiled @reverse" in done.stdout, done.stderr
    done = subprocess.run([_exe(), "run", str(model)], input='["a", "b", "c"]\n', capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout) == ["c", "b", "a"], done.stderr


def test_entry_point_reports_errors_without_a_traceback(tmp_path):
    done = subprocess.run([_exe(), "compile", str(tmp_path / "missing.py")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr == f"rasp: error: '{tmp_path / 'missing.py'}': no such file\n"
    done = subprocess.run([_exe(), "run", "m.onnx", "--batch-size", "-3"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("rasp: error: argument --batch-size")
    assert "Traceback" not in done.stderr
