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
/* The value after argv[*i] (advancing *i), or NULL without an error when the
 * flag ends the command line: for loops that fetch the value before they know
 * the flag, so that an unknown last flag is reported as unknown. The parsers
 * below turn a NULL text into "FLAG needs a value"; a string flag checks
 * with mkv_arg_missing after its branch. */
const char *mkv_arg_next(int argc, char **argv, int *i);
/* MKV_ERR_USAGE "FLAG needs a value". */
mkv_status mkv_arg_missing(const char *flag);
bool mkv_parse_long(const char *flag, const char *text, long min, long max, long *out);
bool mkv_parse_int(const char *flag, const char *text, int min, int max, int *out);
/* Unsigned 64-bit (seeds): the whole range, "out of range" past it. */
bool mkv_parse_u64(const char *flag, const char *text, uint64_t *out);
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
