"""`rasp-opt`: the lit + filecheck suite (tests/filecheck), and the tool's behaviour
that text checks cannot reach (exit statuses, missing backends, --verify-each).

`pytest` runs the whole lit suite through `test_filecheck_suite`, so the README's
single `pytest` command covers it; a failing lit test fails it and shows lit's output.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import types
from pathlib import Path

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from rasp_ir.errors import RaspCompileError
from rasp_ir.passes import DEFAULT_PIPELINE
from rasp_ir.tools import rasp_opt
from rasp_ir.tools.rasp_opt import RaspOptMain, SemanticChecker, describe_user_error, expand_pipeline, main, run_guarded

FILECHECK_DIR = Path(__file__).parent / "filecheck"

PROGRAM = """\
rasp.program @p vocab [0, 1] max_seq_len 3 {
  %i = rasp.indices : !rasp.sop<cat, int>
  %j = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %j, leq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}
"""


def test_filecheck_suite() -> None:
    """Every lit test in tests/filecheck passes (lit runs with this Python, so it finds
    `rasp-opt` and `filecheck` next to it)."""
    try:
        import lit  # noqa: F401
    except ImportError:
        pytest.fail("lit is not installed: pip install -e '.[test]'")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from lit.main import main; sys.exit(main())", "-v", str(FILECHECK_DIR)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(
            f"lit failed (exit status {result.returncode}):\n{result.stdout}\n{result.stderr}", pytrace=False
        )
    assert "Passed" in result.stdout


# --------------------------------------------------------------------------- #
# Exit statuses and messages
# --------------------------------------------------------------------------- #


@pytest.fixture
def program_file(tmp_path: Path) -> Path:
    path = tmp_path / "p.mlir"
    path.write_text(PROGRAM)
    return path


def test_success_exits_zero(program_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(program_file), "-p", "cse"]) == 0
    out = capsys.readouterr().out
    assert "rasp.select %i, %i, leq" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "nope"], "rasp-opt: error: unknown pass 'nope'"),
        (["-p", "cse{x=1}"], "rasp-opt: error: bad options for pass 'cse'"),
        (["-p", "cse,,"], "rasp-opt: error: bad pass pipeline"),
        (["--pipeline", "default", "-p", "cse"], "give either --pipeline or -p"),
        (["--print-ir-before", "nope"], "--print-ir-before: unknown pass 'nope'"),
    ],
)
def test_user_errors_exit_one_without_traceback(
    program_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([str(program_file), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.count("rasp-opt: error:") == 1


def test_missing_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.mlir")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_invalid_ir_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.mlir"
    path.write_text(PROGRAM.replace("%w = rasp.selector_width %s : !rasp.sop<cat, int>", "%w = rasp.selector_width %s : !rasp.sop<cat, str>").replace("rasp.output %w : !rasp.sop<cat, int>", "rasp.output %w : !rasp.sop<cat, str>"))
    assert main([str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5:3: 'rasp.selector_width': result must be an s-op of int, not str" in err
    assert "Traceback" not in err


def test_verify_diagnostics_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.mlir"
    path.write_text(PROGRAM.replace("max_seq_len 3", "max_seq_len 0"))
    assert main([str(path), "--verify-diagnostics"]) == 0
    assert "max_seq_len must be an integer >= 1, not 0" in capsys.readouterr().out


def test_usage_error_exits_two(program_file: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(program_file), "-t", "nonsense"])
    assert exit_info.value.code == 2


def test_missing_onnx_backend_is_a_clean_error(
    program_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rasp_ir.backend.onnx", None)  # import fails
    assert main([str(program_file), "-t", "onnx"]) == 1
    err = capsys.readouterr().err
    assert "rasp-opt: error: target 'onnx' is not available" in err
    assert "Traceback" not in err


def test_named_pipeline_expands_in_place() -> None:
    names = [s.name for s in expand_pipeline("cse,rasp-default-pipeline,dce")]
    assert names == ["cse", *DEFAULT_PIPELINE.split(","), "dce"]


def test_describe_user_error_leaves_bugs_alone() -> None:
    assert describe_user_error(RaspCompileError("no")) == "no"
    assert describe_user_error(ValueError("bug")) is None
    assert run_guarded("tool", lambda: None) == 0
    with pytest.raises(ValueError):
        run_guarded("tool", lambda: (_ for _ in ()).throw(ValueError("bug")))


# --------------------------------------------------------------------------- #
# Passes that fail
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class _RefusingPass(ModulePass):
    """Always refuses (a user error)."""

    name = "test-refuse"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        raise RaspCompileError("'rasp.select' @p: cannot compile this, do something else")


@dataclasses.dataclass(frozen=True)
class _BuggyPass(ModulePass):
    """Crashes (a bug)."""

    name = "test-crash"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        raise KeyError("internal")


@dataclasses.dataclass(frozen=True)
class _ReverseOperandsPass(ModulePass):
    """Swaps the operands of every select: changes what the program computes."""

    name = "test-swap"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from rasp_ir.dialects.rasp import SelectOp

        for inner in op.walk():
            if isinstance(inner, SelectOp):
                inner.operands = [inner.operands[1], inner.operands[0]]


class _TestOptMain(RaspOptMain):
    def register_all_passes(self) -> None:
        super().register_all_passes()
        for cls in (_RefusingPass, _BuggyPass, _ReverseOperandsPass):
            self.register_pass(cls.name, lambda cls=cls: cls)


def _run_test_tool(argv: list[str]) -> int:
    return run_guarded("rasp-opt", lambda: _TestOptMain(args=argv).run())


def test_pass_raising_rasp_error(program_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_test_tool([str(program_file), "-p", "cse,test-refuse"]) == 1
    err = capsys.readouterr().err
    assert "rasp-opt: error: in pass 'test-refuse': 'rasp.select' @p: cannot compile this" in err
    assert "Traceback" not in err


def test_pass_raising_rasp_error_under_verify_diagnostics(program_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_test_tool([str(program_file), "-p", "test-refuse", "--verify-diagnostics"]) == 0
    assert "error: in pass 'test-refuse': 'rasp.select' @p" in capsys.readouterr().out


def test_pass_with_a_bug_shows_its_traceback(program_file: Path) -> None:
    with pytest.raises(KeyError) as info:
        _run_test_tool([str(program_file), "-p", "test-crash"])
    assert any("internal error while running pass 'test-crash'" in n for n in info.value.__notes__)


# --------------------------------------------------------------------------- #
# --verify-each, with stand-ins for the interpreter and the executor
# --------------------------------------------------------------------------- #


def _fake_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A `rasp_ir.program` whose programs output, at each position, the number of
    positions the (single) select selects there, computed from the IR text."""

    class Program:
        def __init__(self, predicate: str, swapped: bool):
            self.predicate, self.swapped = predicate, swapped

        @classmethod
        def from_mlir(cls, text: str) -> Program:
            line = next(line for line in text.splitlines() if "rasp.select " in line)
            keys, queries = (s.strip() for s in line.split("rasp.select ")[1].split(",")[:2])
            return cls(line.split(",")[2].split(":")[0].strip(), swapped=(keys, queries) == ("%j", "%i"))

        def evaluate(self, tokens: list[int]) -> list[int]:
            n = len(tokens)
            assert self.predicate == "leq"
            if self.swapped:  # query q selects k when q <= k
                return [sum(1 for k in range(n) if q <= k) for q in range(n)]
            return [sum(1 for k in range(n) if k <= q) for q in range(n)]

    module = types.ModuleType("rasp_ir.program")
    module.Program = Program  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rasp_ir.program", module)


