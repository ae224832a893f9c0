// Custom-format round trip of every `rasp` op: the text prints as written,
// printing it again gives the same text, and the generic form parses back.
//
// RUN: rasp-opt %s | filecheck %s
// RUN: rasp-opt %s | rasp-opt | filecheck %s
// RUN: rasp-opt %s --print-op-generic | rasp-opt | filecheck %s
// RUN: rasp-opt %s > %t.first.mlir && rasp-opt %t.first.mlir > %t.second.mlir && diff %t.first.mlir %t.second.mlir

rasp.program @everything vocab ["a", "b"] max_seq_len 4 bos "<s>" {
  %t = rasp.tokens {values = #rasp.values["a", "b"]} : !rasp.sop<cat, str>
  %i = rasp.indices : !rasp.sop<cat, int>
  %n = rasp.length : !rasp.sop<cat, int>
  %c = rasp.constant 1 : !rasp.sop<cat, int>
  %cf = rasp.constant -2.5 : !rasp.sop<num, float>
  %cb = rasp.constant true : !rasp.sop<bool>
  %cs = rasp.constant "x" : !rasp.sop<cat, str>
  %m = rasp.map %t, ["a" -> 1, "b" -> 2] : !rasp.sop<cat, str> -> !rasp.sop<num, int>
  %empty = rasp.map %i, [] : !rasp.sop<cat, int> -> !rasp.sop<int>
  %sm = rasp.sequence_map %t, %c, [("a", 1) -> true, ("b", 1) -> false] : !rasp.sop<cat, str>, !rasp.sop<cat, int> -> !rasp.sop<cat, bool>
  %l = rasp.linear_sequence_map %m, %cf coeffs (1, -0.5) : !rasp.sop<num, int>, !rasp.sop<num, float> -> !rasp.sop<num, float>
  %f = rasp.map_fn %i : !rasp.sop<cat, int> -> !rasp.sop<cat, int> {
  ^bb0(%v : i64):
    %one = arith.constant 1 : i64
    %r = arith.addi %v, %one : i64
    rasp.yield %r : i64
  }
  %s = rasp.select %i, %n, lt : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %s_eq = rasp.select %t, %cs, eq : !rasp.sop<cat, str>, !rasp.sop<cat, str>
  %s_leq = rasp.select %i, %n, leq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %s_gt = rasp.select %i, %n, gt : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %s_geq = rasp.select %i, %n, geq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %s_neq = rasp.select %i, %n, neq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %s_true = rasp.select %i, %n, true : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %s_false = rasp.select %t, %i, false : !rasp.sop<cat, str>, !rasp.sop<cat, int>
  %and = rasp.select_and %s, %s_eq
  %or = rasp.select_or %and, %s_leq
  %not = rasp.select_not %or
  %a = rasp.aggregate %not, %t default "a" : !rasp.sop<cat, str> -> !rasp.sop<cat, str>
  %mean = rasp.aggregate %s, %m : !rasp.sop<num, int> -> !rasp.sop<num, float>
  %w = rasp.selector_width %s_true : !rasp.sop<cat, int>
  rasp.output %a : !rasp.sop<cat, str>
}

// CHECK:      builtin.module {
// CHECK-NEXT:   rasp.program @everything vocab ["a", "b"] max_seq_len 4 bos "<s>" {
// CHECK-NEXT:     %t = rasp.tokens {values = #rasp.values["a", "b"]} : !rasp.sop<cat, str>
// CHECK-NEXT:     %i = rasp.indices : !rasp.sop<cat, int>
// CHECK-NEXT:     %n = rasp.length : !rasp.sop<cat, int>
// CHECK-NEXT:     %c = rasp.constant 1 : !rasp.sop<cat, int>
// CHECK-NEXT:     %cf = rasp.constant -2.5 : !rasp.sop<num, float>
// CHECK-NEXT:     %cb = rasp.constant true : !rasp.sop<bool>
// CHECK-NEXT:     %cs = rasp.constant "x" : !rasp.sop<cat, str>
// CHECK-NEXT:     %m = rasp.map %t, ["a" -> 1, "b" -> 2] : !rasp.sop<cat, str> -> !rasp.sop<num, int>
// CHECK-NEXT:     %empty = rasp.map %i, [] : !rasp.sop<cat, int> -> !rasp.sop<int>
// CHECK-NEXT:     %sm = rasp.sequence_map %t, %c, [("a", 1) -> true, ("b", 1) -> false] : !rasp.sop<cat, str>, !rasp.sop<cat, int> -> !rasp.sop<cat, bool>
// CHECK-NEXT:     %l = rasp.linear_sequence_map %m, %cf coeffs{{ ?}}(1, -0.5) : !rasp.sop<num, int>, !rasp.sop<num, float> -> !rasp.sop<num, float>
// CHECK-NEXT:     %f = rasp.map_fn %i : !rasp.sop<cat, int> -> !rasp.sop<cat, int> {
// CHECK-NEXT:     ^bb0(%v: i64):
// CHECK-NEXT:       %one = arith.constant 1 : i64
// CHECK-NEXT:       %r = arith.addi %v, %one : i64
// CHECK-NEXT:       rasp.yield %r : i64
// CHECK-NEXT:     }
// CHECK-NEXT:     %s = rasp.select %i, %n, lt : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:     %s_eq = rasp.select %t, %cs, eq : !rasp.sop<cat, str>, !rasp.sop<cat, str>
// CHECK-NEXT:     %s_leq = rasp.select %i, %n, leq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:     %s_gt = rasp.select %i, %n, gt : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:     %s_geq = rasp.select %i, %n, geq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:     %s_neq = rasp.select %i, %n, neq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:     %s_true = rasp.select %i, %n, true : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:     %s_false = rasp.select %t, %i, false : !rasp.sop<cat, str>, !rasp.sop<cat, int>
// CHECK-NEXT:     %and = rasp.select_and %s, %s_eq
// CHECK-NEXT:     %or = rasp.select_or %and, %s_leq
// CHECK-NEXT:     %not = rasp.select_not %or
// CHECK-NEXT:     %a = rasp.aggregate %not, %t default "a" : !rasp.sop<cat, str> -> !rasp.sop<cat, str>
// CHECK-NEXT:     %mean = rasp.aggregate %s, %m : !rasp.sop<num, int> -> !rasp.sop<num, float>
// CHECK-NEXT:     %w = rasp.selector_width %s_true : !rasp.sop<cat, int>
// CHECK-NEXT:     rasp.output %a : !rasp.sop<cat, str>
// CHECK-NEXT:   }
// CHECK-NEXT: }
