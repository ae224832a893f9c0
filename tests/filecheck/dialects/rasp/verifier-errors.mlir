// Every verifier error of the `rasp` dialect. `--verify-diagnostics` prints each
// diagnostic on stdout and exits 0; `--split-input-file` checks each case alone.
//
// RUN: rasp-opt %s --verify-diagnostics --split-input-file | filecheck %s

// A table must cover every value its input can take (known from `values`).
rasp.program @p vocab [1, 2] max_seq_len 4 {
  %t = rasp.tokens {values = #rasp.values[1, 2]} : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.map': the table does not cover the input values 2

// -----
rasp.program @p {
  %i = rasp.indices {values = #rasp.values[0, 1]} : !rasp.sop<cat, int>
  %m = rasp.sequence_map %i, %i, [(0, 0) -> 0, (0, 1) -> 1, (1, 1) -> 2] : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.sequence_map': the table does not cover the input values (1, 0)

// -----
// At most three missing entries are named.
rasp.program @p {
  %i = rasp.indices {values = #rasp.values[0, 1, 2, 3, 4]} : !rasp.sop<cat, int>
  %m = rasp.map %i, [0 -> 0] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.map': the table does not cover the input values 1, 2, 3 (and more)

// -----
// A selector where an s-op is expected.
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %m = rasp.map %s, [1 -> 2] : !rasp.selector -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.map': expected an s-op for the input, got a selector

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %x = rasp.select %s, %i, eq : !rasp.selector, !rasp.sop<cat, int>
  %w = rasp.selector_width %x : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}
// CHECK: 'rasp.select': expected an s-op for the keys, got a selector

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  rasp.output %s : !rasp.selector
}
// CHECK: 'rasp.output': expected an s-op for the output, got a selector

// -----
// A numerical s-op as a select key or query.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<num, int>
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %t, %i, eq : !rasp.sop<num, int>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}
// CHECK: 'rasp.select': the keys are a numerical s-op; a select compares categorical s-ops (convert it with a categorical map first)

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<num, int>
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %t, eq : !rasp.sop<cat, int>, !rasp.sop<num, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}
// CHECK: 'rasp.select': the queries are a numerical s-op

// -----
// An ordered comparison between strings and numbers.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, str>
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %t, %i, lt : !rasp.sop<cat, str>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}
// CHECK: 'rasp.select': 'lt' compares str keys with int queries

// -----
// Mismatched encodings in an aggregate.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<num, int>
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %a = rasp.aggregate %s, %t : !rasp.sop<num, int> -> !rasp.sop<cat, int>
  rasp.output %a : !rasp.sop<cat, int>
}
// CHECK: 'rasp.aggregate': mismatched encodings: the input is numerical but the result is categorical

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %a = rasp.aggregate %s, %i : !rasp.sop<cat, int> -> !rasp.sop<num, float>
  rasp.output %a : !rasp.sop<num, float>
}
// CHECK: 'rasp.aggregate': mismatched encodings: the input is categorical but the result is numerical

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %a = rasp.aggregate %s, %t : !rasp.sop<str> -> !rasp.sop<num, float>
  rasp.output %a : !rasp.sop<num, float>
}
// CHECK: 'rasp.aggregate': a numerical aggregate cannot average strings

// -----
// Wrong table arity.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %m = rasp.map %t, [(1, 2) -> 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.map': the table must map one argument, not 2

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %m = rasp.sequence_map %i, %i, [1 -> 2] : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.sequence_map': the table must map two arguments, not 1

// -----
// Value kinds that do not match the result type.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 -> "a"] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.map': table value "a" is str, but the result is !rasp.sop of int

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %m = rasp.sequence_map %i, %i, [(0, 0) -> 1.5] : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: 'rasp.sequence_map': table value 1.5 is float, but the result is !rasp.sop of int

// -----
rasp.program @p {
  %c = rasp.constant "a" : !rasp.sop<cat, int>
  rasp.output %c : !rasp.sop<cat, int>
}
// CHECK: 'rasp.constant': constant "a" is str, but the result is !rasp.sop of int

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, str>
  rasp.output %i : !rasp.sop<cat, str>
}
// CHECK: 'rasp.indices': result must be an s-op of int, not str

// -----
rasp.program @p {
  %n = rasp.length : !rasp.sop<cat, float>
  rasp.output %n : !rasp.sop<cat, float>
}
// CHECK: 'rasp.length': result must be an s-op of int, not float

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, bool>
  rasp.output %w : !rasp.sop<cat, bool>
}
// CHECK: 'rasp.selector_width': result must be an s-op of int, not bool

