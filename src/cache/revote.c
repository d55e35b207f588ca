#include "cache/revote.h"

/* The store holds f32 K/V here: requests with a cold store run f32 compute
 * (mkv_compute_for_request, model/forward.c). */

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cache/selectors.h"
#include "kernels/kernels.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/dtype.h"

struct mkv_revote {
    mkv_revote_config config;
    const mkv_model *model;
    mkv_cold_store *cold;
    int n_evictable, n_dyn;
    /* score in bf16 on AMX tiles (the ranking only; the K/V stay f32/int8) */
    bool bf16_scores;
    int last_block_start;
    /* the current pass */
    const int32_t *tokens;
    int32_t mask_id;
    /* totals */
    int n_revotes;
    double seconds;
    int64_t *promoted_per_layer; /* [n_layers] */
};

mkv_status mkv_revote_create(const mkv_revote_config *c, const mkv_model *model, int n_evictable, int n_dyn,
                             mkv_revote **out) {
    *out = NULL;
    const mkv_hparams *hp = &model->hp;
    if (c->cold == MKV_COLD_OFF) return mkv_fail(MKV_ERR_USAGE, "--revote needs a cold store (--cold file or ram)");
    if (c->every < MKV_REVOTE_BLOCK) return mkv_fail(MKV_ERR_USAGE, "--revote: bad interval %d", c->every);
    mkv_revote *r = mkv_calloc(1, sizeof *r, "re-vote");
    if (!r) return mkv_last_status();
    r->config = *c;
    r->model = model;
    r->n_evictable = n_evictable;
    r->n_dyn = n_dyn;
    r->bf16_scores = mkv_cpu_has_amx() && hp->head_dim % 32 == 0;
    r->last_block_start = -1;
    r->promoted_per_layer = mkv_calloc((size_t)hp->n_layers, sizeof(int64_t), "re-vote counts");
    mkv_status st = r->promoted_per_layer ? MKV_OK : mkv_last_status();
    if (st == MKV_OK) st = mkv_cold_store_create(c->cold, hp->n_layers, hp->n_kv_heads, hp->head_dim, n_evictable, &r->cold);
    if (st != MKV_OK) {
        mkv_revote_free(r);
        return st;
    }
    *out = r;
    return MKV_OK;
}

void mkv_revote_free(mkv_revote *r) {
    if (!r) return;
    mkv_cold_store_free(r->cold);
    mkv_free(r->promoted_per_layer);
    mkv_free(r);
}

mkv_cold_store *mkv_revote_cold(mkv_revote *r) { return r->cold; }
int mkv_revote_count(const mkv_revote *r) { return r->n_revotes; }
double mkv_revote_seconds(const mkv_revote *r) { return r->seconds; }
const int64_t *mkv_revote_promoted_per_layer(const mkv_revote *r) { return r->promoted_per_layer; }

mkv_status mkv_revote_get_stats(const mkv_revote *r, int n_layers, mkv_revote_stats *out) {
    memset(out, 0, sizeof *out);
    out->promoted_per_layer = mkv_malloc((size_t)n_layers * sizeof(int64_t), "re-vote counts");
    if (!out->promoted_per_layer) return mkv_last_status();
    memcpy(out->promoted_per_layer, r->promoted_per_layer, (size_t)n_layers * sizeof(int64_t));
    out->n_revotes = r->n_revotes;
    out->seconds = r->seconds;
    out->cold_rows = mkv_cold_total_rows(r->cold);
    out->cold_bytes = mkv_cold_bytes(r->cold);
    out->cold_reserved_bytes = mkv_cold_reserved_bytes(r->cold);
    out->cold = mkv_cold_store_mode(r->cold);
    return MKV_OK;
}

bool mkv_revote_due(mkv_revote *r, int step, int block_start) {
    bool new_block = r->last_block_start >= 0 && block_start != r->last_block_start;
    r->last_block_start = block_start;
    if (step == 0 || r->config.every == MKV_REVOTE_OFF || mkv_cold_total_rows(r->cold) == 0) return false;
    if (r->config.every == MKV_REVOTE_BLOCK) return new_block;
    return step % r->config.every == 0;
}

int mkv_revote_dream_interval(int steps, int gen_len, int block_len) {
    if (gen_len <= 0 || block_len <= 0) return 1;
    long n = (long)steps * block_len / gen_len;
    return n < 1 ? 1 : (int)n;
}

bool mkv_revote_parse(const char *text, int *every) {
    if (!text) return false;
    if (!strcmp(text, "off")) *every = MKV_REVOTE_OFF;
    else if (!strcmp(text, "block")) *every = MKV_REVOTE_BLOCK;
    else {
        char *end = NULL;
        errno = 0;
        long n = strtol(text, &end, 10);
        if (errno || !end || *end || end == text || n < 1 || n > (1 << 30)) {
            mkv_fail(MKV_ERR_USAGE, "--revote: '%s' is not off, block or a number of steps >= 1", text);
            return false;
        }
        *every = (int)n;
    }
    return true;
}

