// Input from stdin or a file, output to stdout or a file (-o).
//
// RUN: rasp-opt < %s | filecheck %s
// RUN: rasp-opt %s -o %t.out.mlir && filecheck %s --input-file=%t.out.mlir
// RUN: rasp-opt -f mlir %S/Inputs/not-mlir.txt --allow-unregistered-dialect --parsing-diagnostics | filecheck %s --check-prefix=FRONTEND

rasp.program @io {
  %t = rasp.tokens : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}

// CHECK:      builtin.module {
// CHECK-NEXT:   rasp.program @io {

// `-f mlir` reads a file whatever its extension (not-mlir.txt is not MLIR, hence the parse error).
// FRONTEND: not-mlir.txt:1:{{[0-9]+}}
