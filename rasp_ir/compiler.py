"""The compile driver: a `Program` -> `rasp` IR -> pass pipeline -> `transformer` IR -> ONNX.

`rasp_ir.compile(program, vocab=..., max_seq_len=...)` is the public entry point
(DESIGN.md section 7); `compile_to_transformer` stops at the `transformer` IR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.printer import Printer
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, VerifyException

from rasp_ir.dialects import make_context
from rasp_ir.dialects.rasp import Value
from rasp_ir.errors import RaspCompileError
from rasp_ir.passes import DEFAULT_PIPELINE, all_passes

if TYPE_CHECKING:
    from rasp_ir.program import Program
    from rasp_ir.runtime.model import CompiledModel


def parse_pipeline(spec: str, callback: Callable | None = None) -> PassPipeline:
    """A pass pipeline from text like `rasp-infer-values{cap=100},canonicalize`."""
    try:
        return PassPipeline.parse_spec(all_passes(), spec, callback)
    except (ArgSpecParseError, ValueError, TypeError) as err:
        raise RaspCompileError(
            f"bad pass pipeline '{spec}': {err}\navailable passes: {', '.join(all_passes())}"
        ) from err


def run_pipeline(module: ModuleOp, pipeline: str = DEFAULT_PIPELINE, *, print_ir: bool = False) -> ModuleOp:
    """Apply `pipeline` to `module` in place, verifying after every pass."""

    def after_each(previous: ModulePass | None, mod: ModuleOp, following: ModulePass | None) -> None:
        if previous is None:
            return
        try:
            mod.verify()
        except (VerifyException, DiagnosticException) as err:
            raise RaspCompileError(f"the IR does not verify after {previous.name}: {err}") from err
        if print_ir:
            print(f"// -----// IR Dump After {previous.name} //----- //")
            Printer().print_op(mod)
            print()

    ctx = make_context()
    try:
        parse_pipeline(pipeline, after_each).apply(ctx, module)
    except (VerifyException, DiagnosticException) as err:
        raise RaspCompileError(str(err)) from err
    except MemoryError:
        raise RaspCompileError(
            "compiling ran out of memory: the model would be too large for this machine; lower "
            "max_seq_len or the vocabulary, or shrink the program's value sets"
        ) from None
    return module


def compile_to_transformer(
    program: Program,
    vocab: Sequence[Value] | None = None,
    max_seq_len: int | None = None,
    *,
    bos: Value | None = None,
    pipeline: str = DEFAULT_PIPELINE,
) -> ModuleOp:
    """The program's `transformer` IR after `pipeline`."""
    module = program.to_module(vocab=vocab, max_seq_len=max_seq_len, bos=bos)
    return run_pipeline(module, pipeline)


def compile(  # noqa: A001 - the public name DESIGN.md section 7 gives it
    program: Program,
    vocab: Sequence[Value] | None = None,
    max_seq_len: int | None = None,
    *,
    bos: Value | None = None,
    pipeline: str = DEFAULT_PIPELINE,
    provider: str = "auto",
    threads: int | None = None,
) -> CompiledModel:
    """Compile `program` into an ONNX model for inputs over `vocab` up to `max_seq_len` tokens.

    `vocab` and `max_seq_len` default to the program's own (a `.mlir` program carries
    them). `pipeline` is a pass pipeline as `rasp-opt -p` takes it; it must end in
    `transformer` IR.
    """
    from rasp_ir.dialects.transformer import ModelOp
    from rasp_ir.frontend.dsl import SOp
    from rasp_ir.program import Program
    from rasp_ir.runtime.model import CompiledModel

    if isinstance(program, SOp):
        program = Program.from_dsl(program)
    if not isinstance(program, Program):
        raise RaspCompileError(
            f"compile takes a rasp_ir.Program (or a DSL s-op), not {type(program).__name__}; "
            "make one with Program.from_dsl, Program.from_mlir or rasp_ir.parse_rasp"
        )
    module = compile_to_transformer(program, vocab, max_seq_len, bos=bos, pipeline=pipeline)
    if not any(isinstance(op, ModelOp) for op in module.walk()):
        raise RaspCompileError(
            f"the pipeline '{pipeline}' did not produce a transformer.model; end it with rasp-to-transformer"
        )
    return CompiledModel.from_transformer(
        module, source=getattr(program, "source", None), provider=provider, threads=threads
    )