/* ------------------------------------------------------------ one head */

typedef struct {
    float *keys;          /* [n_keys][hd]: hot | cold (dequantized) | response (f32 scores) */
    uint16_t *keys16;     /* the same rounded to bf16 (bf16 scores) */
    float *votes;         /* [group][n_keys] */
    float *scores;        /* [n_hot + n_cold] */
    mkv_rank_entry *rank; /* [n_hot + n_cold] */
    int32_t *keep;        /* [n_hot + n_cold] */
    uint8_t *voters;      /* [n_q] all 1 */
    float *new_k, *new_v; /* [n_hot][hd] */
    int32_t *new_pos;     /* [n_hot] */
    int64_t *order;       /* [n_hot]: (position << 32) | candidate */
} head_scratch;

static int compare_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Mask-Voting scores of the hot and cold prompt rows of one KV head: the
 * attention's votes-only mode (the softmax statistics and the vote sums, no
 * output), bitwise the votes of a full attention call. */
static void score_head(mkv_revote *r, const mkv_kv_store *store, int layer, int g, const float *q, int n_q,
                       head_scratch *s, int n_hot, int n_cold) {
    const mkv_hparams *hp = &r->model->hp;
    const mkv_kv_head *head = &store->layers[layer].heads[g];
    int hd = hp->head_dim, group = hp->n_heads / hp->n_kv_heads, q_dim = hp->n_heads * hd;
    int64_t n_keys = (int64_t)n_hot + n_cold + store->n_dyn;
    const void *keys = s->keys;
    if (r->bf16_scores) { /* hot | cold | response rounded to bf16 */
        mkv_round_to_bf16(head->k, (int64_t)n_hot * hd, s->keys16);
        mkv_cold_get_keys_bf16(r->cold, layer, g, 0, n_cold, s->keys16 + (size_t)n_hot * hd);
        mkv_round_to_bf16((const float *)head->k + (size_t)n_hot * hd, (int64_t)store->n_dyn * hd,
                          s->keys16 + (size_t)(n_hot + n_cold) * hd);
        keys = s->keys16;
    } else {
        memcpy(s->keys, head->k, (size_t)n_hot * hd * sizeof(float));
        mkv_cold_get_keys(r->cold, layer, g, 0, n_cold, s->keys + (size_t)n_hot * hd);
        memcpy(s->keys + (size_t)(n_hot + n_cold) * hd, (const float *)head->k + (size_t)n_hot * hd,
               (size_t)store->n_dyn * hd * sizeof(float));
    }
    memset(s->votes, 0, (size_t)group * n_keys * sizeof(float));
    float *vote_rows[group];
    for (int h = 0; h < group; h++) vote_rows[h] = s->votes + (size_t)h * n_keys;
    mkv_kv_head_view view = {keys, keys, n_keys, hd};
    mkv_attention_args args = {
        .q = q + (size_t)g * group * hd, .n_q = n_q, .q_stride = q_dim, .out = NULL, .out_stride = q_dim,
        .n_heads = group, .n_kv_heads = 1, .head_dim = hd, .kv = &view, .scale = 1.0f / sqrtf((float)hd),
        .vote_query = s->voters, .vote_sums = vote_rows, .votes_only = true, .bf16 = r->bf16_scores,
    };
    mkv_attention(&args);
    mkv_votes_per_kv_head(vote_rows, group, 1, n_hot + n_cold, s->scores);
}

