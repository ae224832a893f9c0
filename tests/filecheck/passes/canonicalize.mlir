// The `rasp` dialect's canonicalization patterns (rasp_ir/passes/rasp_canonicalization.py),
// one program per pattern. Every rewrite keeps the program's meaning: the second RUN
// line checks each program against the reference interpreter on sample inputs.
//
// RUN: rasp-opt %s -p canonicalize --split-input-file | filecheck %s
// RUN: rasp-opt %s -p canonicalize --split-input-file --verify-each --verify-each-samples 40 2>&1 | filecheck %s --check-prefix=SAME

// SAME-NOT: differ
// SAME-NOT: error

// map(g, map(f, x)) -> map(g∘f, x); the fused map keeps the outer map's name and type.
rasp.program @map_of_map vocab [1, 2, 3] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %f = rasp.map %t, [1 -> 10, 2 -> 20, 3 -> 10] : !rasp.sop<int> -> !rasp.sop<int>
  %g = rasp.map %f, [10 -> "x", 20 -> "y", 30 -> "z"] : !rasp.sop<int> -> !rasp.sop<str>
  rasp.output %g : !rasp.sop<str>
}

// CHECK-LABEL: rasp.program @map_of_map
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<int>
// CHECK-NEXT:    %g = rasp.map %t, [1 -> "x", 2 -> "y", 3 -> "x"] : !rasp.sop<int> -> !rasp.sop<str>
// CHECK-NEXT:    rasp.output %g : !rasp.sop<str>

// -----

// Not fused when the outer table has no entry for one of the inner map's outputs.
rasp.program @map_of_map_partial vocab [1, 2, 3] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %f = rasp.map %t, [1 -> 10, 2 -> 20, 3 -> 30] : !rasp.sop<int> -> !rasp.sop<int>
  %g = rasp.map %f, [10 -> 1, 20 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %g : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @map_of_map_partial
// CHECK-NEXT:    %t = rasp.tokens
// CHECK-NEXT:    %f = rasp.map %t, [1 -> 10, 2 -> 20, 3 -> 30]
// CHECK-NEXT:    %g = rasp.map %f, [10 -> 1, 20 -> 2]

// -----

// The inner map stays while something else reads it; the outer one is fused anyway
// (one MLP less on the path to the output).
rasp.program @map_of_shared_map vocab [1, 2, 3] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %f = rasp.map %t, [1 -> 0, 2 -> 1, 3 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  %g = rasp.map %f, [0 -> 5, 1 -> 6, 2 -> 7] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.select %f, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %g : !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %a : !rasp.sop<float>
}

// CHECK-LABEL: rasp.program @map_of_shared_map
// CHECK:         %f = rasp.map %t, [1 -> 0, 2 -> 1, 3 -> 2]
// CHECK-NEXT:    %g = rasp.map %t, [1 -> 5, 2 -> 6, 3 -> 7]
// CHECK-NEXT:    %s = rasp.select %f, %i, eq

// -----

// map(id, x) -> x when the types are the same.
rasp.program @identity vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %id = rasp.map %t, [1 -> 1, 2 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.select %id, %id, lt : !rasp.sop<int>, !rasp.sop<int>
  %w = rasp.selector_width %s : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @identity
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<int>
// CHECK-NEXT:    %s = rasp.select %t, %t, lt

// -----

// An identity table between two encodings is a conversion: it stays.
rasp.program @conversion vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %n = rasp.map %t, [1 -> 1, 2 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<num, int>
  rasp.output %n : !rasp.sop<num, int>
}

// CHECK-LABEL: rasp.program @conversion
// CHECK:         %n = rasp.map %t, [1 -> 1, 2 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<num, int>

// -----

// map(g, sequence_map(f, a, b)) -> sequence_map(g∘f, a, b).
rasp.program @map_of_sequence_map vocab [1, 2] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %s = rasp.sequence_map %t, %i, [(1, 0) -> 1, (1, 1) -> 2, (2, 0) -> 2, (2, 1) -> 3] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %even = rasp.map %s, [1 -> false, 2 -> true, 3 -> false] : !rasp.sop<int> -> !rasp.sop<bool>
  rasp.output %even : !rasp.sop<bool>
}

// CHECK-LABEL: rasp.program @map_of_sequence_map
// CHECK:         %even = rasp.sequence_map %t, %i, [(1, 0) -> false, (1, 1) -> true, (2, 0) -> true, (2, 1) -> false] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<bool>
// CHECK-NEXT:    rasp.output %even

// -----

// sequence_map(f, map(g, a), b) -> sequence_map(f∘(g×id), a, b).
rasp.program @sequence_map_of_map_lhs vocab [1, 2, 3] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %odd = rasp.map %t, [1 -> 1, 2 -> 0, 3 -> 1] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.sequence_map %odd, %i, [(0, 0) -> 0, (0, 1) -> 1, (1, 0) -> 10, (1, 1) -> 11] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @sequence_map_of_map_lhs
// CHECK-NOT:     rasp.map
// CHECK:         %s = rasp.sequence_map %t, %i, [(1, 0) -> 10, (1, 1) -> 11, (2, 0) -> 0, (2, 1) -> 1, (3, 0) -> 10, (3, 1) -> 11]

// -----

// ... and likewise for the second operand.
rasp.program @sequence_map_of_map_rhs vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %half = rasp.map %i, [0 -> 0, 1 -> 0, 2 -> 1] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.sequence_map %t, %half, [(1, 0) -> "a", (1, 1) -> "b", (2, 0) -> "c", (2, 1) -> "d"] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<str>
  rasp.output %s : !rasp.sop<str>
}

