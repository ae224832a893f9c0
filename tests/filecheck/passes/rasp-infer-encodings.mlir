// rasp-infer-encodings: every s-op the user left open gets categorical or numerical.
// What a select compares is categorical; an aggregate that may average several
// numbers is numerical (its values become floats), one that selects at most one
// position (== on indices) copies, so it is categorical; a linear_sequence_map prefers
// numerical. %t is needed both ways (compared by a select, averaged by %mean), so a
// conversion map (identity table, new type) is inserted for the use that needs the
// other encoding. An encoding the user wrote is never changed. The pass infers the
// value sets it needs itself, so it also runs without rasp-infer-values first.
// A sequence_map whose table is a sum of one function per operand (@sum: 10 * i + t) is
// a linear form too, numerical unless a use needs a one-hot; a product (@product) is not.
//
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-encodings | filecheck %s

rasp.program @enc vocab [0, 1] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %user = rasp.constant 1 : !rasp.sop<num, int>
  %prevs = rasp.select %i, %i, leq : !rasp.sop<int>, !rasp.sop<int>
  %ones = rasp.select %t, %t, eq : !rasp.sop<int>, !rasp.sop<int>
  %both = rasp.select_and %prevs, %ones
  %mean = rasp.aggregate %both, %t : !rasp.sop<int> -> !rasp.sop<float>
  %eq = rasp.select %i, %i, eq : !rasp.sop<int>, !rasp.sop<int>
  %copy = rasp.aggregate %eq, %t : !rasp.sop<int> -> !rasp.sop<int>
  %w = rasp.selector_width %prevs : !rasp.sop<int>
  %lin = rasp.linear_sequence_map %w, %copy coeffs (1, 1) : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %sum = rasp.linear_sequence_map %mean, %lin coeffs (1, 1) : !rasp.sop<float>, !rasp.sop<int> -> !rasp.sop<float>
  %out = rasp.linear_sequence_map %sum, %user coeffs (1, 1) : !rasp.sop<float>, !rasp.sop<num, int> -> !rasp.sop<float>
  rasp.output %out : !rasp.sop<float>
}

// CHECK:      %t = rasp.tokens {values = #rasp.values[0, 1]} : !rasp.sop<cat, int>
// CHECK-NEXT: %t_num = rasp.map %t, [0 -> 0, 1 -> 1] {values = #rasp.values[0, 1]} : !rasp.sop<cat, int> -> !rasp.sop<num, int>
// CHECK-NEXT: %i = rasp.indices {{.*}}: !rasp.sop<cat, int>
// CHECK-NEXT: %user = rasp.constant 1 {{.*}}: !rasp.sop<num, int>
// CHECK-NEXT: %prevs = rasp.select %i, %i, leq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT: %ones = rasp.select %t, %t, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT: %both = rasp.select_and %prevs, %ones
// CHECK-NEXT: %mean = rasp.aggregate %both, %t_num {values = #rasp.values[0.0, 0.3333333333333333, 0.5, 0.6666666666666666, 1.0]} : !rasp.sop<num, int> -> !rasp.sop<num, float>
// CHECK-NEXT: %eq = rasp.select %i, %i, eq
// CHECK-NEXT: %copy = rasp.aggregate %eq, %t {{.*}}: !rasp.sop<cat, int> -> !rasp.sop<cat, int>
// CHECK-NEXT: %w = rasp.selector_width %prevs {{.*}}: !rasp.sop<cat, int>
// CHECK-NEXT: %lin = rasp.linear_sequence_map %w, %copy {{.*}}: !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<num, int>
// CHECK-NEXT: %sum = rasp.linear_sequence_map %mean, %lin {{.*}}: !rasp.sop<num, float>, !rasp.sop<num, int> -> !rasp.sop<num, float>
// CHECK-NEXT: %out = rasp.linear_sequence_map %sum, %user {{.*}}: !rasp.sop<num, float>, !rasp.sop<num, int> -> !rasp.sop<num, float>
// CHECK-NEXT: rasp.output %out : !rasp.sop<num, float>

rasp.program @sum vocab [0, 1] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %s = rasp.sequence_map %t, %i, [(0, 0) -> 0, (0, 1) -> 10, (1, 0) -> 1, (1, 1) -> 11] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %s : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @sum
// CHECK:       %s = rasp.sequence_map %t, %i, {{.*}} : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<num, int>

rasp.program @product vocab [1, 2] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %p = rasp.sequence_map %t, %i, [(1, 0) -> 0, (1, 1) -> 1, (2, 0) -> 0, (2, 1) -> 2] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  rasp.output %p : !rasp.sop<int>
}

// CHECK-LABEL: rasp.program @product
// CHECK:       %p = rasp.sequence_map %t, %i, {{.*}} : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<cat, int>