/* Keeps the top n_hot of hot + cold; returns the rows promoted. */
static int swap_head(mkv_revote *r, mkv_kv_store *store, int layer, int g, head_scratch *s, int n_hot, int n_cold) {
    mkv_kv_head *head = &store->layers[layer].heads[g];
    size_t hd = (size_t)store->head_dim;
    int n_cand = n_hot + n_cold;
    int n_keep = mkv_select_top(s->scores, n_cand, n_cand, n_hot, s->rank, s->keep);
    int promoted = 0;
    for (int i = 0; i < n_keep; i++) promoted += s->keep[i] >= n_hot;
    if (promoted == 0) return 0;
    for (int i = 0; i < n_keep; i++) {
        int c = s->keep[i];
        int32_t pos = c < n_hot ? head->fixed_positions[c] : mkv_cold_position(r->cold, layer, g, c - n_hot);
        s->order[i] = ((int64_t)pos << 32) | (uint32_t)c;
    }
    qsort(s->order, (size_t)n_keep, sizeof *s->order, compare_i64);
    for (int i = 0; i < n_keep; i++) {
        int c = (int)(uint32_t)(s->order[i] & 0xffffffff);
        s->new_pos[i] = (int32_t)(s->order[i] >> 32);
        if (c < n_hot) {
            memcpy(s->new_k + i * hd, (const float *)head->k + (size_t)c * hd, hd * sizeof(float));
            memcpy(s->new_v + i * hd, (const float *)head->v + (size_t)c * hd, hd * sizeof(float));
        } else {
            mkv_cold_get(r->cold, layer, g, c - n_hot, s->new_k + i * hd, s->new_v + i * hd);
        }
    }
    /* demoted hot rows (not kept, in position order) take the promoted rows' slots */
    int next_kept = 0, next_slot = 0;
    for (int c = 0; c < n_hot; c++) {
        if (next_kept < n_keep && s->keep[next_kept] == c) {
            next_kept++;
            continue;
        }
        while (s->keep[next_slot] < n_hot) next_slot++;
        mkv_cold_set(r->cold, layer, g, s->keep[next_slot] - n_hot, head->fixed_positions[c],
                     (const float *)head->k + (size_t)c * hd, (const float *)head->v + (size_t)c * hd);
        next_slot++;
    }
    memcpy(head->k, s->new_k, (size_t)n_keep * hd * sizeof(float));
    memcpy(head->v, s->new_v, (size_t)n_keep * hd * sizeof(float));
    memcpy(head->fixed_positions, s->new_pos, (size_t)n_keep * sizeof(int32_t));
    return promoted;
}

static void scratch_free(head_scratch *s) {
    mkv_free(s->keys);
    mkv_free(s->keys16);
    mkv_free(s->votes);
    mkv_free(s->scores);
    mkv_free(s->rank);
    mkv_free(s->keep);
    mkv_free(s->voters);
    mkv_free(s->new_k);
    mkv_free(s->new_v);
    mkv_free(s->new_pos);
    mkv_free(s->order);
}

/* Sized for any head of the layer (one head at a time). */
static mkv_status scratch_alloc(const mkv_revote *r, const mkv_kv_store *store, int layer, int n_q, head_scratch *s) {
    const mkv_hparams *hp = &r->model->hp;
    memset(s, 0, sizeof *s);
    size_t n_ev = (size_t)store->dyn_start, keys = n_ev + (size_t)store->n_dyn, hd = (size_t)hp->head_dim;
    size_t group = (size_t)(hp->n_heads / hp->n_kv_heads), nq = (size_t)(n_q ? n_q : 1), ne = n_ev ? n_ev : 1;
    size_t n_hot = 1; /* the new hot rows: at most the largest n_fixed */
    for (int g = 0; g < store->n_kv_heads; g++)
        if ((size_t)store->layers[layer].heads[g].n_fixed > n_hot) n_hot = (size_t)store->layers[layer].heads[g].n_fixed;
    if (r->bf16_scores) {
        s->keys16 = mkv_malloc(keys * hd * sizeof(uint16_t), "re-vote keys");
    } else {
        s->keys = mkv_malloc(keys * hd * sizeof(float), "re-vote keys");
    }
    const bool keys_ok = r->bf16_scores ? s->keys16 != NULL : s->keys != NULL;
    s->votes = mkv_malloc(group * keys * sizeof(float), "re-vote votes");
    s->scores = mkv_malloc(ne * sizeof(float), "re-vote scores");
    s->rank = mkv_malloc(ne * sizeof(mkv_rank_entry), "re-vote ranking");
    s->keep = mkv_malloc(ne * sizeof(int32_t), "re-vote kept rows");
    s->voters = mkv_malloc(nq, "re-vote voters");
    s->new_k = mkv_malloc(n_hot * hd * sizeof(float), "re-vote hot keys");
    s->new_v = mkv_malloc(n_hot * hd * sizeof(float), "re-vote hot values");
    s->new_pos = mkv_malloc(n_hot * sizeof(int32_t), "re-vote hot positions");
    s->order = mkv_malloc(n_hot * sizeof(int64_t), "re-vote order");
    if (!keys_ok || !s->votes || !s->scores || !s->rank || !s->keep || !s->voters || !s->new_k || !s->new_v ||
        !s->new_pos || !s->order) {
        scratch_free(s);
        return mkv_last_status() ? mkv_last_status() : MKV_ERR_NOMEM;
    }
    memset(s->voters, 1, nq);
    return MKV_OK;
}

/* The KV heads are independent: with at least as many heads as threads, each
 * thread takes whole heads (its own scratch; the attention inside runs on
 * that one thread), else the heads go one after another with the attention's
 * threads. Either way each head's votes are computed by one code path in a
 * fixed order, so the result does not depend on the thread count. File mode:
 * a head's cold rows are released right after its swap, so at most one head
 * per thread is resident. */
