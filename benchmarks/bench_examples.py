"""Benchmark every example program: compile time, model size, onnxruntime speed.

    python benchmarks/bench_examples.py [--lengths 10,64,256] [--only reverse,sort] [--repeat 20]

Prints one table per max_seq_len: compile time (in-process, warm), layers, heads,
residual width, parameters, ONNX bytes, onnxruntime latency at batch 1 and 64, and
throughput (sequences per second) at batch 256 on full-length random inputs.
A program the compiler refuses at a length is listed with the reason.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import onnxruntime

import rasp_ir

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROGRAMS = ["length", "histogram", "reverse", "sort_unique", "sort", "most_frequent", "frac_prevs", "dyck1", "dyck2"]


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls after one warm-up."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def bench(name: str, max_seq_len: int, repeat: int) -> dict:
    module = importlib.import_module(name)
    program = rasp_ir.Program.from_dsl(module.program, name=name)
    vocab = list(module.VOCAB)
    t0 = time.perf_counter()
    try:
        model = rasp_ir.compile(program, vocab=vocab, max_seq_len=max_seq_len, provider="cpu")
    except rasp_ir.RaspError as err:
        return {"name": name, "refused": str(err).splitlines()[0][:90]}
    compile_s = time.perf_counter() - t0
    summary = model.summary()
    rng = random.Random(0)

    def batch(n: int) -> list[list]:
        return [[rng.choice(vocab) for _ in range(max_seq_len)] for _ in range(n)]

    b1, b64, b256 = batch(1), batch(64), batch(256)
    return {
        "name": name,
        "compile_ms": compile_s * 1e3,
        "layers": summary.layers,
        "heads": sum(summary.heads_per_layer),
        "width": summary.residual_width,
        "params": summary.params,
        "bytes": model.onnx.ByteSize(),
        "lat1_ms": timed(lambda: model.run(b1), repeat) * 1e3,
        "lat64_ms": timed(lambda: model.run(b64, batch_size=64), repeat) * 1e3,
        "tput256": 256 / timed(lambda: model.run(b256, batch_size=256), max(3, repeat // 4)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="10,64,256")
    ap.add_argument("--only", default="")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    sys.path.insert(0, str(EXAMPLES))
    names = args.only.split(",") if args.only else PROGRAMS
    print(f"# rasp-ir {rasp_ir.__version__} examples, {date.today()}, {platform.machine()} "
          f"{platform.processor() or ''}, onnxruntime {onnxruntime.__version__} (CPU)")
    for n in (int(x) for x in args.lengths.split(",")):
        print(f"\n## max_seq_len {n}\n")
        print("| program | compile ms | layers | heads | width | params | ONNX bytes | batch 1 ms | batch 64 ms | seq/s at 256 |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in names:
            r = bench(name, n, args.repeat)
            if "refused" in r:
                print(f"| {name} | refused: {r['refused']} |||||||||")
            else:
                print(f"| {name} | {r['compile_ms']:.0f} | {r['layers']} | {r['heads']} | {r['width']} | "
                      f"{r['params']:,} | {r['bytes']:,} | {r['lat1_ms']:.3f} | {r['lat64_ms']:.2f} | {r['tput256']:,.0f} |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
