/* `--cache` presets shared by generate and eval: the engine mode plus, for
 * eviction, the policy of each method in the paper (SPEC §5). */
#ifndef MKV_CACHE_PRESETS_H
#define MKV_CACHE_PRESETS_H

#include <stdbool.h>
#include <stddef.h>

#include "cache/engine.h"

/* none | prefix | dllm | full (= dllm) | maskkv | snapkv | pyramidkv | squeeze | adakv | streaming | random */
bool mkv_apply_cache_preset(const char *name, mkv_cache_config *config);

/* The profile shipped beside a model: MODEL.profile.json (a trailing '/' of a
 * directory dropped). Returns true and fills `path` when it exists. */
bool mkv_default_profile_path(const char *model_path, char *path, size_t size);

#endif
