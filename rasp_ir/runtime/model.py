"""A compiled model: an ONNX graph plus the metadata to encode inputs and decode outputs.

    model = load_model("reverse.onnx")             # provider "auto" | "cpu" | "cuda"
    model.run([["a", "b", "c"], ["b"]])            # -> [["c", "b", "a"], ["b"]]
    model.summary()                                # layers, heads, MLP widths, params
    model.save("copy.onnx")

A model with run-time guards (metadata `rasp_ir.guards`, graph output `guard`) refuses,
with `InputRefused` (a `RaspInputError`), an input on which one of its categorical
aggregates would average different values (see `rasp_ir.runtime.guards`).

Running needs only onnx, onnxruntime, numpy and the metadata stored in the model; the
compiler (xDSL) is imported only by `CompiledModel.from_transformer`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from rasp_ir.analysis.model_summary import ModelSummary
from rasp_ir.errors import RaspInputError, RaspModelError
from rasp_ir.runtime.codec import CATEGORICAL, NUMERICAL, Codec
from rasp_ir.runtime.metadata import (
    FORMAT_MARKER,
    META_BOS,
    META_COMPILER_VERSION,
    META_ENCODING,
    META_FORMAT,
    META_FORMAT_VERSION,
    META_GUARDS,
    META_MAX_SEQ_LEN,
    META_NAME,
    META_OUTPUT_ROUNDS,
    META_OUTPUT_VALUES,
    META_SOURCE,
    META_SUMMARY,
    META_TOLERANCE,
    META_VOCAB,
    SUPPORTED_FORMAT_VERSIONS,
)
from rasp_ir.runtime.guards import InputRefused, find_refusal
from rasp_ir.runtime.providers import check_provider_request, session_providers

if TYPE_CHECKING:
    from xdsl.ir import Operation



def _metadata(model: onnx.ModelProto, where: str) -> dict[str, str]:
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get(META_FORMAT) != FORMAT_MARKER:
        raise RaspModelError(
            f"{where} is an ONNX model but not a rasp-ir model (its metadata has no "
            f"'{META_FORMAT}: {FORMAT_MARKER}' marker); compile a RASP program with rasp-ir to get one"
        )
    version = meta.get(META_FORMAT_VERSION, "1")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise RaspModelError(
            f"{where} uses rasp-ir model format {version}, which this rasp-ir cannot read "
            f"(it reads {', '.join(SUPPORTED_FORMAT_VERSIONS)}); upgrade rasp-ir"
        )
    return meta


def _field(meta: dict[str, str], key: str, where: str, parse=json.loads) -> Any:
    if key not in meta:
        raise RaspModelError(f"{where}: the rasp-ir metadata lacks '{key}'; the model file is damaged")
    try:
        return parse(meta[key])
    except (ValueError, TypeError) as e:
        raise RaspModelError(f"{where}: the metadata entry '{key}' is malformed ({e}); the model file is damaged") from None


class CompiledModel:
    """An ONNX model compiled by rasp-ir, ready to run with onnxruntime."""

    def __init__(
        self,
        onnx_model: onnx.ModelProto,
        *,
        transformer: Operation | None = None,
        provider: str = "auto",
        threads: int | None = None,
        where: str = "the model",
    ):
        check_provider_request(provider)
        self._onnx = onnx_model
        self._transformer = transformer
        self._provider_request = provider
        self._threads = threads
        self._session = None
        self._provider: str | None = None
        meta = _metadata(onnx_model, where)
        self.metadata: dict[str, str] = meta
        self.name: str = meta.get(META_NAME, onnx_model.graph.name)
        encoding = meta.get(META_ENCODING, CATEGORICAL)
        if encoding not in (CATEGORICAL, NUMERICAL):
            raise RaspModelError(f"{where}: unknown output encoding '{encoding}' in the metadata")
        vocab = _field(meta, META_VOCAB, where)
        values = _field(meta, META_OUTPUT_VALUES, where)
        if not isinstance(vocab, list) or (encoding == CATEGORICAL and not isinstance(values, list)):
            raise RaspModelError(f"{where}: the vocabulary or output table in the metadata is not a list")
        self.codec = Codec(
            vocab=tuple(vocab),
            bos=_field(meta, META_BOS, where),
            max_seq_len=_field(meta, META_MAX_SEQ_LEN, where, int),
            encoding=encoding,
            values=tuple(values) if values is not None else None,
            rounds=META_OUTPUT_ROUNDS in meta and _field(meta, META_OUTPUT_ROUNDS, where) is True,
        )
        if self.codec.max_seq_len < 1:
            raise RaspModelError(
                f"{where}: the metadata entry '{META_MAX_SEQ_LEN}' is {self.codec.max_seq_len}; a model takes "
                "at least one token, so the model file is damaged"
            )
        self._check_output_table(onnx_model, where)
        self.guards: list[str] = self._read_guards(meta, onnx_model, where)
        self.tolerance: float = _field(meta, META_TOLERANCE, where, float) if META_TOLERANCE in meta else 1e-3
        self.source: str | None = meta.get(META_SOURCE)
        self.compiler_version: str | None = meta.get(META_COMPILER_VERSION)

    def _check_output_table(self, onnx_model: onnx.ModelProto, where: str) -> None:
        """A categorical model's value table must name every output index the graph can give."""
        if self.codec.encoding != CATEGORICAL:
            return
        for output in onnx_model.graph.output:
            if output.name != "scores":
                continue
            dims = output.type.tensor_type.shape.dim
            if dims and dims[-1].HasField("dim_value") and dims[-1].dim_value != len(self.codec.values or ()):
                raise RaspModelError(
                    f"{where}: the metadata entry '{META_OUTPUT_VALUES}' lists {len(self.codec.values or ())} "
                    f"values but the model scores {dims[-1].dim_value}; the model file is damaged"
                )

    @staticmethod
    def _read_guards(meta: dict[str, str], onnx_model: onnx.ModelProto, where: str) -> list[str]:
        """The labels of the run-time guards (none for a model without `rasp_ir.guards`)."""
        if META_GUARDS not in meta:
            return []
        data = _field(meta, META_GUARDS, where)
        if not isinstance(data, list) or not all(
            isinstance(g, dict) and isinstance(g.get("aggregate"), str) for g in data
        ):
            raise RaspModelError(f"{where}: the metadata entry '{META_GUARDS}' is malformed; the model file is damaged")
        outputs = {o.name: o for o in onnx_model.graph.output}
        if data and "guard" not in outputs:
            raise RaspModelError(
                f"{where}: the metadata lists {len(data)} run-time guards but the graph has no 'guard' output; "
                "the model file is damaged"
            )
        if data:
            dims = outputs["guard"].type.tensor_type.shape.dim
            if dims and dims[-1].HasField("dim_value") and dims[-1].dim_value != len(data):
                raise RaspModelError(
                    f"{where}: the metadata lists {len(data)} run-time guards but the graph's 'guard' output "
                    f"has {dims[-1].dim_value}; the model file is damaged"
                )
        return [g["aggregate"] for g in data]

    # -- construction ---------------------------------------------------------- #

    @staticmethod
    def from_transformer(
        module_or_model: Operation,
        source: str | None = None,
        *,
        compiler_version: str | None = None,
        provider: str = "auto",
        threads: int | None = None,
    ) -> CompiledModel:
        """Export a `transformer.model` (or the module holding it) to ONNX and wrap it;
        the IR is kept for `summary()`."""
        from rasp_ir.backend.onnx import default_compiler_version, to_onnx
        from rasp_ir.dialects.transformer import find_model

        model_op = find_model(module_or_model)
        proto = to_onnx(model_op, source=source, compiler_version=compiler_version or default_compiler_version())
        return CompiledModel(proto, transformer=model_op, provider=provider, threads=threads)

    # -- properties ------------------------------------------------------------ #

    @property
    def onnx(self) -> onnx.ModelProto:
        return self._onnx

    @property
    def transformer(self) -> Operation | None:
        """The `transformer.model` op this model was exported from, when at hand."""
        return self._transformer

    @property
    def vocab(self) -> tuple[Any, ...]:
        return self.codec.vocab

    @property
    def bos(self) -> Any:
        return self.codec.bos

    @property
    def max_seq_len(self) -> int:
        return self.codec.max_seq_len

    @property
    def encoding(self) -> str:
        return self.codec.encoding

    @property
    def output_values(self) -> tuple[Any, ...] | None:
        return self.codec.values

    @property
    def provider(self) -> str:
        """The execution provider the session runs on (e.g. 'CPUExecutionProvider');
        creates the session if needed."""
        self._get_session()
        assert self._provider is not None
        return self._provider

    # -- running --------------------------------------------------------------- #

    def _get_session(self):
        if self._session is None:
            import onnxruntime as ort

            providers = session_providers(self._provider_request)
            options = ort.SessionOptions()
            if self._threads is not None:
                options.intra_op_num_threads = int(self._threads)
                options.inter_op_num_threads = 1
            options.log_severity_level = 3
            try:
                session = ort.InferenceSession(self._onnx.SerializeToString(), options, providers=providers)
            except Exception as e:  # onnxruntime raises its own exception types
                raise RaspModelError(f"onnxruntime cannot load the model: {e}") from e
            got = session.get_providers()[0]
            if self._provider_request == "cuda" and got != "CUDAExecutionProvider":
                raise RaspModelError(
                    "the CUDA execution provider is installed but did not start (onnxruntime fell back to "
                    f"{got}); check that the CUDA and cuDNN libraries onnxruntime-gpu needs are installed, "
                    "or use provider='cpu'"
                )
            self._session = session
            self._provider = got
        return self._session

    def run_ids(self, tokens: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the graph on encoded input: `tokens` int64 `[B, S]` ids WITHOUT BOS, `mask`
        `[B, S]`. Returns `(output [B, S], scores [B, S, k])`; raises `InputRefused` (row b is
        input b) where a run-time guard refuses an input."""
        session = self._get_session()
        mask = np.asarray(mask, dtype=np.int64)
        names = ["output", "scores"] + (["guard"] if self.guards else [])
        results = session.run(names, {"tokens": np.asarray(tokens, dtype=np.int64), "mask": mask})
        if self.guards:
            refusal = find_refusal(results[2], mask, self.guards, self.codec.max_seq_len)
            if refusal is not None:
                raise refusal
        return results[0], results[1]

    def run(self, batch: Sequence[Sequence[Any]], batch_size: int = 256) -> list[list[Any]]:
        """Token lists (without BOS, mixed lengths) -> one list of output values each.

        Sequences are grouped by length into batches of at most `batch_size`, so that little
        padding is run; the results come back in the order given. Raises `InputRefused` (a
        `RaspInputError`) naming the first input a run-time guard refuses (by its index in
        `batch`): there the program averages different values where the model copies one."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise RaspInputError(f"batch_size must be an integer >= 1, not {batch_size!r}")
        seqs = self.codec.check_batch(batch)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        results: list[list[Any] | None] = [None] * len(seqs)
        refused: list[tuple[int, int, str, float]] = []  # (index in batch, position, aggregate, share)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            group = [seqs[i] for i in chunk]
            tokens, mask, lengths = self.codec.encode(group, bos=False)
            try:
                output, _ = self.run_ids(tokens, mask)
            except InputRefused as refusal:  # rows of this chunk -> indices in `batch`
                refused += [(chunk[row], *rest) for row, *rest in refusal.cases]
                continue
            decoded = self.codec.decode(output, lengths)
            for i, out in zip(chunk, decoded):
                results[i] = out
        if refused:
            refused.sort(key=lambda case: case[0])
            raise InputRefused(*refused[0], cases=refused)
        return results  # type: ignore[return-value]

    def __call__(self, batch: Sequence[Sequence[Any]], batch_size: int = 256) -> list[list[Any]]:
        return self.run(batch, batch_size)

    # -- saving and reporting -------------------------------------------------- #

    def save(self, path: str | os.PathLike[str], *, external_data: bool = False) -> None:
        """Write the model (atomically); `external_data` puts the weights in `<path>.data`."""
        from rasp_ir.runtime.files import save_onnx

        save_onnx(self._onnx, path, external_data=external_data)

    def summary(self) -> ModelSummary:
        """Layers, heads per layer, MLP widths, residual width, parameter count."""
        if self._transformer is not None:
            from rasp_ir.analysis.model_summary import summarize

            return summarize(self._transformer)
        data = _field(self.metadata, META_SUMMARY, "the model")
        if not isinstance(data, dict):
            raise RaspModelError(f"the model: the metadata entry '{META_SUMMARY}' is malformed")
        return ModelSummary.from_dict(data)

    def __repr__(self) -> str:
        return (
            f"CompiledModel(@{self.name}, vocab={len(self.vocab)} tokens, max_seq_len={self.max_seq_len}, "
            f"{self.encoding} output)"
        )


def load_model(path: str | os.PathLike[str], provider: str = "auto", threads: int | None = None) -> CompiledModel:
    """Load a model saved by rasp-ir (`CompiledModel.save`, `rasp-opt -t onnx{file=...}`)."""
    from rasp_ir.runtime.files import load_onnx

    check_provider_request(provider)
    proto = load_onnx(path)
    return CompiledModel(proto, provider=provider, threads=threads, where=f"'{path}'")


__all__ = ["CompiledModel", "load_model"]
