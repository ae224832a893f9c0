"""Per position: does the pattern "abc" end here (tracr's `detect_pattern`)?

Each earlier element of the pattern is read from its position by a shift (one head per
offset, all in one layer), and an MLP ands the matches. 1 layer, [2].

    python examples/detect_pattern.py > detect_pattern.mlir
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, Map, Select, SOp, categorical, indices, tokens

VOCAB = ["a", "b", "c"]
MAX_SEQ_LEN = 5


def shift_by(offset: int, sop: SOp) -> SOp:
    """`sop` read from `offset` positions earlier (False before the start)."""
    earlier = Select(indices, Map(lambda i: i - offset, indices), Comparison.EQ).named(f"back_{offset}")
    return categorical(Aggregate(earlier, sop, default=False)).named(f"shift_{offset}")


def detect_pattern(sop: SOp, pattern: str) -> SOp:
    """True where `pattern` ends: the i-th element from the end matched i positions back."""
    matches = [sop == element for element in reversed(pattern)]
    found = matches[0]
    for offset, match in enumerate(matches[1:], start=1):
        found = found & shift_by(offset, match)
    return found.named("detect_pattern")


program = detect_pattern(tokens, "abc")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
