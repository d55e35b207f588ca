/* Command-line helpers: fetching flag values (every failure sets a one-line
 * error naming the flag, MKV_ERR_USAGE) and the context warning. */
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
/* The value parsers (mkv_parse_int, mkv_parse_float, ...) are public (maskkv.h). */
/* --ctx-size N: a run of n_tokens past the model's trained context (n_ctx)
 * prints one line on stderr, "maskkv COMMAND: warning: ...", and goes on. */
void mkv_warn_past_context(const char *command, int n_tokens, int n_ctx, int ctx_size);
/* --threads N (1..1024), for mkv_model_params.n_threads. */
bool mkv_parse_threads(const char *text, int *n_threads);

#endif
