"""The exceptions a user can cause. Every one derives from `RaspError`.

Tools catch `RaspError`, print its message and exit non-zero; anything else that
escapes is a bug in rasp-ir, not in the user's input.
"""

from __future__ import annotations


class RaspError(Exception):
    """Base of every error a user can cause (bad source, bad IR, bad input...)."""


class RaspSyntaxError(RaspError):
    """Source text (.rasp, .mlir, .py) that cannot be parsed."""


class RaspTypeError(RaspError):
    """A program that is well-formed text but ill-typed (e.g. a selector used as an s-op)."""


class RaspEvaluationError(RaspError):
    """The reference interpreter met a case RASP leaves undefined (e.g. averaging strings)."""


class RaspInputError(RaspError):
    """An input the program or model cannot take (unknown token, too long, empty)."""


class RaspCompileError(RaspError):
    """A program the compiler refuses to compile, with the reason."""


class RaspModelError(RaspError):
    """A model file that is not a usable rasp-ir model, or a runtime that cannot run it."""


class RaspCompileWarning(UserWarning):
    """The compiled model may disagree with the interpreter on some inputs (the
    message says where and why); compilation goes on. `rasp verify` finds such inputs."""
