"""How model size and compile time grow with max_seq_len and the vocabulary.

    python benchmarks/scaling.py [--programs length,histogram,reverse,sort,most_frequent]
                                 [--lengths 10,64,256] [--vocabs 3,30,100]
                                 [--timeout 60] [--memory-gb 6] [--repeat 5] [--plot FILE.png]

Compiles each example program for every max_seq_len and vocabulary size and prints one
table: layers, heads, residual width, parameters, compile seconds (in the worker process,
after xDSL is loaded) and onnxruntime latency at batch 64 on full-length random inputs
(median of --repeat runs, fewer past 3 s).

The programs are the modules in `examples/`, whose s-ops do not depend on the
vocabulary; a vocabulary of size V is `t0 .. t{V-1}` (frac_prevs: `a, t1 .. t{V-1}`,
since it counts "a"), and `1 .. V` for the programs that sort numbers (sort,
sort_unique). dyck1 and dyck2 have fixed alphabets and are not in the series.

Each configuration runs in its own process (`--worker`), killed after --timeout seconds
and limited to --memory-gb of address space (past it the compiler refuses: out of
memory). A refusal is listed with its reason (its first line, without the advice) and
the series goes on. A configuration that is at least as large, in both max_seq_len and
vocabulary, as one of the same program that timed out or ran out of memory is not tried
("skipped"), since it would take longer still.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import warnings
from datetime import date
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROGRAMS = ["length", "histogram", "reverse", "sort", "most_frequent"]
NUMERIC_VOCAB = {"sort", "sort_unique"}
FIXED_VOCAB = {"dyck1", "dyck2"}
LATENCY_BUDGET_S = 3.0
"""Timed batch-64 runs stop after --repeat runs or this many seconds (at least one run)."""


HINT = re.compile(r"(\.|;|,)? \(?(raise|lower|Raise|Lower) ")


def reason(err: Exception, limit: int = 220) -> str:
    """The first line of a refusal, without its advice (raise a cap, lower max_seq_len ...)."""
    line = str(err).splitlines()[0]
    line = HINT.split(line, maxsplit=1)[0].rstrip(" .;,")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def make_vocab(name: str, size: int) -> list:
    if name in NUMERIC_VOCAB:
        return list(range(1, size + 1))
    vocab = [f"t{i}" for i in range(size)]
    if name == "frac_prevs":
        vocab[0] = "a"
    return vocab


def worker(name: str, max_seq_len: int, vocab_size: int, repeat: int, memory_gb: float) -> dict:
    """Compile and time one configuration (in this process)."""
    if memory_gb > 0:
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path.insert(0, str(EXAMPLES))
    import rasp_ir

    warnings.filterwarnings("ignore", category=rasp_ir.RaspCompileWarning)
    # Load xDSL and the passes before the timed compile.
    warm = importlib.import_module("length")
    rasp_ir.compile(rasp_ir.Program.from_dsl(warm.program), vocab=list(warm.VOCAB), max_seq_len=4, provider="cpu")

    module = importlib.import_module(name)
    program = rasp_ir.Program.from_dsl(module.program, name=name)
    vocab = make_vocab(name, vocab_size)
    t0 = time.perf_counter()
    try:
        model = rasp_ir.compile(program, vocab=vocab, max_seq_len=max_seq_len, provider="cpu")
    except rasp_ir.RaspError as err:
        return {"refused": reason(err), "oom": "out of memory" in str(err), "compile_s": time.perf_counter() - t0}
    except MemoryError:
        return {"refused": f"out of memory (limit {memory_gb:g} GiB)", "oom": True,
                "compile_s": time.perf_counter() - t0}
    compile_s = time.perf_counter() - t0
    summary = model.summary()
    emit({
        "layers": summary.layers,
        "heads": sum(summary.heads_per_layer),
        "width": summary.residual_width,
        "params": summary.params,
        "compile_s": compile_s,
    })
    rng = random.Random(0)
    batch = [[rng.choice(vocab) for _ in range(max_seq_len)] for _ in range(64)]
    try:
        model.run(batch, batch_size=64)
        samples: list[float] = []
        while len(samples) < repeat and (len(samples) < 1 or sum(samples) < LATENCY_BUDGET_S):
            t1 = time.perf_counter()
            model.run(batch, batch_size=64)
            samples.append(time.perf_counter() - t1)
        return {"lat64_ms": statistics.median(samples) * 1e3}
    except MemoryError:
        return {"lat64_ms": None, "lat_note": "out of memory"}
    except Exception as err:  # noqa: BLE001 - a failed run is reported, the series goes on
        return {"lat64_ms": None, "lat_note": f"run failed: {reason(err, 80)}"}


def emit(result: dict) -> None:
    print(json.dumps(result), flush=True)


def run_config(name: str, n: int, v: int, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", f"{name},{n},{v}", "--repeat", str(args.repeat),
           "--memory-gb", str(args.memory_gb)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        stdout, stderr, rc = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        stdout, stderr, rc = expired.stdout or "", expired.stderr or "", None
        stdout = stdout.decode(errors="replace") if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    result: dict = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    if rc is None:  # killed at the time limit
        result["timeout"] = True
        if "layers" in result:
            result["lat64_ms"] = None
            result["lat_note"] = f"timed out ({args.timeout:g} s limit)"
        elif "refused" not in result:
            result["skipped"] = f"timed out after {args.timeout:g} s (time limit)"
        return result
    if rc != 0 and "layers" in result:
        result["lat64_ms"] = None
        result["lat_note"] = "run failed: " + (stderr.strip().splitlines() or ["no output"])[-1][:80]
    elif rc != 0 or not result:
        err = (stderr.strip().splitlines() or ["no output"])[-1]
        oom = "MemoryError" in stderr or "bad_alloc" in stderr or rc < 0
        result.update({"refused": f"worker failed: {err[:100]}", "oom": oom})
    return result


def row(name: str, n: int, v: int, r: dict) -> str:
    if "skipped" in r:
        return f"| {name} | {n} | {v} | skipped: {r['skipped']} ||||||"
    if "refused" in r:
        return f"| {name} | {n} | {v} | refused: {r['refused']} ||||||"
    lat = r.get("lat_note", "-") if r.get("lat64_ms") is None else f"{r['lat64_ms']:.2f}"
    return (f"| {name} | {n} | {v} | {r['layers']} | {r['heads']} | {r['width']} | {r['params']:,} | "
            f"{r['compile_s']:.2f} | {lat} |")


def plot(results: dict, names: list[str], lengths: list[int], vocabs: list[int], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(vocabs), figsize=(4.2 * len(vocabs), 7.5), squeeze=False, sharex=True, sharey="row")
    for col, v in enumerate(vocabs):
        for rown, (key, label) in enumerate((("params", "parameters"), ("width", "residual width"))):
            ax = axes[rown][col]
            for name in names:
                pts = [(n, results[name, n, v][key]) for n in lengths if key in results.get((name, n, v), {})]
                if pts:
                    xs, ys = zip(*pts)
                    ax.plot(xs, ys, marker="o", label=name)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(lengths)
            ax.set_xticklabels([str(n) for n in lengths])
            ax.minorticks_off()
            ax.grid(True, which="major", alpha=0.3)
            if rown == 0:
                ax.set_title(f"vocabulary {v}")
            else:
                ax.set_xlabel("max_seq_len")
            if col == 0:
                ax.set_ylabel(label)
    axes[0][0].legend(fontsize="small")
    fig.suptitle("rasp-ir model size vs max_seq_len (missing points: refused, timed out or skipped)", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--lengths", default="10,64,256")
    ap.add_argument("--vocabs", default="3,30,100")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per configuration (default 60)")
    ap.add_argument("--memory-gb", type=float, default=6.0, help="address-space limit per configuration (0: none)")
    ap.add_argument("--repeat", type=int, default=5, help="timed batch-64 runs per configuration")
    ap.add_argument("--plot", metavar="FILE.png", help="draw params and width vs max_seq_len per program")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        name, n, v = args.worker.split(",")
        emit(worker(name, int(n), int(v), args.repeat, args.memory_gb))
        return 0

    import onnxruntime

    import rasp_ir

    names = args.programs.split(",")
    bad = [n for n in names if n in FIXED_VOCAB or not (EXAMPLES / f"{n}.py").exists()]
    if bad:
        ap.error(f"not in the series (no example, or a fixed alphabet): {', '.join(bad)}")
    lengths = [int(x) for x in args.lengths.split(",")]
    vocabs = [int(x) for x in args.vocabs.split(",")]
    print(f"# rasp-ir {rasp_ir.__version__} scaling, {date.today()}, {platform.machine()} "
          f"{platform.processor() or ''}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"onnxruntime {onnxruntime.__version__} (CPU), {args.timeout:g} s and "
          f"{args.memory_gb:g} GiB per configuration\n")
    print("| program | max_seq_len | vocab | layers | heads | width | params | compile s | batch 64 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    results: dict[tuple[str, int, int], dict] = {}
    t_start = time.perf_counter()
    for name in names:
        too_big: list[tuple[int, int, str]] = []
        for n in sorted(lengths):
            for v in sorted(vocabs):
                blocker = next(((bn, bv, why) for bn, bv, why in too_big if bn <= n and bv <= v), None)
                if blocker is not None:
                    bn, bv, why = blocker
                    r = {"skipped": f"would take longer than max_seq_len {bn}, vocab {bv} ({why})"}
                else:
                    r = run_config(name, n, v, args)
                    if r.get("timeout"):
                        too_big.append((n, v, "timed out"))
                    elif r.get("oom"):
                        too_big.append((n, v, "out of memory"))
                results[name, n, v] = r
                print(row(name, n, v, r))
                sys.stdout.flush()
    print(f"\n(series: {time.perf_counter() - t_start:.0f} s)")
    if args.plot:
        plot(results, names, sorted(lengths), sorted(vocabs), args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
