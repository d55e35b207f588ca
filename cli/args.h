/* Checked parsing of command-line values: every failure sets a one-line
 * error naming the flag (MKV_ERR_USAGE) and returns false. */
#ifndef MKV_CLI_ARGS_H
#define MKV_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"

/* Returns the value after argv[*i] (advancing *i), or NULL with an error. */
const char *mkv_arg_value(int argc, char **argv, int *i);
bool mkv_parse_long(const char *flag, const char *text, long min, long max, long *out);
bool mkv_parse_int(const char *flag, const char *text, int min, int max, int *out);
bool mkv_parse_float(const char *flag, const char *text, double min, double max, double *out);
/* "123", "64K", "8M", "24G" -> bytes */
bool mkv_parse_bytes(const char *flag, const char *text, size_t *out);
/* "1 2 3" or "1,2,3" -> ids (mkv_malloc'd) */
bool mkv_parse_id_list(const char *flag, const char *text, int32_t **out_ids, int *out_n);
/* --ctx-size N: a run of n_tokens past the model's trained context (n_ctx)
 * prints one line on stderr, "maskkv COMMAND: warning: ...", and goes on. */
void mkv_warn_past_context(const char *command, int n_tokens, int n_ctx, int ctx_size);
/* Applies --threads (1..1024) to OpenMP. */
bool mkv_apply_threads(const char *text);

#endif
