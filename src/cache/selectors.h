/* Token selectors of the eviction policies (SPEC §4-5): a score per prompt
 * token per KV head, and the top-k choice over those scores.
 *
 * One ranking everywhere (top-k of a head, AdaKV's flattened top over the
 * heads of a layer): protected tokens first (SnapKV's observation window),
 * then higher score, then LOWER position, then lower head. NaN scores rank
 * last. The kept positions of a head are returned in increasing order, ready
 * for mkv_kv_head_keep(). */
#ifndef MKV_SELECTORS_H
#define MKV_SELECTORS_H

#include <stdint.h>

/* Scratch entry of the ranking (callers provide arrays of these). */
typedef struct {
    float score;
    int32_t position;
    int32_t head;
    int32_t protected_rank; /* 1 for protected tokens, 0 otherwise */
} mkv_rank_entry;

/* GQA: scores[g][j] = mean over the query heads h of KV group g
 * (h / (n_heads / n_kv_heads) == g) of vote_sums[h][j], for j < n_keys.
 * scores is [n_kv_heads][n_keys]. */
void mkv_votes_per_kv_head(float *const *vote_sums, int n_heads, int n_kv_heads, int n_keys, float *scores);

/* SnapKV's pooling: out[j] = max of in[j - kernel/2 .. j + kernel/2] within
 * [0, n) (max-pool, stride 1, "same" padding that never wins). in != out. */
void mkv_maxpool_1d(const float *in, int n, int kernel, float *out);

/* StreamingLLM as scores: the first `sinks` positions rank above every other
 * (earlier sinks higher), then the most recent positions. */
void mkv_streaming_scores(int n, int sinks, float *scores);

/* Uniform scores in [0, 1) from (seed, layer, head, position) alone, so the
 * choice does not depend on the order of evaluation. */
void mkv_random_scores(uint64_t seed, int layer, int head, int n, float *scores);

/* The top k (k clamped to [0, n]) of scores[0..n) under the ranking above,
 * positions >= protect_from being protected (pass n for none). Writes the
 * kept positions in increasing order to keep[]; returns their count.
 * scratch: n entries. */
int mkv_select_top(const float *scores, int n, int protect_from, int k, mkv_rank_entry *scratch, int32_t *keep);

/* AdaKV: ranks the n_heads * n entries of scores [n_heads][n] together, takes
 * the first `total` (clamped to n_heads * n) and counts per head:
 * winners[h]. scratch: n_heads * n entries. */
void mkv_adakv_winners(const float *scores, int n_heads, int n, int protect_from, long total, mkv_rank_entry *scratch,
                       int *winners);

#endif
