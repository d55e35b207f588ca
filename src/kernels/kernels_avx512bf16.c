/* BF16 dot-product kernels (AVX512-BF16 vdpbf16ps) of the bf16 compute mode
 * (mkv_matmul_bf16, bf16 attention; also the opt-in
 * mkv_kernels_force_isa("avx512bf16") for mkv_matmul on BF16 weights):
 * they round the activations x to bf16 (round to nearest even, as
 * vcvtneps2bf16 does; its subnormal inputs become 0), so results differ from
 * the f32 path by ~2^-9 relative per activation, like a PyTorch bf16 run.
 * Each vdpbf16ps multiplies bf16 pairs (k, k+1) exactly and adds both
 * products into the f32 accumulator, twice the FMA path's work per
 * instruction. Blocking, threading and determinism are the f32 path's
 * (matmul.c); only the packing and the micro-kernel differ: panels hold
 * 32-bit slots, each a (k, k+1) pair of bf16 values. */
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "kernels/pack_avx2.h"

#define MR 14
#define NR 32
#define A_STRIDE 16

/* Register tile as in kernels_avx512.c, over k pairs: 28 accumulators. */
static inline __attribute__((always_inline)) void tile_bf16(const int rows, int cols, int64_t kc, const float *a_panel,
                                                            int64_t a_stride, const float *b_panel, float *y,
                                                            int64_t y_row_stride, bool accumulate) {
    const __mmask16 mask0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1u);
    const __mmask16 mask1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1u);
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        acc0[r] = accumulate ? _mm512_maskz_loadu_ps(mask0, y + r * y_row_stride) : _mm512_setzero_ps();
        acc1[r] = accumulate ? _mm512_maskz_loadu_ps(mask1, y + r * y_row_stride + 16) : _mm512_setzero_ps();
    }
    const int64_t pairs = (kc + 1) / 2;
    for (int64_t kp = 0; kp < pairs; kp++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(b_panel + kp * NR));
        const __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(b_panel + kp * NR + 16));
        const int32_t *a = (const int32_t *)(a_panel + kp * a_stride);
#pragma GCC unroll 14
        for (int r = 0; r < MR; r++) {
            if (r >= rows) break;
            const __m512bh a_r = (__m512bh)_mm512_set1_epi32(a[r]);
            acc0[r] = _mm512_dpbf16_ps(acc0[r], a_r, b0);
            acc1[r] = _mm512_dpbf16_ps(acc1[r], a_r, b1);
        }
    }
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm512_mask_storeu_ps(y + r * y_row_stride, mask0, acc0[r]);
        _mm512_mask_storeu_ps(y + r * y_row_stride + 16, mask1, acc1[r]);
    }
}

static void micro_kernel_bf16(int rows, int cols, int64_t kc, const float *a_panel, int64_t a_stride,
                              const float *b_panel, float *y, int64_t y_row_stride, bool accumulate) {
    switch (rows) {
#define TILE_CASE(R)                                                                                                   \
    case R: tile_bf16(R, cols, kc, a_panel, a_stride, b_panel, y, y_row_stride, accumulate); break;
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) TILE_CASE(7)
        TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12) TILE_CASE(13) TILE_CASE(14)
#undef TILE_CASE
    default: break;
    }
}

/* Transposes 32-bit slots (bf16 pairs) of `width` rows into [slot][width];
 * an odd `len` ends with the pair (last element, 0). The slots are moved as
 * bit patterns (float moves, no arithmetic). */
static void transpose_pairs(const uint16_t *const *rows, int64_t len, int width, float *panel) {
    const int64_t full_pairs = len / 2;
    const float *slot_rows[64];
    for (int c = 0; c < width; c++) slot_rows[c] = (const float *)(const void *)rows[c];
    pack_transpose_to_panel(slot_rows, full_pairs, width, panel);
    if (len % 2)
        for (int c = 0; c < width; c++) {
            uint32_t last_pair = rows[c][len - 1];
            memcpy(panel + full_pairs * width + c, &last_pair, sizeof last_pair);
        }
}

/* Pairs of f32 rows, rounded: slot (bf16(p[2s][i]), bf16(p[2s+1][i])). */
static inline __m512i pair_rows16(const float *row0, const float *row1) {
    const __m512i low = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(row0)));
    if (!row1) return low;
    const __m512i high = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(row1)));
    return _mm512_or_si512(low, _mm512_slli_epi32(high, 16));
}

