/* Bidirectional attention, flash style, with Mask-Voting column sums.
 *
 * Pass 1 (outputs). Work items are (query head h, tile of up to
 * ATTN_Q_PANELS * nr queries); OpenMP hands them out dynamically. For a
 * tile, the queries are packed transposed and pre-scaled, Qt[c][i] =
 * scale * q_i[c], once. Then for each tile of key_tile keys of KV head
 * h / group:
 *   S^T[j][i] = k_j . Qt[:, i]        GEMM micro-kernel (keys x queries)
 *   online softmax per query column:  m' = max(m, max_j S), P = exp(S - m'),
 *                                     l = l exp(m - m') + sum_j P,
 *                                     O^T *= exp(m - m')
 *   O^T[c][i] += sum_j V[j][c] P[j][i] GEMM micro-kernel (channels x queries)
 * and finally out_i = O^T[:, i] / l_i. Memory per thread is O(tile) (a few
 * hundred KiB); the n x n score matrix never exists. Each output is computed
 * by one thread in a fixed order: results do not depend on the thread count
 * or on which queries share a tile.
 *
 * Pass 2 (Mask-Voting, only when vote_query != NULL). The column sums need
 * each voting query's final m_i and l_i, kept from pass 1 (2 floats per
 * query and head). Work items are (h, chunk of keys): the scores of the
 * chunk against every voting query are recomputed (bitwise the same as in
 * pass 1) and exp(s - m_i) / l_i is summed per key, over the voting queries
 * in panels of nr in ascending order; the item adds its sums to
 * vote_sums[h][j]. One thread owns each (h, j), so the sums are the same for
 * any thread count. Costs n_vote / n_q of the QK^T work again.
 *
 * Votes only (args->votes_only): pass 1 runs the same score tiles and online
 * softmax statistics (m_i, l_i come out bitwise the same) but skips P.V, the
 * output rescale and the output itself, and tiles without a voter; pass 2 is
 * unchanged, so the vote sums are those of the full call, bit for bit. When
 * every query votes (the re-vote's mask queries) and the tiles fit in 64 MiB
 * (n_heads * n_q * n_keys floats, rounded up to whole tiles), pass 1 also
 * keeps its score tiles and pass 2 reads them instead of recomputing: the
 * same floats, half the QK^T work.
 *
 * bf16 compute (args->bf16, dot = the avx512bf16 table): keys and values are
 * stored bf16. The queries are rounded to bf16 (not scaled) and packed as
 * pair slots, the key rows are paired as they are, S^T comes from the
 * vdpbf16ps micro-kernel and is then scaled in f32 (PyTorch's order). For
 * P.V, the probabilities of a key tile are rounded to bf16 and paired over
 * keys, V^T is paired over keys from the bf16 rows, and the same
 * micro-kernel accumulates O^T in f32. The online softmax, the row sums and
 * the Mask-Voting sums are the f32 code above; pass 2 recomputes the scores
 * with the same code, so the votes see pass 1's exact scores.
 *
 * AMX (bf16 with amx, kernels_amx.h): the same packed queries, the products
 * on tiles. S^T takes the bf16 key rows as they are stored (no packing);
 * P.V takes V^T, transposed once per layer (mkv_attention_prepare_values)
 * or per call for every KV head (as many bytes as V), so that a key tile of
 * 256 keys is eight rows of tiles. The softmax, its rescale and the votes
 * take the raw products and their own exp (2^(s c - m), one FMA and a
 * degree-5 polynomial: kernels_amx.c) in every AMX call, pass 1 and pass 2
 * alike. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kernels/kernels_amx.h"
#include "kernels/kernels_internal.h"
#include "util/alloc.h"

#define ATTN_Q_PANELS 8    /* query panels per tile: each packed key row is reused 8 * nr times */
#define ATTN_KEY_ROWS_PER_TILE 8 /* key tile = 8 * mr keys                                  */
#define ATTN_AMX_KEY_TILE 256    /* AMX: eight 32-key tile blocks (128: 12% slower)        */
#define ATTN_AMX_MIN_QUERIES 64  /* AMX P.V without prepared values: at least this many queries */

static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

