// Every `rasp` attribute and type, written on their own (here as module attributes):
// each prints as written, and the printed text parses back to the same thing.
//
// RUN: rasp-opt %s | filecheck %s
// RUN: rasp-opt %s | rasp-opt | filecheck %s
// RUN: rasp-opt %s --print-op-generic | rasp-opt | filecheck %s

builtin.module attributes {
  k_int = #rasp<kind int>, k_float = #rasp<kind float>, k_bool = #rasp<kind bool>, k_str = #rasp<kind str>,
  e_cat = #rasp<encoding categorical>, e_num = #rasp<encoding numerical>,
  p_eq = #rasp<predicate eq>, p_lt = #rasp<predicate lt>, p_leq = #rasp<predicate leq>, p_gt = #rasp<predicate gt>,
  p_geq = #rasp<predicate geq>, p_neq = #rasp<predicate neq>, p_true = #rasp<predicate true>, p_false = #rasp<predicate false>,
  v_int = #rasp<value 3>, v_neg = #rasp<value -7>, v_big = #rasp<value 123456789012345678901234567890>,
  v_float = #rasp<value 1.5>, v_negf = #rasp<value -0.25>, v_whole = #rasp<value 2.0>,
  v_small = #rasp<value 1.0e-05>, v_large = #rasp<value 1.0e+20>,
  v_true = #rasp<value true>, v_false = #rasp<value false>,
  v_str = #rasp<value "a">, v_escaped = #rasp<value "q\"uo\\te\n">, v_empty = #rasp<value "">,
  s_none = #rasp.values[], s_ints = #rasp.values[1, 2, 3], s_mixed = #rasp.values[true, 1, 1.0, "1"],
  t_none = #rasp.table[], t_unary = #rasp.table[1 -> 2, 2 -> 4],
  t_binary = #rasp.table[(1, "a") -> true, (2, "b") -> false], t_ternary = #rasp.table[(1, 2, 3) -> 6],
  ty_open = !rasp.sop<int>, ty_cat = !rasp.sop<cat, str>, ty_num = !rasp.sop<num, float>,
  ty_bool = !rasp.sop<cat, bool>, ty_numbool = !rasp.sop<num, bool>, ty_sel = !rasp.selector
} {
}

// CHECK:      builtin.module attributes {
// CHECK-SAME: k_int = #rasp<kind int>, k_float = #rasp<kind float>, k_bool = #rasp<kind bool>, k_str = #rasp<kind str>,
// CHECK-SAME: e_cat = #rasp<encoding categorical>, e_num = #rasp<encoding numerical>,
// CHECK-SAME: p_eq = #rasp<predicate eq>, p_lt = #rasp<predicate lt>, p_leq = #rasp<predicate leq>, p_gt = #rasp<predicate gt>,
// CHECK-SAME: p_geq = #rasp<predicate geq>, p_neq = #rasp<predicate neq>, p_true = #rasp<predicate true>, p_false = #rasp<predicate false>,
// CHECK-SAME: v_int = #rasp<value 3>, v_neg = #rasp<value -7>, v_big = #rasp<value 123456789012345678901234567890>,
// CHECK-SAME: v_float = #rasp<value 1.5>, v_negf = #rasp<value -0.25>, v_whole = #rasp<value 2.0>,
// CHECK-SAME: v_small = #rasp<value 1.0e-05>, v_large = #rasp<value 1.0e+20>,
// CHECK-SAME: v_true = #rasp<value true>, v_false = #rasp<value false>,
// CHECK-SAME: v_str = #rasp<value "a">, v_escaped = #rasp<value "q\"uo\\te\n">, v_empty = #rasp<value "">,
// CHECK-SAME: s_none = #rasp.values[], s_ints = #rasp.values[1, 2, 3], s_mixed = #rasp.values[true, 1, 1.0, "1"],
// CHECK-SAME: t_none = #rasp.table[], t_unary = #rasp.table[1 -> 2, 2 -> 4],
// CHECK-SAME: t_binary = #rasp.table[(1, "a") -> true, (2, "b") -> false], t_ternary = #rasp.table[(1, 2, 3) -> 6],
// CHECK-SAME: ty_open = !rasp.sop<int>, ty_cat = !rasp.sop<cat, str>, ty_num = !rasp.sop<num, float>,
// CHECK-SAME: ty_bool = !rasp.sop<cat, bool>, ty_numbool = !rasp.sop<num, bool>, ty_sel = !rasp.selector}
