// The named pipeline: `--pipeline default` and the pseudo-pass
// `rasp-default-pipeline` both expand to rasp.passes.DEFAULT_PIPELINE, which
// lowers a rasp.program (with vocab and max_seq_len) to `transformer` IR;
// `-t onnx` then emits the model. --verify-each checks every step against the
// reference interpreter (and the numpy executor once the IR is `transformer`).
//
// RUN: rasp-opt %s --pipeline default --verify-each | filecheck %s
// RUN: rasp-opt %s -p rasp-default-pipeline | filecheck %s
// RUN: rasp-opt %s -p rasp-default-pipeline,canonicalize --print-ir-after=rasp-to-transformer 2>&1 | filecheck %s --check-prefix=DUMP
// RUN: rasp-opt %s --pipeline default -t onnx | filecheck %s --check-prefix=ONNX
// RUN: rasp-opt %s --pipeline default -t 'onnx{file="%t.onnx"}' | filecheck %s --check-prefix=FILE --allow-empty
// RUN: not rasp-opt %s -t onnx 2>&1 | filecheck %s --check-prefix=NOTLOWERED
// RUN: not rasp-opt %s --pipeline default -t 'onnx{fil="m.onnx"}' 2>&1 | filecheck %s --check-prefix=BADTARGET

rasp.program @first vocab [0, 1] max_seq_len 4 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %i = rasp.indices : !rasp.sop<cat, int>
  %zero = rasp.constant 0 : !rasp.sop<cat, int>
  %s = rasp.select %i, %zero, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %a = rasp.aggregate %s, %t : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  rasp.output %a : !rasp.sop<cat, int>
}

// CHECK:     transformer.model @first
// CHECK:     transformer.unembed
// CHECK-NOT: rasp.

// DUMP:     // -----// IR Dump After rasp-to-transformer //----- //
// DUMP:     transformer.model @first
// DUMP-NOT: IR Dump

// ONNX: ir_version
// ONNX: rasp_ir.vocab

// FILE-NOT: {{.}}

// NOTLOWERED: rasp-opt: error: {{.*}}transformer.model

// BADTARGET: rasp-opt: error: bad options for target 'onnx': Provided arguments ["fil"] not found
