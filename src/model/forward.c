#include "model/forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/dtype.h"

const char *const mkv_forward_part_names[MKV_PART_COUNT] = {"qkv", "attention", "out_proj", "ffn", "lm_head",
                                                           "cache_policy"};

/* Chunking bounds the buffers. Each GEMM call packs its W panels once, so
 * chunks must be long enough to spread that over many rows: 1024-row chunks
 * ran the 8k prefill 14% faster than 256 in bf16 on AMX and 10% in f32
 * (BENCHMARKS.md section 6); longer ones gained nothing. */
static int chunk_rows_for(int max_rows) {
    return max_rows < MKV_FORWARD_CHUNK_ROWS ? max_rows : MKV_FORWARD_CHUNK_ROWS;
}

static size_t workspace_floats(const mkv_hparams *hp, int max_rows, int chunk_rows) {
    size_t chunk = (size_t)chunk_rows;
    size_t q_dim = (size_t)hp->n_heads * hp->head_dim, kv_dim = (size_t)hp->n_kv_heads * hp->head_dim;
    return (size_t)max_rows * hp->d_model + chunk * (2 * (size_t)hp->d_model + 2 * q_dim + 2 * kv_dim + 2 * (size_t)hp->d_ff);
}

size_t mkv_forward_workspace_bytes(const mkv_hparams *hp, int max_rows) {
    return workspace_floats(hp, max_rows, chunk_rows_for(max_rows)) * sizeof(float);
}

mkv_status mkv_workspace_init(mkv_workspace *ws, const mkv_hparams *hp, int max_rows) {
    return mkv_workspace_init_chunked(ws, hp, max_rows, chunk_rows_for(max_rows > 0 ? max_rows : 1));
}

mkv_status mkv_workspace_init_chunked(mkv_workspace *ws, const mkv_hparams *hp, int max_rows, int chunk_rows) {
    memset(ws, 0, sizeof *ws);
    if (max_rows <= 0) return mkv_fail(MKV_ERR_INPUT, "workspace for %d rows", max_rows);
    if (chunk_rows <= 0 || chunk_rows > max_rows)
        return mkv_fail(MKV_ERR_INPUT, "workspace chunk of %d rows (1..%d)", chunk_rows, max_rows);
    size_t chunk = (size_t)chunk_rows;
    size_t q_dim = (size_t)hp->n_heads * hp->head_dim, kv_dim = (size_t)hp->n_kv_heads * hp->head_dim;
    ws->max_rows = max_rows;
    ws->chunk_rows = (int)chunk;
    ws->x = mkv_malloc((size_t)max_rows * hp->d_model * sizeof(float), "activations (residual)");
    ws->xn = mkv_malloc(chunk * hp->d_model * sizeof(float), "activations (normed)");
    ws->proj = mkv_malloc(chunk * hp->d_model * sizeof(float), "activations (projection)");
    ws->q = mkv_malloc(chunk * q_dim * sizeof(float), "activations (queries)");
    ws->att = mkv_malloc(chunk * q_dim * sizeof(float), "activations (attention)");
    ws->k = mkv_malloc(chunk * kv_dim * sizeof(float), "activations (keys)");
    ws->v = mkv_malloc(chunk * kv_dim * sizeof(float), "activations (values)");
    ws->ffn_gate = mkv_malloc(chunk * hp->d_ff * sizeof(float), "activations (ffn gate)");
    ws->ffn_up = mkv_malloc(chunk * hp->d_ff * sizeof(float), "activations (ffn up)");
    if (!ws->x || !ws->xn || !ws->proj || !ws->q || !ws->att || !ws->k || !ws->v || !ws->ffn_gate || !ws->ffn_up) {
        mkv_status st = mkv_last_status();
        mkv_workspace_free(ws);
        return st ? st : MKV_ERR_NOMEM;
    }
    ws->bytes = workspace_floats(hp, max_rows, chunk_rows) * sizeof(float);
    return MKV_OK;
}

