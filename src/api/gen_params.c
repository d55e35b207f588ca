/* Generation requests by name: the `--cache` presets (the engine mode plus,
 * for eviction, the policy of each method in the paper, SPEC §5) and
 * mkv_gen_params_set, which sets any option of `maskkv generate` from text
 * with the CLI's ranges and messages (the CLI, bindings and servers share it). */
#include <stdio.h>
#include <string.h>

#include "cache/cold_store.h"
#include "cache/revote.h"
#include "generate/generate.h"
#include "util/alloc.h"

mkv_status mkv_gen_params_set_cache(mkv_gen_params *p, const char *name) {
    mkv_cache_config *c = &p->cache;
    mkv_evict_config *e = &c->evict;
    if (!name) return mkv_fail(MKV_ERR_USAGE, "--cache needs a value");
    mkv_revote_config revote = {MKV_COLD_OFF, MKV_REVOTE_OFF};
    if (!strcmp(name, "none")) c->mode = MKV_CACHE_NONE;
    else if (!strcmp(name, "prefix")) c->mode = MKV_CACHE_PREFIX;
    else if (!strcmp(name, "dllm") || !strcmp(name, "full")) c->mode = MKV_CACHE_DLLM;
    else {
        mkv_selector selector = MKV_SELECT_SNAPKV;
        mkv_layer_alloc layers = MKV_LAYERS_UNIFORM;
        mkv_head_alloc heads = MKV_HEADS_UNIFORM;
        if (!strcmp(name, "maskkv") || !strcmp(name, "maskkv-revote")) {
            selector = MKV_SELECT_MASKVOTE;
            layers = MKV_LAYERS_BOUNDARY;
            heads = MKV_HEADS_PREFERENCE;
            if (name[6]) revote = (mkv_revote_config){MKV_COLD_FILE, MKV_REVOTE_BLOCK};
        } else if (!strcmp(name, "snapkv")) {
        } else if (!strcmp(name, "pyramidkv")) layers = MKV_LAYERS_PYRAMID;
        else if (!strcmp(name, "squeeze")) layers = MKV_LAYERS_SQUEEZE;
        else if (!strcmp(name, "adakv")) heads = MKV_HEADS_ADAKV;
        else if (!strcmp(name, "streaming")) selector = MKV_SELECT_STREAMING;
        else if (!strcmp(name, "random")) selector = MKV_SELECT_RANDOM;
        else
            return mkv_fail(MKV_ERR_USAGE,
                            "--cache: unknown mode '%s' (none, prefix, dllm, maskkv, maskkv-revote, snapkv, pyramidkv, "
                            "squeeze, adakv, streaming, random)",
                            name);
        c->mode = MKV_CACHE_EVICT;
        e->selector = selector;
        e->layer_alloc = layers;
        e->head_alloc = heads;
    }
    c->revote = revote;
    snprintf(p->cache_name, sizeof p->cache_name, "%s", name);
    return MKV_OK;
}

mkv_status mkv_gen_params_set_revote(mkv_gen_params *p, const char *cold, const char *revote) {
    mkv_revote_config r = p->cache.revote;
    if (cold && !mkv_cold_mode_from_name(cold, &r.cold))
        return mkv_fail(MKV_ERR_USAGE, "--cold: unknown value '%s' (off, file, ram)", cold);
    if (revote && !mkv_revote_parse(revote, &r.every)) return MKV_ERR_USAGE;
    if (revote && !cold && r.every != MKV_REVOTE_OFF && r.cold == MKV_COLD_OFF) r.cold = MKV_COLD_FILE;
    if (cold && !revote) r.every = r.cold == MKV_COLD_OFF ? MKV_REVOTE_OFF : (r.every ? r.every : MKV_REVOTE_BLOCK);
    p->cache.revote = r;
    return MKV_OK;
}

mkv_gen_params *mkv_gen_params_new(void) {
    mkv_gen_params *p = mkv_malloc(sizeof *p, "generation parameters");
    if (p) mkv_gen_params_defaults(p);
    return p;
}

void mkv_gen_params_free(mkv_gen_params *p) { mkv_free(p); }

