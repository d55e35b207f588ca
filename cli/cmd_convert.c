/* `maskkv convert -i HF_DIR -o OUT.gguf --type f32|f16|bf16|q8_0|q4_0`:
 * the GGUF llama.cpp's convert_hf_to_gguf.py writes (mkv_convert_hf_to_gguf,
 * src/convert/hf_to_gguf.c). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "progress.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: maskkv convert -i HF_DIR -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0]\n"
            "Writes an HF checkpoint (LLaDA or Dream) as one GGUF file: weights, hyperparameters,\n"
            "tokenizer and chat template. The output is written to a temporary file and renamed\n"
            "into place; an output that is one of the inputs is refused.\n"
            "  -i, --input DIR     HF checkpoint directory: config.json, *.safetensors (sharded or not),\n"
            "                      tokenizer.json or vocab.json + merges.txt (required)\n"
            "  -o, --output FILE   GGUF file to write (required)\n"
            "  --type TYPE         type of the 2-D weights (f16); norms and biases stay f32\n"
            "  --progress          progress on stderr even when it is not a terminal (tensors, MB/s, ETA)\n"
            "example: maskkv convert -i tests/models/llada-tiny -o llada-tiny.gguf --type bf16\n");
}

/* After each tensor: tensors done of all, the bytes' rate, the tensor's name. */
static void show_tensor(void *user, int done, int total, size_t bytes_done, size_t n_bytes, const char *name) {
    (void)n_bytes;
    mkv_progress_update(user, done, total, "tensor", (double)bytes_done / 1e6, "MB", name);
}

mkv_status cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *type_name = "f16";
    bool force_progress = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return MKV_OK;
        } else if (!strcmp(argv[i], "--progress")) {
            force_progress = true;
        } else if (!strcmp(argv[i], "-i") || !strcmp(argv[i], "--input")) {
            if (!(in = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (!(out = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(argv[i], "--type") || !strcmp(argv[i], "--outtype")) {
            if (!(type_name = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else {
            return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (try `maskkv convert --help`)", argv[i]);
        }
    }
    if (!in) return mkv_fail(MKV_ERR_USAGE, "-i HF_DIR is required");
    if (!out) return mkv_fail(MKV_ERR_USAGE, "-o OUT.gguf is required");
    mkv_dtype type;
    if (!mkv_dtype_from_name(type_name, &type))
        return mkv_fail(MKV_ERR_USAGE, "--type: '%s' is not one of f32, f16, bf16, q8_0, q4_0", type_name);
    mkv_progress progress;
    mkv_progress_init(&progress, force_progress, false);
    mkv_progress_phase(&progress, "convert");
    mkv_status st = mkv_convert_hf_to_gguf_ex(in, out, type, show_tensor, &progress);
    mkv_progress_finish(&progress);
    if (!st) printf("wrote %s (%s)\n", out, type_name);
    return st;
}
