"""PNG figures of a compiled model (`rasp inspect --plot DIR`).

    from rasp_ir.analysis.plots import write_plots
    paths = write_plots(model_op, "figs", tokens=["a", "b", "c"])

For every head: its attention pattern on the example input (`..._attention.png`), its
query-key matrix `scale * w_q @ w_k^T` over the dimensions it reads
(`..._qk.png`, rows = query dims, columns = key dims, labelled with the layout) and its
output-value matrix `w_v @ w_o` (`..._ov.png`, rows = value dims read, columns = dims
written). For every MLP: its lookup tables, input value -> output value as the weights
compute them (`layer{i}_mlp.png`, see `rasp_ir.analysis.inspect.mlp_tables`). And the
residual stream after the embedding and after every layer (`residual.png`).

matplotlib is an optional dependency (`pip install 'rasp-ir[plot]'`); it is imported only
here, only when plotting, with the non-interactive Agg backend. Every file is written to a
temporary name in DIR and renamed, so a PNG is whole or absent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rasp_ir.analysis.inspect import Layout, MLPTable, mlp_tables, nonzero_cols, nonzero_rows
from rasp_ir.errors import RaspError

if TYPE_CHECKING:
    from rasp_ir.dialects.transformer import ModelOp

MAX_ANNOTATED_CELLS = 400
"""Heatmaps with more cells than this are not annotated with their numbers."""

MAX_INCHES = 60.0
DPI = 100


class PlottingUnavailable(RaspError):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlottingUnavailable(
            "plotting needs matplotlib, which is not installed: pip install 'rasp-ir[plot]'"
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def require_matplotlib() -> None:
    """Raise PlottingUnavailable (a RaspError) now when matplotlib is missing."""
    _pyplot()


def _size(width: float, height: float) -> tuple[float, float]:
    return (min(max(width, 3.0), MAX_INCHES), min(max(height, 2.0), MAX_INCHES))


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """Write `fig` to `path` atomically (a temporary file in the same folder, then renamed)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


def _heatmap(ax: Any, data: np.ndarray, rows: Sequence[str], cols: Sequence[str], *, cmap: str = "RdBu_r",
             symmetric: bool = True, annotate: bool | None = None, fmt: str = "{:.2g}") -> Any:
    data = np.asarray(data, dtype=np.float64)
    if symmetric:
        lim = float(np.abs(data).max()) if data.size else 1.0
        lim = lim or 1.0
        im = ax.imshow(data, cmap=cmap, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    else:
        im = ax.imshow(data, cmap=cmap, aspect="auto", interpolation="nearest")
    small = max(5.0, 10.0 - 0.05 * max(len(rows), len(cols)))
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=90, fontsize=small)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=small)
    if annotate is None:
        annotate = data.size <= MAX_ANNOTATED_CELLS
    if annotate:
        lim = float(np.abs(data).max()) or 1.0
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                v = data[i, j]
                if abs(v) < 1e-6:
                    continue
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=small - 1,
                        color="white" if abs(v) > 0.6 * lim else "black")
    return im


def _position_labels(tokens: Sequence[Any], bos: Any) -> list[str]:
    return [f"0:{bos}"] + [f"{i + 1}:{t}" for i, t in enumerate(tokens)]


def _title(kind: str, block: int, label: str, head: int | None = None) -> str:
    where = f"layer {block}" + (f" head {head}" if head is not None else " MLP")
    return f"{where}: {kind}" + (f"\n{label}" if label else "")