def test_verify_each_accepts_a_pass_that_keeps_the_meaning(
    program_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_interpreter(monkeypatch)
    assert _run_test_tool([str(program_file), "-p", "canonicalize,cse", "--verify-each"]) == 0
    assert "error" not in capsys.readouterr().err


def test_verify_each_catches_a_pass_that_changes_the_meaning(
    program_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_interpreter(monkeypatch)
    assert _run_test_tool([str(program_file), "-p", "canonicalize,test-swap,cse", "--verify-each"]) == 1
    err = capsys.readouterr().err
    assert "rasp-opt: error: after pass 'test-swap', @p computes" in err
    assert "at the input it computed" in err


def test_verify_each_without_an_interpreter_only_verifies(
    program_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rasp_ir.program", None)
    assert _run_test_tool([str(program_file), "-p", "test-swap", "--verify-each"]) == 0
    err = capsys.readouterr().err
    assert "note: --verify-each: the reference interpreter is not available" in err


def test_verify_each_compares_the_transformer_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_interpreter(monkeypatch)
    results: dict[str, list[list[int]]] = {}

    class TransformerExecutor:
        def __init__(self, module: ModuleOp):
            self.module = module

        def run(self, batch: list[list[int]]) -> list[list[float]]:
            return [[float(v) + 1e-4 for v in results["ok"][len(tokens) - 1]] for tokens in batch]

    executor_module = types.ModuleType("rasp_ir.interpreter.transformer_executor")
    executor_module.TransformerExecutor = TransformerExecutor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rasp_ir.interpreter.transformer_executor", executor_module)

    from xdsl.parser import Parser

    ctx = RaspOptMain(args=[]).ctx
    ctx.allow_unregistered = True
    checker = SemanticChecker(samples=6)
    checker.check(Parser(ctx, PROGRAM).parse_module(), "the input")
    transformer_ir = Parser(ctx, '"transformer.model"() : () -> ()').parse_module()

    results["ok"] = [[1], [1, 2], [1, 2, 3]]  # what the program computes for n = 1, 2, 3
    checker.check(transformer_ir, "pass 'rasp-to-transformer'")  # within the 1e-3 tolerance

    results["ok"] = [[1], [1, 2], [1, 2, 2]]
    with pytest.raises(rasp_opt.SemanticMismatch, match="the transformer computes"):
        checker.check(transformer_ir, "pass 'rasp-to-transformer'")
