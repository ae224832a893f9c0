"""Passes over the `rasp` and `transformer` dialects, one per file.

`all_passes()` is the registry `rasp-opt` and the compile driver use: pass name ->
a factory returning the pass class (imported lazily, as xDSL's own registry does).
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    def materialize_tables():
        from rasp_ir.passes.materialize_tables import MaterializeTablesPass

        return MaterializeTablesPass

    def infer_values():
        from rasp_ir.passes.infer_values import InferValuesPass

        return InferValuesPass

    def infer_encodings():
        from rasp_ir.passes.infer_encodings import InferEncodingsPass

        return InferEncodingsPass

    def lower_composite_selectors():
        from rasp_ir.passes.lower_composite_selectors import LowerCompositeSelectorsPass

        return LowerCompositeSelectorsPass

    def allocate_layers():
        from rasp_ir.passes.allocate_layers import AllocateLayersPass

        return AllocateLayersPass

    def to_transformer():
        from rasp_ir.passes.to_transformer import RaspToTransformerPass

        return RaspToTransformerPass

    def combine_layers():
        from rasp_ir.passes.combine_layers import CombineLayersPass

        return CombineLayersPass

    def drop_unread_dims():
        from rasp_ir.passes.drop_unread_dims import DropUnreadDimsPass

        return DropUnreadDimsPass

    def canonicalize():
        from xdsl.transforms.canonicalize import CanonicalizePass

        return CanonicalizePass

    def cse():
        from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination

        return CommonSubexpressionElimination

    def dce():
        from xdsl.transforms.dead_code_elimination import DeadCodeElimination

        return DeadCodeElimination

    return {
        "rasp-materialize-tables": materialize_tables,
        "rasp-infer-values": infer_values,
        "rasp-infer-encodings": infer_encodings,
        "rasp-lower-composite-selectors": lower_composite_selectors,
        "rasp-allocate-layers": allocate_layers,
        "rasp-to-transformer": to_transformer,
        "transformer-combine-layers": combine_layers,
        "transformer-drop-unread-dims": drop_unread_dims,
        "canonicalize": canonicalize,
        "cse": cse,
        "dce": dce,
    }


# The default pipeline from a `rasp.program` (with vocab and max_seq_len) to
# ONNX-ready `transformer` IR.
DEFAULT_PIPELINE = (
    "rasp-materialize-tables,rasp-infer-values,canonicalize,cse,rasp-infer-values,"
    "rasp-infer-encodings,rasp-infer-values,rasp-lower-composite-selectors,rasp-allocate-layers,"
    "rasp-to-transformer,"
    "transformer-combine-layers,transformer-drop-unread-dims"
)
