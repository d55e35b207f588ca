/* AMX-BF16 kernels (kernels_amx.c) of the bf16 compute mode. Internal to
 * src/kernels: kernels.c dispatches mkv_matmul_bf16 to mkv_matmul_amx, and
 * attention.c runs its bf16 tiles through mkv_amx_scores/_values, when the
 * CPU and the OS give this process the tile unit (mkv_amx_detect). */
#ifndef MKV_KERNELS_AMX_H
#define MKV_KERNELS_AMX_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernels_internal.h"

/* AMX-TILE + AMX-BF16 + AVX512-BF16 on the CPU, the tile state enabled by
 * the OS and granted to this process (asks Linux for it: call once, at
 * start-up). */
bool mkv_amx_detect(void);

/* y = bf16(x) . bf16(W)^T (+ bias), any W dtype (as mkv_matmul_bf16, other
 * f32 rounding inside the tile unit; see kernels_amx.c). False (nothing
 * written) when its scratch cannot be allocated. */
bool mkv_matmul_amx(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias);

/* Each thread brackets its tile work with these (load the configuration,
 * release the tiles). */
void mkv_amx_begin(void);
void mkv_amx_end(void);

/* Attention tiles (head_dim a multiple of 32, nr = 32 query columns).
 * scores[p][j][i] (p < n_panels, panel stride key_tile * 32 floats) =
 * keys[j] . q_p[:, i] for j < n_keys, keys bf16 rows at keys + j*key_stride,
 * q_p the pair panel [head_dim / 2][32] at q_pairs + p * q_panel_floats.
 * pad: 32 * head_dim bf16 of scratch, stage: 32 * 32 floats. Unscaled. */
void mkv_amx_scores(const uint16_t *keys, int64_t key_stride, int n_keys, int head_dim, const float *q_pairs,
                    int64_t q_panel_floats, int n_panels, float *scores, int key_tile, uint16_t *pad, float *stage);
/* The online softmax of the tile path (kernels_amx.c: P = 2^(s c - m) on
 * the raw scores s, c = scale * log2(e) as one f32 product, the row max m in those
 * units; every AMX call of attention.c uses these three, never the f32
 * path's softmax, so votes and outputs agree bit for bit). For one query
 * panel: row_max/row_sum updated, out_t rescaled (head_dim columns, 0 for
 * none), and the probabilities written as bf16 pair slots p_pairs[s][i] (s <
 * padded_slots, zero beyond the keys) or as f32 in place of the scores.
 * scores are 64-byte aligned. */
void mkv_amx_softmax_pairs(int n_keys, float *scores, float scale, float *row_max, float *row_sum, float *out_t,
                           int head_dim, bool first, float *p_pairs, int padded_slots);
void mkv_amx_softmax_tile(int n_keys, float *scores, float scale, float *row_max, float *row_sum, float *out_t,
                          int head_dim, bool first);
/* Pass 2: key_votes[j] += sum over the panel's 32 lanes of P[j][i] *
 * inv_row_sum[i], P from raw scores and row_max as above. */
void mkv_amx_vote_tile(int n_keys, const float *scores, float scale, const float *row_max, const float *inv_row_sum,
                       float *key_votes);
/* out_t[p][c][i] (+)= sum_j v_t[c][j] P_p[j][i] over j < n_keys rounded up
 * to 32: v_t the transposed bf16 values of the tile (row c at v_t + c *
 * vt_stride, zero beyond the keys), P_p the pair panel [n / 2][32] at
 * p_pairs + p * p_panel_floats, zero beyond n_keys. first: out_t = the sum. */
void mkv_amx_values(const uint16_t *v_t, int64_t vt_stride, int n_keys, int head_dim, const float *p_pairs,
                    int64_t p_panel_floats, int n_panels, float *out_t, bool first);
/* v_t[c][j] = v[j][c] for j < n_keys, zero for n_keys <= j < vt_stride. */
void mkv_amx_transpose_values(const uint16_t *v, int64_t stride, int64_t n_keys, int head_dim, uint16_t *v_t,
                              int64_t vt_stride);

#endif