// CHECK-LABEL: rasp.program @sequence_map_of_map_rhs
// CHECK-NOT:     rasp.map
// CHECK:         %s = rasp.sequence_map %t, %i, [(1, 0) -> "a", (1, 1) -> "a", (1, 2) -> "b", (2, 0) -> "c", (2, 1) -> "c", (2, 2) -> "d"]

// -----

// sequence_map(f, x, x) -> map(v -> f(v, v), x).
rasp.program @same_operand vocab [1, 2, 3] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<int>
  %sq = rasp.sequence_map %t, %t, [(1, 1) -> 1, (1, 2) -> 2, (1, 3) -> 3, (2, 1) -> 2, (2, 2) -> 4, (2, 3) -> 6, (3, 1) -> 3, (3, 2) -> 6, (3, 3) -> 9] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %sq : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @same_operand
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<int>
// CHECK-NEXT:    %sq = rasp.map %t, [1 -> 1, 2 -> 4, 3 -> 9] : !rasp.sop<int> -> !rasp.sop<int>

// -----

// map(f, constant c) -> constant f(c).
rasp.program @map_of_constant vocab [1, 2] max_seq_len 2 {
  %c = rasp.constant 2 : !rasp.sop<int>
  %m = rasp.map %c, [1 -> "one", 2 -> "two"] : !rasp.sop<int> -> !rasp.sop<str>
  rasp.output %m : !rasp.sop<str>
}

// CHECK-LABEL: rasp.program @map_of_constant
// CHECK-NEXT:    %m = rasp.constant "two" : !rasp.sop<str>
// CHECK-NEXT:    rasp.output %m : !rasp.sop<str>

// -----

// sequence_map(f, constant c, x) -> map(v -> f(c, v), x), and for a constant second
// operand; of two constants, a constant.
rasp.program @sequence_map_of_constant vocab [1, 2] max_seq_len 2 {
  %c = rasp.constant 1 : !rasp.sop<int>
  %t = rasp.tokens : !rasp.sop<int>
  %l = rasp.sequence_map %c, %t, [(1, 1) -> 11, (1, 2) -> 12, (2, 1) -> 21, (2, 2) -> 22] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %r = rasp.sequence_map %l, %c, [(11, 1) -> true, (12, 1) -> false, (21, 1) -> false, (22, 1) -> false] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<bool>
  %d = rasp.constant 2 : !rasp.sop<int>
  %cd = rasp.sequence_map %c, %d, [(1, 2) -> 3] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.select %cd, %t, gt : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %s, %r default false : !rasp.sop<bool> -> !rasp.sop<bool>
  rasp.output %a : !rasp.sop<bool>
}

// CHECK-LABEL: rasp.program @sequence_map_of_constant
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<int>
// CHECK-NEXT:    %r = rasp.map %t, [1 -> true, 2 -> false] : !rasp.sop<int> -> !rasp.sop<bool>
// CHECK-NEXT:    %cd = rasp.constant 3 : !rasp.sop<int>
// CHECK-NEXT:    %s = rasp.select %cd, %t, gt

// -----

