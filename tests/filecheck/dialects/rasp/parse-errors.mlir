// Text that does not parse. `--parsing-diagnostics` prints the error (with its
// file:line:col and a caret) on stdout and exits 0.
//
// RUN: rasp-opt %s --parsing-diagnostics --split-input-file | filecheck %s

rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, strr>
  rasp.output %t : !rasp.sop<cat, str>
}
// CHECK: parse-errors.mlir:7:{{[0-9]+}}
// CHECK: unknown value kind 'strr' (expected int, float, bool or str)

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat>
  rasp.output %t : !rasp.sop<cat, str>
}
// CHECK: parse-errors.mlir:15:{{[0-9]+}}
// CHECK: Expected ','

// -----
rasp.program @p {
  %t = rasp.tokenz : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}
// CHECK: parse-errors.mlir:23:{{[0-9]+}}
// CHECK: Operation rasp.tokenz is not registered

// -----
rasp.program @p {
  %t = rasp.constant @x : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}
// CHECK: parse-errors.mlir:31:22
// CHECK: integer or float literal expected (a RASP value: int, float, bool or string)

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 => 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: parse-errors.mlir:40:{{[0-9]+}}
// CHECK: Expected '->'

// -----
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %m = rasp.map %t, [(1, 2 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %m : !rasp.sop<cat, int>
}
// CHECK: parse-errors.mlir:49:{{[0-9]+}}
// CHECK: Expected ')'

// -----
rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %i, like : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}
// CHECK: parse-errors.mlir:58:{{[0-9]+}}
// CHECK: Expected `eq`, `lt`, `leq`, `gt`, `geq`, `neq`, `true`, or `false`.

// -----
// An operand used with another type than it was defined with.
rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, str>
  %a = rasp.aggregate %t, %t : !rasp.sop<cat, str> -> !rasp.sop<cat, str>
  rasp.output %a : !rasp.sop<cat, str>
}
// CHECK: parse-errors.mlir:69:{{[0-9]+}}
// CHECK: operand is used with type !rasp.selector, but has been previously used or defined with type !rasp.sop<cat, str>

// -----
rasp.program @p vocab [1, 2 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  rasp.output %t : !rasp.sop<cat, int>
}
// CHECK: parse-errors.mlir:76:{{[0-9]+}}
// CHECK: ']' expected
