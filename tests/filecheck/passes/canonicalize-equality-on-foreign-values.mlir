// EqualityOnValuesTheOtherSideLacks: an `==` (or `!=`) select whose element-wise operand
// can hold several values the other side never holds: those values all select alike, so
// a map turns them into the first of them, and the head reads a one-hot of the values
// that can match and one more. Here %shift = indices + 3 holds 3..6 and the queries
// (indices) 0..3: 4, 5 and 6 become 4. The pattern reads value sets, so
// rasp-infer-values runs first; the second RUN line checks the rewritten program against
// the reference interpreter.
//
// RUN: rasp-opt %s -p rasp-infer-values,canonicalize --split-input-file | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,canonicalize --split-input-file --verify-each --verify-each-samples 40 2>&1 | filecheck %s --check-prefix=SAME

// SAME-NOT: differ
// SAME-NOT: error

rasp.program @shifted vocab ["a", "b"] max_seq_len 4 {
  %i = rasp.indices : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<str>
  %shift = rasp.map %i, [0 -> 3, 1 -> 4, 2 -> 5, 3 -> 6] : !rasp.sop<int> -> !rasp.sop<int>
  %sel = rasp.select %shift, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %out = rasp.aggregate %sel, %t default "-" : !rasp.sop<str> -> !rasp.sop<str>
  rasp.output %out : !rasp.sop<str>
}

// CHECK-LABEL: rasp.program @shifted
// CHECK:         %shift = rasp.map %i, [0 -> 3, 1 -> 4, 2 -> 4, 3 -> 4]
// CHECK:         %sel = rasp.select %shift, %i, eq

// -----

// `!=` on the query side: values of the keys' side the queries lack select every key.
rasp.program @not_equal vocab ["a", "b"] max_seq_len 3 {
  %i = rasp.indices : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<str>
  %far = rasp.map %i, [0 -> 0, 1 -> 7, 2 -> 9] : !rasp.sop<int> -> !rasp.sop<int>
  %sel = rasp.select %i, %far, neq : !rasp.sop<int>, !rasp.sop<int>
  %w = rasp.selector_width %sel : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @not_equal
// CHECK:         %far = rasp.map %i, [0 -> 0, 1 -> 7, 2 -> 7]
// CHECK:         %sel = rasp.select %i, %far, neq

// -----

// Only one value the other side lacks: nothing to merge.
rasp.program @one_foreign vocab ["a", "b"] max_seq_len 3 {
  %i = rasp.indices : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<str>
  %next = rasp.map %i, [0 -> 1, 1 -> 2, 2 -> 3] : !rasp.sop<int> -> !rasp.sop<int>
  %sel = rasp.select %next, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %out = rasp.aggregate %sel, %t default "-" : !rasp.sop<str> -> !rasp.sop<str>
  rasp.output %out : !rasp.sop<str>
}

// CHECK-LABEL: rasp.program @one_foreign
// CHECK:         %next = rasp.map %i, [0 -> 1, 1 -> 2, 2 -> 3]
// CHECK-NEXT:    %sel = rasp.select %next, %i, eq