void mkv_workspace_free(mkv_workspace *ws) {
    mkv_free(ws->x);
    mkv_free(ws->xn);
    mkv_free(ws->proj);
    mkv_free(ws->q);
    mkv_free(ws->att);
    mkv_free(ws->k);
    mkv_free(ws->v);
    mkv_free(ws->ffn_gate);
    mkv_free(ws->ffn_up);
    memset(ws, 0, sizeof *ws);
}

static bool bf16_or_quantized(mkv_dtype dtype) { return dtype != MKV_TYPE_F32 && dtype != MKV_TYPE_F16; }

static double params_of(const mkv_tensor *t) { return t ? (double)t->ne[0] * (double)t->ne[1] : 0.0; }

mkv_compute mkv_compute_for_model(const mkv_model *model, mkv_compute requested) {
    if (requested == MKV_COMPUTE_AUTO) requested = model->params.compute;
    if (requested != MKV_COMPUTE_AUTO) return requested;
    if (!mkv_cpu_bf16_dot_is_fast() || !model->layers) return MKV_COMPUTE_F32;
    double low_precision = 0, total = 0;
    for (int l = 0; l < model->hp.n_layers; l++) {
        const mkv_layer_weights *w = &model->layers[l];
        const mkv_tensor *matrices[] = {w->wq, w->wk, w->wv, w->wo, w->ffn_gate, w->ffn_up, w->ffn_down};
        for (size_t i = 0; i < sizeof matrices / sizeof matrices[0]; i++) {
            total += params_of(matrices[i]);
            if (matrices[i] && bf16_or_quantized(matrices[i]->dtype)) low_precision += params_of(matrices[i]);
        }
    }
    total += params_of(model->output);
    if (model->output && bf16_or_quantized(model->output->dtype)) low_precision += params_of(model->output);
    return total > 0 && 2 * low_precision > total ? MKV_COMPUTE_BF16 : MKV_COMPUTE_F32;
}

/* The cold store and the re-vote (cache maskkv-revote) read and write f32
 * K/V rows: a request with them runs f32 unless bf16 was asked for, which
 * mkv_gen_validate refuses. */
static bool uses_cold_store(const mkv_gen_params *p) {
    return p->cache.mode == MKV_CACHE_EVICT && p->cache.revote.cold != MKV_COLD_OFF;
}

mkv_compute mkv_compute_for_request(const mkv_model *model, const mkv_gen_params *params) {
    const mkv_compute asked = params->compute != MKV_COMPUTE_AUTO ? params->compute : model->params.compute;
    if (asked == MKV_COMPUTE_AUTO && uses_cold_store(params)) return MKV_COMPUTE_F32;
    return mkv_compute_for_model(model, asked);
}

bool mkv_compute_request_supported(const mkv_model *model, const mkv_gen_params *params) {
    return !uses_cold_store(params) || mkv_compute_for_request(model, params) != MKV_COMPUTE_BF16;
}

mkv_dtype mkv_compute_kv_dtype(mkv_compute compute) {
    return compute == MKV_COMPUTE_BF16 ? MKV_TYPE_BF16 : MKV_TYPE_F32;
}

/* A 1-D weight (norm, bias) as f32; HF checkpoints may store them in bf16/f16. */
static const float *vector_f32(const mkv_tensor *t, float *scratch) {
    if (t->dtype == MKV_TYPE_F32) return t->data;
    mkv_dtype_info(t->dtype)->to_float(t->data, scratch, t->ne[0]);
    return scratch;
}

static void add_bias(float *y, int64_t n, int dim, const mkv_tensor *bias, float *scratch) {
    if (!bias) return;
    const float *b = vector_f32(bias, scratch);
    for (int64_t r = 0; r < n; r++)
        for (int i = 0; i < dim; i++) y[r * dim + i] += b[i];
}

