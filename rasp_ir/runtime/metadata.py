"""The keys of the metadata a rasp-ir ONNX model carries (`metadata_props`).

The ONNX backend writes them and the runtime reads them; structured values are JSON.

    rasp_ir.format           "rasp-ir-model" (the marker `load_model` checks)
    rasp_ir.format_version   "1", or "2" for a model with run-time guards (so that a rasp-ir
                             that does not know guards refuses it rather than skip them)
    rasp_ir.name             the model's symbol name
    rasp_ir.vocab            JSON list of tokens; a token's id is its index
    rasp_ir.bos              JSON value of the BOS token
    rasp_ir.bos_id           its id (= len(vocab))
    rasp_ir.max_seq_len      int
    rasp_ir.encoding         "categorical" or "numerical"
    rasp_ir.output_values    JSON list (categorical: the graph's `output` indexes it) or null
    rasp_ir.output_rounds    JSON bool: a numerical output of ints, which the graph rounds and
                             the runtime returns as ints (absent in older models: false)
    rasp_ir.tolerance        float: the absolute tolerance of numerical outputs
    rasp_ir.layout           JSON list of residual dimension labels
    rasp_ir.summary          JSON of `ModelSummary` (layers, heads_per_layer, ...)
    rasp_ir.layers           number of transformer blocks
    rasp_ir.heads            number of attention heads in all
    rasp_ir.compiler_version the rasp-ir version that compiled it
    rasp_ir.source           the program's source text (only when given)
    rasp_ir.guards           JSON list of run-time guards, [{"aggregate": label, "dims": [...]}]
                             (only when the model has some): guard i is the last axis of the
                             graph's `guard` output (see `rasp_ir.runtime.guards`). A model
                             without the key (older ones too) has no guards.
"""

FORMAT_MARKER = "rasp-ir-model"
FORMAT_VERSION = "1"
GUARDED_FORMAT_VERSION = "2"
SUPPORTED_FORMAT_VERSIONS = ("1", "2")

META_FORMAT = "rasp_ir.format"
META_FORMAT_VERSION = "rasp_ir.format_version"
META_NAME = "rasp_ir.name"
META_VOCAB = "rasp_ir.vocab"
META_BOS = "rasp_ir.bos"
META_BOS_ID = "rasp_ir.bos_id"
META_MAX_SEQ_LEN = "rasp_ir.max_seq_len"
META_ENCODING = "rasp_ir.encoding"
META_OUTPUT_VALUES = "rasp_ir.output_values"
META_OUTPUT_ROUNDS = "rasp_ir.output_rounds"
META_TOLERANCE = "rasp_ir.tolerance"
META_LAYOUT = "rasp_ir.layout"
META_SUMMARY = "rasp_ir.summary"
META_LAYERS = "rasp_ir.layers"
META_HEADS = "rasp_ir.heads"
META_COMPILER_VERSION = "rasp_ir.compiler_version"
META_SOURCE = "rasp_ir.source"
META_GUARDS = "rasp_ir.guards"
