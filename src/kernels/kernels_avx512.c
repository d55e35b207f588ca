/* AVX-512 inner loops (F, BW, VL, DQ; plus AVX2/FMA/F16C, which every
 * AVX-512 CPU has). Only called through mkv_isa_avx512 after kernels.c checked
 * the CPU, so the whole file is compiled for that target. */
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/exp_avx512.h"
#include "kernels/kernels_internal.h"
#include "kernels/pack_avx2.h"

#define MR 14 /* rows of the register tile (broadcast operand)            */
#define NR 32 /* columns: two zmm vectors; 28 accumulators + 2 + 1 = 31 regs */
#define A_STRIDE 16

/* ------------------------------------------------------------------ exp */

static inline __mmask16 tail_mask(int64_t count) { return count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1u); }

/* --------------------------------------------------------- micro-kernel */
/* Register-tiled outer product: `rows` (<= 14) broadcasts from the packed A
 * panel times two 16-wide vectors of the packed B panel per k, 28 FMA
 * accumulators. `rows` is a compile-time constant in each instance below,
 * so the unused accumulators vanish. */
static inline __attribute__((always_inline)) void tile_avx512(const int rows, int cols, int64_t kc, const float *a_panel, int64_t a_stride,
                                                              const float *b_panel, float *y, int64_t y_row_stride,
                                                              bool accumulate) {
    const __mmask16 mask0 = tail_mask(cols), mask1 = tail_mask(cols - 16 > 0 ? cols - 16 : 0);
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        if (accumulate) {
            acc0[r] = _mm512_maskz_loadu_ps(mask0, y + r * y_row_stride);
            acc1[r] = _mm512_maskz_loadu_ps(mask1, y + r * y_row_stride + 16);
        } else {
            acc0[r] = _mm512_setzero_ps();
            acc1[r] = _mm512_setzero_ps();
        }
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_load_ps(b_panel + k * NR);
        const __m512 b1 = _mm512_load_ps(b_panel + k * NR + 16);
        const float *a = a_panel + k * a_stride;
#pragma GCC unroll 14
        for (int r = 0; r < MR; r++) {
            if (r >= rows) break;
            const __m512 a_r = _mm512_set1_ps(a[r]);
            acc0[r] = _mm512_fmadd_ps(a_r, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(a_r, b1, acc1[r]);
        }
    }
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm512_mask_storeu_ps(y + r * y_row_stride, mask0, acc0[r]);
        _mm512_mask_storeu_ps(y + r * y_row_stride + 16, mask1, acc1[r]);
    }
}

static void micro_kernel_avx512(int rows, int cols, int64_t kc, const float *a_panel, int64_t a_stride,
                              const float *b_panel, float *y,
                                int64_t y_row_stride, bool accumulate) {
    switch (rows) {
#define TILE_CASE(R)                                                                                                   \
    case R: tile_avx512(R, cols, kc, a_panel, a_stride, b_panel, y, y_row_stride, accumulate); break;
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) TILE_CASE(7)
        TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12) TILE_CASE(13) TILE_CASE(14)
#undef TILE_CASE
    default: break;
    }
}

/* ------------------------------------------------------ packing (pack_avx2.h) */
static void transpose_to_panel_avx512(const float *const *rows, int64_t len, int width, float *panel) {
    pack_transpose_to_panel(rows, len, width, panel);
}

static void pack_w_panel_avx512(mkv_dtype dtype, const void *const *rows, int64_t k0, int64_t len, float *panel) {
    pack_w_panel_any(dtype, rows, k0, len, NR, panel);
}