// -----
// Inferred value sets: must be #rasp.values, and fit the result's kind.
rasp.program @p {
  %t = rasp.tokens {values = 3 : i64} : !rasp.sop<cat, int>
  rasp.output %t : !rasp.sop<cat, int>
}
// CHECK: 'rasp.tokens': attribute 'values' must be #rasp.values

// -----
rasp.program @p {
  %t = rasp.tokens {values = #rasp.values["a"]} : !rasp.sop<cat, int>
  rasp.output %t : !rasp.sop<cat, int>
}
// CHECK: 'rasp.tokens': inferred value "a" is str, but the result is !rasp.sop of int

// -----
// linear_sequence_map: numbers only.
rasp.program @p {
  %i = rasp.indices : !rasp.sop<num, int>
  %l = rasp.linear_sequence_map %i, %i coeffs ("a", 1) : !rasp.sop<num, int>, !rasp.sop<num, int> -> !rasp.sop<num, int>
  rasp.output %l : !rasp.sop<num, int>
}
// CHECK: 'rasp.linear_sequence_map': coefficient "a" is not a number

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, str>
  %l = rasp.linear_sequence_map %t, %t coeffs (1, 1) : !rasp.sop<cat, str>, !rasp.sop<cat, str> -> !rasp.sop<num, int>
  rasp.output %l : !rasp.sop<num, int>
}
// CHECK: 'rasp.linear_sequence_map': the first input holds str; a linear map needs numbers

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<num, int>
  %l = rasp.linear_sequence_map %i, %i coeffs (1, 1) : !rasp.sop<num, int>, !rasp.sop<num, int> -> !rasp.sop<num, bool>
  rasp.output %l : !rasp.sop<num, bool>
}
// CHECK: 'rasp.linear_sequence_map': the result must hold int or float

// -----
// Program properties: BOS outside the vocabulary, max_seq_len >= 1.
rasp.program @p vocab ["a", "BOS"] bos "BOS" {
  %t = rasp.tokens : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}
// CHECK: 'rasp.program' @p: BOS "BOS" is also in the vocabulary

// -----
rasp.program @p max_seq_len 0 {
  %t = rasp.tokens : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}
// CHECK: 'rasp.program' @p: max_seq_len must be an integer >= 1, not 0

// -----
rasp.program @p max_seq_len "x" {
  %t = rasp.tokens : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}
// CHECK: 'rasp.program' @p: max_seq_len must be an integer >= 1, not "x"

// -----
// A program body must end with rasp.output; xDSL's structural check fires first.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, str>
}
// CHECK: {{(Operation rasp.tokens terminates block in single-block region but is not a terminator|the body must end with 'rasp.output')}}

// -----
rasp.program @p {
}
// CHECK: {{(Region 'body' at position 0 expected a single block, but got 0 blocks|the body must end with 'rasp.output')}}

// -----
// map_fn bodies: one argument, ending with rasp.yield.
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %f = rasp.map_fn %i : !rasp.sop<cat, int> -> !rasp.sop<cat, int> {
  ^bb0(%v : i64):
    %c1 = arith.constant 1 : i64
  }
  rasp.output %f : !rasp.sop<cat, int>
}
// CHECK: {{(Operation arith.constant terminates block in single-block region but is not a terminator|the body must end with 'rasp.yield')}}

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %f = rasp.map_fn %i : !rasp.sop<cat, int> -> !rasp.sop<cat, int> {
  ^bb0(%v : i64, %w : i64):
    rasp.yield %v : i64
  }
  rasp.output %f : !rasp.sop<cat, int>
}
// CHECK: 'rasp.map_fn': the body takes exactly one argument, the input value

// -----
// Terminators in the wrong place.
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  rasp.yield %i : !rasp.sop<cat, int>
}
// CHECK: 'rasp.yield' expects parent op 'rasp.map_fn'

// -----
func.func @f(%x : !rasp.sop<cat, int>) {
  rasp.output %x : !rasp.sop<cat, int>
}
// CHECK: 'rasp.output' expects parent op 'rasp.program'

// -----
// Types and attributes that do not verify.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<num, str>
  rasp.output %t : !rasp.sop<num, str>
}
// CHECK: !rasp.sop: a string s-op cannot be numerical

// -----
rasp.program @p vocab [1, 1] {
  %t = rasp.tokens : !rasp.sop<cat, int>
  rasp.output %t : !rasp.sop<cat, int>
}
// CHECK: #rasp.values: 1 appears twice

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 -> 2, 1 -> 3] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: #rasp.table: two entries for 1

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 -> 2, (1, 2) -> 3] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: #rasp.table: entries have different numbers of arguments
