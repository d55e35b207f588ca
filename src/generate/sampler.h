/* Token choice for the denoising loop: what the official LLaDA `generate.py`
 * and Dream `generation_utils.py` do for each masked position, and how many
 * positions each step commits. */
#ifndef MKV_SAMPLER_H
#define MKV_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "generate/rng.h"

#include "maskkv.h" /* mkv_remasking, mkv_dream_alg */

/* LLaDA get_num_transfer_tokens: n_mask / steps per step, the remainder one
 * each over the first steps. */
void mkv_llada_transfer_schedule(int n_mask, int steps, int *per_step);

/* LLaDA, for each of n candidate rows of logits [n][n_vocab]:
 * x0 = argmax(logits + Gumbel noise at temperature T) (plain argmax at T = 0);
 * confidence = softmax(logits)[x0] (low_confidence) or uniform (random).
 * Token ids in `forbidden` (n_forbidden) are never chosen (--no-eos). */
void mkv_llada_choose(const float *logits, int n, int n_vocab, double temperature, mkv_remasking remasking,
                      const int32_t *forbidden, int n_forbidden, mkv_rng *rng, int32_t *x0, double *confidence);

/* Dream sample_tokens: temperature, top-p, top-k; confidence by `alg`
 * (maskgit_plus: p(x0); topk_margin: p1 - p2; entropy: sum p log p). */
void mkv_dream_choose(const float *logits, int n, int n_vocab, double temperature, double top_p, int top_k,
                      mkv_dream_alg alg, const int32_t *forbidden, int n_forbidden, mkv_rng *rng, int32_t *x0,
                      double *confidence);

/* Dream: torch.linspace(1, eps, steps + 1) in float32, as torch computes it. */
void mkv_dream_timesteps(int steps, float eps, float *t);
/* Dream: tokens committed at step i given n_mask masked tokens. */
int mkv_dream_transfer_count(int n_mask, int step, int steps, const float *timesteps);

/* Indices of the k largest scores (ties: lower index first), written to out in
 * decreasing score order. */
void mkv_top_k_indices(const double *score, int n, int k, int *out);

#endif
