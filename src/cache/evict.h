/* Prompt-KV eviction policies: a selector (which prompt tokens a head keeps)
 * x a layer allocation (how many per layer) x a head allocation (how many per
 * head). MaskKV = maskvote x boundary x preference (SPEC §4); the paper's
 * baselines are other rows of the same table (SPEC §5).
 *
 * The engine drives a policy during a "selection pass" (the first step, and
 * each prompt refresh): it runs the forward over all positions with the
 * policy as observer. Offline layer budgets let the policy evict each layer
 * right after its attention (the full prompt K/V of one layer at a time);
 * online allocations keep the scores of every layer and evict in finish(). */
#ifndef MKV_EVICT_H
#define MKV_EVICT_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/kv_store.h"
#include "model/forward.h"

/* The selector/allocation enums and mkv_evict_config are public (maskkv.h). */

void mkv_evict_config_defaults(mkv_evict_config *config);

typedef struct mkv_evict_policy mkv_evict_policy;

mkv_status mkv_evict_policy_create(const mkv_evict_config *config, const mkv_hparams *hp, int n_prompt, int n_total,
                                   mkv_evict_policy **out);
void mkv_evict_policy_free(mkv_evict_policy *policy);
/* Fills `observer` for a selection pass over positions 0..n_total-1 whose
 * token ids are `tokens` (mask_id marks the voting mask queries). */
mkv_status mkv_evict_prepare_pass(mkv_evict_policy *policy, const int32_t *tokens, int32_t mask_id,
                                  mkv_forward_observer *observer);
/* After the pass: evicts every layer not yet evicted (online allocations). */
mkv_status mkv_evict_finish_pass(mkv_evict_policy *policy, mkv_kv_store *store);
/* From now on each eviction first copies the rows it drops into `cold`
 * (NULL: none), for a later re-vote (revote.h). */
typedef struct mkv_cold_store mkv_cold_store;
void mkv_evict_policy_set_cold(mkv_evict_policy *policy, mkv_cold_store *cold);
/* Kept prompt pairs per layer (sum over KV heads) after the last pass. */
const int64_t *mkv_evict_kept_per_layer(const mkv_evict_policy *policy);
/* Budgets chosen in the last pass (for --json): layer budgets k_l, the average
 * kept pairs per KV head of layer l [n_layers], and head budgets
 * [n_layers * n_kv_heads], both clamped to [1, evictable prompt rows]. */
const int *mkv_evict_layer_budgets(const mkv_evict_policy *policy);
const int *mkv_evict_head_budgets(const mkv_evict_policy *policy);

/* Their names (mkv_selector_name, ...) are public (maskkv.h). */

#endif
