"""rasp-ir against tracr on issue 7's table: the same programs (this project's examples),
tracr's vocabulary sizes, max_seq_len 10. Prints one markdown table: blocks, the
program's attention depth, residual width, parameters (and their ratio to tracr's),
onnxruntime latency for a batch of 64 (median of 20) and the in-process compile time,
each with tracr's figure (as issue 7 measured it) in parentheses.

    python benchmarks/tracr_targets.py
"""

import importlib
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import rasp_ir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
warnings.simplefilter("ignore", rasp_ir.RaspCompileWarning)

# title, example, vocabulary, and tracr's layers, width, parameters, jit latency at batch 64 (ms)
TARGETS = [
    ("length", "length", ["a", "b", "c"], 1, 28, 2333, 0.29),
    ("reverse", "reverse", ["a", "b", "c"], 4, 71, 89880, 2.51),
    ("histogram", "histogram", ["a", "b", "c"], 1, 28, 2333, 0.29),
    ("sort, unique keys (vocab 5)", "sort_unique", [1, 2, 3, 4, 5], 2, 35, 7326, 0.50),
    ("sort (vocab 5)", "sort", [1, 2, 3, 4, 5], 3, 85, 81198, 2.36),
    ("sort by frequency (vocab 5)", "most_frequent", ["a", "b", "c", "d", "e"], 5, 168, 568054, 7.47),
    ("fraction of previous 'a'", "frac_prevs", ["a", "b", "c"], 2, 18, 2234, 0.39),
    ("pair balance", "pair_balance", ["(", ")", "x"], 2, 21, 4940, 0.59),
    ("shuffle-Dyck-1", "dyck1", ["(", ")", "x"], 6, 53, 293055, 6.26),
    ("shuffle-Dyck-2 (vocab 4)", "dyck2", ["(", ")", "{", "}"], 8, 70, 1026950, 13.6),
    ("detect pattern 'abc'", "detect_pattern", ["a", "b", "c"], 3, 30, 10614, 0.86),
    ("x+y-z over tokens, tokens, indices", "sum_diff", [1, 2, 3], 3, 129, 74325, 1.41),
]


def main() -> None:
    # load xDSL and the passes before the first timed compile
    rasp_ir.compile(rasp_ir.Program.from_dsl(importlib.import_module("length").program), vocab=["a"], max_seq_len=4)
    print(
        "| program | blocks (tracr) | attention depth | width (tracr) | params (tracr, ratio) "
        "| batch 64 ms (tracr) | compile ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for title, name, vocab, t_layers, t_width, t_params, t_ms in TARGETS:
        mod = importlib.import_module(name)
        program = rasp_ir.Program.from_dsl(mod.program, name=name)
        try:
            t0 = time.perf_counter()
            model = rasp_ir.compile(program, vocab=vocab, max_seq_len=10, provider="cpu")
            compile_ms = 1000 * (time.perf_counter() - t0)
        except rasp_ir.RaspError as err:
            print(f"| {title} | refused: {str(err)[:120]} |||||")
            continue
        s = model.summary()
        depth = program.analysis().layers
        batch = [[vocab[i] for i in rng.integers(0, len(vocab), 10)] for _ in range(64)]
        model.run(batch, batch_size=64)
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            model.run(batch, batch_size=64)
            times.append(time.perf_counter() - t0)
        ms = 1000 * statistics.median(times)
        print(
            f"| {title} | {s.layers} ({t_layers}) | {depth} | {s.residual_width} ({t_width}) "
            f"| {s.params:,} ({t_params:,}, {s.params / t_params:.2f}) | {ms:.2f} ({t_ms}) | {compile_ms:.0f} |"
        )


if __name__ == "__main__":
    main()