typedef struct {
    float *q_t;       /* [ATTN_Q_PANELS][head_dim][nr] scaled, transposed queries */
    float *scores;    /* [ATTN_Q_PANELS][key_tile][nr]                           */
    float *out_t;     /* [ATTN_Q_PANELS][head_dim][nr]                           */
    float *row_max;   /* [ATTN_Q_PANELS][nr]                                     */
    float *row_sum;   /* [ATTN_Q_PANELS][nr]                                     */
    float *key_panel; /* [head_dim][a_stride]                                    */
    float *key_votes; /* [key_tile]                                              */
    float *v_pairs;   /* bf16: [key_tile / 2][head_dim] V^T pair slots; AMX: 32 x 32 staging */
    float *p_pairs;   /* bf16: [ATTN_Q_PANELS][key_tile / 2][nr] P pair slots    */
} attention_scratch;

typedef struct {
    size_t q_t, scores, out_t, stats, key_panel, key_votes, v_pairs, p_pairs, total;
} scratch_layout;

/* The kernels one call runs on: ops for the f32 tiles (softmax, votes),
 * dot for the two products (ops itself unless bf16); amx: Q.K^T on tiles;
 * amx_pv: P.V on tiles too, with v_t[g] the transposed values of KV head g
 * (row stride vt_stride[g]); without it P.V runs the dot table's tiles. */
typedef struct {
    const mkv_isa_ops *ops, *dot;
    bool bf16, amx, amx_pv;
    uint16_t **v_t;
    const int64_t *vt_stride;
} attention_kernels;

/* Votes only, every query a voter: pass 1 keeps its score tiles (before the
 * softmax turns them into probabilities) and pass 2 reads them back instead
 * of recomputing them; they are the very floats pass 2 would compute. Per
 * head, query tile t (its n_panels panels) and key chunk c, one tile of
 * [n_panels][key_tile][nr] floats. base == NULL: recompute (the default). */
typedef struct {
    float *base;
    int64_t panels, key_chunks; /* per head: ceil(n_q / nr) panels, ceil(max keys / key_tile) chunks */
} kept_scores;

#define ATTN_KEPT_SCORES_MAX_BYTES ((size_t)64 << 20)

static float *kept_tile(const kept_scores *ks, int h, int64_t q0, int64_t j0, int nr, int key_tile) {
    const int64_t first_panel = q0 / nr, tile_panels = ks->panels - first_panel < ATTN_Q_PANELS ? ks->panels - first_panel
                                                                                                 : ATTN_Q_PANELS;
    const int64_t head = (int64_t)h * ks->panels * ks->key_chunks;
    const int64_t tile = first_panel * ks->key_chunks + (j0 / key_tile) * tile_panels;
    return ks->base + (size_t)(head + tile) * key_tile * nr;
}

static scratch_layout layout_for(const mkv_isa_ops *ops, int head_dim, int key_tile) {
    scratch_layout s;
    s.q_t = round16((size_t)ATTN_Q_PANELS * head_dim * ops->nr);
    s.scores = round16((size_t)ATTN_Q_PANELS * key_tile * ops->nr);
    s.out_t = s.q_t;
    s.stats = round16((size_t)ATTN_Q_PANELS * ops->nr);
    s.key_panel = round16((size_t)head_dim * ops->a_stride);
    s.key_votes = round16((size_t)key_tile);
    s.v_pairs = round16((size_t)(key_tile + 1) / 2 * head_dim);
    s.p_pairs = round16((size_t)ATTN_Q_PANELS * ((key_tile + 1) / 2) * ops->nr);
    s.total = s.q_t + s.scores + s.out_t + 2 * s.stats + s.key_panel + s.key_votes + s.v_pairs + s.p_pairs;
    return s;
}

static attention_scratch carve(float *base, const scratch_layout *s) {
    attention_scratch a;
    a.q_t = base;
    a.scores = a.q_t + s->q_t;
    a.out_t = a.scores + s->scores;
    a.row_max = a.out_t + s->out_t;
    a.row_sum = a.row_max + s->stats;
    a.key_panel = a.row_sum + s->stats;
    a.key_votes = a.key_panel + s->key_panel;
    a.v_pairs = a.key_votes + s->key_votes;
    a.p_pairs = a.v_pairs + s->v_pairs;
    return a;
}

/* f32: Qt[c][i] = scale * q_i[c] for the queries of one panel; bf16: pair
 * slots of bf16(q_i), unscaled (padding columns repeat a real query; their
 * results are never stored or voted). */