// linear_sequence_map of two constants -> a constant; with one constant, a map over
// the other operand's value set when rasp-infer-values has recorded it.
rasp.program @linear_of_constant vocab [1, 2] max_seq_len 2 {
  %t = rasp.tokens {values = #rasp.values[1, 2]} : !rasp.sop<int>
  %a = rasp.constant 3 : !rasp.sop<int>
  %b = rasp.constant 2 : !rasp.sop<int>
  %ab = rasp.linear_sequence_map %a, %b coeffs (2, -1) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %tb = rasp.linear_sequence_map %t, %ab coeffs (0.5, 1) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %tb : !rasp.sop<float>
}

// CHECK-LABEL: rasp.program @linear_of_constant
// CHECK-NEXT:    %t = rasp.tokens {values = #rasp.values[1, 2]} : !rasp.sop<int>
// CHECK-NEXT:    %tb = rasp.map %t, [1 -> 4.5, 2 -> 5.0] : !rasp.sop<int> -> !rasp.sop<float>

// -----

// select_not(select_not(s)) -> s.
rasp.program @not_not vocab [1, 2] max_seq_len 3 {
  %i = rasp.indices : !rasp.sop<int>
  %s = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %n = rasp.select_not %s
  %nn = rasp.select_not %n
  %w = rasp.selector_width %nn : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @not_not
// CHECK-NEXT:    %i = rasp.indices : !rasp.sop<int>
// CHECK-NEXT:    %s = rasp.select %i, %i, lt
// CHECK-NEXT:    %w = rasp.selector_width %s : !rasp.sop<int>

// -----

// select_not(select(k, q, pred)) -> select(k, q, not pred): eq/neq, lt/geq, leq/gt.
rasp.program @not_select vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %eq = rasp.select %t, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %lt = rasp.select %t, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %leq = rasp.select %t, %i, leq : !rasp.sop<int>, !rasp.sop<int>
  %not_eq = rasp.select_not %eq
  %not_lt = rasp.select_not %lt
  %not_leq = rasp.select_not %leq
  %w1 = rasp.selector_width %not_eq : !rasp.sop<int>
  %w2 = rasp.selector_width %not_lt : !rasp.sop<int>
  %w3 = rasp.selector_width %not_leq : !rasp.sop<int>
  %w12 = rasp.linear_sequence_map %w1, %w2 coeffs (1, 10) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %w = rasp.linear_sequence_map %w12, %w3 coeffs (1, 100) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @not_select
// CHECK-NOT:     rasp.select_not
// CHECK-DAG:     %not_eq = rasp.select %t, %i, neq
// CHECK-DAG:     %not_lt = rasp.select %t, %i, geq
// CHECK-DAG:     %not_leq = rasp.select %t, %i, gt
// CHECK:         rasp.output

// -----

// select_and/select_or with an always-true or always-false select, or twice the same
// selector; an always-false selector aggregates to the default, its width is 0, and an
// always-true one's width is the length.
rasp.program @and_or vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %lt = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %yes = rasp.select %t, %t, true : !rasp.sop<int>, !rasp.sop<int>
  %no = rasp.select %t, %t, false : !rasp.sop<int>, !rasp.sop<int>
  %and_true = rasp.select_and %lt, %yes
  %and_false = rasp.select_and %no, %lt
  %or_true = rasp.select_or %lt, %yes
  %or_false = rasp.select_or %no, %and_true
  %twice = rasp.select_and %or_false, %or_false
  %a = rasp.aggregate %twice, %t : !rasp.sop<int> -> !rasp.sop<float>
  %d = rasp.aggregate %and_false, %t default 7 : !rasp.sop<int> -> !rasp.sop<float>
  %n = rasp.selector_width %or_true : !rasp.sop<int>
  %z = rasp.selector_width %and_false : !rasp.sop<int>
  %ad = rasp.linear_sequence_map %a, %d coeffs (1, 10) : !rasp.sop<float>, !rasp.sop<float> -> !rasp.sop<float>
  %nz = rasp.linear_sequence_map %n, %z coeffs (100, 1000) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<float>
  %out = rasp.linear_sequence_map %ad, %nz coeffs (1, 1) : !rasp.sop<float>, !rasp.sop<float> -> !rasp.sop<float>
  rasp.output %out : !rasp.sop<float>
}

// CHECK-LABEL: rasp.program @and_or
// CHECK-NOT:     rasp.select_and
// CHECK-NOT:     rasp.select_or
// CHECK:         %lt = rasp.select %i, %i, lt
// CHECK-NEXT:    %a = rasp.aggregate %lt, %t : !rasp.sop<int> -> !rasp.sop<float>
// CHECK-NEXT:    %d = rasp.constant 7.0 : !rasp.sop<float>
// CHECK-NEXT:    %n = rasp.length : !rasp.sop<int>
// CHECK-NEXT:    %z = rasp.constant 0 : !rasp.sop<int>

// -----

// A selector and its complement: select_and gives nothing, select_or everything.
rasp.program @complements vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %i = rasp.indices : !rasp.sop<int>
  %lt = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %geq = rasp.select %i, %i, geq : !rasp.sop<int>, !rasp.sop<int>
  %eq = rasp.select %t, %t, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %both = rasp.select_and %lt, %eq
  %not_both = rasp.select_not %both
  %never = rasp.select_and %lt, %geq
  %always = rasp.select_or %not_both, %both
  %z = rasp.selector_width %never : !rasp.sop<int>
  %n = rasp.selector_width %always : !rasp.sop<int>
  %out = rasp.linear_sequence_map %z, %n coeffs (10, 1) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %out : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @complements
// CHECK-NOT:     rasp.select
// CHECK:         %z = rasp.constant 0 : !rasp.sop<int>
// CHECK-NEXT:    %n = rasp.length : !rasp.sop<int>

// -----

// An always-true/false select compares nothing: its operands become an s-op the
// embedding holds (here the categorical tokens), so the aggregate need not wait for
// the map, which is then dead.
rasp.program @constant_select_operands vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %i = rasp.indices : !rasp.sop<int>
  %lt = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %m = rasp.map %t, [1 -> 0, 2 -> 1] : !rasp.sop<cat, int> -> !rasp.sop<int>
  %yes = rasp.select %m, %i, true : !rasp.sop<int>, !rasp.sop<int>
  %w = rasp.selector_width %yes : !rasp.sop<int>
  %s = rasp.select_and %lt, %yes
  %v = rasp.map %t, [1 -> 5, 2 -> 7] : !rasp.sop<cat, int> -> !rasp.sop<num, int>
  %a = rasp.aggregate %yes, %v : !rasp.sop<num, int> -> !rasp.sop<num, float>
  rasp.output %a : !rasp.sop<num, float>
}

