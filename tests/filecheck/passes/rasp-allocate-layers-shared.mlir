// rasp-allocate-layers shares fused work: %same (prev == next) is fused into the MLP
// computing %out in block 2, which would then read %prev, %next and %frac (4 x 4 x 7
// combinations). Computed by an MLP of its own in block 1, where %prev and %next are
// already there, it costs no block and %out reads 2 x 7 combinations; the op records why
// (`shared = "..."`). %total is in the stream anyway (a head reads it).
//
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-allocate-layers | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-allocate-layers,rasp-allocate-layers | filecheck %s

builtin.module {
  rasp.program @shared vocab [1, 2, 3] max_seq_len 4 {
    %indices = rasp.indices {values = #rasp.values[0, 1, 2, 3]} : !rasp.sop<int>
    %before = rasp.map %indices, [0 -> -1, 1 -> 0, 2 -> 1, 3 -> 2] {values = #rasp.values[-1, 0, 1, 2]} : !rasp.sop<int> -> !rasp.sop<int>
    %select = rasp.select %indices, %before, eq : !rasp.sop<int>, !rasp.sop<int>
    %tokens = rasp.tokens {values = #rasp.values[1, 2, 3]} : !rasp.sop<int>
    %prev = rasp.aggregate %select, %tokens default 0 {values = #rasp.values[0, 1, 2, 3]} : !rasp.sop<int> -> !rasp.sop<cat, int>
    %after = rasp.map %indices, [0 -> 1, 1 -> 2, 2 -> 3, 3 -> 4] {values = #rasp.values[1, 2, 3, 4]} : !rasp.sop<int> -> !rasp.sop<int>
    %select_1 = rasp.select %indices, %after, eq : !rasp.sop<int>, !rasp.sop<int>
    %next = rasp.aggregate %select_1, %tokens default 0 {values = #rasp.values[0, 1, 2, 3]} : !rasp.sop<int> -> !rasp.sop<cat, int>
    %same = rasp.sequence_map %prev, %next, [(0, 0) -> true, (0, 1) -> false, (0, 2) -> false, (0, 3) -> false, (1, 0) -> false, (1, 1) -> true, (1, 2) -> false, (1, 3) -> false, (2, 0) -> false, (2, 1) -> false, (2, 2) -> true, (2, 3) -> false, (3, 0) -> false, (3, 1) -> false, (3, 2) -> false, (3, 3) -> true] {values = #rasp.values[false, true]} : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<bool>
    %total = rasp.sequence_map %prev, %next, [(0, 0) -> 0, (0, 1) -> 1, (0, 2) -> 2, (0, 3) -> 3, (1, 0) -> 1, (1, 1) -> 2, (1, 2) -> 3, (1, 3) -> 4, (2, 0) -> 2, (2, 1) -> 3, (2, 2) -> 4, (2, 3) -> 5, (3, 0) -> 3, (3, 1) -> 4, (3, 2) -> 5, (3, 3) -> 6] {values = #rasp.values[0, 1, 2, 3, 4, 5, 6]} : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<int>
    %select_2 = rasp.select %total, %total, eq : !rasp.sop<int>, !rasp.sop<int>
    %is_one = rasp.map %tokens, [1 -> 1, 2 -> 0, 3 -> 0] {values = #rasp.values[0, 1]} : !rasp.sop<int> -> !rasp.sop<int>
    %frac = rasp.aggregate %select_2, %is_one default 0 {values = #rasp.values[0.0, 0.25, 0.3333333333333333, 0.5, 0.6666666666666666, 0.75, 1.0]} : !rasp.sop<int> -> !rasp.sop<num, float>
    %out = rasp.sequence_map %same, %frac, [(false, 0.0) -> -0.0, (false, 0.25) -> -0.25, (false, 0.3333333333333333) -> -0.3333333333333333, (false, 0.5) -> -0.5, (false, 0.6666666666666666) -> -0.6666666666666666, (false, 0.75) -> -0.75, (false, 1.0) -> -1.0, (true, 0.0) -> 0.0, (true, 0.25) -> 0.25, (true, 0.3333333333333333) -> 0.3333333333333333, (true, 0.5) -> 0.5, (true, 0.6666666666666666) -> 0.6666666666666666, (true, 0.75) -> 0.75, (true, 1.0) -> 1.0] {values = #rasp.values[-1.0, -0.75, -0.6666666666666666, -0.5, -0.3333333333333333, -0.25, 0.0, 0.25, 0.3333333333333333, 0.5, 0.6666666666666666, 0.75, 1.0]} : !rasp.sop<bool>, !rasp.sop<num, float> -> !rasp.sop<float>
    rasp.output %out : !rasp.sop<float>
  }
}

// CHECK:      %prev = rasp.aggregate {{.*}}block = 1 : i64, sublayer = "attention"
// CHECK:      %next = rasp.aggregate {{.*}}block = 1 : i64, sublayer = "attention"
// CHECK:      %same = rasp.sequence_map %prev, %next, {{.*}}shared = "read by one MLP: tables of 112 entries become 30 (its own included), at no extra block", block = 1 : i64, sublayer = "mlp"
// CHECK:      %total = rasp.sequence_map %prev, %next, {{.*}}block = 1 : i64, sublayer = "mlp"
// CHECK-NOT:  shared =
// CHECK:      %frac = rasp.aggregate {{.*}}block = 2 : i64, sublayer = "attention"
// CHECK:      %out = rasp.sequence_map {{.*}}block = 2 : i64, sublayer = "mlp"
// CHECK-NOT:  block = 3
