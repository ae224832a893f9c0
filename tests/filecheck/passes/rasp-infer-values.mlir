// rasp-infer-values: every s-op gets the exact set of values it can take, from the
// program's vocab and max_seq_len. A numerical mean takes every (v1 + ... + vn) / n,
// n <= max_seq_len, over its input's values: for {0, 1} and max_seq_len 3, every k/n.
// A set larger than `cap` stops the pass with an error that names the op.
//
// RUN: rasp-opt %s -p rasp-infer-values | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-values | filecheck %s
// RUN: not rasp-opt %s -p 'rasp-infer-values{cap=3}' 2>&1 | filecheck %s --check-prefix=CAP
// RUN: rasp-opt %s -p 'rasp-infer-values{cap=5}' | filecheck %s --check-prefix=CAP5

rasp.program @frac vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %n = rasp.length : !rasp.sop<int>
  %is_a = rasp.map %t, ["a" -> 1, "b" -> 0] : !rasp.sop<str> -> !rasp.sop<int>
  %prevs = rasp.select %i, %i, leq : !rasp.sop<int>, !rasp.sop<int>
  %frac = rasp.aggregate %prevs, %is_a : !rasp.sop<int> -> !rasp.sop<float>
  %w = rasp.selector_width %prevs : !rasp.sop<int>
  %eq = rasp.select %i, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %copy = rasp.aggregate %eq, %t default "z" : !rasp.sop<str> -> !rasp.sop<str>
  %two = rasp.constant 2 : !rasp.sop<int>
  %lin = rasp.linear_sequence_map %is_a, %two coeffs (2, -1) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %pair = rasp.sequence_map %is_a, %n, [(0, 1) -> 0, (0, 2) -> 0, (0, 3) -> 0, (1, 1) -> 1, (1, 2) -> 2, (1, 3) -> 3] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %frac : !rasp.sop<float>
}

// CHECK:      %t = rasp.tokens {values = #rasp.values["a", "b"]} : !rasp.sop<str>
// CHECK-NEXT: %i = rasp.indices {values = #rasp.values[0, 1, 2]} : !rasp.sop<int>
// CHECK-NEXT: %n = rasp.length {values = #rasp.values[1, 2, 3]} : !rasp.sop<int>
// CHECK-NEXT: %is_a = rasp.map %t, ["a" -> 1, "b" -> 0] {values = #rasp.values[0, 1]}
// CHECK-NEXT: %prevs = rasp.select %i, %i, leq
// The mean of {0, 1} over 1..3 positions:
// CHECK-NEXT: %frac = rasp.aggregate %prevs, %is_a {values = #rasp.values[0.0, 0.3333333333333333, 0.5, 0.6666666666666666, 1.0]} : !rasp.sop<int> -> !rasp.sop<float>
// CHECK-NEXT: %w = rasp.selector_width %prevs {values = #rasp.values[0, 1, 2, 3]}
// CHECK-NEXT: %eq = rasp.select %i, %i, eq
// An aggregate that selects at most one position copies a value, or gives the default:
// CHECK-NEXT: %copy = rasp.aggregate %eq, %t default "z" {values = #rasp.values["a", "b", "z"]}
// CHECK-NEXT: %two = rasp.constant 2 {values = #rasp.values[2]}
// CHECK-NEXT: %lin = rasp.linear_sequence_map %is_a, %two coeffs{{ ?}}(2, -1) {values = #rasp.values[-2, 0]}
// CHECK-NEXT: %pair = rasp.sequence_map %is_a, %n, {{.*}} {values = #rasp.values[0, 1, 2, 3]}
// CHECK-NEXT: rasp.output %frac

// CAP: rasp-opt: error: in pass 'rasp-infer-values{cap=3}': %frac = rasp.aggregate: the mean of 2 possible values over up to 3 positions takes more than 3 values (raise the cap with rasp-infer-values{cap=N}

// CAP5: %frac = rasp.aggregate %prevs, %is_a {values = #rasp.values[0.0, 0.3333333333333333, 0.5, 0.6666666666666666, 1.0]}
