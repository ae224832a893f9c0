"""Differential fuzzing campaign: random programs, interpreter vs executor vs onnxruntime.

    python benchmarks/fuzz.py --minutes 15 [--seed 0] [--max-seq-len 32] [--save DIR]
    python benchmarks/fuzz.py --seed 0 --case 1234        # rerun (and minimize) one case

Each program is drawn by `rasp_ir.testing.strategies.random_case` from
`random.Random(f"{seed}:{k}")`, so case k of a seed can be replayed alone. For each:
the reference interpreter on its inputs (mixed lengths; inputs where it raises are
skipped and counted), then compilation (a RaspError is a refusal, counted by reason),
then the numpy executor and onnxruntime on all inputs as one batch. Categorical
outputs must equal the interpreter's, numerical ones within the model's tolerance.

Prints a progress line every --report-every seconds and, at the end, the counts, the
refusal reasons (first line of the message, numbers replaced by N), and every distinct
failure (mismatch, or a crash that is not a RaspError) with a minimized reproducer.
Failures are told apart by what failed and by the operations (with their encoding
annotations) of their minimized program. Refusals whose message says a pass broke the
IR (or is a verifier's complaint about IR the compiler built) are counted apart: they
are RaspErrors, but compiler bugs.
`--case K --minimize-refusal` minimizes a refused case, keeping its reason.
Exits 1 when there was a failure.
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import signal
import sys
import time
import traceback
from pathlib import Path

from rasp_ir.testing import FuzzCase, Outcome, check_case, minimize, refusal_key
from rasp_ir.testing.strategies import random_case


def case_rng(seed: int, k: int) -> random.Random:
    return random.Random(f"{seed}:{k}")


INTERNAL_ERROR = re.compile(r"does not verify after|internal error|inferred value .* but the result is")
"""Refusals whose message is a verifier's complaint about IR the compiler built: RaspErrors,
but compiler bugs (a valid program should compile, or be refused with a reason)."""

LEAVES = ("tokens", "indices", "length", "full", "constant")


def family(case: FuzzCase) -> tuple:
    """The operations a (minimized) program uses, with their encoding annotations: failures
    of one family are most likely one bug, and are reported once."""
    ops = set()
    for i in case.reachable():
        n = case.nodes[i]
        if n.op not in LEAVES or n.encoding is not None:
            ops.add((n.op, n.encoding or ""))
    return tuple(sorted(ops))


class CaseTimeout(BaseException):
    """A case ran past --case-timeout (BaseException: check_case must not catch it)."""


def _alarm(signum, frame):  # noqa: ARG001
    raise CaseTimeout()


class Campaign:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.counts: collections.Counter[str] = collections.Counter()
        self.refusals: collections.Counter[str] = collections.Counter()
        self.refusal_example: dict[str, int] = {}  # reason -> the first case refused for it
        self.warnings: collections.Counter[str] = collections.Counter()
        self.failures: dict[tuple, dict] = {}  # fingerprint -> {case, outcome, first, count}
        self.minimize_s = 0.0
        self.slow: list[tuple[float, int, str]] = []  # the slowest cases: (seconds, k, status)
        self.start = time.monotonic()

    def options(self) -> dict:
        a = self.args
        return {
            "max_depth": a.max_depth,
            "max_vocab": a.max_vocab,
            "max_seq_len": a.max_seq_len,
            "max_ops": a.max_ops,
            "n_inputs": a.inputs,
        }

    def run_one(self, k: int) -> None:
        case = random_case(case_rng(self.args.seed, k), **self.options())
        t0 = time.monotonic()
        if self.args.case_timeout:
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(int(self.args.case_timeout))
        try:
            outcome = check_case(case)
        except CaseTimeout:
            self.counts["programs"] += 1
            self.counts["timeouts"] += 1
            self.slow.append((time.monotonic() - t0, k, "timeout"))
            print(f"\n=== case {k} of seed {self.args.seed} ran past {self.args.case_timeout} s ===\n"
                  + case.source(with_inputs=False), flush=True)
            return
        finally:
            signal.alarm(0)
        self.slow.append((time.monotonic() - t0, k, outcome.status))
        self.slow = sorted(self.slow, reverse=True)[:5]
        c = self.counts
        c["programs"] += 1
        c["inputs"] += outcome.inputs_tried
        c["inputs skipped (interpreter raised)"] += outcome.inputs_skipped
        for w in outcome.warnings:
            self.warnings[refusal_key(w)] += 1
        if outcome.status == "refused":
            assert outcome.refusal is not None
            reason = refusal_key(outcome.refusal)
            self.refusals[reason] += 1
            self.refusal_example.setdefault(reason, k)
            if INTERNAL_ERROR.search(outcome.refusal):
                c["refused with an internal error"] += 1
            c["refused"] += 1
            return
        if outcome.crash is not None and outcome.crash.stage in ("build", "interpreter", "compile"):
            c[f"crash ({outcome.crash.stage})"] += 1
        else:
            c["compiled"] += 1
            c["inputs compared"] += outcome.inputs_tried - outcome.inputs_skipped
            if outcome.inputs_tried == outcome.inputs_skipped:
                c["compiled, no valid input"] += 1
        if outcome.failed:
            c["mismatches" if outcome.status == "mismatch" else "crashes"] += 1
            self.record_failure(k, case, outcome)

    def record_failure(self, k: int, case: FuzzCase, outcome: Outcome) -> None:
        elapsed = time.monotonic() - self.start
        small, small_outcome, minimized = case, outcome, False
        if self.minimize_s <= self.args.minimize_share * max(elapsed, 60.0):
            t0 = time.monotonic()
            small, small_outcome = minimize(case, outcome, budget_s=self.args.minimize_budget)
            self.minimize_s += time.monotonic() - t0
            minimized = True
        # Failures past the minimizing budget are not told apart: one bucket per signature.
        key = (outcome.signature(), family(small) if minimized else ("not minimized",))
        entry = self.failures.get(key)
        if entry is not None:
            entry["count"] += 1
            entry["cases"].append(k)
            return
        self.failures[key] = {"case": small, "outcome": small_outcome, "first": k, "count": 1, "cases": [k],
                              "minimized": minimized}
        print(f"\n=== new failure (case {k} of seed {self.args.seed}, "
              f"{'minimized' if minimized else 'NOT minimized: minimizing budget spent'}) ===", flush=True)
        print(small_outcome.describe(small), flush=True)
        if self.args.save:
            path = Path(self.args.save) / f"failure_seed{self.args.seed}_case{k}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("# " + small_outcome.describe(small).split("reproducer:")[0].replace("\n", "\n# ")
                            + "\n" + small.source())

    def progress(self) -> str:
        c = self.counts
        return (
            f"[{time.monotonic() - self.start:7.0f}s] programs {c['programs']}, compiled {c['compiled']}, "
            f"refused {c['refused']}, inputs {c['inputs']} (skipped {c['inputs skipped (interpreter raised)']}), "
            f"mismatches {c['mismatches']}, crashes {c['crashes']}, "
            f"distinct failures {self.distinct()}"
        )

    def distinct(self) -> int:
        return sum(1 for _, fam in self.failures if fam != ("not minimized",))

    def report(self) -> None:
        c = self.counts
        print("\n" + "=" * 100)
        print(f"fuzz campaign: seed {self.args.seed}, {time.monotonic() - self.start:.0f} s "
              f"(minimizing {self.minimize_s:.0f} s), max_seq_len <= {self.args.max_seq_len}, "
              f"depth <= {self.args.max_depth}, vocab <= {self.args.max_vocab}")
        rows = [
            ("programs tried", c["programs"]),
            ("programs compiled", c["compiled"]),
            ("compile refusals (RaspError)", c["refused"]),
            ("  of which internal errors (a verifier's complaint)", c["refused with an internal error"]),
            ("compiled, but no input the interpreter accepts", c["compiled, no valid input"]),
            ("inputs tried", c["inputs"]),
            ("inputs skipped (interpreter raised)", c["inputs skipped (interpreter raised)"]),
            ("inputs compared (on compiled programs)", c["inputs compared"]),
            ("programs with a mismatch", c["mismatches"]),
            ("programs with a crash (not a RaspError)", c["crashes"]),
            ("  of which in compile", c["crash (compile)"]),
            ("  of which in the interpreter", c["crash (interpreter)"]),
            ("  of which building the DSL (a generator bug)", c["crash (build)"]),
            ("distinct failures (minimized, by signature and ops)", self.distinct()),
            ("failing programs not minimized (budget spent)",
             sum(e["count"] for (_, fam), e in self.failures.items() if fam == ("not minimized",))),
            ("cases past --case-timeout", c["timeouts"]),
            ("harness errors (bugs of the fuzzer)", c["harness errors"]),
        ]
        width = max(len(r[0]) for r in rows)
        for name, n in rows:
            print(f"  {name:<{width}}  {n:>8}")
        if self.slow:
            print("\nslowest cases (check_case seconds): "
                  + ", ".join(f"case {k} {t:.1f}s ({status})" for t, k, status in self.slow))
        if self.refusals:
            print("\ncompile refusals by reason (case: the first case refused so; replay it with --case):")
            print(f"  {'count':>6}  {'case':>6}  reason")
            for reason, n in self.refusals.most_common():
                print(f"  {n:>6}  {self.refusal_example[reason]:>6}  {reason}")
        if self.warnings:
            print("\ncompile warnings (RaspCompileWarning) by message:")
            for reason, n in self.warnings.most_common():
                print(f"  {n:>6}  {reason}")
        if self.failures:
            print(f"\n{self.distinct()} distinct failures (and the not minimized ones by signature):")
            for (sig, _), entry in sorted(self.failures.items(), key=lambda kv: -kv[1]["count"]):
                print(f"\n--- {sig}: {entry['count']} programs (cases {entry['cases'][:12]}"
                      f"{' ...' if len(entry['cases']) > 12 else ''}) ---")
                print(entry["outcome"].describe(entry["case"]))
        else:
            print("\nno mismatches, no crashes")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=1.0, help="how long to generate programs (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-seq-len", type=int, default=32)
    p.add_argument("--max-depth", type=int, default=6)
    p.add_argument("--max-vocab", type=int, default=20)
    p.add_argument("--max-ops", type=int, default=10)
    p.add_argument("--inputs", type=int, default=32, help="inputs per program (default 32)")
    p.add_argument("--report-every", type=float, default=60.0, help="seconds between progress lines")
    p.add_argument("--minimize-budget", type=float, default=60.0, help="seconds to minimize one failure")
    p.add_argument("--minimize-share", type=float, default=0.4,
                   help="most of the run's time spent minimizing (later failures are counted, not minimized)")
    p.add_argument("--case-timeout", type=float, default=300.0,
                   help="seconds after which one case is abandoned and reported (0: never)")
    p.add_argument("--save", metavar="DIR", help="write each distinct failure's reproducer to DIR")
    p.add_argument("--case", type=int, help="run only case K of the seed (and minimize it if it fails)")
    p.add_argument("--minimize-refusal", action="store_true",
                   help="with --case: minimize a refused case too (keeping the refusal reason)")
    args = p.parse_args(argv)

    campaign = Campaign(args)
    if args.case is not None:
        args.minimize_share = 1e9
        campaign.run_one(args.case)
        campaign.report()
        if campaign.counts["refused"] and args.minimize_refusal:
            case = random_case(case_rng(args.seed, args.case), **campaign.options())
            outcome = check_case(case)
            small, small_outcome = minimize(case, outcome, budget_s=args.minimize_budget)
            print("\nminimized refusal:\n" + small_outcome.describe(small))
        return 1 if campaign.failures else 0

    deadline = campaign.start + 60 * args.minutes
    next_report = campaign.start + args.report_every
    k = 0
    try:
        while time.monotonic() < deadline:
            try:
                campaign.run_one(k)
            except Exception:  # noqa: BLE001 - a bug of the harness itself: say so, go on
                campaign.counts["harness errors"] += 1
                print(f"harness error on case {k}:\n{traceback.format_exc()}", flush=True)
            k += 1
            if time.monotonic() >= next_report:
                print(campaign.progress(), flush=True)
                next_report += args.report_every
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
    campaign.report()
    return 1 if campaign.failures else 0


if __name__ == "__main__":
    sys.exit(main())
