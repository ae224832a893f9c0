// IR dumps around passes go to stderr as `// -----// IR Dump After PASS //----- //`
// (as mlir-opt prints them); stdout holds only the final IR.
//
// RUN: rasp-opt %s -p canonicalize,cse --print-ir-after-all 2>&1 | filecheck %s --check-prefix=AFTERALL
// RUN: rasp-opt %s -p canonicalize,cse --print-ir-before-all 2>&1 | filecheck %s --check-prefix=BEFOREALL
// RUN: rasp-opt %s -p canonicalize,cse --print-ir-before=cse --print-ir-after=canonicalize 2>&1 | filecheck %s --check-prefix=SOME
// RUN: rasp-opt %s -p canonicalize,cse --print-ir-after-all 2>%t.dumps | filecheck %s --check-prefix=STDOUT
// RUN: filecheck %s --check-prefix=STDERR < %t.dumps

rasp.program @p {
  %i = rasp.indices : !rasp.sop<cat, int>
  %j = rasp.indices : !rasp.sop<cat, int>
  %s = rasp.select %i, %j, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}

// AFTERALL:      // -----// IR Dump After canonicalize //----- //
// AFTERALL-NEXT: builtin.module {
// AFTERALL:        %j = rasp.indices
// AFTERALL:      // -----// IR Dump After cse //----- //
// AFTERALL-NEXT: builtin.module {
// AFTERALL-NOT:    %j = rasp.indices
// AFTERALL:        %s = rasp.select %i, %i, eq
// AFTERALL:      builtin.module {
// AFTERALL-NOT:  IR Dump

// BEFOREALL:      // -----// IR Dump Before canonicalize //----- //
// BEFOREALL-NEXT: builtin.module {
// BEFOREALL:        %j = rasp.indices
// BEFOREALL:      // -----// IR Dump Before cse //----- //
// BEFOREALL:        %j = rasp.indices
// BEFOREALL-NOT:  IR Dump After

// SOME-NOT:  IR Dump Before canonicalize
// SOME:      // -----// IR Dump After canonicalize //----- //
// SOME-NOT:  IR Dump After cse
// SOME:      // -----// IR Dump Before cse //----- //
// SOME-NOT:  IR Dump

// STDOUT-NOT: IR Dump
// STDOUT:     builtin.module {
// STDOUT:       %s = rasp.select %i, %i, eq
// STDOUT-NOT: IR Dump

// STDERR: // -----// IR Dump After canonicalize //----- //
// STDERR: // -----// IR Dump After cse //----- //
