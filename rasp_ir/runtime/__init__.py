"""Running compiled models with onnxruntime: encode, batch, run, decode.

Needs only onnx, onnxruntime, numpy and the model's metadata (no xDSL).
"""

from rasp_ir.runtime.model import CompiledModel, load_model

__all__ = ["CompiledModel", "load_model"]