static void pack_queries(const attention_kernels *kern, const float *const *query_rows, int head_dim, float scale,
                         float *q_t) {
    const mkv_isa_ops *ops = kern->ops;
    if (kern->bf16) {
        kern->dot->pack_x_panel(query_rows, head_dim, ops->nr, q_t);
        return;
    }
    ops->transpose_to_panel(query_rows, head_dim, ops->nr, q_t);
    for (size_t e = 0; e < (size_t)head_dim * ops->nr; e++) q_t[e] *= scale;
}

/* The key rows of a tile against the query panels, unscaled for bf16:
 * AMX tiles on the key rows as stored, else the dot table's micro-kernel
 * on packed key panels (f32: the queries are pre-scaled). */
static void key_tile_products(const attention_kernels *kern, const mkv_kv_head_view *kv, int64_t j0, int n_keys,
                              int head_dim, int n_panels, int key_tile, const attention_scratch *scratch) {
    const mkv_isa_ops *dot = kern->dot;
    const int mr = dot->mr, nr = dot->nr;
    if (kern->amx) {
        mkv_amx_scores((const uint16_t *)kv->k + j0 * kv->stride, kv->stride, n_keys, head_dim, scratch->q_t,
                       (int64_t)head_dim * nr, n_panels, scratch->scores, key_tile, (uint16_t *)scratch->key_panel,
                       scratch->v_pairs);
        return;
    }
    for (int jj = 0; jj < n_keys; jj += mr) {
        const int rows = n_keys - jj < mr ? n_keys - jj : mr;
        if (kern->bf16) {
            const uint16_t *key_rows[64];
            for (int r = 0; r < dot->a_stride; r++)
                key_rows[r] = (const uint16_t *)kv->k + (j0 + jj + (r < rows ? r : rows - 1)) * kv->stride;
            dot->pack_bf16_panel(key_rows, head_dim, dot->a_stride, scratch->key_panel);
        } else {
            const float *key_rows[64];
            for (int r = 0; r < dot->a_stride; r++)
                key_rows[r] = (const float *)kv->k + (j0 + jj + (r < rows ? r : rows - 1)) * kv->stride;
            dot->transpose_to_panel(key_rows, head_dim, dot->a_stride, scratch->key_panel);
        }
        for (int p = 0; p < n_panels; p++)
            dot->micro_kernel(rows, nr, head_dim, scratch->key_panel, dot->a_stride, scratch->q_t + (size_t)p * head_dim * nr,
                              scratch->scores + ((size_t)p * key_tile + jj) * nr, nr, false);
    }
}

/* S^T tile: scores[p][j][i] = k_{j0+j} . Qt_p[:, i] for j < n_keys (bf16:
 * the pair products, then times scale, except on AMX, whose softmax and
 * votes take the raw products). */
static void score_tile(const attention_kernels *kern, const mkv_kv_head_view *kv, int64_t j0, int n_keys, int head_dim,
                       float scale, int n_panels, int key_tile, const attention_scratch *scratch) {
    const int nr = kern->dot->nr;
    key_tile_products(kern, kv, j0, n_keys, head_dim, n_panels, key_tile, scratch);
    if (kern->bf16 && !kern->amx) /* one f32 multiply per score, as the scalar loop (vectorized) */
        for (int p = 0; p < n_panels; p++) {
            float *tile = scratch->scores + (size_t)p * key_tile * nr;
            kern->ops->scale_mul(tile, tile, scale, NULL, (int64_t)n_keys * nr);
        }
}

/* O^T_p[c][i] (+)= sum_j V[j0 + j][c] P_p[j][i] over the key tile, for the
 * channel chunks of at most mr rows. */
