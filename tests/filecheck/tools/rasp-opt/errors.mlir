// User errors: one message on stderr, a non-zero exit, never a Python traceback.
//
// RUN: not rasp-opt %s -p canonicalise 2>&1 | filecheck %s --check-prefix=UNKNOWN
// UNKNOWN: rasp-opt: error: unknown pass 'canonicalise' (did you mean 'canonicalize'?); run 'rasp-opt --help' to list the passes
// UNKNOWN-NOT: Traceback
//
// RUN: not rasp-opt %s -p 'cse,no-such-pass' 2>&1 | filecheck %s --check-prefix=UNKNOWN2
// UNKNOWN2: rasp-opt: error: unknown pass 'no-such-pass'
//
// RUN: not rasp-opt %s -p 'cse{foo=1}' 2>&1 | filecheck %s --check-prefix=BADOPT
// BADOPT: rasp-opt: error: bad options for pass 'cse' in 'cse{foo=1}': Provided arguments ["foo"] not found in expected arguments [] (its options: none)
// BADOPT-NOT: Traceback
//
// RUN: not rasp-opt %s -p 'cse{' 2>&1 | filecheck %s --check-prefix=SYNTAX
// SYNTAX: rasp-opt: error: bad pass pipeline 'cse{': pass-pipeline:1:5
// SYNTAX-NOT: Traceback
//
// RUN: not rasp-opt %s --pipeline nonsense 2>&1 | filecheck %s --check-prefix=PIPELINE
// PIPELINE: rasp-opt: error: unknown pipeline 'nonsense'; known pipelines: default, rasp-default-pipeline
//
// RUN: not rasp-opt %s --pipeline default -p cse 2>&1 | filecheck %s --check-prefix=BOTH
// BOTH: rasp-opt: error: give either --pipeline or -p, not both
//
// RUN: not rasp-opt %s -p 'rasp-default-pipeline{x=1}' 2>&1 | filecheck %s --check-prefix=PIPEOPT
// PIPEOPT: rasp-opt: error: the named pipeline 'rasp-default-pipeline' takes no options
//
// RUN: not rasp-opt %s -p cse --print-ir-after=csee 2>&1 | filecheck %s --check-prefix=PRINTAFTER
// PRINTAFTER: rasp-opt: error: --print-ir-after: unknown pass 'csee' (did you mean 'cse'?)
//
// RUN: not rasp-opt %S/does-not-exist.mlir 2>&1 | filecheck %s --check-prefix=MISSING
// MISSING: rasp-opt: error: cannot read '{{.*}}does-not-exist.mlir': No such file or directory
// MISSING-NOT: Traceback
//
// RUN: not rasp-opt %S/Inputs/not-mlir.txt 2>&1 | filecheck %s --check-prefix=EXT
// EXT: rasp-opt: error: cannot read '{{.*}}not-mlir.txt': unknown file extension .txt; rasp-opt reads MLIR text (.mlir), use -f mlir to read it anyway
//
// RUN: not rasp-opt %s -t nonsense 2>&1 | filecheck %s --check-prefix=TARGET
// TARGET: rasp-opt: error: argument -t/--target: invalid choice: 'nonsense' (choose from mlir, onnx)
//
// RUN: not rasp-opt %s -o %S/no-such-dir/out.mlir 2>&1 | filecheck %s --check-prefix=OUTPUT
// OUTPUT: rasp-opt: error: cannot write '{{.*}}out.mlir': No such file or directory

rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}
