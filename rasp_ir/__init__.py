"""rasp-ir: a compiler from RASP programs to transformer weights and ONNX models.

The public API (DESIGN.md section 7):

    import rasp_ir
    from rasp_ir import dsl

    prog = rasp_ir.Program.from_dsl(sop)            # or Program.from_mlir(text), rasp_ir.parse_rasp(src)
    prog.evaluate(tokens)                           # the reference interpreter
    model = rasp_ir.compile(prog, vocab=[...], max_seq_len=N)
    model.run(batch); model.save("m.onnx"); rasp_ir.load_model("m.onnx")
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from rasp_ir.compiler import compile
from rasp_ir.errors import (
    RaspCompileError,
    RaspError,
    RaspEvaluationError,
    RaspInputError,
    RaspModelError,
    RaspSyntaxError,
    RaspTypeError,
)
from rasp_ir.frontend import dsl
from rasp_ir.program import Program
from rasp_ir.runtime.model import CompiledModel, load_model

try:
    __version__ = version("rasp-ir")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"


def parse_rasp(source: str, output: str | None = None, filename: str = "<rasp>", **options) -> Program:
    """A `.rasp` program (the paper's language) as a `Program` computing the s-op `output`
    (default: the last s-op assigned). `options`: `vocab`, `max_seq_len`."""
    from rasp_ir.frontend.rasp_parser import parse_rasp as _parse

    return _parse(source, output=output, filename=filename, **options)


__all__ = [
    "CompiledModel",
    "Program",
    "RaspCompileError",
    "RaspError",
    "RaspEvaluationError",
    "RaspInputError",
    "RaspModelError",
    "RaspSyntaxError",
    "RaspTypeError",
    "__version__",
    "compile",
    "dsl",
    "load_model",
    "parse_rasp",
]
