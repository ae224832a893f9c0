// OrOfConstantSelects: an `or` of two selects that compare one s-op with two constants
// (rover's `select(relative_clause_pos, 2, ==) or select(relative_clause_pos, 6, ==)`)
// becomes one select of a map of that s-op against `true`: one (keys, queries) pair,
// so no MLP pairs values up before the head. The pattern needs value sets (it tabulates
// the map), so rasp-infer-values runs first; the second RUN line checks the rewritten
// program against the reference interpreter.
//
// RUN: rasp-opt %s -p rasp-infer-values,canonicalize --split-input-file | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,canonicalize --split-input-file --verify-each --verify-each-samples 40 2>&1 | filecheck %s --check-prefix=SAME

// SAME-NOT: differ
// SAME-NOT: error

rasp.program @keys_side vocab ["a", "b"] max_seq_len 5 {
  %i = rasp.indices : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<str>
  %two = rasp.constant 2 : !rasp.sop<int>
  %four = rasp.constant 4 : !rasp.sop<int>
  %at_two = rasp.select %i, %two, eq : !rasp.sop<int>, !rasp.sop<int>
  %at_four = rasp.select %i, %four, eq : !rasp.sop<int>, !rasp.sop<int>
  %either = rasp.select_or %at_two, %at_four
  %w = rasp.selector_width %either : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @keys_side
// CHECK:         %i_test = rasp.map %i, [0 -> false, 1 -> false, 2 -> true, 3 -> false, 4 -> true] : !rasp.sop<int> -> !rasp.sop<bool>
// CHECK-NEXT:    %[[TRUE:.*]] = rasp.constant true : !rasp.sop<bool>
// CHECK-NEXT:    %either = rasp.select %i_test, %[[TRUE]], eq
// CHECK-NOT:     rasp.select_or

// -----

// The s-op on the query side, the constants as keys: the map is a query test.
rasp.program @queries_side vocab ["a", "b"] max_seq_len 4 {
  %i = rasp.indices : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<str>
  %zero = rasp.constant 0 : !rasp.sop<int>
  %three = rasp.constant 3 : !rasp.sop<int>
  %q0 = rasp.select %zero, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %q3 = rasp.select %three, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %either = rasp.select_or %q0, %q3
  %first = rasp.aggregate %either, %t default "-" : !rasp.sop<str> -> !rasp.sop<str>
  rasp.output %first : !rasp.sop<str>
}

// CHECK-LABEL: rasp.program @queries_side
// CHECK:         %i_test = rasp.map %i, [0 -> true, 1 -> false, 2 -> false, 3 -> true] : !rasp.sop<int> -> !rasp.sop<bool>
// CHECK-NEXT:    %[[TRUE:.*]] = rasp.constant true : !rasp.sop<bool>
// CHECK-NEXT:    %either = rasp.select %[[TRUE]], %i_test, eq
// CHECK-NOT:     rasp.select_or

// -----

// Two different s-ops: left alone.
rasp.program @two_sops vocab ["a", "b"] max_seq_len 4 {
  %i = rasp.indices : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<str>
  %two = rasp.constant 2 : !rasp.sop<int>
  %a = rasp.constant "a" : !rasp.sop<str>
  %at_two = rasp.select %i, %two, eq : !rasp.sop<int>, !rasp.sop<int>
  %is_a = rasp.select %t, %a, eq : !rasp.sop<str>, !rasp.sop<str>
  %either = rasp.select_or %at_two, %is_a
  %w = rasp.selector_width %either : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @two_sops
// CHECK:         rasp.select_or
