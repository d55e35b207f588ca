/* AVX2 + FMA + F16C inner loops (CPUs without AVX-512). Only called through
 * mkv_isa_avx2 after kernels.c checked the CPU, so the whole file is compiled
 * for that target. Same algorithms as kernels_avx512.c at half the width. */
#pragma GCC target("avx2,fma,f16c")

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "kernels/pack_avx2.h"

#define MR 6  /* rows of the register tile (broadcast operand)             */
#define NR 16 /* columns: two ymm vectors; 12 accumulators + 2 + 1 = 15 regs */
#define A_STRIDE 8

/* ------------------------------------------------------------------ exp */
/* Cephes' expf: x = n ln2 + r, degree-6 polynomial for exp(r), times 2^n
 * built in the exponent field. Inputs below -87.3 (where 2^n would be
 * subnormal) give 0; about 1 ulp elsewhere. */
static inline __m256 exp_avx2(__m256 x) {
    const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3762626647949f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* n <= 127 here except at the very top (n = 128 -> inf, as exp overflows there anyway) */
    __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
    return _mm256_andnot_ps(underflow, result);
}

static inline __m256i tail_mask(int64_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int c = count >= 8 ? 8 : (int)count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), lanes);
}

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* --------------------------------------------------------- micro-kernel */
/* Register-tiled outer product: `rows` (<= 6) broadcasts times two 8-wide
 * vectors per k, 12 FMA accumulators; one instance per row count. */
static inline __attribute__((always_inline)) void tile_avx2(const int rows, int cols, int64_t kc, const float *a_panel, int64_t a_stride,
                                                            const float *b_panel, float *y, int64_t y_row_stride,
                                                            bool accumulate) {
    const __m256i mask0 = tail_mask(cols), mask1 = tail_mask(cols - 8 > 0 ? cols - 8 : 0);
    __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        if (accumulate) {
            acc0[r] = _mm256_maskload_ps(y + r * y_row_stride, mask0);
            acc1[r] = _mm256_maskload_ps(y + r * y_row_stride + 8, mask1);
        } else {
            acc0[r] = _mm256_setzero_ps();
            acc1[r] = _mm256_setzero_ps();
        }
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(b_panel + k * NR);
        const __m256 b1 = _mm256_load_ps(b_panel + k * NR + 8);
        const float *a = a_panel + k * a_stride;
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            if (r >= rows) break;
            const __m256 a_r = _mm256_broadcast_ss(a + r);
            acc0[r] = _mm256_fmadd_ps(a_r, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(a_r, b1, acc1[r]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm256_maskstore_ps(y + r * y_row_stride, mask0, acc0[r]);
        _mm256_maskstore_ps(y + r * y_row_stride + 8, mask1, acc1[r]);
    }
}

static void micro_kernel_avx2(int rows, int cols, int64_t kc, const float *a_panel, int64_t a_stride,
                              const float *b_panel, float *y,
                              int64_t y_row_stride, bool accumulate) {
    switch (rows) {
#define TILE_CASE(R)                                                                                                   \
    case R: tile_avx2(R, cols, kc, a_panel, a_stride, b_panel, y, y_row_stride, accumulate); break;
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
#undef TILE_CASE
    default: break;
    }
}

/* ------------------------------------------------------ packing (pack_avx2.h) */
static void transpose_to_panel_avx2(const float *const *rows, int64_t len, int width, float *panel) {
    pack_transpose_to_panel(rows, len, width, panel);
}

static void pack_w_panel_avx2(mkv_dtype dtype, const void *const *rows, int64_t k0, int64_t len, float *panel) {
    pack_w_panel_any(dtype, rows, k0, len, NR, panel);
}

/* ------------------------------------------------------------ attention */
static void softmax_tile_avx2(int n_keys, float *scores, float *row_max, float *row_sum, float *out_t, int head_dim,
                              bool first) {
    for (int part = 0; part < NR / 8; part++) {
        const int lane0 = 8 * part;
        __m256 tile_max = _mm256_set1_ps(-INFINITY);
        for (int j = 0; j < n_keys; j++) tile_max = _mm256_max_ps(tile_max, _mm256_load_ps(scores + j * NR + lane0));
        const __m256 old_max = first ? tile_max : _mm256_loadu_ps(row_max + lane0);
        const __m256 new_max = _mm256_max_ps(old_max, tile_max);
        __m256 tile_sum = _mm256_setzero_ps();
        for (int j = 0; j < n_keys; j++) {
            __m256 p = exp_avx2(_mm256_sub_ps(_mm256_load_ps(scores + j * NR + lane0), new_max));
            _mm256_store_ps(scores + j * NR + lane0, p);
            tile_sum = _mm256_add_ps(tile_sum, p);
        }
        if (first) {
            _mm256_storeu_ps(row_sum + lane0, tile_sum);
        } else {
            const __m256 rescale = exp_avx2(_mm256_sub_ps(old_max, new_max));
            _mm256_storeu_ps(row_sum + lane0, _mm256_fmadd_ps(_mm256_loadu_ps(row_sum + lane0), rescale, tile_sum));
            for (int c = 0; c < head_dim; c++)
                _mm256_store_ps(out_t + c * NR + lane0, _mm256_mul_ps(_mm256_load_ps(out_t + c * NR + lane0), rescale));
        }
        _mm256_storeu_ps(row_max + lane0, new_max);
    }
}

static void vote_tile_avx2(int n_keys, const float *scores, const float *row_max, const float *inv_row_sum,
                           float *key_votes) {
    const __m256 max0 = _mm256_loadu_ps(row_max), max1 = _mm256_loadu_ps(row_max + 8);
    const __m256 inv0 = _mm256_loadu_ps(inv_row_sum), inv1 = _mm256_loadu_ps(inv_row_sum + 8);
    for (int j = 0; j < n_keys; j++) {
        __m256 p0 = _mm256_mul_ps(exp_avx2(_mm256_sub_ps(_mm256_load_ps(scores + j * NR), max0)), inv0);
        __m256 p1 = _mm256_mul_ps(exp_avx2(_mm256_sub_ps(_mm256_load_ps(scores + j * NR + 8), max1)), inv1);
        key_votes[j] += hsum256(_mm256_add_ps(p0, p1));
    }
}

/* --------------------------------------------------- small vector ops */
static float sum_squares_avx2(const float *x, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        acc0 = _mm256_fmadd_ps(a, a, acc0);
        acc1 = _mm256_fmadd_ps(b, b, acc1);
    }
    for (; i < n; i += 8) {
        __m256 a = _mm256_maskload_ps(x + i, tail_mask(n - i));
        acc0 = _mm256_fmadd_ps(a, a, acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

static void scale_mul_avx2(float *out, const float *x, float scale, const float *weight, int64_t n) {
    const __m256 s = _mm256_set1_ps(scale);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask(n - i);
        __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), s);
        if (weight) v = _mm256_mul_ps(v, _mm256_maskload_ps(weight + i, m));
        _mm256_maskstore_ps(out + i, m, v);
    }
}

