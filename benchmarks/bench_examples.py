"""Benchmark every example program: compile time, model size, onnxruntime speed.

    python benchmarks/bench_examples.py [--lengths 10,64,256] [--only reverse,sort] [--repeat 20]
                                        [--fresh-runs 3] [--no-before-after]

Prints two tables per max_seq_len.

The first: compile time in-process (warm: xDSL is loaded by a compile before the first
timed one) and from a fresh process (`rasp compile examples/X.py --max-seq-len N -o ...`
run as a subprocess, wall time, median of --fresh-runs runs: Python start-up, imports,
compiling, building the onnxruntime session and writing the file), layers, heads,
residual width, parameters, ONNX bytes, onnxruntime latency at batch 1 and 64, and
throughput (sequences per second) at batch 256 on full-length random inputs.

The second: the model without the optimizing passes and with the default pipeline
(`before → after`): layers, heads, residual width, MLP hidden units per layer, parameters,
ONNX bytes. "Before" is `DEFAULT_PIPELINE` without its last two passes,
`transformer-combine-layers` (parallel heads and MLPs into one layer) and
`transformer-drop-unread-dims` (residual dimensions, MLP units and value features that
nothing reads). The third optimization, MLP fusion inside `rasp-allocate-layers`, has no
switch: its only option, `max_hidden`, caps the size of a fused MLP (a fusion past it is
split) and cannot turn fusion off, so both columns are fused.

A program the compiler refuses at a length is listed with the reason (first line).
Compiler warnings (RaspCompileWarning) are not printed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import onnxruntime

import rasp_ir
from rasp_ir.passes import DEFAULT_PIPELINE

HINT = re.compile(r"(\.|;|,)? \(?(raise|lower|Raise|Lower) ")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROGRAMS = [
    "length", "histogram", "reverse", "sort_unique", "sort", "most_frequent", "frac_prevs", "dyck1", "dyck2",
    "pair_balance", "detect_pattern", "sum_diff",
]
OPTIMIZING = ("transformer-combine-layers", "transformer-drop-unread-dims")
UNOPTIMIZED_PIPELINE = ",".join(p for p in DEFAULT_PIPELINE.split(",") if p not in OPTIMIZING)


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls after one warm-up."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def rasp_command() -> list[str]:
    """The `rasp` CLI of this interpreter's environment."""
    beside = Path(sys.executable).with_name("rasp")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("rasp")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from rasp_ir.tools.rasp_cli import main; sys.exit(main())"]


def fresh_compile_s(name: str, max_seq_len: int, runs: int) -> float | None:
    """Median wall seconds of `rasp compile examples/NAME.py` in a new process; None if refused."""
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [*rasp_command(), "compile", str(EXAMPLES / f"{name}.py"), "--max-seq-len", str(max_seq_len),
               "-q", "-o", str(Path(tmp) / f"{name}.onnx")]
        for _ in range(runs):
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            samples.append(time.perf_counter() - t0)
            if done.returncode != 0:
                return None
    return statistics.median(samples)


def reason(err: Exception, limit: int = 220) -> str:
    """The first line of a refusal, without its advice (raise a cap, lower max_seq_len ...)."""
    line = str(err).splitlines()[0]
    line = HINT.split(line, maxsplit=1)[0].rstrip(" .;,")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def size(model) -> dict:
    summary = model.summary()
    return {
        "layers": summary.layers,
        "heads": sum(summary.heads_per_layer),
        "width": summary.residual_width,
        "mlp": "/".join(str(h) if h else "-" for h in summary.mlp_hidden_per_layer),
        "params": summary.params,
        "bytes": model.onnx.ByteSize(),
    }


def compile_sized(program, vocab, max_seq_len: int, pipeline: str) -> dict:
    try:
        model = rasp_ir.compile(program, vocab=vocab, max_seq_len=max_seq_len, pipeline=pipeline, provider="cpu")
    except rasp_ir.RaspError as err:
        return {"refused": reason(err)}
    return size(model)


