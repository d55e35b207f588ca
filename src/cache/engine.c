#include "cache/engine.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/dtype.h"

static bool keeps_response_state(mkv_cache_mode mode) { return mode == MKV_CACHE_DLLM || mode == MKV_CACHE_EVICT; }

mkv_status mkv_engine_init(mkv_engine *e, const mkv_model *model, const mkv_cache_config *config,
                           mkv_compute compute, int n_prompt, int n_total) {
    memset(e, 0, sizeof *e);
    const mkv_hparams *hp = &model->hp;
    e->model = model;
    e->config = *config;
    e->n_prompt = n_prompt;
    e->n_total = n_total;
    e->shift = hp->shift_logits ? 1 : 0;
    e->prefix_block_start = -1;
    if (n_prompt < 1 || n_total <= n_prompt) return mkv_fail(MKV_ERR_INPUT, "need a prompt and at least one position to generate");
    if (keeps_response_state(config->mode)) {
        if (config->response_refresh < 1) return mkv_fail(MKV_ERR_USAGE, "--response-refresh must be at least 1");
        if (config->prompt_refresh < 0) return mkv_fail(MKV_ERR_USAGE, "--prompt-refresh must be 0 (never) or more");
        if (!(config->transfer_ratio >= 0 && config->transfer_ratio <= 1))
            return mkv_fail(MKV_ERR_USAGE, "--transfer-ratio must be within [0, 1]");
        e->dyn_start = n_prompt - e->shift;
    }
    int n_dyn = n_total - e->dyn_start;
    mkv_status st = mkv_workspace_init(&e->ws, hp, n_total);
    if (st != MKV_OK) goto fail;
    e->ws.compute = compute;
    st = mkv_kv_store_init_dtype(&e->store, hp->n_layers, hp->n_kv_heads, hp->head_dim, e->dyn_start, n_dyn,
                                 config->mode == MKV_CACHE_EVICT, mkv_compute_kv_dtype(compute));
    if (st != MKV_OK) goto fail;
    e->rows = mkv_malloc((size_t)n_total * sizeof(int32_t), "active rows");
    e->logit_rows = mkv_malloc((size_t)n_total * sizeof(int32_t), "logit rows");
    e->selected = mkv_malloc((size_t)n_total * sizeof(int32_t), "partial-update rows");
    if (!e->rows || !e->logit_rows || !e->selected) goto nomem;
    if (keeps_response_state(config->mode)) {
        size_t d = (size_t)hp->d_model;
        e->attn_out_cache = mkv_calloc((size_t)hp->n_layers, sizeof(float *), "response attention cache");
        e->ffn_out_cache = mkv_calloc((size_t)hp->n_layers, sizeof(float *), "response FFN cache");
        if (!e->attn_out_cache || !e->ffn_out_cache) goto nomem;
        for (int l = 0; l < hp->n_layers; l++) {
            e->attn_out_cache[l] = mkv_calloc((size_t)n_dyn * d, sizeof(float), "response attention cache");
            e->ffn_out_cache[l] = mkv_calloc((size_t)n_dyn * d, sizeof(float), "response FFN cache");
            if (!e->attn_out_cache[l] || !e->ffn_out_cache[l]) goto nomem;
        }
        size_t widest = d;
        size_t q_dim = (size_t)hp->n_heads * hp->head_dim, kv_dim = (size_t)hp->n_kv_heads * hp->head_dim;
        if (q_dim > widest) widest = q_dim;
        /* normed input and V of every response row; gathered input, q, k, v,
         * attention, projection of the selected rows */
        e->scratch = mkv_malloc((size_t)n_dyn * (2 * widest + q_dim + 3 * kv_dim + 2 * d) * sizeof(float),
                                "partial update");
        e->similarity = mkv_malloc((size_t)n_dyn * sizeof(float), "partial update similarity");
        if (!e->scratch || !e->similarity) goto nomem;
    }
    if (config->mode == MKV_CACHE_EVICT) {
        st = mkv_evict_policy_create(&config->evict, hp, n_prompt, n_total, &e->policy);
        if (st != MKV_OK) goto fail;
    }
    if (config->revote.cold != MKV_COLD_OFF || config->revote.every != MKV_REVOTE_OFF) {
        st = MKV_ERR_USAGE;
        if (config->mode != MKV_CACHE_EVICT || config->evict.selector != MKV_SELECT_MASKVOTE) {
            mkv_fail(st, "--cold and --revote re-vote with Mask-Voting: use them with --cache maskkv");
            goto fail;
        }
        if ((st = mkv_revote_create(&config->revote, model, e->dyn_start, n_dyn, &e->revote)) != MKV_OK) goto fail;
        mkv_evict_policy_set_cold(e->policy, mkv_revote_cold(e->revote));
    }
    return MKV_OK;
nomem:
    st = mkv_last_status() ? mkv_last_status() : MKV_ERR_NOMEM;
fail:
    mkv_engine_free(e);
    return st;
}