void mkv_gen_params_set_on_step(mkv_gen_params *p, mkv_step_callback on_step, void *user) {
    p->on_step = on_step;
    p->on_step_ctx = user;
}

/* ------------------------------------------------------------ by name */

typedef enum { OPT_INT, OPT_FLOAT, OPT_U64, OPT_SWITCH, OPT_CHOICE, OPT_CACHE, OPT_PROFILE, OPT_COLD, OPT_REVOTE } opt_kind;

typedef struct {
    const char *name;
    opt_kind kind;
    size_t offset;             /* of the field in mkv_gen_params */
    double min, max;
    const char *const *choices; /* OPT_CHOICE: names in enum order, NULL-terminated */
} gen_option;

static const char *const remask_names[] = {"low_confidence", "random", NULL};
static const char *const alg_names[] = {"origin", "maskgit_plus", "topk_margin", "entropy", NULL};
static const char *const select_names[] = {"maskvote", "snapkv", "streaming", "random", "full", NULL};
static const char *const layer_names[] = {"uniform", "pyramid", "squeeze", "boundary", "boundary-online", NULL};
static const char *const head_names[] = {"uniform", "adakv", "preference", NULL};
static const char *const compute_names[] = {"auto", "f32", "bf16", NULL}; /* mkv_compute order */

#define AT(field) offsetof(mkv_gen_params, field)
static const gen_option options[] = {
    {"gen-len", OPT_INT, AT(gen_len), 0, 1 << 20, NULL},
    {"steps", OPT_INT, AT(steps), 0, 1 << 20, NULL},
    {"block-len", OPT_INT, AT(block_len), 0, 1 << 20, NULL},
    {"remasking", OPT_CHOICE, AT(remasking), 0, 0, remask_names},
    {"alg", OPT_CHOICE, AT(alg), 0, 0, alg_names},
    {"temp", OPT_FLOAT, AT(temperature), 0, 100, NULL},
    {"top-p", OPT_FLOAT, AT(top_p), 1e-9, 1, NULL},
    {"top-k", OPT_INT, AT(top_k), 0, 1 << 30, NULL},
    {"alg-temp", OPT_FLOAT, AT(alg_temp), 0, 100, NULL},
    {"eps", OPT_FLOAT, AT(eps), 1e-9, 0.999, NULL},
    {"cfg", OPT_FLOAT, AT(cfg), 0, 100, NULL},
    {"threshold", OPT_FLOAT, AT(threshold), 0, 0.999999, NULL},
    {"seed", OPT_U64, AT(seed), 0, 0, NULL},
    {"no-eos", OPT_SWITCH, AT(forbid_eos), 0, 0, NULL},
    {"no-eot", OPT_SWITCH, AT(forbid_eot), 0, 0, NULL},
    {"ctx-size", OPT_INT, AT(ctx_size), 1, 1 << 24, NULL},
    {"compute", OPT_CHOICE, AT(compute), 0, 0, compute_names},
    {"cache", OPT_CACHE, 0, 0, 0, NULL},
    {"profile", OPT_PROFILE, AT(profile_path), 0, 0, NULL},
    {"prompt-refresh", OPT_INT, AT(cache.prompt_refresh), 0, 1 << 30, NULL},
    {"response-refresh", OPT_INT, AT(cache.response_refresh), 1, 1 << 30, NULL},
    {"transfer-ratio", OPT_FLOAT, AT(cache.transfer_ratio), 0, 1, NULL},
    {"select", OPT_CHOICE, AT(cache.evict.selector), 0, 0, select_names},
    {"layer-alloc", OPT_CHOICE, AT(cache.evict.layer_alloc), 0, 0, layer_names},
    {"head-alloc", OPT_CHOICE, AT(cache.evict.head_alloc), 0, 0, head_names},
    {"budget", OPT_INT, AT(cache.evict.budget), 1, 1 << 30, NULL},
    {"alpha", OPT_FLOAT, AT(cache.evict.alpha), 0, 1, NULL},
    {"beta", OPT_FLOAT, AT(cache.evict.beta), 0, 1, NULL},
    {"window", OPT_INT, AT(cache.evict.window), 1, 1 << 20, NULL},
    {"pool-kernel", OPT_INT, AT(cache.evict.pool_kernel), 1, 1025, NULL},
    {"boundary-size", OPT_INT, AT(cache.evict.boundary_size), 1, 1 << 10, NULL},
    {"cold", OPT_COLD, AT(cache.revote.cold), 0, 0, NULL},
    {"revote", OPT_REVOTE, AT(cache.revote.every), 0, 0, NULL},
};
#undef AT