def bench(name: str, max_seq_len: int, repeat: int, fresh_runs: int, before_after: bool) -> dict:
    module = importlib.import_module(name)
    program = rasp_ir.Program.from_dsl(module.program, name=name)
    vocab = list(module.VOCAB)
    t0 = time.perf_counter()
    try:
        model = rasp_ir.compile(program, vocab=vocab, max_seq_len=max_seq_len, provider="cpu")
    except rasp_ir.RaspError as err:
        result = {"name": name, "refused": reason(err)}
        if before_after:
            result["before"] = compile_sized(program, vocab, max_seq_len, UNOPTIMIZED_PIPELINE)
        return result
    compile_s = time.perf_counter() - t0
    rng = random.Random(0)

    def batch(n: int) -> list[list]:
        return [[rng.choice(vocab) for _ in range(max_seq_len)] for _ in range(n)]

    b1, b64, b256 = batch(1), batch(64), batch(256)
    result = {
        "name": name,
        "compile_ms": compile_s * 1e3,
        **size(model),
        "lat1_ms": timed(lambda: model.run(b1), repeat) * 1e3,
        "lat64_ms": timed(lambda: model.run(b64, batch_size=64), repeat) * 1e3,
        "tput256": 256 / timed(lambda: model.run(b256, batch_size=256), max(3, repeat // 4)),
    }
    if fresh_runs:
        fresh = fresh_compile_s(name, max_seq_len, fresh_runs)
        result["fresh_ms"] = None if fresh is None else fresh * 1e3
    if before_after:
        result["before"] = compile_sized(program, vocab, max_seq_len, UNOPTIMIZED_PIPELINE)
    return result


def arrow(before, after, fmt: str = "{}") -> str:
    b, a = fmt.format(before), fmt.format(after)
    return a if b == a else f"{b} → {a}"


def before_after_row(r: dict) -> str:
    before = r["before"]
    if "refused" in r and "refused" in before:
        return f"| {r['name']} | refused: {r['refused']} ||||||"
    if "refused" in before:
        return f"| {r['name']} | before refused: {before['refused']} ||||||"
    if "refused" in r:
        return f"| {r['name']} | after refused: {r['refused']} ||||||"
    return (f"| {r['name']} | {arrow(before['layers'], r['layers'])} | {arrow(before['heads'], r['heads'])} | "
            f"{arrow(before['width'], r['width'])} | {arrow(before['mlp'], r['mlp'])} | "
            f"{arrow(before['params'], r['params'], '{:,}')} | {arrow(before['bytes'], r['bytes'], '{:,}')} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="10,64,256")
    ap.add_argument("--only", default="")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--fresh-runs", type=int, default=3, help="fresh-process compiles per program (0: none)")
    ap.add_argument("--no-before-after", action="store_true", help="skip the unoptimized compile and its table")
    args = ap.parse_args()
    sys.path.insert(0, str(EXAMPLES))
    warnings.filterwarnings("ignore", category=rasp_ir.RaspCompileWarning)
    names = args.only.split(",") if args.only else PROGRAMS
    before_after = not args.no_before_after
    print(f"# rasp-ir {rasp_ir.__version__} examples, {date.today()}, {platform.machine()} "
          f"{platform.processor() or ''}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"onnxruntime {onnxruntime.__version__} (CPU)")
    # Load xDSL and the passes before the first timed compile.
    warm = importlib.import_module("length")
    rasp_ir.compile(rasp_ir.Program.from_dsl(warm.program), vocab=list(warm.VOCAB), max_seq_len=4, provider="cpu")
    for n in (int(x) for x in args.lengths.split(",")):
        results = []
        print(f"\n## max_seq_len {n}\n")
        print("| program | compile ms | fresh-process ms | layers | heads | width | params | ONNX bytes "
              "| batch 1 ms | batch 64 ms | seq/s at 256 |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in names:
            r = bench(name, n, args.repeat, args.fresh_runs, before_after)
            results.append(r)
            if "refused" in r:
                print(f"| {name} | refused: {r['refused']} ||||||||||")
            else:
                fresh = r.get("fresh_ms")
                fresh_cell = "-" if fresh is None else f"{fresh:.0f}"
                print(f"| {name} | {r['compile_ms']:.0f} | {fresh_cell} | {r['layers']} | {r['heads']} | {r['width']} | "
                      f"{r['params']:,} | {r['bytes']:,} | {r['lat1_ms']:.3f} | {r['lat64_ms']:.2f} | {r['tput256']:,.0f} |")
            sys.stdout.flush()
        if before_after:
            print(f"\n### max_seq_len {n}: without → with transformer-combine-layers and transformer-drop-unread-dims\n")
            print("| program | layers | heads | width | MLP hidden per layer | params | ONNX bytes |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for r in results:
                print(before_after_row(r))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