void mkv_engine_free(mkv_engine *e) {
    mkv_workspace_free(&e->ws);
    mkv_kv_store_free(&e->store);
    if (e->attn_out_cache)
        for (int l = 0; l < e->model->hp.n_layers; l++) mkv_free(e->attn_out_cache[l]);
    if (e->ffn_out_cache)
        for (int l = 0; l < e->model->hp.n_layers; l++) mkv_free(e->ffn_out_cache[l]);
    mkv_free(e->attn_out_cache);
    mkv_free(e->ffn_out_cache);
    mkv_free(e->scratch);
    mkv_free(e->similarity);
    mkv_free(e->rows);
    mkv_free(e->logit_rows);
    mkv_free(e->selected);
    if (e->policy) mkv_evict_policy_free(e->policy);
    mkv_revote_free(e->revote);
    memset(e, 0, sizeof *e);
}

size_t mkv_engine_kv_bytes(const mkv_engine *e) { return e->store.bytes; }
size_t mkv_engine_kv_peak_bytes(const mkv_engine *e) { return e->store.peak_bytes; }

static void set_logit_rows(mkv_engine *e, const int32_t *positions, int n) {
    for (int i = 0; i < n; i++) e->logit_rows[i] = positions[i] - e->shift < 0 ? 0 : positions[i] - e->shift;
}

static int fill_range(int32_t *rows, int from, int to) {
    for (int p = from; p < to; p++) rows[p - from] = p;
    return to - from;
}

/* A pass over all positions: stores every K/V row, and (dllm/evict) the
 * response rows' attention and FFN outputs; with a policy, evicts prompt K/V. */
static mkv_status full_pass(mkv_engine *e, const int32_t *tokens, int n_logits, float *logits) {
    mkv_forward_observer obs = {0};
    if (keeps_response_state(e->config.mode)) {
        obs.attn_out_cache = e->attn_out_cache;
        obs.ffn_out_cache = e->ffn_out_cache;
        obs.response_start = e->dyn_start;
    }
    if (e->policy) {
        mkv_status st = mkv_evict_prepare_pass(e->policy, tokens, e->model->hp.mask_id, &obs);
        if (st != MKV_OK) return st;
    }
    int n = fill_range(e->rows, 0, e->n_total);
    mkv_status st = mkv_forward(e->model, &e->ws, &e->store, tokens, e->rows, n, &obs, e->logit_rows, n_logits, logits);
    if (st == MKV_OK && e->policy) st = mkv_evict_finish_pass(e->policy, &e->store);
    e->n_full_passes++;
    return st;
}

/* Response refresh: every response row recomputed against the cached prompt K/V. */
static mkv_status response_pass(mkv_engine *e, const int32_t *tokens, int n_logits, float *logits) {
    mkv_forward_observer obs = {.attn_out_cache = e->attn_out_cache, .ffn_out_cache = e->ffn_out_cache,
                                .response_start = e->dyn_start};
    int n = fill_range(e->rows, e->dyn_start, e->n_total);
    return mkv_forward(e->model, &e->ws, &e->store, tokens, e->rows, n, &obs, e->logit_rows, n_logits, logits);
}

/* A re-vote step: the response pass with the re-vote before each layer's attention. */
static mkv_status revote_pass(mkv_engine *e, const int32_t *tokens, int n_logits, float *logits) {
    mkv_forward_observer obs = {.attn_out_cache = e->attn_out_cache, .ffn_out_cache = e->ffn_out_cache,
                                .response_start = e->dyn_start};
    mkv_revote_prepare_pass(e->revote, tokens, e->model->hp.mask_id, &obs);
    int n = fill_range(e->rows, e->dyn_start, e->n_total);
    return mkv_forward(e->model, &e->ws, &e->store, tokens, e->rows, n, &obs, e->logit_rows, n_logits, logits);
}

