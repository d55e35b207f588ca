/* `maskkv detokenize -m PATH --ids "1 2 3" [--skip-special] [--raw]`: prints
 * the text of token ids (HF `tokenizer.decode(ids)`), then a newline. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: maskkv detokenize -m PATH --ids \"ID ID ...\" [--skip-special] [--raw]\n"
            "  -m, --model PATH   .gguf file, HF directory (its tokenizer.json) or tokenizer.json (required)\n"
            "  --ids LIST         token ids separated by spaces or commas (required)\n"
            "  --skip-special     leave special tokens out, HF skip_special_tokens=True (off)\n"
            "  --raw              print the decoded bytes as they are; by default a sequence\n"
            "                     that is not valid UTF-8 prints as U+FFFD, as HF decode does (off)\n"
            "Prints the text followed by one newline. An id out of range is an error (exit code 6).\n"
            "example: maskkv detokenize -m models/llada-tiny-retrieval.gguf --ids \"10 20 30\"\n");
}

mkv_status cmd_detokenize(int argc, char **argv) {
    const char *model = NULL, *id_text = NULL;
    bool skip_special = false, raw = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return MKV_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(a, "--ids")) {
            if (!(id_text = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(a, "--skip-special")) {
            skip_special = true;
        } else if (!strcmp(a, "--raw")) {
            raw = true;
        } else {
            return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see `maskkv detokenize --help`)", a);
        }
    }
    if (!model) return mkv_fail(MKV_ERR_USAGE, "-m PATH is required (see `maskkv detokenize --help`)");
    if (!id_text) return mkv_fail(MKV_ERR_USAGE, "--ids LIST is required");

    int32_t *ids = NULL;
    int n = 0;
    if (!mkv_parse_id_list("--ids", id_text, &ids, &n)) return mkv_last_status();
    mkv_tokenizer *tok = NULL;
    char *text = NULL;
    size_t len = 0;
    mkv_status st = mkv_tokenizer_load(model, &tok);
    if (st) goto done;
    unsigned flags = (skip_special ? MKV_DETOKENIZE_SKIP_SPECIAL : 0) | (raw ? 0 : MKV_DETOKENIZE_LOSSY_UTF8);
    if ((st = mkv_detokenize_ex(tok, ids, n, flags, &text, &len))) goto done;
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    if (fflush(stdout) != 0) st = mkv_fail(MKV_ERR_IO, "cannot write the text");
done:
    mkv_free(text);
    mkv_tokenizer_free(tok);
    mkv_free(ids);
    return st;
}
