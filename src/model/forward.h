/* The bidirectional transformer forward pass (LLaDA and Dream), over a chosen
 * set of "active" positions against the K/V held in a kv_store.
 *
 * One step of the denoising loop calls mkv_forward with the positions whose
 * hidden states it recomputes (all of them without a cache; the current block
 * and beyond with the prefix cache; the response with dLLM-Cache/MaskKV). The
 * active rows' K/V are written into the store, then every active query attends
 * to all K/V rows its head holds (kept prompt rows + dynamic rows).
 *
 * Per layer (pre-norm):
 *   h   = x + Wo . Attn(rope(Wq.n1(x)), rope(Wk.n1(x)), Wv.n1(x))
 *   out = h + Wdown . (silu(Wgate.n2(h)) * Wup.n2(h))
 */
#ifndef MKV_FORWARD_H
#define MKV_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/kv_store.h"
#include "kernels/kernels.h"
#include "model/model.h"

/* Rows per chunk of the row-wise work (norms, projections, attention queries,
 * FFN, LM head); the memory estimate (util/memory_budget.c) uses it too. */
#define MKV_FORWARD_CHUNK_ROWS 1024

/* The timed parts (mkv_forward_part) are public (maskkv.h); their names: */
extern const char *const mkv_forward_part_names[MKV_PART_COUNT];

/* Time spent in each part, accumulated over calls (seconds). */
typedef struct {
    double seconds[MKV_PART_COUNT];
} mkv_forward_timing;

/* The activation buffers. Only the residual stream holds every active row;
 * everything else is computed over chunks of at most chunk_rows rows, so a
 * 32k-token pass needs O(n x d_model) + O(chunk x d_ff) floats, not 7 x n x d. */
typedef struct {
    int max_rows;
    int chunk_rows;          /* rows per chunk (min(max_rows, 256))         */
    float *x;                /* [max_rows][d_model] residual stream         */
    float *xn;               /* [chunk_rows][d_model] normalised input      */
    float *q;                /* [chunk_rows][n_heads*head_dim]              */
    float *k, *v;            /* [chunk_rows][n_kv_heads*head_dim]           */
    float *att;              /* [chunk_rows][n_heads*head_dim]              */
    float *proj;             /* [chunk_rows][d_model] sub-layer outputs     */
    float *ffn_gate, *ffn_up;/* [chunk_rows][d_ff]                          */
    size_t bytes;
    /* Precision of the matmuls (F32 or BF16; AUTO, the zeroed default, runs
     * F32). BF16 wants a BF16 kv_store (whose dtype decides the attention's). */
    mkv_compute compute;
    mkv_forward_timing timing;
    /* Progress: called after every layer of every pass through this
     * workspace with the number of active rows (NULL = none). */
    mkv_layer_callback on_layer; /* nonzero return: the pass fails with MKV_ERR_CANCELLED */
    void *on_layer_ctx;
} mkv_workspace;

mkv_status mkv_workspace_init(mkv_workspace *ws, const mkv_hparams *hp, int max_rows);
/* The same with an explicit chunk size (1..max_rows); results do not depend on it. */
mkv_status mkv_workspace_init_chunked(mkv_workspace *ws, const mkv_hparams *hp, int max_rows, int chunk_rows);
void mkv_workspace_free(mkv_workspace *ws);