/* "--gen_len" / "gen-len" / "-c" -> the option */
static const gen_option *find_option(const char *name) {
    char key[32];
    const char *p = name;
    while (*p == '-') p++;
    size_t n = strlen(p);
    if (n == 0 || n >= sizeof key) return NULL;
    for (size_t i = 0; i <= n; i++) key[i] = p[i] == '_' ? '-' : p[i];
    if (!strcmp(key, "c") && name[0] == '-' && name[1] != '-') snprintf(key, sizeof key, "ctx-size");
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (!strcmp(options[i].name, key)) return &options[i];
    return NULL;
}

bool mkv_gen_params_is_option(const char *name) { return name && find_option(name) != NULL; }

mkv_status mkv_gen_params_set(mkv_gen_params *params, const char *name, const char *value) {
    const gen_option *o = name ? find_option(name) : NULL;
    if (!o) return mkv_fail(MKV_ERR_USAGE, "unknown option '%s'", name ? name : "(null)");
    char *field = (char *)params + o->offset;
    switch (o->kind) {
    case OPT_INT:
        return mkv_parse_int(name, value, (int)o->min, (int)o->max, (int *)field) ? MKV_OK : MKV_ERR_USAGE;
    case OPT_FLOAT:
        return mkv_parse_float(name, value, o->min, o->max, (double *)field) ? MKV_OK : MKV_ERR_USAGE;
    case OPT_U64:
        if (!mkv_parse_u64(name, value, (uint64_t *)field)) return MKV_ERR_USAGE;
        params->cache.evict.seed = params->seed; /* the random selector follows --seed */
        return MKV_OK;
    case OPT_SWITCH:
        if (!value || !value[0] || !strcmp(value, "1") || !strcmp(value, "true")) *(bool *)field = true;
        else if (!strcmp(value, "0") || !strcmp(value, "false")) *(bool *)field = false;
        else return mkv_fail(MKV_ERR_USAGE, "%s: '%s' is not a switch value (true, false, 1, 0)", name, value);
        return MKV_OK;
    case OPT_CHOICE:
        if (!value) return mkv_fail(MKV_ERR_USAGE, "%s needs a value", name);
        for (int i = 0; o->choices[i]; i++)
            if (!strcmp(value, o->choices[i])) {
                *(int *)field = i;
                /* a policy part asks for eviction: without an eviction
                 * preset the rest of the policy is MaskKV's defaults */
                bool policy_part = o->offset >= offsetof(mkv_gen_params, cache.evict) &&
                                   o->offset < offsetof(mkv_gen_params, cache.evict) + sizeof(mkv_evict_config);
                if (policy_part && params->cache.mode != MKV_CACHE_EVICT) {
                    params->cache.mode = MKV_CACHE_EVICT;
                    snprintf(params->cache_name, sizeof params->cache_name, "custom");
                }
                return MKV_OK;
            }
        return mkv_fail(MKV_ERR_USAGE, "%s: unknown value '%s'", name, value);
    case OPT_CACHE: return mkv_gen_params_set_cache(params, value);
    case OPT_COLD: return mkv_gen_params_set_revote(params, value ? value : "", NULL);
    case OPT_REVOTE: return mkv_gen_params_set_revote(params, NULL, value ? value : "");
    case OPT_PROFILE:
        if (!value) return mkv_fail(MKV_ERR_USAGE, "%s needs a value", name);
        params->profile_path = value;
        return MKV_OK;
    }
    return mkv_fail(MKV_ERR_USAGE, "unknown option '%s'", name);
}