def _plot_table(plt: Any, table: MLPTable, ax: Any) -> None:
    """One MLP table: a grid for one or two inputs, a text list otherwise."""
    outs = [" / ".join(o) for _, o in table.rows]
    distinct = sorted(set(outs), key=lambda s: (len(s), s))
    code = {s: i for i, s in enumerate(distinct)}
    head = ", ".join(table.outputs) or "(nothing)"
    note = "" if table.exhaustive else " (values seen on sample inputs)"
    if len(table.inputs) == 1:
        xs = [r[0][0] for r in table.rows]
        grid = np.array([[code[o] for o in outs]], dtype=float)
        ax.imshow(grid, cmap="tab20", aspect="auto", vmin=0, vmax=max(19, len(distinct)))
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels(xs, rotation=90 if len(xs) > 12 else 0, fontsize=8)
        ax.set_yticks([0])
        ax.set_yticklabels([head], fontsize=8)
        ax.set_xlabel(table.inputs[0])
        if len(xs) <= 60:
            for j, o in enumerate(outs):
                ax.text(j, 0, o, ha="center", va="center", fontsize=7, rotation=90 if len(o) > 3 else 0)
    elif len(table.inputs) == 2:
        xs = sorted({r[0][0] for r in table.rows}, key=lambda v: [r[0][0] for r in table.rows].index(v))
        ys = sorted({r[0][1] for r in table.rows}, key=lambda v: [r[0][1] for r in table.rows].index(v))
        grid = np.full((len(ys), len(xs)), np.nan)
        text: dict[tuple[int, int], str] = {}
        for (inp, _), o in zip(table.rows, outs):
            i, j = ys.index(inp[1]), xs.index(inp[0])
            grid[i, j] = code[o]
            text[(i, j)] = o
        ax.imshow(grid, cmap="tab20", aspect="auto", vmin=0, vmax=max(19, len(distinct)))
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels(xs, rotation=90 if len(xs) > 12 else 0, fontsize=8)
        ax.set_yticks(range(len(ys)))
        ax.set_yticklabels(ys, fontsize=8)
        ax.set_xlabel(table.inputs[0])
        ax.set_ylabel(table.inputs[1])
        if grid.size <= MAX_ANNOTATED_CELLS:
            for (i, j), o in text.items():
                ax.text(j, i, o, ha="center", va="center", fontsize=7)
        head = f"cells: {head}"
    else:
        ax.axis("off")
        shown = table.rows[:40]
        lines = [f"{', '.join(table.inputs) or '(no input)'}  ->  {head}"]
        lines += [f"{', '.join(i) or '-'}  ->  {' / '.join(o)}" for i, o in shown]
        if len(table.rows) > len(shown):
            lines.append(f"... ({len(table.rows)} rows in all)")
        ax.text(0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8)
    ax.set_title(f"{', '.join(table.inputs) or '(constant)'} -> {head}{note}", fontsize=9)