/* Optional observers of a forward pass (eviction policies, calibration). */
typedef struct {
    /* Mask-Voting: rows (indices into the active set) whose attention
     * probabilities are summed per key; NULL = no voting. */
    const uint8_t *vote_rows;
    /* Called before layer `layer` stores its K/V (e.g. to give an evicted
     * layer its full prompt rows back for a refresh pass). */
    mkv_status (*before_layer)(void *ctx, int layer, mkv_kv_store *store);
    /* Called after layer `layer`'s attention with vote_sums[h][j] for query
     * head h over the rows of its KV head (fixed rows first, then dynamic).
     * May evict rows of that layer from the store. */
    mkv_status (*after_attention)(void *ctx, int layer, mkv_kv_store *store, float *const *vote_sums);
    /* Called after layer `layer` stored the active rows' K/V and before any
     * query attends: x holds the active rows' residual stream [n_rows][d_model]
     * (rows: their positions). May change the layer's prompt rows (re-vote). */
    mkv_status (*before_attention)(void *ctx, int layer, mkv_kv_store *store, const float *x, const int32_t *rows,
                                   int n_rows);
    void *ctx;
    /* Layer importance (SPEC §4): importance[l] = 1 - mean over active rows of
     * cos(h_in, h_in + attention output). NULL = not measured. */
    double *layer_importance;
    /* dLLM-Cache: when non-NULL, the attention output (after Wo) and FFN output
     * of active rows at positions >= response_start are stored at
     * [layer][(position - response_start) * d_model]. */
    float **attn_out_cache;
    float **ffn_out_cache;
    int response_start;
} mkv_forward_observer;

/* tokens: the whole sequence (token id per position).
 * rows: the active positions, strictly increasing, n_rows <= ws->max_rows.
 * logit_rows: positions (each active) whose final hidden state goes through the
 * LM head; logits [n_logit_rows][n_vocab]. */
mkv_status mkv_forward(const mkv_model *model, mkv_workspace *ws, mkv_kv_store *store, const int32_t *tokens,
                       const int32_t *rows, int n_rows, const mkv_forward_observer *observer,
                       const int32_t *logit_rows, int n_logit_rows, float *logits);

/* ---- the pieces mkv_forward is made of (dLLM-Cache's partial update reuses them) */
/* x[i] = embedding of tokens[rows[i]] */
void mkv_embed_rows(const mkv_model *model, const int32_t *tokens, const int32_t *rows, int n_rows, float *x);
/* q, k, v of n rows of normalised input xn (biases, RoPE at positions rows). */
void mkv_qkv(const mkv_model *model, mkv_compute compute, int layer, const float *xn, const int32_t *rows, int n_rows,
             float *q, float *k, float *v);
/* Writes k, v rows into the store at their positions' rows. */
mkv_status mkv_store_kv_rows(mkv_kv_store *store, int layer, const float *k, const float *v, const int32_t *rows,
                             int n_rows);
/* Attention of n_rows queries q against the layer's store; out [n_rows][n_heads*hd]. */
mkv_status mkv_attend(const mkv_model *model, const mkv_kv_store *store, int layer, const float *q, int n_rows,
                      float *out, const uint8_t *vote_rows, float **vote_sums);
/* The same with values prepared for the layer's K/V (kernels.h; NULL: none). */
mkv_status mkv_attend_prepared(const mkv_model *model, const mkv_kv_store *store, int layer, const float *q, int n_rows,
                               float *out, const uint8_t *vote_rows, float **vote_sums,
                               const mkv_attention_values *values);
/* out = FFN(rmsnorm(h)) for n rows (any n), using the workspace's chunk buffers. */
void mkv_ffn(const mkv_model *model, mkv_workspace *ws, int layer, const float *h, int n_rows, float *out);
/* logits for n rows of final hidden states x. */
void mkv_lm_head(const mkv_model *model, mkv_workspace *ws, const float *x, int n_rows, float *logits);

/* mkv_compute_for_model (maskkv.h) resolves a requested precision; for a
 * generation request (its compute, else the model's, else AUTO; AUTO with
 * a cold store runs F32): */
mkv_compute mkv_compute_for_request(const mkv_model *model, const mkv_gen_params *params);
/* False for bf16 with a cold store / re-vote (f32 K/V only, for now). */
bool mkv_compute_request_supported(const mkv_model *model, const mkv_gen_params *params);
/* The KV cache element type of a precision: BF16 for BF16, else F32. */
mkv_dtype mkv_compute_kv_dtype(mkv_compute compute);

/* Bytes the forward pass would allocate for `max_rows` (workspace + scratch). */
size_t mkv_forward_workspace_bytes(const mkv_hparams *hp, int max_rows);

#endif