static void accumulate_values(const attention_kernels *kern, const mkv_kv_head_view *kv, int g, int64_t j0, int n_keys,
                              int head_dim, int n_panels, int key_tile, bool first, const attention_scratch *scratch) {
    const mkv_isa_ops *dot = kern->dot;
    const int nr = dot->nr, mr = dot->mr;
    if (kern->amx_pv) { /* P's pairs come from mkv_amx_softmax_pairs */
        const size_t pair_panel = (size_t)(key_tile / 2) * nr;
        mkv_amx_values(kern->v_t[g] + j0, kern->vt_stride[g], n_keys, head_dim, scratch->p_pairs, (int64_t)pair_panel,
                       n_panels, scratch->out_t, first);
        return;
    }
    /* channel chunks: near-equal, at most mr rows each */
    const int n_chunks = (head_dim + mr - 1) / mr;
    const int chunk_rows = (head_dim + n_chunks - 1) / n_chunks;
    const size_t pair_panel = (size_t)((key_tile + 1) / 2) * nr;
    if (kern->bf16) {
        dot->pack_value_pairs((const uint16_t *)kv->v + j0 * kv->stride, kv->stride, n_keys, head_dim, scratch->v_pairs);
        for (int p = 0; p < n_panels; p++)
            dot->pack_f32_row_pairs(scratch->scores + (size_t)p * key_tile * nr, n_keys, scratch->p_pairs + p * pair_panel);
    }
    for (int c0 = 0; c0 < head_dim; c0 += chunk_rows) {
        const int rows = head_dim - c0 < chunk_rows ? head_dim - c0 : chunk_rows;
        for (int p = 0; p < n_panels; p++) {
            float *out_t = scratch->out_t + ((size_t)p * head_dim + c0) * nr;
            if (kern->bf16)
                dot->micro_kernel(rows, nr, n_keys, scratch->v_pairs + c0, head_dim, scratch->p_pairs + p * pair_panel, out_t,
                                  nr, !first);
            else
                dot->micro_kernel(rows, nr, n_keys, (const float *)kv->v + j0 * kv->stride + c0, kv->stride,
                                  scratch->scores + (size_t)p * key_tile * nr, out_t, nr, !first);
        }
    }
}

static void attend_query_tile(const attention_kernels *kern, const mkv_attention_args *args, int h, int64_t q0,
                              const attention_scratch *scratch, int key_tile, float *query_stats, const kept_scores *ks) {
    const mkv_isa_ops *ops = kern->ops;
    const int nr = ops->nr, head_dim = args->head_dim;
    const int g = h / (args->n_heads / args->n_kv_heads);
    const mkv_kv_head_view *kv = &args->kv[g];
    const int64_t tile_queries = args->n_q - q0 < (int64_t)ATTN_Q_PANELS * nr ? args->n_q - q0 : ATTN_Q_PANELS * nr;
    const int n_panels = (int)((tile_queries + nr - 1) / nr);

    if (kv->n_keys <= 0) {
        for (int64_t i = 0; i < tile_queries && !args->votes_only; i++)
            memset(args->out + (q0 + i) * args->out_stride + (int64_t)h * head_dim, 0, (size_t)head_dim * sizeof(float));
        return;
    }
    for (int p = 0; p < n_panels; p++) {
        const float *query_rows[64];
        for (int i = 0; i < nr; i++) {
            int64_t q_index = q0 + (int64_t)p * nr + i;
            if (q_index >= args->n_q) q_index = args->n_q - 1;
            query_rows[i] = args->q + q_index * args->q_stride + (int64_t)h * head_dim;
        }
        pack_queries(kern, query_rows, head_dim, args->scale, scratch->q_t + (size_t)p * head_dim * nr);
    }

    /* votes only: the same row max and sum, with no output to rescale (the
     * softmax tile rescales head_dim = 0 channels) and no P.V */
    const bool outputs = !args->votes_only;
    for (int64_t j0 = 0; j0 < kv->n_keys; j0 += key_tile) {
        const int n_keys = kv->n_keys - j0 < key_tile ? (int)(kv->n_keys - j0) : key_tile;
        const bool first = j0 == 0;
        /* AMX: raw scores (kept as such for pass 2); with P.V on tiles, the
         * softmax writes P's bf16 pairs for it */
        const bool fused = kern->amx_pv && outputs;
        score_tile(kern, kv, j0, n_keys, head_dim, args->scale, n_panels, key_tile, scratch);
        if (ks->base)
            memcpy(kept_tile(ks, h, q0, j0, nr, key_tile), scratch->scores, (size_t)n_panels * key_tile * nr * sizeof(float));
        for (int p = 0; p < n_panels; p++) {
            float *scores = scratch->scores + (size_t)p * key_tile * nr, *out_t = scratch->out_t + (size_t)p * head_dim * nr;
            if (fused)
                mkv_amx_softmax_pairs(n_keys, scores, args->scale, scratch->row_max + p * nr, scratch->row_sum + p * nr,
                                      out_t, head_dim, first, scratch->p_pairs + (size_t)p * (key_tile / 2) * nr,
                                      (n_keys + 31) / 32 * 16);
            else if (kern->amx)
                mkv_amx_softmax_tile(n_keys, scores, args->scale, scratch->row_max + p * nr, scratch->row_sum + p * nr,
                                     out_t, outputs ? head_dim : 0, first);
            else
                ops->softmax_tile(n_keys, scores, scratch->row_max + p * nr, scratch->row_sum + p * nr, out_t,
                                  outputs ? head_dim : 0, first);
        }
        if (outputs) accumulate_values(kern, kv, g, j0, n_keys, head_dim, n_panels, key_tile, first, scratch);
    }

    for (int64_t i = 0; i < tile_queries; i++) {
        const int p = (int)(i / nr), lane = (int)(i % nr);
        const float *o_t = scratch->out_t + (size_t)p * head_dim * nr + lane;
        const float row_sum = scratch->row_sum[p * nr + lane];
        if (outputs) {
            float *out = args->out + (q0 + i) * args->out_stride + (int64_t)h * head_dim;
            for (int c = 0; c < head_dim; c++) out[c] = o_t[(size_t)c * nr] / row_sum;
        }
        if (query_stats) {
            query_stats[2 * (q0 + i)] = scratch->row_max[p * nr + lane];
            query_stats[2 * (q0 + i) + 1] = row_sum;
        }
    }
}