void mkv_embed_rows(const mkv_model *model, const int32_t *tokens, const int32_t *rows, int n_rows, float *x) {
    const mkv_tensor *emb = model->tok_embd;
    int d = model->hp.d_model;
    size_t row_bytes = mkv_dtype_row_bytes(emb->dtype, d);
    const mkv_dtype_traits *traits = mkv_dtype_info(emb->dtype);
    for (int i = 0; i < n_rows; i++) {
        const unsigned char *src = (const unsigned char *)emb->data + (size_t)tokens[rows[i]] * row_bytes;
        traits->to_float(src, x + (size_t)i * d, d);
    }
}

void mkv_qkv(const mkv_model *model, mkv_compute compute, int layer, const float *xn, const int32_t *rows, int n_rows,
             float *q, float *k, float *v) {
    const mkv_hparams *hp = &model->hp;
    const mkv_layer_weights *w = &model->layers[layer];
    int q_dim = hp->n_heads * hp->head_dim, kv_dim = hp->n_kv_heads * hp->head_dim;
    float scratch[q_dim > kv_dim ? q_dim : kv_dim];
    if (q) {
        mkv_matmul_as(compute, q, xn, n_rows, w->wq, NULL);
        add_bias(q, n_rows, q_dim, w->bq, scratch);
        mkv_rope(q, n_rows, q_dim, hp->n_heads, hp->head_dim, rows, hp->rope_theta, hp->rope_style);
    }
    if (k) {
        mkv_matmul_as(compute, k, xn, n_rows, w->wk, NULL);
        add_bias(k, n_rows, kv_dim, w->bk, scratch);
        mkv_rope(k, n_rows, kv_dim, hp->n_kv_heads, hp->head_dim, rows, hp->rope_theta, hp->rope_style);
    }
    if (v) {
        mkv_matmul_as(compute, v, xn, n_rows, w->wv, NULL);
        add_bias(v, n_rows, kv_dim, w->bv, scratch);
    }
}

mkv_status mkv_store_kv_rows(mkv_kv_store *store, int layer, const float *k, const float *v, const int32_t *rows,
                             int n_rows) {
    int hd = store->head_dim, kv_dim = store->n_kv_heads * hd;
    for (int h = 0; h < store->n_kv_heads; h++) {
        mkv_kv_head *head = &store->layers[layer].heads[h];
        for (int i = 0; i < n_rows; i++) {
            int row = mkv_kv_row(store, layer, h, rows[i]);
            if (row < 0)
                return mkv_fail(MKV_ERR_INPUT, "position %d was evicted from layer %d head %d and cannot be recomputed",
                                rows[i], layer, h);
            mkv_kv_write_row(store, head->k, row, k + (size_t)i * kv_dim + (size_t)h * hd);
            mkv_kv_write_row(store, head->v, row, v + (size_t)i * kv_dim + (size_t)h * hd);
        }
    }
    return MKV_OK;
}

/* The K/V views of a layer (views[n_kv_heads]) and the arguments that
 * attend to them; the caller fills in the queries. */
static mkv_attention_args layer_attention_args(const mkv_model *model, const mkv_kv_store *store, int layer,
                                               mkv_kv_head_view *views) {
    const mkv_hparams *hp = &model->hp;
    for (int h = 0; h < hp->n_kv_heads; h++) {
        const mkv_kv_head *head = &store->layers[layer].heads[h];
        views[h] = (mkv_kv_head_view){head->k, head->v, head->n_fixed + store->n_dyn, hp->head_dim};
    }
    int q_dim = hp->n_heads * hp->head_dim;
    return (mkv_attention_args){
        .q_stride = q_dim, .out_stride = q_dim, .n_heads = hp->n_heads, .n_kv_heads = hp->n_kv_heads,
        .head_dim = hp->head_dim, .kv = views, .scale = 1.0f / sqrtf((float)hp->head_dim),
        .bf16 = store->dtype == MKV_TYPE_BF16,
    };
}

