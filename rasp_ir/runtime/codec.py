"""Encoding inputs and decoding outputs of a compiled model (numpy only, no xDSL).

Ids 0..V-1 are the vocabulary in order and id V is BOS. A batch of token lists of
mixed lengths becomes an id matrix padded on the right plus a mask (1 = real, 0 =
padding). Both the numpy executor and the onnxruntime runtime use this module, so
they encode and decode in exactly the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rasp_ir.errors import RaspInputError

CATEGORICAL = "categorical"
NUMERICAL = "numerical"

# How many vocabulary entries an error message shows before eliding the rest.
_SHOWN_VOCAB = 40


def _key(value: Any) -> tuple[str, Any]:
    """Keeps True, 1 and 1.0 apart (Python's == does not)."""
    return (type(value).__name__, value)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so np.int64(3) is the token 3."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def show_vocab(vocab: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in vocab[:_SHOWN_VOCAB])
    if len(vocab) > _SHOWN_VOCAB:
        shown += f", ... ({len(vocab)} tokens in all)"
    return f"[{shown}]"


@dataclass
class Codec:
    """The input/output conventions of one model."""

    vocab: tuple[Any, ...]
    bos: Any
    max_seq_len: int
    encoding: str = CATEGORICAL
    values: tuple[Any, ...] | None = None
    rounds: bool = False
    """A numerical output of ints (already rounded by the model): decoded as ints."""
    _ids: dict[tuple[str, Any], int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.vocab = tuple(self.vocab)
        self._ids = {_key(v): i for i, v in enumerate(self.vocab)}
        # A token given as an int where the vocabulary holds floats (or the reverse) still
        # matches by value; bools never match numbers.
        for i, v in enumerate(self.vocab):
            if isinstance(v, float) and v.is_integer():
                self._ids.setdefault(("int", int(v)), i)
            elif isinstance(v, int) and not isinstance(v, bool):
                self._ids.setdefault(("float", float(v)), i)

    @property
    def bos_id(self) -> int:
        return len(self.vocab)

    def token_id(self, token: Any, where: str = "") -> int:
        token = _plain(token)
        try:
            return self._ids[_key(token)]
        except (KeyError, TypeError):
            raise RaspInputError(
                f"token {token!r}{where} is not in the model's vocabulary {show_vocab(self.vocab)}"
            ) from None

    def check_batch(self, batch: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """The batch as lists of tokens, with the errors a user can cause reported plainly."""
        if isinstance(batch, str | bytes):
            raise RaspInputError(
                f"expected a batch (a list of token lists), got the string {batch!r}; "
                f"to run one sequence, pass [tokens]"
            )
        try:
            seqs = list(batch)
        except TypeError:
            raise RaspInputError(f"expected a batch (a list of token lists), got {type(batch).__name__}") from None
        if not seqs:
            raise RaspInputError("the batch is empty: give at least one sequence of tokens")
        out: list[list[Any]] = []
        for i, seq in enumerate(seqs):
            if isinstance(seq, str | bytes):
                raise RaspInputError(
                    f"sequence {i} is the string {seq!r}, not a list of tokens; "
                    f"pass list({seq!r}) to use its characters as tokens"
                )
            try:
                tokens = list(seq)
            except TypeError:
                raise RaspInputError(
                    f"sequence {i} is {seq!r}, not a list of tokens (the batch is a list of token lists)"
                ) from None
            if not tokens:
                raise RaspInputError(f"sequence {i} is empty; an input has at least one token")
            if len(tokens) > self.max_seq_len:
                raise RaspInputError(
                    f"sequence {i} has {len(tokens)} tokens, more than the model's max_seq_len {self.max_seq_len}"
                )
            out.append(tokens)
        return out

    def encode(self, batch: Sequence[Sequence[Any]], *, bos: bool) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """`(ids, mask, lengths)`: int64 `[B, S]` arrays, padded on the right, with the BOS
        column first when `bos` is true; `lengths` are the sequences' lengths without BOS."""
        seqs = self.check_batch(batch)
        lengths = [len(s) for s in seqs]
        width = max(lengths) + (1 if bos else 0)
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        offset = 1 if bos else 0
        if bos:
            ids[:, 0] = self.bos_id
            mask[:, 0] = 1
        for i, seq in enumerate(seqs):
            for j, token in enumerate(seq):
                ids[i, offset + j] = self.token_id(token, f" (sequence {i}, position {j})")
            mask[i, offset : offset + len(seq)] = 1
        return ids, mask, lengths

    def decode(self, outputs: np.ndarray, lengths: Sequence[int]) -> list[list[Any]]:
        """Outputs `[B, S]` (BOS already left out) -> one list of values per sequence."""
        result: list[list[Any]] = []
        if self.encoding == NUMERICAL:
            number = (lambda x: int(round(x))) if self.rounds else float
            for row, n in zip(outputs, lengths):
                result.append([number(x) for x in row[:n].tolist()])
        else:
            table = self.values or ()
            for row, n in zip(outputs, lengths):
                result.append([table[int(i)] for i in row[:n].tolist()])
        return result