/* Pass 2 for keys [j0, j0 + n_keys) of head h; voters[] lists the voting
 * queries in ascending order, head_stats their (m, l) from pass 1. */
static void vote_key_chunk(const attention_kernels *kern, const mkv_attention_args *args, int h, int64_t j0, int n_keys,
                           const int64_t *voters, int64_t n_voters, const float *head_stats,
                           const attention_scratch *scratch, int key_tile, const kept_scores *ks) {
    const mkv_isa_ops *ops = kern->ops;
    const int nr = ops->nr, head_dim = args->head_dim;
    const mkv_kv_head_view *kv = &args->kv[h / (args->n_heads / args->n_kv_heads)];
    memset(scratch->key_votes, 0, (size_t)n_keys * sizeof(float));
    float inv_row_sum[64];
    for (int64_t v0 = 0; v0 < n_voters; v0 += (int64_t)ATTN_Q_PANELS * nr) {
        const int64_t group_voters = n_voters - v0 < ATTN_Q_PANELS * nr ? n_voters - v0 : ATTN_Q_PANELS * nr;
        const int n_panels = (int)((group_voters + nr - 1) / nr);
        const float *scores = scratch->scores;
        if (ks->base) { /* every query votes: voter v is query v, pass 1's tile */
            scores = kept_tile(ks, h, v0, j0, nr, key_tile);
        } else {
            for (int p = 0; p < n_panels; p++) {
                const float *query_rows[64];
                for (int i = 0; i < nr; i++) {
                    int64_t v = v0 + (int64_t)p * nr + i;
                    query_rows[i] = args->q + voters[v < n_voters ? v : n_voters - 1] * args->q_stride + (int64_t)h * head_dim;
                }
                pack_queries(kern, query_rows, head_dim, args->scale, scratch->q_t + (size_t)p * head_dim * nr);
            }
            score_tile(kern, kv, j0, n_keys, head_dim, args->scale, n_panels, key_tile, scratch);
        }
        for (int p = 0; p < n_panels; p++) {
            for (int i = 0; i < nr; i++) {
                int64_t v = v0 + (int64_t)p * nr + i;
                /* padding columns repeat the last voter with weight 0 */
                scratch->row_max[i] = head_stats[2 * voters[v < n_voters ? v : n_voters - 1]];
                inv_row_sum[i] = v < n_voters ? 1.0f / head_stats[2 * voters[v] + 1] : 0.0f;
            }
            if (kern->amx)
                mkv_amx_vote_tile(n_keys, scores + (size_t)p * key_tile * nr, args->scale, scratch->row_max, inv_row_sum,
                                  scratch->key_votes);
            else
                ops->vote_tile(n_keys, scores + (size_t)p * key_tile * nr, scratch->row_max, inv_row_sum,
                               scratch->key_votes);
        }
    }
    float *votes = args->vote_sums[h] + j0;
    for (int j = 0; j < n_keys; j++) votes[j] += scratch->key_votes[j];
}

static bool tile_has_voter(const mkv_attention_args *args, int64_t q0, int64_t tile_queries) {
    for (int64_t i = q0; i < q0 + tile_queries && i < args->n_q; i++)
        if (args->vote_query[i]) return true;
    return false;
}