static double cosine(const float *a, const float *b, int n) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return (na > 0 && nb > 0) ? dot / sqrt(na * nb) : 1.0;
}

/* dLLM-Cache's adaptive partial update (SPEC §3): per layer (> 0), V of every
 * response row is recomputed and compared with the cached V; only the
 * int(G * rho) least similar rows recompute attention and FFN, the others
 * reuse their cached attention/FFN outputs. Layer 0 recomputes every row. */
static mkv_status partial_step(mkv_engine *e, const int32_t *tokens, int n_logits, float *logits) {
    const mkv_model *m = e->model;
    const mkv_hparams *hp = &m->hp;
    int d = hp->d_model, hd = hp->head_dim;
    int q_dim = hp->n_heads * hd, kv_dim = hp->n_kv_heads * hd;
    int widest = d > q_dim ? d : q_dim;
    int n = fill_range(e->rows, e->dyn_start, e->n_total);
    const int32_t *rows = e->rows;
    float *x = e->ws.x;
    float *xn = e->scratch;                                  /* [n][d]      */
    float *v_all = xn + (size_t)n * d;                       /* [n][kv_dim] */
    float *sel_in = v_all + (size_t)n * kv_dim;              /* [n][widest] */
    float *sel_q = sel_in + (size_t)n * widest;              /* [n][q_dim]  */
    float *sel_k = sel_q + (size_t)n * q_dim;                /* [n][kv_dim] */
    float *sel_v = sel_k + (size_t)n * kv_dim;               /* [n][kv_dim] */
    float *sel_att = sel_v + (size_t)n * kv_dim;             /* [n][widest] */
    float *sel_out = sel_att + (size_t)n * widest;           /* [n][d]      */
    int32_t *sel_rows = e->selected;
    int n_sel_target = (int)((double)n * e->config.transfer_ratio);
    float norm[d];

    double *secs = e->ws.timing.seconds;
    double t = mkv_now_seconds();
    mkv_embed_rows(m, tokens, rows, n, x);
    for (int l = 0; l < hp->n_layers; l++) {
        const mkv_layer_weights *w = &m->layers[l];
        float *attn_cache = e->attn_out_cache[l], *ffn_cache = e->ffn_out_cache[l];
        const float *attn_norm = w->attn_norm->dtype == MKV_TYPE_F32 ? w->attn_norm->data : NULL;
        if (!attn_norm) {
            mkv_dtype_info(w->attn_norm->dtype)->to_float(w->attn_norm->data, norm, d);
            attn_norm = norm;
        }
        mkv_rmsnorm(xn, x, attn_norm, n, d, hp->norm_eps);
        int n_sel;
        if (l == 0) {
            n_sel = n;
            for (int i = 0; i < n; i++) sel_rows[i] = i;
        } else {
            mkv_qkv(m, e->ws.compute, l, xn, rows, n, NULL, NULL, v_all);
            for (int i = 0; i < n; i++) {
                float cached[kv_dim];
                for (int h = 0; h < hp->n_kv_heads; h++) {
                    int r = mkv_kv_row(&e->store, l, h, rows[i]);
                    mkv_kv_read_row(&e->store, e->store.layers[l].heads[h].v, r, cached + h * hd);
                }
                e->similarity[i] = (float)cosine(v_all + (size_t)i * kv_dim, cached, kv_dim);
                /* as dLLM-Cache does, every response row's V is refreshed; K only for the selected */
                for (int h = 0; h < hp->n_kv_heads; h++) {
                    int r = mkv_kv_row(&e->store, l, h, rows[i]);
                    mkv_kv_write_row(&e->store, e->store.layers[l].heads[h].v, r, v_all + (size_t)i * kv_dim + h * hd);
                }
            }
            /* the n_sel_target least similar rows, in position order */
            n_sel = 0;
            uint8_t *chosen = (uint8_t *)sel_out; /* reuse as flags before sel_out is written */
            for (int i = 0; i < n; i++) chosen[i] = 0;
            for (int k = 0; k < n_sel_target; k++) {
                int best = -1;
                for (int i = 0; i < n; i++)
                    if (!chosen[i] && (best < 0 || e->similarity[i] < e->similarity[best])) best = i;
                chosen[best] = 1;
            }
            for (int i = 0; i < n; i++)
                if (chosen[i]) sel_rows[n_sel++] = i;
        }
        if (n_sel > 0) {
            int32_t positions[n_sel];
            for (int s = 0; s < n_sel; s++) {
                positions[s] = rows[sel_rows[s]];
                memcpy(sel_in + (size_t)s * d, xn + (size_t)sel_rows[s] * d, (size_t)d * sizeof(float));
            }
            mkv_qkv(m, e->ws.compute, l, sel_in, positions, n_sel, sel_q, sel_k, sel_v);
            mkv_status st = mkv_store_kv_rows(&e->store, l, sel_k, sel_v, positions, n_sel);
            secs[MKV_PART_QKV] += mkv_lap(&t);
            if (st == MKV_OK) st = mkv_attend(m, &e->store, l, sel_q, n_sel, sel_att, NULL, NULL);
            if (st != MKV_OK) return st;
            secs[MKV_PART_ATTENTION] += mkv_lap(&t);
            mkv_matmul_as(e->ws.compute, sel_out, sel_att, n_sel, w->wo, NULL);
            for (int s = 0; s < n_sel; s++)
                memcpy(attn_cache + (size_t)(positions[s] - e->dyn_start) * d, sel_out + (size_t)s * d, (size_t)d * sizeof(float));
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) x[(size_t)i * d + j] += attn_cache[(size_t)(rows[i] - e->dyn_start) * d + j];
        secs[MKV_PART_OUT_PROJ] += mkv_lap(&t);
        if (n_sel > 0) {
            for (int s = 0; s < n_sel; s++)
                memcpy(sel_in + (size_t)s * d, x + (size_t)sel_rows[s] * d, (size_t)d * sizeof(float));
            mkv_ffn(m, &e->ws, l, sel_in, n_sel, sel_out);
            for (int s = 0; s < n_sel; s++)
                memcpy(ffn_cache + (size_t)(rows[sel_rows[s]] - e->dyn_start) * d, sel_out + (size_t)s * d,
                       (size_t)d * sizeof(float));
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) x[(size_t)i * d + j] += ffn_cache[(size_t)(rows[i] - e->dyn_start) * d + j];
        secs[MKV_PART_FFN] += mkv_lap(&t);
    }
    /* LM head on the requested rows only */
    for (int i = 0; i < n_logits; i++) {
        int r = e->logit_rows[i] - e->dyn_start;
        if (r < 0 || r >= n) return mkv_fail(MKV_ERR_INPUT, "logits requested for a prompt position");
        memcpy(sel_in + (size_t)i * d, x + (size_t)r * d, (size_t)d * sizeof(float));
    }
    mkv_lm_head(m, &e->ws, sel_in, n_logits, logits);
    secs[MKV_PART_LM_HEAD] += mkv_lap(&t);
    e->n_partial_steps++;
    return MKV_OK;
}