static void pack_f32_row_pairs_bf16(const float *p, int64_t n, float *panel) {
    for (int64_t s = 0; 2 * s < n; s++) {
        const float *row0 = p + 2 * s * NR, *row1 = 2 * s + 1 < n ? row0 + NR : NULL;
        for (int i = 0; i < NR; i += 16)
            _mm512_storeu_si512((void *)(panel + s * NR + i), pair_rows16(row0 + i, row1 ? row1 + i : NULL));
    }
}

/* B panel of W rows: BF16 pairs straight from the weights; every other
 * dtype unpacked to an exact f32 panel (pack_avx2.h), then rounded to bf16
 * and paired. */
static void pack_w_panel_bf16(mkv_dtype dtype, const void *const *rows, int64_t k0, int64_t len, float *panel) {
    if (dtype == MKV_TYPE_BF16) {
        const uint16_t *pair_rows[NR];
        for (int c = 0; c < NR; c++) pair_rows[c] = (const uint16_t *)rows[c] + k0;
        transpose_pairs(pair_rows, len, NR, panel);
        return;
    }
    float f32_panel[MKV_GEMM_KC * NR] __attribute__((aligned(64)));
    pack_w_panel_any(dtype, rows, k0, len, NR, f32_panel);
    pack_f32_row_pairs_bf16(f32_panel, len, panel);
}

/* A panel from f32 x rows: rounded to bf16 (RNE) in chunks, then paired. */
static void pack_x_panel_bf16(const float *const *rows, int64_t len, int width, float *panel) {
    enum { CHUNK = 256 };
    uint16_t rounded[A_STRIDE > NR ? A_STRIDE : NR][CHUNK];
    const uint16_t *rounded_rows[64];
    for (int64_t k0 = 0; k0 < len; k0 += CHUNK) {
        const int64_t chunk = len - k0 < CHUNK ? len - k0 : CHUNK;
        for (int c = 0; c < width; c++) {
            for (int64_t k = 0; k < chunk; k += 16) {
                const __mmask16 mask = chunk - k >= 16 ? 0xffff : (__mmask16)((1u << (chunk - k)) - 1u);
                __m256bh bf = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, rows[c] + k0 + k));
                _mm256_mask_storeu_epi16(rounded[c] + k, mask, (__m256i)bf);
            }
            rounded_rows[c] = rounded[c];
        }
        transpose_pairs(rounded_rows, chunk, width, panel + (k0 / 2) * width);
    }
}

static void pack_bf16_panel_bf16(const uint16_t *const *rows, int64_t len, int width, float *panel) {
    transpose_pairs(rows, len, width, panel);
}

/* V^T pair slots: rows 2s and 2s+1 interleaved, 16 channels at a time. */
static void pack_value_pairs_bf16(const uint16_t *v, int64_t stride, int n_keys, int width, float *panel) {
    for (int s = 0; 2 * s < n_keys; s++) {
        const uint16_t *row0 = v + (int64_t)(2 * s) * stride, *row1 = 2 * s + 1 < n_keys ? row0 + stride : NULL;
        for (int c = 0; c < width; c += 16) {
            const __mmask16 mask = width - c >= 16 ? 0xffff : (__mmask16)((1u << (width - c)) - 1u);
            __m512i low = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, row0 + c));
            __m512i high = row1 ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, row1 + c)) : _mm512_setzero_si512();
            _mm512_mask_storeu_epi32((void *)(panel + (int64_t)s * width + c), mask,
                                     _mm512_or_si512(low, _mm512_slli_epi32(high, 16)));
        }
    }
}

void mkv_round_to_bf16_avx512bf16(const float *x, int64_t n, uint16_t *out) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mask = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1u);
        _mm256_mask_storeu_epi16(out + i, mask, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + i)));
    }
}

void mkv_dequantize_i8_to_bf16_avx512bf16(const int8_t *q, float scale, int64_t n, uint16_t *out) {
    const __m512 s = _mm512_set1_ps(scale);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mask = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1u);
        const __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, q + i))), s);
        _mm256_mask_storeu_epi16(out + i, mask, (__m256i)_mm512_cvtneps_pbh(x));
    }
}

const mkv_isa_ops mkv_isa_avx512bf16 = {
    .name = "avx512bf16",
    .mr = MR,
    .nr = NR,
    .a_stride = A_STRIDE,
    .k_per_slot = 2,
    .micro_kernel = micro_kernel_bf16,
    .pack_w_panel = pack_w_panel_bf16,
    .pack_x_panel = pack_x_panel_bf16,
    .pack_bf16_panel = pack_bf16_panel_bf16,
    .pack_value_pairs = pack_value_pairs_bf16,
    .pack_f32_row_pairs = pack_f32_row_pairs_bf16,
};
