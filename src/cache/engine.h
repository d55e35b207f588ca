/* The cache modes of the denoising loop: given the current tokens, return the
 * logits of the positions the sampler asks about, recomputing as little as
 * the mode allows (SPEC §3-4).
 *   none   — every step recomputes the whole sequence (official generate.py).
 *   prefix — Fast-dLLM prefix cache: a full pass at each block start, then
 *            only the current block and what follows.
 *   dllm   — dLLM-Cache: prompt K/V only (prompt-state exclusion), refreshed
 *            every prompt_refresh steps; response K/V + attention/FFN outputs
 *            refreshed every response_refresh steps, with the adaptive partial
 *            update of the transfer_ratio least-similar tokens in between.
 *   evict  — dllm with the prompt K/V evicted by a policy (MaskKV, SnapKV, ...)
 *            during each prompt-refresh pass, layer by layer; with a cold
 *            store, the evicted rows are kept compact and re-voted at chosen
 *            steps (revote.h), each such step a response pass.
 * Dream's shifted logits read position i from row i-1, so for Dream the last
 * prompt token is kept with the response rows (always recomputed, never evicted). */
#ifndef MKV_ENGINE_H
#define MKV_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/evict.h"
#include "cache/kv_store.h"
#include "cache/revote.h"
#include "model/forward.h"

/* mkv_cache_mode and mkv_cache_config are public (maskkv.h). */

typedef struct {
    const mkv_model *model;
    mkv_cache_config config;
    int n_prompt, n_total, shift;
    int dyn_start;           /* first position held as a dynamic (response) row */
    mkv_workspace ws;
    mkv_kv_store store;
    float **attn_out_cache;  /* dllm/evict: [n_layers][n_dyn * d_model] */
    float **ffn_out_cache;
    float *scratch;          /* partial update buffers */
    float *similarity;
    int32_t *rows, *logit_rows, *selected;
    mkv_evict_policy *policy;
    mkv_revote *revote;      /* NULL unless config.revote.cold is set */
    int prefix_block_start;
    int n_full_passes, n_partial_steps;
} mkv_engine;

/* compute: F32 or BF16 (AUTO runs F32); BF16 also stores K/V in bf16. */
mkv_status mkv_engine_init(mkv_engine *engine, const mkv_model *model, const mkv_cache_config *config,
                           mkv_compute compute, int n_prompt, int n_total);
void mkv_engine_free(mkv_engine *engine);

/* Logits [n][n_vocab] predicting the tokens at `positions` (after Dream's
 * shift), for the denoising step `step` (0-based over the whole generation)
 * inside the block starting at `block_start`. */
mkv_status mkv_engine_logits(mkv_engine *engine, const int32_t *tokens, int step, int block_start,
                             const int32_t *positions, int n, float *logits);

/* Bytes of K/V the engine's store holds now / at its largest. */
size_t mkv_engine_kv_bytes(const mkv_engine *engine);
size_t mkv_engine_kv_peak_bytes(const mkv_engine *engine);

#endif