// CHECK-LABEL: rasp.program @constant_select_operands
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<cat, int>
// CHECK-NEXT:    %yes = rasp.select %t, %t, true : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:    %v = rasp.map %t, [1 -> 5, 2 -> 7]
// CHECK-NEXT:    %a = rasp.aggregate %yes, %v

// -----

// When no such s-op is surely categorical, a new categorical `rasp.indices` is made
// (nothing reads its dimensions: transformer-drop-unread-dims removes them).
rasp.program @constant_select_new_indices vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %m = rasp.map %t, [1 -> 0, 2 -> 1] : !rasp.sop<int> -> !rasp.sop<int>
  %yes = rasp.select %m, %m, true : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %yes, %t : !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %a : !rasp.sop<float>
}

// CHECK-LABEL: rasp.program @constant_select_new_indices
// CHECK-NEXT:    %indices = rasp.indices : !rasp.sop<cat, int>
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<int>
// CHECK-NEXT:    %yes = rasp.select %indices, %indices, true

// -----

// select(constant a, constant b, pred) is always-true or always-false.
rasp.program @select_of_constants vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %one = rasp.constant 1 : !rasp.sop<cat, int>
  %two = rasp.constant 2 : !rasp.sop<cat, int>
  %s = rasp.select %one, %two, lt : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %v = rasp.map %t, [1 -> 5, 2 -> 7] : !rasp.sop<cat, int> -> !rasp.sop<num, int>
  %a = rasp.aggregate %s, %v : !rasp.sop<num, int> -> !rasp.sop<num, float>
  rasp.output %a : !rasp.sop<num, float>
}

// CHECK-LABEL: rasp.program @select_of_constants
// CHECK-NEXT:    %t = rasp.tokens : !rasp.sop<cat, int>
// CHECK-NEXT:    %s = rasp.select %t, %t, true
// CHECK-NEXT:    %v = rasp.map %t
// CHECK-NEXT:    %a = rasp.aggregate %s, %v

// -----

