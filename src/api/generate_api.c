/* The public generation entry (maskkv.h): a request's up-front checks (the
 * parameters, the calibration profile, the memory), the denoising loop
 * (generate/generate.c), and the result with the decoded answer and the
 * statistics of `generate --json`. Nothing here is shared between calls:
 * every generation owns its copy of the parameters, its profile and its
 * buffers, so generations on one model may run on many threads at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cold_store.h"
#include "cache/profile.h"
#include "generate/generate.h"
#include "model/model.h"
#include "util/alloc.h"
#include "util/memory_budget.h"

struct mkv_gen_result {
    mkv_denoise_result run;
    char *text;              /* NULL without a tokenizer */
    size_t text_len;
    mkv_gen_stats stats;
    char cache_name[24];
    char profile[1100];
    mkv_cache_mode mode;
};

/* The request as it will run: ctx_size from the model, the profile resolved
 * (loaded into *profile) or boundary-online when there is none. */
static mkv_status resolve(const mkv_model *model, const mkv_gen_params *params, int n_prompt, mkv_gen_params *p,
                          mkv_profile *profile, const char **profile_used) {
    *p = *params;
    *profile_used = NULL;
    if (p->ctx_size == 0) p->ctx_size = model->params.ctx_size;
    mkv_status st = mkv_gen_validate(model, p, n_prompt);
    if (st != MKV_OK) return st;
    mkv_evict_config *e = &p->cache.evict;
    const char *path = p->profile_path;
    if (e->layer_importance) return MKV_OK;
    if (!path && p->cache.mode == MKV_CACHE_EVICT && e->layer_alloc == MKV_LAYERS_BOUNDARY) {
        bool exists = false;
        const char *beside = mkv_model_default_profile(model, &exists);
        if (exists) path = beside;
        else e->layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
    }
    if (!path) return MKV_OK;
    /* the profile's model check needs the weights (their fingerprint): before
     * mkv_model_load_weights only the file is checked, mkv_generate checks it all */
    if ((st = mkv_profile_load(path, model->weights_loaded ? model : NULL, profile)) != MKV_OK) return st;
    e->layer_importance = profile->layer_importance;
    *profile_used = path;
    return MKV_OK;
}

mkv_status mkv_gen_check(const mkv_model *model, const mkv_gen_params *params, int n_prompt) {
    mkv_gen_params p;
    mkv_profile profile = {0};
    const char *used;
    mkv_status st = resolve(model, params, n_prompt, &p, &profile, &used);
    if (st == MKV_OK) st = mkv_gen_check_memory(model, &p, n_prompt);
    mkv_profile_free(&profile);
    return st;
}

static void fill_stats(const mkv_model *model, const mkv_gen_params *p, mkv_gen_result *g, int n_answer, int n_unknown) {
    const mkv_denoise_result *r = &g->run;
    mkv_gen_stats *s = &g->stats;
    s->n_prompt = r->n_prompt;
    s->gen_len = p->gen_len;
    s->n_answer = n_answer;
    s->steps = r->steps_run;
    s->unknown_ids = n_unknown;
    s->seconds = r->seconds;
    s->prefill_seconds = r->first_step_seconds;
    s->tokens_per_second = r->seconds > 0 ? p->gen_len / r->seconds : 0;
    s->decode_seconds_per_step = r->steps_run > 1 ? (r->seconds - r->first_step_seconds) / (r->steps_run - 1) : 0;
    for (int k = 0; k < MKV_PART_COUNT; k++) {
        s->time_prefill[k] = r->prefill_timing.seconds[k];
        s->time_decode[k] = r->decode_timing.seconds[k];
    }
    s->time_sampling = r->sampling_seconds;
    s->peak_rss_bytes = mkv_peak_rss_bytes();
    s->peak_alloc_bytes = mkv_alloc_peak_bytes();
    s->kv_bytes = r->kv_bytes_peak;
    s->kv_bytes_decode = r->kv_bytes_final;
    s->model_bytes = mkv_model_n_bytes(model);
    s->weights_resident_bytes = mkv_model_resident_bytes(model);
    s->full_passes = r->n_full_passes;
    s->partial_steps = r->n_partial_steps;
    s->budget = p->cache.mode == MKV_CACHE_EVICT ? p->cache.evict.budget : 0;
    s->kv_prompt_kept = r->kv_prompt_kept;
    s->n_layers = model->hp.n_layers;
    s->kv_kept_per_layer = r->kv_kept_per_layer;
    s->cache = g->cache_name;
    s->layer_alloc = p->cache.mode == MKV_CACHE_EVICT ? mkv_layer_alloc_name(p->cache.evict.layer_alloc) : NULL;
    s->profile = g->profile[0] ? g->profile : NULL;
    s->compute = mkv_compute_name(r->compute);
    s->kv_dtype = mkv_dtype_name(mkv_compute_kv_dtype(r->compute));
    if (r->revote.promoted_per_layer) {
        s->cold = mkv_cold_mode_name(r->revote.cold);
        s->cold_rows = r->revote.cold_rows;
        s->cold_bytes = r->revote.cold_bytes;
        s->cold_reserved_bytes = r->revote.cold_reserved_bytes;
        s->revotes = r->revote.n_revotes;
        s->revote_seconds = r->revote.seconds;
        s->revote_promoted_per_layer = r->revote.promoted_per_layer;
    }
}

