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

from typing import TYPE_CHECKING

from rasp_ir.errors import (
    RaspCompileError,
    RaspCompileWarning,
    RaspError,
    RaspEvaluationError,
    RaspInputError,
    RaspModelError,
    RaspSyntaxError,
    RaspTypeError,
)

if TYPE_CHECKING:
    from rasp_ir.compiler import compile
    from rasp_ir.frontend import dsl
    from rasp_ir.program import Program
    from rasp_ir.runtime.model import CompiledModel, load_model

# The compiler pulls in xDSL; running a saved model needs only onnxruntime. So the
# public names load on first use (PEP 562), and `rasp run` starts fast.
_LAZY = {
    "compile": ("rasp_ir.compiler", "compile"),
    "dsl": ("rasp_ir.frontend.dsl", None),
    "Program": ("rasp_ir.program", "Program"),
    "CompiledModel": ("rasp_ir.runtime.model", "CompiledModel"),
    "load_model": ("rasp_ir.runtime.model", "load_model"),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'rasp_ir' has no attribute '{name}'")
    from importlib import import_module

    module_name, attr = _LAZY[name]
    module = import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


try:
    __version__ = version("rasp-ir")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"


def parse_rasp(source: str, output: str | None = None, filename: str = "<rasp>", **options) -> "Program":
    """A `.rasp` program (the paper's language) as a `Program` computing the s-op `output`
    (default: the last s-op assigned). `options`: `vocab`, `max_seq_len`."""
    from rasp_ir.frontend.rasp_parser import parse_rasp as _parse

    return _parse(source, output=output, filename=filename, **options)


__all__ = [
    "CompiledModel",
    "Program",
    "RaspCompileError",
    "RaspCompileWarning",
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
