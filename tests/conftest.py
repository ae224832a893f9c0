"""Shared helpers: loading the example programs by path (`examples/` is not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

_loaded: dict[Path, ModuleType] = {}


def load_module(path: Path) -> ModuleType:
    """Import a file as a module (once per session)."""
    if path not in _loaded:
        spec = importlib.util.spec_from_file_location(f"_rasp_ir_test_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded[path] = module
    return _loaded[path]


@pytest.fixture(scope="session")
def example():
    """`example("reverse")` -> the module examples/reverse.py."""
    return lambda name: load_module(EXAMPLES / f"{name}.py")
