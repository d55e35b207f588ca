/* The generation options `maskkv generate` and `maskkv chat` share: the
 * sampler and cache flags of mkv_gen_params_set, the --cache preset with its
 * policy parts (--select/--layer-alloc/--head-alloc, applied over the preset
 * wherever they are given), --threads and --max-memory; and their --help. */
#ifndef MKV_CLI_GEN_OPTIONS_H
#define MKV_CLI_GEN_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "maskkv.h"

typedef struct {
    mkv_gen_params params;
    mkv_model_params model;
    const char *cache_name;
    const char *cold_text, *revote_text; /* --cold, --revote: over the preset (NULL: not given) */
    const char *policy_flag[3], *policy_value[3];
} gen_options;

void gen_options_init(gen_options *o);
/* A flag without a value (--no-eos, --no-eot): true when it is one (*st set). */
bool gen_options_switch(gen_options *o, const char *flag, mkv_status *st);
/* A flag with its value (v may be NULL: the caller reports it missing):
 * true when it is a generation option (*st: MKV_OK or the usage error). */
bool gen_options_value(gen_options *o, const char *flag, const char *v, mkv_status *st);
/* After the command line: the --cache preset, then the policy parts. */
mkv_status gen_options_finish(gen_options *o);
/* The sampling:, cache: and the --threads/--max-memory lines of --help. */
void gen_options_usage(FILE *out);

#endif