mkv_status mkv_generate(const mkv_model *model, const int32_t *prompt, int n_prompt, const mkv_gen_params *params,
                        mkv_gen_result **out_result) {
    *out_result = NULL;
    if (!params) return mkv_fail(MKV_ERR_USAGE, "no generation parameters given");
    mkv_status wst = mkv_model_require_weights(model);
    if (wst != MKV_OK) return wst;
    if (!prompt && n_prompt > 0) return mkv_fail(MKV_ERR_INPUT, "no prompt ids given");
    mkv_model_apply_threads(model);
    mkv_gen_params p;
    mkv_profile profile = {0};
    const char *profile_used = NULL;
    mkv_gen_result *g = NULL;
    mkv_status st = resolve(model, params, n_prompt, &p, &profile, &profile_used);
    if (st != MKV_OK) goto done;
    if (!(g = mkv_calloc(1, sizeof *g, "generation result"))) {
        st = mkv_last_status();
        goto done;
    }
    snprintf(g->cache_name, sizeof g->cache_name, "%s", p.cache_name[0] ? p.cache_name : "none");
    if (profile_used) snprintf(g->profile, sizeof g->profile, "%s", profile_used);
    g->mode = p.cache.mode;
    if ((st = mkv_denoise(model, prompt, n_prompt, &p, &g->run)) != MKV_OK) goto done;
    const int32_t *answer = g->run.tokens + n_prompt;
    int n_answer = mkv_answer_length(model, answer, p.gen_len), n_unknown = 0;
    /* ids the tokenizer lacks (model vocabulary larger than the tokenizer's)
     * decode to nothing, as in HF; the text is valid UTF-8 (HF decode's U+FFFD) */
    if (model->tokenizer &&
        (st = mkv_detokenize_output(model->tokenizer, answer, n_answer, 0, &g->text, &g->text_len, &n_unknown)) != MKV_OK)
        goto done;
    fill_stats(model, &p, g, n_answer, n_unknown);
done:
    mkv_profile_free(&profile);
    if (st != MKV_OK) {
        mkv_gen_result_free(g);
        return st;
    }
    *out_result = g;
    return MKV_OK;
}

mkv_status mkv_generate_text(const mkv_model *model, const char *prompt, const mkv_gen_params *params,
                             mkv_gen_result **out_result) {
    *out_result = NULL;
    if (!model->tokenizer)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer; give the prompt as token ids", model->path);
    if (!prompt) return mkv_fail(MKV_ERR_INPUT, "the prompt is empty");
    int32_t *ids = NULL;
    int n = 0;
    mkv_status st = mkv_tokenize(model->tokenizer, prompt, strlen(prompt), true, &ids, &n);
    if (st == MKV_OK && n == 0) st = mkv_fail(MKV_ERR_INPUT, "the prompt is empty");
    if (st == MKV_OK) st = mkv_generate(model, ids, n, params, out_result);
    mkv_free(ids);
    return st;
}

void mkv_gen_result_free(mkv_gen_result *g) {
    if (!g) return;
    mkv_denoise_result_free(&g->run);
    mkv_free(g->text);
    mkv_free(g);
}

const char *mkv_gen_result_text(const mkv_gen_result *g, size_t *len) {
    if (len) *len = g->text ? g->text_len : 0;
    return g->text;
}

const int32_t *mkv_gen_result_ids(const mkv_gen_result *g, int *n) {
    if (n) *n = g->stats.n_answer;
    return g->run.tokens + g->run.n_prompt;
}

const int32_t *mkv_gen_result_tokens(const mkv_gen_result *g, int *n_total) {
    if (n_total) *n_total = g->run.n_total;
    return g->run.tokens;
}

const mkv_gen_stats *mkv_gen_result_stats(const mkv_gen_result *g) { return &g->stats; }

/* ------------------------------------------------------------ step text */

typedef struct {
    char *buf;
    size_t len, cap;
} grow_buffer;

static bool append(grow_buffer *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *fresh = mkv_realloc(b->buf, cap, "step text");
        if (!fresh) return false;
        b->buf = fresh;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return true;
}

mkv_status mkv_step_text(const mkv_step_info *info, bool prefix_only, const char *mask_text, char **out_text,
                         size_t *out_len) {
    *out_text = NULL;
    if (out_len) *out_len = 0;
    const mkv_tokenizer *tok = info->model->tokenizer;
    if (!tok) return mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer to decode the answer", info->model->path);
    grow_buffer b = {0};
    mkv_status st = append(&b, "", 0) ? MKV_OK : mkv_last_status();
    int end = info->gen_len;
    if (prefix_only) {
        end = mkv_answer_length(info->model, info->answer, info->gen_len);
        for (int i = 0; i < end; i++)
            if (info->answer[i] == info->mask_id) end = i;
    }
    for (int i = 0; i < end && st == MKV_OK;) {
        if (info->answer[i] == info->mask_id) {
            if (mask_text && !append(&b, mask_text, strlen(mask_text))) st = mkv_last_status();
            i++;
            continue;
        }
        int run = 0; /* committed tokens decode together: no U+FFFD inside a character */
        while (i + run < end && info->answer[i + run] != info->mask_id) run++;
        char *text = NULL;
        size_t len = 0;
        st = mkv_detokenize_output(tok, info->answer + i, run, 0, &text, &len, NULL);
        if (st == MKV_OK && !append(&b, text, len)) st = mkv_last_status();
        mkv_free(text);
        i += run;
    }
    if (st != MKV_OK) {
        mkv_free(b.buf);
        return st;
    }
    *out_text = b.buf;
    if (out_len) *out_len = b.len;
    return MKV_OK;
}