mkv_status mkv_revote_layer(mkv_revote *r, mkv_kv_store *store, int layer, const float *q, int n_q, int64_t *promoted) {
    if (promoted) *promoted = 0;
    if (n_q <= 0) return MKV_OK;
    if (store->dyn_start != r->n_evictable || layer < 0 || layer >= store->n_layers)
        return mkv_fail(MKV_ERR_INPUT, "re-vote: the KV store does not match the cold store");
    int n_heads = store->n_kv_heads, n_work = 0;
    for (int g = 0; g < n_heads; g++)
        n_work += mkv_cold_rows(r->cold, layer, g) > 0 && store->layers[layer].heads[g].n_fixed > 0;
    if (n_work == 0) return MKV_OK;
    int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    int n_threads = n_work >= max_threads ? max_threads : 1;
    head_scratch scratch[n_threads];
    int n_alloc = 0;
    mkv_status st = MKV_OK;
    for (; n_alloc < n_threads && st == MKV_OK; n_alloc++) st = scratch_alloc(r, store, layer, n_q, &scratch[n_alloc]);
    if (st != MKV_OK) n_alloc--; /* the failed one freed itself */
    int64_t head_promoted[n_heads];
    if (st == MKV_OK) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads) if (n_threads > 1)
        for (int g = 0; g < n_heads; g++) {
            head_scratch *s = &scratch[omp_get_thread_num()];
            int n_hot = store->layers[layer].heads[g].n_fixed, n_cold = mkv_cold_rows(r->cold, layer, g);
            head_promoted[g] = 0;
            if (n_cold == 0 || n_hot == 0) continue;
            score_head(r, store, layer, g, q, n_q, s, n_hot, n_cold);
            head_promoted[g] = swap_head(r, store, layer, g, s, n_hot, n_cold);
            mkv_cold_release_head(r->cold, layer, g);
        }
    }
    for (int t = 0; t < n_alloc; t++) scratch_free(&scratch[t]);
    if (st != MKV_OK) return st;
    int64_t total = 0;
    for (int g = 0; g < n_heads; g++) total += head_promoted[g];
    r->promoted_per_layer[layer] += total;
    if (promoted) *promoted = total;
    return MKV_OK;
}

/* ------------------------------------------------------------ the hook */

static mkv_status before_attention(void *ctx, int layer, mkv_kv_store *store, const float *x, const int32_t *rows,
                                   int n_rows) {
    mkv_revote *r = ctx;
    double t0 = mkv_now_seconds();
    const mkv_model *m = r->model;
    const mkv_hparams *hp = &m->hp;
    int d = hp->d_model, q_dim = hp->n_heads * hp->head_dim;
    int n_q = 0;
    for (int i = 0; i < n_rows; i++) n_q += r->tokens[rows[i]] == r->mask_id;
    if (n_q == 0) return MKV_OK;
    float *xg = mkv_malloc((size_t)n_q * d * sizeof(float), "re-vote queries");
    float *xn = mkv_malloc((size_t)n_q * d * sizeof(float), "re-vote queries");
    float *q = mkv_malloc((size_t)n_q * q_dim * sizeof(float), "re-vote queries");
    int32_t *positions = mkv_malloc((size_t)n_q * sizeof(int32_t), "re-vote positions");
    mkv_status st = xg && xn && q && positions ? MKV_OK : mkv_last_status();
    if (st == MKV_OK) {
        int k = 0;
        for (int i = 0; i < n_rows; i++)
            if (r->tokens[rows[i]] == r->mask_id) {
                memcpy(xg + (size_t)k * d, x + (size_t)i * d, (size_t)d * sizeof(float));
                positions[k++] = rows[i];
            }
        const mkv_tensor *w = m->layers[layer].attn_norm;
        float norm[d];
        const float *weights = w->data;
        if (w->dtype != MKV_TYPE_F32) {
            mkv_dtype_info(w->dtype)->to_float(w->data, norm, d);
            weights = norm;
        }
        mkv_rmsnorm(xn, xg, weights, n_q, d, hp->norm_eps);
        mkv_qkv(m, MKV_COMPUTE_F32, layer, xn, positions, n_q, q, NULL, NULL);
        st = mkv_revote_layer(r, store, layer, q, n_q, NULL);
    }
    mkv_free(xg);
    mkv_free(xn);
    mkv_free(q);
    mkv_free(positions);
    if (layer == 0) r->n_revotes++;
    r->seconds += mkv_now_seconds() - t0;
    return st;
}

void mkv_revote_prepare_pass(mkv_revote *r, const int32_t *tokens, int32_t mask_id, mkv_forward_observer *obs) {
    r->tokens = tokens;
    r->mask_id = mask_id;
    obs->before_attention = before_attention;
    obs->ctx = r;
}
