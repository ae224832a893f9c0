"""The `.rasp` language as an xDSL frontend, so `rasp-opt` reads `.rasp` files.

    rasp-opt prog.rasp -f 'rasp{vocab="a,b,c" max_seq_len=8 output="reverse"}' -p ...

Building `rasp` IR needs the vocabulary and max_seq_len (tables are written over value
sets), so they are frontend options; `output` names the s-op (default: the last one
assigned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.frontend import Frontend

from rasp_ir.errors import RaspCompileError


def parse_vocab(text: str) -> list:
    """Comma-separated tokens; ints when every token is one."""
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    try:
        return [int(t) for t in tokens]
    except ValueError:
        return tokens


@dataclass(frozen=True)
class RaspFrontend(Frontend):
    """Reads the paper's RASP language (see `rasp_ir.frontend.rasp_parser`)."""

    name = "rasp"

    vocab: str = ""
    """The tokens, comma-separated (ints when all are ints)."""

    max_seq_len: int = 0
    """The longest input the program will see."""

    output: str = ""
    """The s-op the program computes (default: the last one assigned)."""

    def parse(self, ctx: Context, input: IO[bytes], input_name: str) -> ModuleOp:
        from rasp_ir.frontend.rasp_parser import parse_rasp

        vocab = parse_vocab(self.vocab)
        if not vocab or self.max_seq_len < 1:
            raise RaspCompileError(
                f"{input_name}: reading .rasp needs the vocabulary and max_seq_len, e.g. "
                "-f 'rasp{vocab=\"a,b,c\" max_seq_len=8}'"
            )
        text = input.read().decode("utf-8")
        program = parse_rasp(text, output=self.output or None, filename=input_name)
        return program.to_module(vocab=vocab, max_seq_len=self.max_seq_len)