mkv_status mkv_engine_logits(mkv_engine *e, const int32_t *tokens, int step, int block_start,
                             const int32_t *positions, int n, float *logits) {
    set_logit_rows(e, positions, n);
    switch (e->config.mode) {
    case MKV_CACHE_NONE:
        return full_pass(e, tokens, n, logits);
    case MKV_CACHE_PREFIX: {
        if (block_start != e->prefix_block_start) {
            e->prefix_block_start = block_start;
            return full_pass(e, tokens, n, logits);
        }
        int from = block_start - e->shift < 0 ? 0 : block_start - e->shift;
        int count = fill_range(e->rows, from, e->n_total);
        return mkv_forward(e->model, &e->ws, &e->store, tokens, e->rows, count, NULL, e->logit_rows, n, logits);
    }
    case MKV_CACHE_DLLM:
    case MKV_CACHE_EVICT: {
        int kp = e->config.prompt_refresh, kr = e->config.response_refresh;
        bool revote = e->revote && mkv_revote_due(e->revote, step, block_start);
        if (step == 0 || (kp > 0 && step % kp == 0)) return full_pass(e, tokens, n, logits);
        if (revote) return revote_pass(e, tokens, n, logits);
        if (step % kr == 0) return response_pass(e, tokens, n, logits);
        return partial_step(e, tokens, n, logits);
    }
    }
    return mkv_fail(MKV_ERR_USAGE, "unknown cache mode");
}
