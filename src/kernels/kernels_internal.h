/* Internal interface between the kernel drivers (matmul.c, attention.c,
 * kernels.c), which hold the blocking, threading and bookkeeping in plain C,
 * and the per-ISA files (kernels_avx512.c, kernels_avx2.c,
 * kernels_avx512bf16.c, with pack_avx2.h shared by them), which hold the
 * SIMD inner loops. One table of function pointers per ISA; kernels.c picks
 * one at run time from the CPU's features. */
#ifndef MKV_KERNELS_INTERNAL_H
#define MKV_KERNELS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* Elements of k per cache block of the GEMM. The f32 accumulation of every
 * output element is one FMA chain over k in ascending order regardless of
 * blocking (blocks continue from the partial sums in y), so the value only
 * changes performance, never results. */
#define MKV_GEMM_KC 256

typedef struct {
    const char *name;
    /* Register tile of the micro-kernel: up to `mr` rows (broadcast operand)
     * by `nr` columns (vector operand, one packed panel). */
    int mr, nr;
    /* Floats per k slot in a packed A panel (mr rounded up to a multiple of 8). */
    int a_stride;
    /* k elements per panel slot: 1 (f32), 2 (bf16 pairs of the opt-in
     * avx512bf16 table, whose panels hold 32-bit (k, k+1) pairs). */
    int k_per_slot;
    /* y[r][c] (+)= sum_k a[k*a_stride + r] * b_panel[k*nr + c] for
     * r < rows <= mr, c < cols <= nr, k < kc. `a` is a packed A panel
     * (a_stride = the table's a_stride) or any matrix whose rows are the
     * k steps (attention passes V directly, a_stride = its row stride).
     * Each y element is an f32 FMA chain over k in ascending order starting
     * from y (accumulate) or from 0, so results do not depend on how callers
     * tile rows and columns. b_panel is 64-byte aligned. */
    void (*micro_kernel)(int rows, int cols, int64_t kc, const float *a, int64_t a_stride, const float *b_panel,
                         float *y, int64_t y_row_stride, bool accumulate);
    /* B panel of W: panel[k*nr + c] = W[row c][k0 + k] as f32 (exact
     * conversion), k < len, c < nr; rows[c] points at the start of a W row
     * in its dtype (callers repeat a valid row for padding columns, whose
     * results are never stored). len and k0 multiples of the block size
     * (32; 256 for the K-quants) for the quantized types. The panel is
     * 64-byte aligned. */
    void (*pack_w_panel)(mkv_dtype dtype, const void *const *rows, int64_t k0, int64_t len, float *panel);
    /* A panel of x rows, ceil(len / k_per_slot) slots of `width`: for f32
     * tables the transpose below. */
    void (*pack_x_panel)(const float *const *rows, int64_t len, int width, float *panel);
    /* panel[k*width + c] = rows[c][k] for c < width, k < len (width a
     * multiple of 8; callers repeat a valid row for padding). Packs A panels
     * (width a_stride) and attention's query panels (width nr). */
    void (*transpose_to_panel)(const float *const *rows, int64_t len, int width, float *panel);
    /* Attention, for one key tile of `n_keys` keys against one query panel
     * of nr queries, scores in scores[j*nr + i]:
     * online-softmax update of row_max/row_sum (per query), scores turned
     * into probabilities exp(s - new max) in place, and out_t[c*nr + i]
     * (head_dim rows) rescaled by exp(old max - new max). `first` = first
     * tile (no old state). */
    void (*softmax_tile)(int n_keys, float *scores, float *row_max, float *row_sum, float *out_t, int head_dim,
                         bool first);
    /* Mask-Voting: key_votes[j] += sum_i exp(scores[j*nr+i] - row_max[i]) * inv_row_sum[i]
     * over the nr query columns (zero inv_row_sum for padding columns), for
     * j < n_keys; the sum over i runs in a fixed order. */
    void (*vote_tile)(int n_keys, const float *scores, const float *row_max, const float *inv_row_sum,
                      float *key_votes);
    /* Small vector ops (see kernels.h for semantics). */
    float (*sum_squares)(const float *x, int64_t n);
    void (*scale_mul)(float *out, const float *x, float scale, const float *weight, int64_t n);
    void (*swiglu)(float *out, const float *gate, const float *up, int64_t n);
    void (*softmax)(float *x, int64_t n);
    /* x[i] = exp(x[i]) with the ISA's polynomial exp (tests). */
    void (*exp_inplace)(float *x, int64_t n);
    /* bf16 attention (avx512bf16 table only); a "pair slot" is 32 bits
     * holding bf16 values (k, k+1), k in the low half; an odd count ends
     * with the pair (last, 0). */
    /* panel[s*width + c] = pair s of bf16 row c, s < ceil(len / 2). */
    void (*pack_bf16_panel)(const uint16_t *const *rows, int64_t len, int width, float *panel);
    /* panel[s*width + c] = (v[2s][c], v[2s+1][c]) for c < width: bf16 value
     * rows (row j at v + j*stride) paired over keys, s < ceil(n_keys / 2). */
    void (*pack_value_pairs)(const uint16_t *v, int64_t stride, int n_keys, int width, float *panel);
    /* panel[s*nr + i] = (bf16(p[2s*nr + i]), bf16(p[(2s+1)*nr + i])) for
     * i < nr, s < ceil(n / 2): f32 rows rounded (RNE) and paired over rows. */
    void (*pack_f32_row_pairs)(const float *p, int64_t n, float *panel);
} mkv_isa_ops;

extern const mkv_isa_ops mkv_isa_avx512;
extern const mkv_isa_ops mkv_isa_avx2;
/* The bf16 dot-product kernels (micro_kernel, pack_w_panel for every
 * dtype, pack_x_panel, the bf16 attention packers); the f32 ops of
 * attention and the vector ops come from mkv_isa_avx512. */
extern const mkv_isa_ops mkv_isa_avx512bf16;
/* mkv_round_to_bf16 on vcvtneps2bf16 (kernels_avx512bf16.c). */
void mkv_round_to_bf16_avx512bf16(const float *x, int64_t n, uint16_t *out);
void mkv_dequantize_i8_to_bf16_avx512bf16(const int8_t *q, float scale, int64_t n, uint16_t *out);

/* The table in use, or NULL for the scalar references. */
const mkv_isa_ops *mkv_kernels_ops(void);

/* Drivers (matmul.c, attention.c). Each returns false, having written
 * nothing, when its scratch memory cannot be allocated; the caller then
 * runs the scalar reference, which allocates nothing. */
bool mkv_matmul_blocked(const mkv_isa_ops *ops, float *y, const float *x, int64_t n, const mkv_tensor *w,
                        const float *bias);
/* dot_ops: the table of the two products (ops itself for f32, the
 * avx512bf16 table when args->bf16); ops: softmax and vote tiles; amx (bf16
 * only, head_dim a multiple of 32): the products on AMX tiles
 * (kernels_amx.h), dot_ops packing the queries and probabilities. */
bool mkv_attention_tiled(const mkv_isa_ops *ops, const mkv_isa_ops *dot_ops, bool amx, const mkv_attention_args *args);
/* The AMX values of args' K/V (V^T per KV head, key tiles zero-padded). */
mkv_attention_values *mkv_attention_values_create(const mkv_attention_args *args);

#endif