/* ------------------------------------------------------------ attention */
static void softmax_tile_avx512(int n_keys, float *scores, float *row_max, float *row_sum, float *out_t, int head_dim,
                                bool first) {
    for (int half = 0; half < NR / 16; half++) {
        const int lane0 = 16 * half;
        __m512 tile_max = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < n_keys; j++) tile_max = _mm512_max_ps(tile_max, _mm512_load_ps(scores + j * NR + lane0));
        const __m512 old_max = first ? tile_max : _mm512_loadu_ps(row_max + lane0);
        const __m512 new_max = _mm512_max_ps(old_max, tile_max);
        __m512 tile_sum = _mm512_setzero_ps();
        for (int j = 0; j < n_keys; j++) {
            __m512 p = exp_avx512(_mm512_sub_ps(_mm512_load_ps(scores + j * NR + lane0), new_max));
            _mm512_store_ps(scores + j * NR + lane0, p);
            tile_sum = _mm512_add_ps(tile_sum, p);
        }
        const __m512 rescale = first ? _mm512_set1_ps(1.0f) : exp_avx512(_mm512_sub_ps(old_max, new_max));
        softmax_state_update16(first, rescale, new_max, tile_sum, row_max + lane0, row_sum + lane0, out_t + lane0,
                               head_dim, NR);
    }
}

static void vote_tile_avx512(int n_keys, const float *scores, const float *row_max, const float *inv_row_sum,
                             float *key_votes) {
    const __m512 max0 = _mm512_loadu_ps(row_max), max1 = _mm512_loadu_ps(row_max + 16);
    const __m512 inv0 = _mm512_loadu_ps(inv_row_sum), inv1 = _mm512_loadu_ps(inv_row_sum + 16);
    for (int j = 0; j < n_keys; j++) {
        __m512 p0 = _mm512_mul_ps(exp_avx512(_mm512_sub_ps(_mm512_load_ps(scores + j * NR), max0)), inv0);
        __m512 p1 = _mm512_mul_ps(exp_avx512(_mm512_sub_ps(_mm512_load_ps(scores + j * NR + 16), max1)), inv1);
        key_votes[j] += _mm512_reduce_add_ps(_mm512_add_ps(p0, p1));
    }
}

/* --------------------------------------------------- small vector ops */
static float sum_squares_avx512(const float *x, int64_t n) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        acc0 = _mm512_fmadd_ps(a, a, acc0);
        acc1 = _mm512_fmadd_ps(b, b, acc1);
    }
    for (; i < n; i += 16) {
        __m512 a = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);
        acc0 = _mm512_fmadd_ps(a, a, acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* out = (x * scale) * weight (weight may be NULL), the ref's order. */
static void scale_mul_avx512(float *out, const float *x, float scale, const float *weight, int64_t n) {
    const __m512 s = _mm512_set1_ps(scale);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s);
        if (weight) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, weight + i));
        _mm512_mask_storeu_ps(out + i, m, v);
    }
}

static void swiglu_avx512(float *out, const float *gate, const float *up, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), g))));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

static void softmax_avx512(float *x, int64_t n) {
    if (n <= 0) return;
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16)
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail_mask(n - i), x + i));
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 e = _mm512_maskz_mov_ps(m, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), max)));
        _mm512_mask_storeu_ps(x + i, m, e);
        sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv_sum = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv_sum));
    }
}

static void exp_inplace_avx512(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, exp_avx512(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

const mkv_isa_ops mkv_isa_avx512 = {
    .name = "avx512",
    .mr = MR,
    .nr = NR,
    .a_stride = A_STRIDE,
    .k_per_slot = 1,
    .micro_kernel = micro_kernel_avx512,
    .transpose_to_panel = transpose_to_panel_avx512,
    .pack_x_panel = transpose_to_panel_avx512,
    .pack_w_panel = pack_w_panel_avx512,
    .softmax_tile = softmax_tile_avx512,
    .vote_tile = vote_tile_avx512,
    .sum_squares = sum_squares_avx512,
    .scale_mul = scale_mul_avx512,
    .swiglu = swiglu_avx512,
    .softmax = softmax_avx512,
    .exp_inplace = exp_inplace_avx512,
};
