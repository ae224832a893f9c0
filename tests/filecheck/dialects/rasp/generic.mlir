// The generic form: what `--print-op-generic` prints parses back, and a program
// written in generic form prints in the custom form.
//
// RUN: rasp-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: rasp-opt %s --print-op-generic | rasp-opt --print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: rasp-opt %s --print-op-generic | rasp-opt | filecheck %s
// RUN: rasp-opt %s | filecheck %s

"builtin.module"() ({
  "rasp.program"() <{sym_name = "g", vocab = #rasp.values[0, 1], max_seq_len = #rasp<value 5>, bos = #rasp<value -1>}> ({
    %t = "rasp.tokens"() {values = #rasp.values[0, 1]} : () -> !rasp.sop<cat, int>
    %i = "rasp.indices"() : () -> !rasp.sop<cat, int>
    %n = "rasp.length"() : () -> !rasp.sop<cat, int>
    %c = "rasp.constant"() <{value = #rasp<value 0.5>}> : () -> !rasp.sop<num, float>
    %m = "rasp.map"(%t) <{table = #rasp.table[0 -> 1, 1 -> 0]}> : (!rasp.sop<cat, int>) -> !rasp.sop<cat, int>
    %sm = "rasp.sequence_map"(%t, %m) <{table = #rasp.table[(0, 1) -> 1, (1, 0) -> 1]}> : (!rasp.sop<cat, int>, !rasp.sop<cat, int>) -> !rasp.sop<cat, int>
    %l = "rasp.linear_sequence_map"(%c, %c) <{lhs_coeff = #rasp<value 2>, rhs_coeff = #rasp<value -1.0>}> : (!rasp.sop<num, float>, !rasp.sop<num, float>) -> !rasp.sop<num, float>
    %f = "rasp.map_fn"(%i) ({
    ^bb0(%v: i64):
      "rasp.yield"(%v) : (i64) -> ()
    }) : (!rasp.sop<cat, int>) -> !rasp.sop<cat, int>
    %s = "rasp.select"(%i, %n) <{predicate = #rasp<predicate geq>}> : (!rasp.sop<cat, int>, !rasp.sop<cat, int>) -> !rasp.selector
    %s2 = "rasp.select_and"(%s, %s) : (!rasp.selector, !rasp.selector) -> !rasp.selector
    %s3 = "rasp.select_or"(%s, %s2) : (!rasp.selector, !rasp.selector) -> !rasp.selector
    %s4 = "rasp.select_not"(%s3) : (!rasp.selector) -> !rasp.selector
    %a = "rasp.aggregate"(%s4, %t) <{default = #rasp<value 0>}> : (!rasp.selector, !rasp.sop<cat, int>) -> !rasp.sop<cat, int>
    %w = "rasp.selector_width"(%s) : (!rasp.selector) -> !rasp.sop<cat, int>
    "rasp.output"(%a) : (!rasp.sop<cat, int>) -> ()
  }) : () -> ()
}) : () -> ()

// GENERIC:      "builtin.module"() ({
// GENERIC-NEXT:   "rasp.program"() <{sym_name = "g", vocab = #rasp.values[0, 1], max_seq_len = #rasp<value 5>, bos = #rasp<value -1>}> ({
// GENERIC-NEXT:     %t = "rasp.tokens"() {values = #rasp.values[0, 1]} : () -> !rasp.sop<cat, int>
// GENERIC-NEXT:     %i = "rasp.indices"() : () -> !rasp.sop<cat, int>
// GENERIC-NEXT:     %n = "rasp.length"() : () -> !rasp.sop<cat, int>
// GENERIC-NEXT:     %c = "rasp.constant"() <{value = #rasp<value 0.5>}> : () -> !rasp.sop<num, float>
// GENERIC-NEXT:     %m = "rasp.map"(%t) <{table = #rasp.table[0 -> 1, 1 -> 0]}> : (!rasp.sop<cat, int>) -> !rasp.sop<cat, int>
// GENERIC-NEXT:     %sm = "rasp.sequence_map"(%t, %m) <{table = #rasp.table[(0, 1) -> 1, (1, 0) -> 1]}> : (!rasp.sop<cat, int>, !rasp.sop<cat, int>) -> !rasp.sop<cat, int>
// GENERIC-NEXT:     %l = "rasp.linear_sequence_map"(%c, %c) <{lhs_coeff = #rasp<value 2>, rhs_coeff = #rasp<value -1.0>}> : (!rasp.sop<num, float>, !rasp.sop<num, float>) -> !rasp.sop<num, float>
// GENERIC-NEXT:     %f = "rasp.map_fn"(%i) ({
// GENERIC-NEXT:     ^bb0(%v: i64):
// GENERIC-NEXT:       "rasp.yield"(%v) : (i64) -> ()
// GENERIC-NEXT:     }) : (!rasp.sop<cat, int>) -> !rasp.sop<cat, int>
// GENERIC-NEXT:     %s = "rasp.select"(%i, %n) <{predicate = #rasp<predicate geq>}> : (!rasp.sop<cat, int>, !rasp.sop<cat, int>) -> !rasp.selector
// GENERIC-NEXT:     %s2 = "rasp.select_and"(%s, %s) : (!rasp.selector, !rasp.selector) -> !rasp.selector
// GENERIC-NEXT:     %s3 = "rasp.select_or"(%s, %s2) : (!rasp.selector, !rasp.selector) -> !rasp.selector
// GENERIC-NEXT:     %s4 = "rasp.select_not"(%s3) : (!rasp.selector) -> !rasp.selector
// GENERIC-NEXT:     %a = "rasp.aggregate"(%s4, %t) <{default = #rasp<value 0>}> : (!rasp.selector, !rasp.sop<cat, int>) -> !rasp.sop<cat, int>
// GENERIC-NEXT:     %w = "rasp.selector_width"(%s) : (!rasp.selector) -> !rasp.sop<cat, int>
// GENERIC-NEXT:     "rasp.output"(%a) : (!rasp.sop<cat, int>) -> ()
// GENERIC-NEXT:   }) : () -> ()
// GENERIC-NEXT: }) : () -> ()

// CHECK:      builtin.module {
// CHECK-NEXT:   rasp.program @g vocab [0, 1] max_seq_len 5 bos -1 {
// CHECK-NEXT:     %t = rasp.tokens {values = #rasp.values[0, 1]} : !rasp.sop<cat, int>
// CHECK-NEXT:     %i = rasp.indices : !rasp.sop<cat, int>
// CHECK-NEXT:     %n = rasp.length : !rasp.sop<cat, int>
// CHECK-NEXT:     %c = rasp.constant 0.5 : !rasp.sop<num, float>
// CHECK-NEXT:     %m = rasp.map %t, [0 -> 1, 1 -> 0] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
// CHECK-NEXT:     %sm = rasp.sequence_map %t, %m, [(0, 1) -> 1, (1, 0) -> 1] : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<cat, int>
// CHECK-NEXT:     %l = rasp.linear_sequence_map %c, %c coeffs{{ ?}}(2, -1.0) : !rasp.sop<num, float>, !rasp.sop<num, float> -> !rasp.sop<num, float>
// CHECK-NEXT:     %f = rasp.map_fn %i : !rasp.sop<cat, int> -> !rasp.sop<cat, int> {
// CHECK-NEXT:     ^bb0(%v: i64):
// CHECK-NEXT:       rasp.yield %v : i64
// CHECK-NEXT:     }
// CHECK-NEXT:     %s = rasp.select %i, %n, geq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:     %s2 = rasp.select_and %s, %s
// CHECK-NEXT:     %s3 = rasp.select_or %s, %s2
// CHECK-NEXT:     %s4 = rasp.select_not %s3
// CHECK-NEXT:     %a = rasp.aggregate %s4, %t default 0 : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
// CHECK-NEXT:     %w = rasp.selector_width %s : !rasp.sop<cat, int>
// CHECK-NEXT:     rasp.output %a : !rasp.sop<cat, int>
// CHECK-NEXT:   }
// CHECK-NEXT: }