/* Returns false (nothing written) when scratch memory cannot be allocated. */
/* AMX: V^T of every KV head, zero-padded to whole key tiles, in one block. */
struct mkv_attention_values {
    int n_kv_heads;
    uint16_t *block;
    uint16_t **v_t;     /* [n_kv_heads] into block */
    int64_t *vt_stride; /* [n_kv_heads] */
    mkv_kv_head_view *kv; /* [n_kv_heads] the views it was made from (checked by the calls) */
};

mkv_attention_values *mkv_attention_values_create(const mkv_attention_args *args) {
    const int n = args->n_kv_heads;
    mkv_attention_values *values = mkv_calloc(1, sizeof *values, "attention V^T");
    if (!values) return NULL;
    values->n_kv_heads = n;
    values->kv = mkv_malloc((size_t)(n > 0 ? n : 1) * sizeof *values->kv, "attention V^T");
    if (values->kv && n > 0) memcpy(values->kv, args->kv, (size_t)n * sizeof *values->kv);
    values->v_t = mkv_calloc((size_t)(n > 0 ? n : 1), sizeof *values->v_t, "attention V^T");
    values->vt_stride = mkv_calloc((size_t)(n > 0 ? n : 1), sizeof *values->vt_stride, "attention V^T");
    size_t total = 0;
    for (int g = 0; values->vt_stride && g < n; g++) {
        values->vt_stride[g] = (args->kv[g].n_keys + ATTN_AMX_KEY_TILE - 1) / ATTN_AMX_KEY_TILE * ATTN_AMX_KEY_TILE;
        total += (size_t)values->vt_stride[g] * (size_t)args->head_dim;
    }
    values->block = mkv_malloc((total ? total : 1) * sizeof *values->block, "attention V^T");
    if (!values->kv || !values->v_t || !values->vt_stride || !values->block) {
        mkv_attention_values_free(values);
        return NULL;
    }
    size_t offset = 0;
    for (int g = 0; g < n; g++) {
        values->v_t[g] = values->block + offset;
        offset += (size_t)values->vt_stride[g] * (size_t)args->head_dim;
    }
#pragma omp parallel for schedule(dynamic, 1) if (!omp_in_parallel())
    for (int g = 0; g < n; g++)
        mkv_amx_transpose_values((const uint16_t *)args->kv[g].v, args->kv[g].stride, args->kv[g].n_keys, args->head_dim,
                                 values->v_t[g], values->vt_stride[g]);
    return values;
}

void mkv_attention_values_free(mkv_attention_values *values) {
    if (!values) return;
    mkv_free(values->block);
    mkv_free(values->v_t);
    mkv_free(values->vt_stride);
    mkv_free(values->kv);
    mkv_free(values);
}

static bool values_match(const mkv_attention_values *values, const mkv_attention_args *args) {
    if (values->n_kv_heads != args->n_kv_heads) return false;
    for (int g = 0; g < args->n_kv_heads; g++)
        if (values->kv[g].v != args->kv[g].v || values->kv[g].n_keys != args->kv[g].n_keys ||
            values->kv[g].stride != args->kv[g].stride)
            return false;
    return true;
}

