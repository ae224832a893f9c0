// rasp-materialize-tables: a `rasp.map_fn` written with `arith` becomes a `rasp.map`
// whose table is the body run on every value the input can take (value sets are
// inferred up to each map_fn; the new maps carry theirs).
//
// RUN: rasp-opt %s -p rasp-materialize-tables --split-input-file | filecheck %s
// RUN: not rasp-opt %s -p rasp-infer-values --split-input-file 2>&1 | filecheck %s --check-prefix=UNMATERIALIZED

rasp.program @double vocab [1, 2, 3] max_seq_len 4 {
  %t = rasp.tokens : !rasp.sop<int>
  %d = rasp.map_fn %t : !rasp.sop<int> -> !rasp.sop<int> {
  ^bb0(%v : i64):
    %c2 = arith.constant 2 : i64
    %r = arith.muli %v, %c2 : i64
    rasp.yield %r : i64
  }
  %big = rasp.map_fn %d : !rasp.sop<int> -> !rasp.sop<bool> {
  ^bb0(%v : i64):
    %c4 = arith.constant 4 : i64
    %r = arith.cmpi sgt, %v, %c4 : i64
    rasp.yield %r : i1
  }
  %half = rasp.map_fn %t : !rasp.sop<int> -> !rasp.sop<float> {
  ^bb0(%v : f64):
    %h = arith.constant 0.5 : f64
    %r = arith.mulf %v, %h : f64
    rasp.yield %r : f64
  }
  rasp.output %big : !rasp.sop<bool>
}

// CHECK-LABEL: rasp.program @double vocab [1, 2, 3] max_seq_len 4 {
// CHECK-NEXT:    %t = rasp.tokens {values = #rasp.values[1, 2, 3]} : !rasp.sop<int>
// CHECK-NEXT:    %d = rasp.map %t, [1 -> 2, 2 -> 4, 3 -> 6] {values = #rasp.values[2, 4, 6]} : !rasp.sop<int> -> !rasp.sop<int>
// CHECK-NEXT:    %big = rasp.map %d, [2 -> false, 4 -> false, 6 -> true] {values = #rasp.values[false, true]} : !rasp.sop<int> -> !rasp.sop<bool>
// CHECK-NEXT:    %half = rasp.map %t, [1 -> 0.5, 2 -> 1.0, 3 -> 1.5] {values = #rasp.values[0.5, 1.0, 1.5]} : !rasp.sop<int> -> !rasp.sop<float>
// CHECK-NEXT:    rasp.output %big : !rasp.sop<bool>
// CHECK-NOT:     rasp.map_fn

// UNMATERIALIZED: rasp-opt: error: in pass 'rasp-infer-values': %d = rasp.map_fn has a region body; run rasp-materialize-tables first

// -----

// A program without map_fn is left as it is.
rasp.program @nothing_to_do vocab [1] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<int>
  rasp.output %t : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @nothing_to_do
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<int>
// CHECK-NEXT:    rasp.output %t

