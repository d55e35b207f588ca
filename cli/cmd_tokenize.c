/* `maskkv tokenize -m PATH (-p TEXT | -f FILE) [--bos] [--no-special]`:
 * prints the token ids of a text on one line, separated by spaces — exactly
 * HF `tokenizer.encode(text, add_special_tokens=False).ids` unless --bos. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

#define MAX_TEXT_BYTES ((size_t)1 << 30)

static void usage(FILE *out) {
    fprintf(out,
            "usage: maskkv tokenize -m PATH (-p TEXT | -f FILE) [--bos] [--no-special]\n"
            "  -m, --model PATH   .gguf file, HF directory (its tokenizer.json) or tokenizer.json (required)\n"
            "  -p, --prompt TEXT  the text (UTF-8)\n"
            "  -f, --file FILE    read the text from a file (all of it, bytes as they are)\n"
            "  --bos              prepend the BOS token, unless the ids already start with it (off)\n"
            "  --no-special       encode special tokens written in the text as plain text (off)\n"
            "Prints the ids as HF tokenizer.encode(text, add_special_tokens=False) does:\n"
            "special tokens in the text are recognised, no BOS is added unless --bos.\n"
            "Invalid UTF-8 is an error (exit code 6).\n"
            "example: maskkv tokenize -m models/llada-tiny-retrieval.gguf -p \"What is the secret code of Edith?\"\n");
}

mkv_status cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *file = NULL;
    bool bos = false, parse_special = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return MKV_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!(prompt = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(file = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(a, "--bos")) {
            bos = true;
        } else if (!strcmp(a, "--no-special")) {
            parse_special = false;
        } else {
            return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see `maskkv tokenize --help`)", a);
        }
    }
    if (!model) return mkv_fail(MKV_ERR_USAGE, "-m PATH is required (see `maskkv tokenize --help`)");
    if (!prompt && !file) return mkv_fail(MKV_ERR_USAGE, "give the text with -p TEXT or -f FILE");
    if (prompt && file) return mkv_fail(MKV_ERR_USAGE, "give either -p or -f, not both");

    char *file_text = NULL;
    size_t len = 0;
    mkv_status st;
    if (file) {
        if ((st = mkv_read_text_file(file, MAX_TEXT_BYTES, &file_text, &len))) return st;
    } else {
        len = strlen(prompt);
    }
    const char *text = file ? file_text : prompt;

    mkv_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    int n = 0;
    if ((st = mkv_tokenizer_load(model, &tok))) goto done;
    unsigned flags = (parse_special ? MKV_TOKENIZE_PARSE_SPECIAL : 0) | (bos ? MKV_TOKENIZE_ADD_BOS : 0);
    if ((st = mkv_tokenize_ex(tok, text, len, flags, &ids, &n))) goto done;
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    if (fflush(stdout) != 0) st = mkv_fail(MKV_ERR_IO, "cannot write the ids");
done:
    mkv_free(ids);
    mkv_tokenizer_free(tok);
    mkv_free(file_text);
    return st;
}