bool mkv_attention_tiled(const mkv_isa_ops *ops, const mkv_isa_ops *dot_ops, bool amx, const mkv_attention_args *args) {
    if (args->n_q <= 0 || args->n_heads <= 0) return true;
    if (ops->nr > 64 || ops->a_stride > 64) return false;
    if (dot_ops->nr != ops->nr || dot_ops->mr != ops->mr || dot_ops->a_stride != ops->a_stride) return false;
    amx = amx && args->bf16 && args->head_dim % 32 == 0 && ops->nr == 32 && args->n_kv_heads <= 4096;
    /* P.V on tiles needs V^T. With few queries and no prepared values (a
     * decode step over a long cache) transposing every value row would cost
     * more than the tiles save over vdpbf16ps (~2 ns per element against
     * ~0.036 ns per element and query saved), so such calls run P.V on the
     * vdpbf16ps tiles; Q.K^T stays on AMX tiles in every bf16 call, so the
     * scores, and the votes, do not depend on it. Votes only: no P.V. */
    const bool prepared = args->values && values_match(args->values, args);
    const bool amx_pv = amx && !args->votes_only && (args->n_q >= ATTN_AMX_MIN_QUERIES || prepared);
    const int key_tile = amx ? ATTN_AMX_KEY_TILE : ATTN_KEY_ROWS_PER_TILE * ops->mr;
    const bool voting = args->vote_query != NULL && args->vote_sums != NULL;
    if (args->votes_only && !voting) return true; /* nothing asked for */
    /* AMX P.V needs V^T (none for votes only) */
    mkv_attention_values *own_values = NULL;
    const mkv_attention_values *values = NULL;
    if (amx_pv) {
        values = prepared ? args->values : (own_values = mkv_attention_values_create(args));
        if (!values) return false;
    }
    const attention_kernels kern = {ops,    dot_ops, args->bf16, amx, amx_pv, values ? values->v_t : NULL,
                                    values ? values->vt_stride : NULL};
    const scratch_layout layout = layout_for(ops, args->head_dim, key_tile);
    const int n_threads = omp_in_parallel() ? 1 : omp_get_max_threads();

    int64_t n_voters = 0;
    if (voting)
        for (int64_t i = 0; i < args->n_q; i++) n_voters += args->vote_query[i] != 0;

    const size_t stats_floats = n_voters ? (size_t)args->n_heads * (size_t)args->n_q * 2 : 0;
    const size_t scratch_floats = (size_t)n_threads * layout.total;
    float *scratch_all = mkv_malloc((scratch_floats + stats_floats) * sizeof(float) + (size_t)n_voters * sizeof(int64_t),
                                    "attention tiles");
    if (!scratch_all) {
        mkv_attention_values_free(own_values);
        return false;
    }
    float *stats = scratch_all + scratch_floats;
    int64_t *voters = (int64_t *)(stats + stats_floats);
    for (int64_t i = 0, v = 0; n_voters && i < args->n_q; i++)
        if (args->vote_query[i]) voters[v++] = i;

    const int64_t tile_queries = (int64_t)ATTN_Q_PANELS * ops->nr;
    const int64_t q_tiles = (args->n_q + tile_queries - 1) / tile_queries;
    int64_t max_keys = 0;
    for (int g = 0; g < args->n_kv_heads; g++) max_keys = args->kv[g].n_keys > max_keys ? args->kv[g].n_keys : max_keys;
    const int64_t key_chunks = (max_keys + key_tile - 1) / key_tile;
    kept_scores ks = {NULL, (args->n_q + ops->nr - 1) / ops->nr, key_chunks};
    const size_t kept_floats = (size_t)args->n_heads * ks.panels * key_chunks * key_tile * ops->nr;
    if (args->votes_only && n_voters == args->n_q && kept_floats * sizeof(float) <= ATTN_KEPT_SCORES_MAX_BYTES)
        ks.base = mkv_malloc(kept_floats * sizeof(float), "attention kept scores"); /* NULL: recompute */

#pragma omp parallel num_threads(n_threads)
    {
        const attention_scratch scratch = carve(scratch_all + (size_t)omp_get_thread_num() * layout.total, &layout);
        if (amx) mkv_amx_begin();
#pragma omp for schedule(dynamic, 1)
        for (int64_t item = 0; item < (int64_t)args->n_heads * q_tiles; item++) {
            const int h = (int)(item / q_tiles);
            const int64_t q0 = (item % q_tiles) * tile_queries;
            /* votes only: a tile without a voter has nothing to give */
            if (args->votes_only && !tile_has_voter(args, q0, tile_queries)) continue;
            attend_query_tile(&kern, args, h, q0, &scratch, key_tile, n_voters ? stats + (size_t)h * args->n_q * 2 : NULL,
                              &ks);
        }
        if (n_voters) {
#pragma omp for schedule(dynamic, 1)
            for (int64_t item = 0; item < (int64_t)args->n_heads * key_chunks; item++) {
                const int h = (int)(item / key_chunks);
                const mkv_kv_head_view *kv = &args->kv[h / (args->n_heads / args->n_kv_heads)];
                const int64_t j0 = (item % key_chunks) * key_tile;
                if (j0 >= kv->n_keys) continue;
                const int n_keys = kv->n_keys - j0 < key_tile ? (int)(kv->n_keys - j0) : key_tile;
                vote_key_chunk(&kern, args, h, j0, n_keys, voters, n_voters, stats + (size_t)h * args->n_q * 2, &scratch,
                               key_tile, &ks);
            }
        }
        if (amx) mkv_amx_end();
    }
    mkv_free(ks.base);
    mkv_free(scratch_all);
    mkv_attention_values_free(own_values);
    return true;
}