def write_plots(
    model: ModelOp,
    out_dir: str | os.PathLike[str],
    tokens: Sequence[Any] | None = None,
) -> list[Path]:
    """Write the figures described in the module docstring; returns their paths."""
    from rasp_ir.analysis.inspect import example_input
    from rasp_ir.dialects.transformer import find_model
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor

    plt = _pyplot()
    model = find_model(model)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RaspError(f"cannot create the plot folder '{out}': {e.strerror or e}") from None
    if not out.is_dir():
        raise RaspError(f"'{out}' is not a folder")
    executor = TransformerExecutor(model)
    tokens = list(tokens) if tokens is not None else example_input(model.vocabulary, model.seq_len)
    executor.codec.check_batch([tokens])  # a clear error for a bad --input
    ids, mask = executor.encode([tokens])
    patterns = executor.attention([tokens])
    residuals = executor.residuals_ids(ids, mask)
    layout = Layout(model.layout_labels)
    labels = layout.labels
    positions = _position_labels(tokens, model.bos_value)
    written: list[Path] = []

    attention_index = 0
    for b, (attention, _) in enumerate(model.blocks()):
        if attention is None:
            continue
        pattern = patterns[attention_index][0]  # [heads, S, S]
        attention_index += 1
        for j, h in enumerate(attention.heads):
            label = h.label_text or ""
            n = len(positions)
            fig, ax = plt.subplots(figsize=_size(1.0 + 0.45 * n, 0.8 + 0.45 * n))
            im = _heatmap(ax, pattern[j], positions, positions, cmap="Blues", symmetric=False, fmt="{:.2f}")
            ax.set_xlabel("key position")
            ax.set_ylabel("query position")
            ax.set_title(_title("attention pattern", b, label, j), fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            written.append(_save(plt, fig, out / f"layer{b}_head{j}_attention.png"))

            qrows, krows = nonzero_rows(h.w_q_array), nonzero_rows(h.w_k_array)
            qk = h.scale_value * (h.w_q_array.astype(np.float64) @ h.w_k_array.astype(np.float64).T)
            qrows = qrows or [0]
            krows = krows or [0]
            sub = qk[np.ix_(qrows, krows)]
            fig, ax = plt.subplots(figsize=_size(1.5 + 0.35 * len(krows), 1.2 + 0.3 * len(qrows)))
            im = _heatmap(ax, sub, [labels[i] for i in qrows], [labels[i] for i in krows])
            ax.set_xlabel("key dimension")
            ax.set_ylabel("query dimension")
            ax.set_title(_title("query-key scores (scale * w_q w_k^T)", b, label, j), fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            written.append(_save(plt, fig, out / f"layer{b}_head{j}_qk.png"))

            vrows, ocols = nonzero_rows(h.w_v_array) or [0], nonzero_cols(h.w_o_array) or [0]
            ov = h.w_v_array.astype(np.float64) @ h.w_o_array.astype(np.float64)
            sub = ov[np.ix_(vrows, ocols)]
            fig, ax = plt.subplots(figsize=_size(1.5 + 0.35 * len(ocols), 1.2 + 0.3 * len(vrows)))
            im = _heatmap(ax, sub, [labels[i] for i in vrows], [labels[i] for i in ocols])
            ax.set_xlabel("dimension written")
            ax.set_ylabel("value dimension read")
            ax.set_title(_title("output-value matrix (w_v w_o)", b, label, j), fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            written.append(_save(plt, fig, out / f"layer{b}_head{j}_ov.png"))

    samples = None
    tables = mlp_tables(model, executor, samples)
    by_block: dict[int, list[MLPTable]] = {}
    for t in tables:
        by_block.setdefault(t.block, []).append(t)
    for b, ts in by_block.items():
        heights = []
        for t in ts:
            if len(t.inputs) == 2:
                heights.append(1.5 + 0.3 * len({r[0][1] for r in t.rows}))
            elif len(t.inputs) == 1:
                heights.append(1.6)
            else:
                heights.append(0.8 + 0.14 * min(len(t.rows) + 2, 43))
        width = max(
            2.0 + 0.35 * (len({r[0][0] for r in t.rows}) if t.inputs and len(t.inputs) <= 2 else 20) for t in ts
        )
        fig, axes = plt.subplots(len(ts), 1, figsize=_size(width, sum(heights) + 0.6 * len(ts)),
                                 gridspec_kw={"height_ratios": heights}, squeeze=False)
        for t, ax in zip(ts, axes[:, 0]):
            _plot_table(plt, t, ax)
        label = ts[0].label
        fig.suptitle(_title("lookup table (input -> output as the weights compute it)", b, label), fontsize=9)
        written.append(_save(plt, fig, out / f"layer{b}_mlp.png"))

    names = ["embed"] + [
        f"after layer {i} {'attention' if type(layer).__name__ == 'AttentionOp' else 'MLP'}"
        for i, layer in _block_of_layers(model)
    ]
    d = len(labels)
    n = len(positions)
    each = 0.9 + 0.22 * n
    fig, axes = plt.subplots(len(residuals), 1, figsize=_size(2.0 + 0.16 * d, each * len(residuals)), squeeze=False)
    for k, (x, ax) in enumerate(zip(residuals, axes[:, 0])):
        _heatmap(ax, x[0], positions, labels if k == len(residuals) - 1 else [""] * d, annotate=False)
        ax.set_title(names[k] if k < len(names) else f"stage {k}", fontsize=8, loc="left")
        if k != len(residuals) - 1:
            ax.tick_params(axis="x", length=0)
    fig.suptitle(f"residual stream of @{model.model_name} on {tokens}", fontsize=9)
    written.append(_save(plt, fig, out / "residual.png"))
    return written


def _block_of_layers(model: ModelOp) -> list[tuple[int, Any]]:
    """Each layer (attention or MLP) with the index of its block, in order."""
    out: list[tuple[int, Any]] = []
    for b, (attention, mlp) in enumerate(model.blocks()):
        if attention is not None:
            out.append((b, attention))
        if mlp is not None:
            out.append((b, mlp))
    return out


__all__ = ["PlottingUnavailable", "require_matplotlib", "write_plots"]
