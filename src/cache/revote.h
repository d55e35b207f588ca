/* Re-vote from the cold store (beyond the paper; issue 20).
 *
 * MaskKV votes once, at the first step: a prompt row that no mask query
 * needed then is gone, even when a later part of the answer needs it (two
 * needles: the second name is known only once the answer has named it). With
 * a cold store (cold_store.h) the evicted rows stay, int8, outside the hot
 * cache; at chosen steps the current mask queries vote again, per layer and
 * KV head, over the hot AND the cold prompt rows with the first eviction's
 * rule (Mask-Voting: the sum over mask queries of the softmax attention
 * probability, over every key the head can see — hot, cold and response
 * rows; GQA: mean over the query heads of a group). The head keeps the top
 * n_fixed of them: cold rows that win are promoted (dequantized, no prompt
 * recompute), the hot rows they displace are demoted to the cold slots they
 * leave. Each head keeps its budget; ties keep the hot row.
 *
 * When: `block` — at the first step of every new block of LLaDA's block
 * sampler (for Dream, which has no blocks, every steps * block_len / gen_len
 * steps: the cadence LLaDA's blocks would have); N — every N steps. A re-vote
 * step runs the response pass (every response row recomputed against the
 * cache) with the re-vote hooked in before each layer's attention, so the
 * promoted rows already serve that step. With no cold row (B >= prompt) or no
 * mask left, nothing changes and the step is the one it would have been.
 *
 * Cost: per layer, the mask queries' scores against all prompt rows (the
 * attention's votes-only mode: softmax statistics and vote sums, no P.V,
 * each score computed once; tiled, no n x n buffer), the KV heads split over
 * the threads, one head's keys dequantized per thread at a time; plus the
 * response pass. On CPUs with AMX tiles (mkv_cpu_has_amx) and head_dim a
 * multiple of 32 the scores are bf16 products on tiles (the keys rounded to
 * bf16 as they are dequantized, the queries in the attention): the ranking
 * only, the K/V stay as stored; elsewhere f32. */
#ifndef MKV_REVOTE_H
#define MKV_REVOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/cold_store.h"
#include "cache/kv_store.h"
#include "model/forward.h"
#include "model/model.h"

/* MKV_REVOTE_OFF/BLOCK and mkv_revote_config are public (maskkv.h). */

typedef struct mkv_revote mkv_revote;

/* n_evictable: the prompt rows an eviction may drop (kv_store dyn_start). */
mkv_status mkv_revote_create(const mkv_revote_config *config, const mkv_model *model, int n_evictable, int n_dyn,
                             mkv_revote **out);
void mkv_revote_free(mkv_revote *revote);
mkv_cold_store *mkv_revote_cold(mkv_revote *revote);

/* Is step `step` (inside the block starting at block_start) a re-vote step?
 * Call once per step, in order (it follows the block starts). False when the
 * cold store is empty. */
bool mkv_revote_due(mkv_revote *revote, int step, int block_start);
/* Hooks the re-vote into a forward pass over the response rows; tokens: the
 * whole sequence (mask_id marks the voters). */
void mkv_revote_prepare_pass(mkv_revote *revote, const int32_t *tokens, int32_t mask_id, mkv_forward_observer *observer);

/* The re-vote of one layer with the given voter queries q [n_q][n_heads *
 * head_dim] (post-RoPE): promotes and demotes in every KV head. Returns the
 * rows promoted in *promoted (may be NULL). */
mkv_status mkv_revote_layer(mkv_revote *revote, mkv_kv_store *store, int layer, const float *q, int n_q,
                            int64_t *promoted);

/* Totals for --json. */
int mkv_revote_count(const mkv_revote *revote);
double mkv_revote_seconds(const mkv_revote *revote);
const int64_t *mkv_revote_promoted_per_layer(const mkv_revote *revote);

/* What a generation reports (--json). */
typedef struct {
    int n_revotes;
    double seconds;
    int64_t *promoted_per_layer; /* [n_layers], mkv_free (mkv_gen_result_free does) */
    int64_t cold_rows;           /* at the end */
    size_t cold_bytes, cold_reserved_bytes;
    mkv_cold_mode cold;
} mkv_revote_stats;
mkv_status mkv_revote_get_stats(const mkv_revote *revote, int n_layers, mkv_revote_stats *out);

/* Dream: the step interval `block` stands for. */
int mkv_revote_dream_interval(int steps, int gen_len, int block_len);
/* "off" "block" or a number >= 1; false (with an error) otherwise. */
bool mkv_revote_parse(const char *text, int *every);

#endif
