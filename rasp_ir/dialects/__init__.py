"""The dialects rasp-ir reads and writes: `rasp` and `transformer` (plus builtin and arith)."""

from __future__ import annotations

from xdsl.context import Context


def make_context() -> Context:
    """A context with every dialect rasp-ir reads and writes."""
    from xdsl.dialects.arith import Arith
    from xdsl.dialects.builtin import Builtin

    from rasp_ir.dialects.rasp import Rasp
    from rasp_ir.dialects.transformer import Transformer

    ctx = Context()
    for dialect in (Builtin, Arith, Rasp, Transformer):
        ctx.load_dialect(dialect)
    return ctx