// aggregate(sel, constant c, default c) -> constant c for a number c (a mean of copies
// of c is c); a string is only folded when the selector picks at most one position
// (averaging several strings is an error the fold must not hide).
rasp.program @aggregate_of_constant vocab [1, 2] max_seq_len 3 {
  %i = rasp.indices : !rasp.sop<int>
  %two = rasp.constant 2 : !rasp.sop<int>
  %x = rasp.constant "x" : !rasp.sop<str>
  %leq = rasp.select %i, %i, leq : !rasp.sop<int>, !rasp.sop<int>
  %eq = rasp.select %i, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %mean = rasp.aggregate %leq, %two default 2 : !rasp.sop<int> -> !rasp.sop<float>
  %copy = rasp.aggregate %eq, %x default "x" : !rasp.sop<str> -> !rasp.sop<str>
  %many = rasp.aggregate %leq, %x default "x" : !rasp.sop<str> -> !rasp.sop<str>
  %m = rasp.sequence_map %copy, %many, [("x", "x") -> 1] : !rasp.sop<str>, !rasp.sop<str> -> !rasp.sop<int>
  %out = rasp.linear_sequence_map %m, %mean coeffs (1, 1) : !rasp.sop<int>, !rasp.sop<float> -> !rasp.sop<float>
  rasp.output %out : !rasp.sop<float>
}

// %copy became the constant "x", so the sequence_map that reads it became a map.
// CHECK-LABEL: rasp.program @aggregate_of_constant
// CHECK:         %mean = rasp.constant 2.0 : !rasp.sop<float>
// CHECK-NEXT:    %many = rasp.aggregate %leq, %x default "x" : !rasp.sop<str> -> !rasp.sop<str>
// CHECK-NEXT:    %m = rasp.map %many, ["x" -> 1] : !rasp.sop<str> -> !rasp.sop<int>

// -----

// ... and over an always-true selector a number aggregates to itself whatever the
// default: every query selects at least its own position.
rasp.program @aggregate_all_of_constant vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %c = rasp.constant -1.5 : !rasp.sop<float>
  %all = rasp.select %t, %t, true : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %a = rasp.aggregate %all, %c : !rasp.sop<float> -> !rasp.sop<float>
  rasp.output %a : !rasp.sop<float>
}

// CHECK-LABEL: rasp.program @aggregate_all_of_constant
// CHECK-NEXT:    %a = rasp.constant -1.5 : !rasp.sop<float>
// CHECK-NEXT:    rasp.output %a

// -----

// aggregate(FALSE, x, default d) is only folded when d fits the result type: the
// paper's default 0 cannot be a string s-op.
rasp.program @aggregate_of_false_string vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %no = rasp.select %t, %t, false : !rasp.sop<str>, !rasp.sop<str>
  %a = rasp.aggregate %no, %t : !rasp.sop<str> -> !rasp.sop<str>
  %m = rasp.map %a, ["a" -> 1, "b" -> 2, 0 -> 0] : !rasp.sop<str> -> !rasp.sop<int>
  rasp.output %m : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @aggregate_of_false_string
// CHECK:         %a = rasp.aggregate %no, %t : !rasp.sop<str> -> !rasp.sop<str>

// -----

// Tables and constants are written the way rasp-infer-values lists values: an int in a
// float s-op as a float (the lowering looks values up in those lists, where 1 and 1.0
// are different keys).
rasp.program @kinds vocab [1, 2] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %c = rasp.constant 1 : !rasp.sop<float>
  %f = rasp.map %t, [1 -> 1, 2 -> 2.5] : !rasp.sop<int> -> !rasp.sop<float>
  %lt = rasp.select %t, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %a = rasp.aggregate %lt, %c : !rasp.sop<float> -> !rasp.sop<float>
  %s = rasp.sequence_map %a, %i, [(0, 0) -> 0, (0, 1) -> 1, (0, 2) -> 2, (1, 0) -> 1, (1, 1) -> 2, (1, 2) -> 3] : !rasp.sop<float>, !rasp.sop<int> -> !rasp.sop<float>
  %out = rasp.linear_sequence_map %f, %s coeffs (1, 1) : !rasp.sop<float>, !rasp.sop<float> -> !rasp.sop<float>
  rasp.output %out : !rasp.sop<float>
}

// CHECK-LABEL: rasp.program @kinds
// CHECK:         %c = rasp.constant 1.0 : !rasp.sop<float>
// CHECK-NEXT:    %f = rasp.map %t, [1 -> 1.0, 2 -> 2.5] : !rasp.sop<int> -> !rasp.sop<float>
// CHECK:         %s = rasp.sequence_map %a, %i, [(0.0, 0) -> 0.0, (0.0, 1) -> 1.0, (0.0, 2) -> 2.0, (1.0, 0) -> 1.0, (1.0, 1) -> 2.0, (1.0, 2) -> 3.0]

// -----

