#include "args.h"

#include <stdio.h>
#include <string.h>

const char *mkv_arg_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        mkv_fail(MKV_ERR_USAGE, "%s needs a value", argv[*i]);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

const char *mkv_arg_next(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) return NULL;
    *i += 1;
    return argv[*i];
}

mkv_status mkv_arg_missing(const char *flag) { return mkv_fail(MKV_ERR_USAGE, "%s needs a value", flag); }

bool mkv_parse_threads(const char *text, int *n_threads) {
    return mkv_parse_int("--threads", text, 1, 1024, n_threads);
}

void mkv_warn_past_context(const char *command, int n_tokens, int n_ctx, int ctx_size) {
    if (ctx_size <= 0 || n_tokens <= n_ctx) return;
    fprintf(stderr,
            "maskkv %s: warning: %d tokens run past the model's trained context of %d (--ctx-size %d); the output may "
            "degrade\n",
            command, n_tokens, n_ctx, ctx_size);
}