static void swiglu_avx2(float *out, const float *gate, const float *up, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask(n - i);
        __m256 g = _mm256_maskload_ps(gate + i, m);
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), g))));
        _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(silu, _mm256_maskload_ps(up + i, m)));
    }
}

static void softmax_avx2(float *x, int64_t n) {
    if (n <= 0) return;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask(n - i);
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + i, m),
                                                     _mm256_castsi256_ps(m)));
    }
    const __m256 max = _mm256_set1_ps(hmax256(vmax));
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask(n - i);
        __m256 e = _mm256_and_ps(exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), max)), _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(x + i, m, e);
        sum = _mm256_add_ps(sum, e);
    }
    const __m256 inv_sum = _mm256_set1_ps(1.0f / hsum256(sum));
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv_sum));
    }
}

static void exp_inplace_avx2(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, exp_avx2(_mm256_maskload_ps(x + i, m)));
    }
}

const mkv_isa_ops mkv_isa_avx2 = {
    .name = "avx2",
    .mr = MR,
    .nr = NR,
    .a_stride = A_STRIDE,
    .k_per_slot = 1,
    .micro_kernel = micro_kernel_avx2,
    .transpose_to_panel = transpose_to_panel_avx2,
    .pack_x_panel = transpose_to_panel_avx2,
    .pack_w_panel = pack_w_panel_avx2,
    .softmax_tile = softmax_tile_avx2,
    .vote_tile = vote_tile_avx2,
    .sum_squares = sum_squares_avx2,
    .scale_mul = scale_mul_avx2,
    .swiglu = swiglu_avx2,
    .softmax = softmax_avx2,
    .exp_inplace = exp_inplace_avx2,
};