mkv_status mkv_attend(const mkv_model *model, const mkv_kv_store *store, int layer, const float *q, int n_rows,
                      float *out, const uint8_t *vote_rows, float **vote_sums) {
    return mkv_attend_prepared(model, store, layer, q, n_rows, out, vote_rows, vote_sums, NULL);
}

mkv_status mkv_attend_prepared(const mkv_model *model, const mkv_kv_store *store, int layer, const float *q, int n_rows,
                               float *out, const uint8_t *vote_rows, float **vote_sums,
                               const mkv_attention_values *values) {
    mkv_kv_head_view views[model->hp.n_kv_heads];
    mkv_attention_args args = layer_attention_args(model, store, layer, views);
    args.q = q;
    args.n_q = n_rows;
    args.out = out;
    args.vote_query = vote_rows;
    args.vote_sums = vote_sums;
    args.values = values;
    mkv_attention(&args);
    return MKV_OK;
}

void mkv_ffn(const mkv_model *model, mkv_workspace *ws, int layer, const float *h, int n_rows, float *out) {
    const mkv_hparams *hp = &model->hp;
    const mkv_layer_weights *w = &model->layers[layer];
    int d = hp->d_model;
    float scratch[d];
    const float *norm = vector_f32(w->ffn_norm, scratch);
    for (int start = 0; start < n_rows; start += ws->chunk_rows) {
        int n = n_rows - start < ws->chunk_rows ? n_rows - start : ws->chunk_rows;
        mkv_rmsnorm(ws->xn, h + (size_t)start * d, norm, n, d, hp->norm_eps);
        mkv_matmul_as(ws->compute, ws->ffn_gate, ws->xn, n, w->ffn_gate, NULL);
        mkv_matmul_as(ws->compute, ws->ffn_up, ws->xn, n, w->ffn_up, NULL);
        mkv_swiglu(ws->ffn_gate, ws->ffn_gate, ws->ffn_up, (int64_t)n * hp->d_ff);
        mkv_matmul_as(ws->compute, out + (size_t)start * d, ws->ffn_gate, n, w->ffn_down, NULL);
    }
}

void mkv_lm_head(const mkv_model *model, mkv_workspace *ws, const float *x, int n_rows, float *logits) {
    int d = model->hp.d_model;
    float scratch[d];
    const float *norm = vector_f32(model->output_norm, scratch);
    for (int start = 0; start < n_rows; start += ws->chunk_rows) {
        int n = n_rows - start < ws->chunk_rows ? n_rows - start : ws->chunk_rows;
        mkv_rmsnorm(ws->xn, x + (size_t)start * d, norm, n, d, model->hp.norm_eps);
        mkv_matmul_as(ws->compute, logits + (size_t)start * model->hp.n_vocab, ws->xn, n, model->output, NULL);
    }
}

/* sum_i cos(a_i, a_i + b_i); layer importance = 1 - mean (how much the
 * attention sub-layer turns the residual stream). */
static double cosine_sum(const float *x, const float *proj, int n_rows, int d) {
    double total = 0;
    for (int i = 0; i < n_rows; i++) {
        double dot = 0, na = 0, nb = 0;
        for (int j = 0; j < d; j++) {
            double a = x[(size_t)i * d + j], b = a + proj[(size_t)i * d + j];
            dot += a * b;
            na += a * a;
            nb += b * b;
        }
        total += (na > 0 && nb > 0) ? dot / sqrt(na * nb) : 1.0;
    }
    return total;
}

static void save_response_rows(float *cache, const float *src, const int32_t *rows, int n_rows, int start, int d) {
    for (int i = 0; i < n_rows; i++)
        if (rows[i] >= start) memcpy(cache + (size_t)(rows[i] - start) * d, src + (size_t)i * d, (size_t)d * sizeof(float));
}

