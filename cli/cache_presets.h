/* `--cache` presets shared by generate and eval: the engine mode plus, for
 * eviction, the policy of each method in the paper (SPEC §5). */
#ifndef MKV_CLI_CACHE_PRESETS_H
#define MKV_CLI_CACHE_PRESETS_H

#include <stdbool.h>
#include <stddef.h>

#include "cache/engine.h"

/* none | prefix | dllm | full (= dllm) | maskkv | maskkv-revote | snapkv | pyramidkv | squeeze | adakv |
 * streaming | random. maskkv-revote is maskkv with a cold store in a file and a re-vote at each new block. */
bool mkv_apply_cache_preset(const char *name, mkv_cache_config *config);

/* --cold off|file|ram and --revote off|block|N (NULL: not given) over a preset:
 * --revote alone brings a cold file, --cold alone a re-vote at each block;
 * --cold off alone turns the re-vote off too. */
bool mkv_apply_revote_flags(const char *cold, const char *revote, mkv_cache_config *config);

/* The profile shipped beside a model: MODEL.profile.json (a trailing '/' of a
 * directory dropped). Returns true and fills `path` when it exists. */
bool mkv_default_profile_path(const char *model_path, char *path, size_t size);

#endif
