"""onnxruntime execution providers: which one a request gets, with plain errors.

    "cpu"   the CPU execution provider
    "cuda"  the CUDA execution provider; an error when this onnxruntime has none
    "auto"  CUDA when this onnxruntime has it, else CPU

The CUDA provider comes from the `onnxruntime-gpu` wheel, which installs the same
`onnxruntime` module as the CPU wheel: it must replace it, not sit beside it.
"""

from __future__ import annotations

from rasp_ir.errors import RaspModelError

PROVIDERS = ("auto", "cpu", "cuda")
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

GPU_INSTALL_HINT = (
    "install the GPU build of onnxruntime in place of the CPU one: "
    "`pip uninstall -y onnxruntime && pip install 'rasp-ir[gpu]'` "
    "(onnxruntime-gpu provides the same `onnxruntime` module, so the two must not be installed together)"
)


def check_provider_request(provider: str) -> None:
    if provider not in PROVIDERS:
        raise RaspModelError(f"unknown execution provider {provider!r}: use 'auto', 'cpu' or 'cuda'")


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def session_providers(provider: str) -> list[str]:
    """The provider list to give `onnxruntime.InferenceSession` for a request."""
    check_provider_request(provider)
    if provider == "cpu":
        return [CPU]
    available = available_providers()
    if provider == "cuda":
        if CUDA not in available:
            raise RaspModelError(
                "provider 'cuda' was requested, but this onnxruntime has no CUDAExecutionProvider "
                f"(it has {', '.join(available) or 'none'}); {GPU_INSTALL_HINT}"
            )
        return [CUDA, CPU]
    return [CUDA, CPU] if CUDA in available else [CPU]