static int find_row(const int32_t *rows, int n_rows, int32_t position) {
    int lo = 0, hi = n_rows - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (rows[mid] == position) return mid;
        if (rows[mid] < position) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

mkv_status mkv_forward(const mkv_model *model, mkv_workspace *ws, mkv_kv_store *store, const int32_t *tokens,
                       const int32_t *rows, int n_rows, const mkv_forward_observer *obs, const int32_t *logit_rows,
                       int n_logit_rows, float *logits) {
    const mkv_hparams *hp = &model->hp;
    int d = hp->d_model;
    if (n_rows <= 0 || n_rows > ws->max_rows)
        return mkv_fail(MKV_ERR_INPUT, "forward over %d rows (workspace holds %d)", n_rows, ws->max_rows);
    for (int i = 0; i < n_rows; i++) {
        if (i > 0 && rows[i] <= rows[i - 1]) return mkv_fail(MKV_ERR_INPUT, "active positions must increase");
        if (tokens[rows[i]] < 0 || tokens[rows[i]] >= hp->n_vocab)
            return mkv_fail(MKV_ERR_INPUT, "token id %d at position %d is out of the vocabulary [0, %d)",
                            tokens[rows[i]], rows[i], hp->n_vocab);
    }

    /* Per-layer vote buffers: one row of key sums per query head. */
    float *vote_sums[hp->n_heads];
    float *vote_block = NULL;
    if (obs && obs->vote_rows) {
        size_t max_keys = (size_t)store->dyn_start + store->n_dyn;
        vote_block = mkv_malloc((size_t)hp->n_heads * max_keys * sizeof(float), "mask-voting scores");
        if (!vote_block) return mkv_last_status();
        for (int h = 0; h < hp->n_heads; h++) vote_sums[h] = vote_block + (size_t)h * max_keys;
    }

    mkv_status st = MKV_OK;
    float *x = ws->x;
    float norm_scratch[d];
    const int C = ws->chunk_rows;
    double *secs = ws->timing.seconds;
    double t = mkv_now_seconds();
    mkv_embed_rows(model, tokens, rows, n_rows, x);
    for (int l = 0; l < hp->n_layers && st == MKV_OK; l++) {
        const mkv_layer_weights *w = &model->layers[l];
        mkv_lap(&t);
        if (obs && obs->before_layer && (st = obs->before_layer(obs->ctx, l, store)) != MKV_OK) break;
        secs[MKV_PART_CACHE_POLICY] += mkv_lap(&t);
        const float *attn_norm = vector_f32(w->attn_norm, norm_scratch);
        /* 1. K/V of every active row into the store, chunk by chunk */
        for (int c0 = 0; c0 < n_rows && st == MKV_OK; c0 += C) {
            int n = n_rows - c0 < C ? n_rows - c0 : C;
            mkv_rmsnorm(ws->xn, x + (size_t)c0 * d, attn_norm, n, d, hp->norm_eps);
            mkv_qkv(model, ws->compute, l, ws->xn, rows + c0, n, NULL, ws->k, ws->v);
            st = mkv_store_kv_rows(store, l, ws->k, ws->v, rows + c0, n);
        }
        secs[MKV_PART_QKV] += mkv_lap(&t);
        if (st == MKV_OK && obs && obs->before_attention) st = obs->before_attention(obs->ctx, l, store, x, rows, n_rows);
        secs[MKV_PART_CACHE_POLICY] += mkv_lap(&t);
        if (st != MKV_OK) break;
        if (vote_block) {
            size_t max_keys = (size_t)store->dyn_start + store->n_dyn;
            memset(vote_block, 0, (size_t)hp->n_heads * max_keys * sizeof(float));
        }
        /* 2. per chunk: queries, attention, Wo, FFN (rows are independent
         * once every K/V row is stored; the votes add up over chunks) */
        double cos_total = 0;
        mkv_attention_values *values = NULL; /* AMX: V^T once for the layer's chunks */
        if (n_rows > C) {
            mkv_kv_head_view views[hp->n_kv_heads];
            mkv_attention_args layer_args = layer_attention_args(model, store, l, views);
            values = mkv_attention_prepare_values(&layer_args);
        }
        secs[MKV_PART_ATTENTION] += mkv_lap(&t);
        for (int c0 = 0; c0 < n_rows && st == MKV_OK; c0 += C) {
            int n = n_rows - c0 < C ? n_rows - c0 : C;
            float *xc = x + (size_t)c0 * d;
            mkv_rmsnorm(ws->xn, xc, attn_norm, n, d, hp->norm_eps);
            mkv_qkv(model, ws->compute, l, ws->xn, rows + c0, n, ws->q, NULL, NULL);
            secs[MKV_PART_QKV] += mkv_lap(&t);
            st = mkv_attend_prepared(model, store, l, ws->q, n, ws->att, vote_block ? obs->vote_rows + c0 : NULL,
                                     vote_block ? vote_sums : NULL, values);
            secs[MKV_PART_ATTENTION] += mkv_lap(&t);
            if (st != MKV_OK) break;
            mkv_matmul_as(ws->compute, ws->proj, ws->att, n, w->wo, NULL);
            if (obs && obs->layer_importance) cos_total += cosine_sum(xc, ws->proj, n, d);
            if (obs && obs->attn_out_cache)
                save_response_rows(obs->attn_out_cache[l], ws->proj, rows + c0, n, obs->response_start, d);
            for (size_t i = 0; i < (size_t)n * d; i++) xc[i] += ws->proj[i];
            secs[MKV_PART_OUT_PROJ] += mkv_lap(&t);
            mkv_ffn(model, ws, l, xc, n, ws->proj);
            if (obs && obs->ffn_out_cache)
                save_response_rows(obs->ffn_out_cache[l], ws->proj, rows + c0, n, obs->response_start, d);
            for (size_t i = 0; i < (size_t)n * d; i++) xc[i] += ws->proj[i];
            secs[MKV_PART_FFN] += mkv_lap(&t);
        }
        mkv_attention_values_free(values);
        if (st != MKV_OK) break;
        if (obs && obs->layer_importance) obs->layer_importance[l] = 1.0 - cos_total / n_rows;
        /* 3. the policy sees the layer's complete votes (and may evict its rows) */
        if (obs && obs->after_attention) st = obs->after_attention(obs->ctx, l, store, vote_sums);
        secs[MKV_PART_CACHE_POLICY] += mkv_lap(&t);
        if (st == MKV_OK && ws->on_layer && ws->on_layer(ws->on_layer_ctx, l, hp->n_layers, n_rows))
            st = mkv_fail(MKV_ERR_CANCELLED, "cancelled by the layer callback at layer %d", l);
    }
    mkv_free(vote_block);
    if (st != MKV_OK) return st;

    if (n_logit_rows > 0) {
        /* gather the requested rows' hidden states, then the LM head on those only */
        float *hidden = mkv_malloc((size_t)n_logit_rows * d * sizeof(float), "LM head input");
        if (!hidden) return mkv_last_status();
        for (int i = 0; i < n_logit_rows; i++) {
            int r = find_row(rows, n_rows, logit_rows[i]);
            if (r < 0) {
                mkv_free(hidden);
                return mkv_fail(MKV_ERR_INPUT, "logits requested for position %d, which is not active", logit_rows[i]);
            }
            memcpy(hidden + (size_t)i * d, x + (size_t)r * d, (size_t)d * sizeof(float));
        }
        mkv_lap(&t);
        mkv_lm_head(model, ws, hidden, n_logit_rows, logits);
        secs[MKV_PART_LM_HEAD] += mkv_lap(&t);
        mkv_free(hidden);
    }
    return MKV_OK;
}
