#include "cache/presets.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool mkv_apply_cache_preset(const char *name, mkv_cache_config *c) {
    mkv_evict_config *e = &c->evict;
    if (!strcmp(name, "none")) c->mode = MKV_CACHE_NONE;
    else if (!strcmp(name, "prefix")) c->mode = MKV_CACHE_PREFIX;
    else if (!strcmp(name, "dllm") || !strcmp(name, "full")) c->mode = MKV_CACHE_DLLM;
    else {
        c->mode = MKV_CACHE_EVICT;
        e->head_alloc = MKV_HEADS_UNIFORM;
        e->layer_alloc = MKV_LAYERS_UNIFORM;
        if (!strcmp(name, "maskkv")) {
            e->selector = MKV_SELECT_MASKVOTE;
            e->layer_alloc = MKV_LAYERS_BOUNDARY;
            e->head_alloc = MKV_HEADS_PREFERENCE;
        } else if (!strcmp(name, "snapkv")) e->selector = MKV_SELECT_SNAPKV;
        else if (!strcmp(name, "pyramidkv")) e->selector = MKV_SELECT_SNAPKV, e->layer_alloc = MKV_LAYERS_PYRAMID;
        else if (!strcmp(name, "squeeze")) e->selector = MKV_SELECT_SNAPKV, e->layer_alloc = MKV_LAYERS_SQUEEZE;
        else if (!strcmp(name, "adakv")) e->selector = MKV_SELECT_SNAPKV, e->head_alloc = MKV_HEADS_ADAKV;
        else if (!strcmp(name, "streaming")) e->selector = MKV_SELECT_STREAMING;
        else if (!strcmp(name, "random")) e->selector = MKV_SELECT_RANDOM;
        else {
            mkv_fail(MKV_ERR_USAGE,
                     "--cache: unknown mode '%s' (none, prefix, dllm, maskkv, snapkv, pyramidkv, squeeze, adakv, streaming, random)",
                     name);
            return false;
        }
    }
    return true;
}

bool mkv_default_profile_path(const char *model_path, char *path, size_t size) {
    size_t len = strlen(model_path);
    while (len > 1 && model_path[len - 1] == '/') len--;
    snprintf(path, size, "%.*s.profile.json", (int)len, model_path);
    return access(path, R_OK) == 0;
}