// selector_width(c and (a or b)) -> selector_width(c and a) + selector_width(c and b) when
// a and b never select the same key (`lt` and `eq` on the same s-ops) and the `or`
// compares several pairs of s-ops: two heads instead of an MLP pairing tokens with indices.
// (At max_seq_len 32: at short lengths one head counts it by weight, the next case.)
rasp.program @width_of_disjoint_or vocab ["a", "b"] max_seq_len 32 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %smaller = rasp.select %t, %t, lt : !rasp.sop<str>, !rasp.sop<str>
  %same = rasp.select %t, %t, eq : !rasp.sop<str>, !rasp.sop<str>
  %earlier = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %tie = rasp.select_and %same, %earlier
  %before = rasp.select_or %smaller, %tie
  %zero = rasp.constant 0 : !rasp.sop<int>
  %not_first = rasp.select %i, %zero, neq : !rasp.sop<int>, !rasp.sop<int>
  %both = rasp.select_and %before, %not_first
  %rank = rasp.selector_width %both : !rasp.sop<int>
  rasp.output %rank : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @width_of_disjoint_or
// CHECK-NOT:     rasp.select_or
// CHECK:         %[[A:.*]] = rasp.select_and %smaller, %not_first
// CHECK-NEXT:    %[[WA:.*]] = rasp.selector_width %[[A]] : !rasp.sop<int>
// CHECK-NEXT:    %[[B:.*]] = rasp.select_and %tie, %not_first
// CHECK-NEXT:    %[[WB:.*]] = rasp.selector_width %[[B]] : !rasp.sop<int>
// CHECK-NEXT:    %rank = rasp.sequence_map %[[WA]], %[[WB]], [(0, 0) -> 0, (0, 1) -> 1,
// CHECK-SAME:      (1, 2) -> 3, (1, 3) -> 4,
// CHECK-SAME:      (30, 5) -> 32,
// CHECK-NEXT:    rasp.output %rank

// -----

// The same rank at max_seq_len 3: one head counts it, keys weighted by powers of 4
// (analysis.weighted_counts), so the width stays whole.
rasp.program @width_by_weight vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %smaller = rasp.select %t, %t, lt : !rasp.sop<str>, !rasp.sop<str>
  %same = rasp.select %t, %t, eq : !rasp.sop<str>, !rasp.sop<str>
  %earlier = rasp.select %i, %i, lt : !rasp.sop<int>, !rasp.sop<int>
  %tie = rasp.select_and %same, %earlier
  %before = rasp.select_or %smaller, %tie
  %rank = rasp.selector_width %before : !rasp.sop<int>
  rasp.output %rank : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @width_by_weight
// CHECK:         %before = rasp.select_or %smaller, %tie
// CHECK-NEXT:    %rank = rasp.selector_width %before : !rasp.sop<int>
// CHECK-NEXT:    rasp.output %rank

// -----

// select_or(a, b) -> a where b selects only what a selects: sort_bos's second head.
// Key 0 for query 0 (b) is selected by a too: %nb is -1 at position 0, as is %prev.
rasp.program @or_of_implied_part vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %zero = rasp.constant 0 : !rasp.sop<int>
  %lt = rasp.select %t, %t, lt : !rasp.sop<str>, !rasp.sop<str>
  %w = rasp.selector_width %lt : !rasp.sop<int>
  %nb = rasp.sequence_map %i, %w, [(0, 0) -> -1, (0, 1) -> -1, (0, 2) -> -1, (0, 3) -> -1, (1, 0) -> 0, (1, 1) -> 1, (1, 2) -> 2, (1, 3) -> 3, (2, 0) -> 0, (2, 1) -> 1, (2, 2) -> 2, (2, 3) -> 3] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %prev = rasp.map %i, [0 -> -1, 1 -> 0, 2 -> 1] : !rasp.sop<int> -> !rasp.sop<int>
  %grab = rasp.select %nb, %prev, eq : !rasp.sop<int>, !rasp.sop<int>
  %first = rasp.select %i, %zero, eq : !rasp.sop<int>, !rasp.sop<int>
  %self = rasp.select %i, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %bos = rasp.select_and %first, %self
  %either = rasp.select_or %grab, %bos
  %out = rasp.aggregate %either, %t : !rasp.sop<str> -> !rasp.sop<str>
  rasp.output %out : !rasp.sop<str>
}

// CHECK-LABEL: rasp.program @or_of_implied_part
// CHECK-NOT:     rasp.select_or
// CHECK:         %out = rasp.aggregate %grab, %t
