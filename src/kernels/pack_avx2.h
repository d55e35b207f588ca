/* Panel packing with 8x8 register transposes (AVX2 + F16C), shared by
 * kernels_avx2.c and kernels_avx512.c: included after their
 * `#pragma GCC target`, so each gets its own copy compiled for its target.
 * (On Zen 5 these ymm transposes measured 3-8x faster per element than a
 * 16x16 zmm transpose, which GCC spills.) The other block types are
 * unpacked in pack_quants_avx2.h. */
#ifndef MKV_PACK_AVX2_H
#define MKV_PACK_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "util/dtype.h"

static inline __attribute__((always_inline)) void pack_transpose8x8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* panel[k*width + c] = rows[c][k] (width a multiple of 8; values are moved,
 * not computed on, so any 32-bit patterns pass through unchanged). Eight rows at a
 * time over all of k: rows are often a power-of-two bytes apart, so more
 * rows in flight would share one L1 set and evict each other's lines. */
static inline void pack_transpose_to_panel(const float *const *rows, int64_t len, int width, float *panel) {
    const int64_t len8 = len / 8 * 8;
    for (int c8 = 0; c8 < width; c8 += 8) {
        for (int64_t k = 0; k < len8; k += 8) {
            __m256 block[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) block[i] = _mm256_loadu_ps(rows[c8 + i] + k);
            pack_transpose8x8(block);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(panel + (k + j) * width + c8, block[j]);
        }
    }
    for (int64_t k = len8; k < len; k++) /* memcpy: the bf16 path passes 2-byte-aligned "float" rows */
        for (int c = 0; c < width; c++) memcpy(panel + k * width + c, rows[c] + k, sizeof(float));
}

/* Elements k..k+7 of a weight row as f32, converted exactly (the same
 * products as util/dtype.c's to_float; the f16 scales via F16C). */
static inline __attribute__((always_inline)) __m256 pack_load8_as_f32(const mkv_dtype dtype, const void *row,
                                                                      int64_t k) {
    switch (dtype) {
    case MKV_TYPE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k)));
    case MKV_TYPE_BF16:
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k))), 16));
    case MKV_TYPE_Q8_0: {
        const mkv_block_q8_0 *block = (const mkv_block_q8_0 *)row + k / MKV_QK8_0;
        __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(block->qs + k % MKV_QK8_0)));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(q), _mm256_set1_ps(_cvtsh_ss(block->d)));
    }
    case MKV_TYPE_Q4_0: {
        const mkv_block_q4_0 *block = (const mkv_block_q4_0 *)row + k / MKV_QK4_0;
        const int within = (int)(k % MKV_QK4_0); /* 0, 8: low nibbles; 16, 24: high nibbles */
        __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(block->qs + within % 16)));
        __m256i nibbles = within >= 16 ? _mm256_srli_epi32(bytes, 4) : _mm256_and_si256(bytes, _mm256_set1_epi32(0x0f));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(nibbles, _mm256_set1_epi32(8))),
                             _mm256_set1_ps(_cvtsh_ss(block->d)));
    }
    case MKV_TYPE_F32:
    default: return _mm256_loadu_ps((const float *)row + k);
    }
}

/* Fused unpack + transpose of nr W rows into a B panel [len][nr]. */
static inline __attribute__((always_inline)) void pack_w_panel_typed(const mkv_dtype dtype, const void *const *rows,
                                                                     int64_t k0, int64_t len, const int nr,
                                                                     float *panel) {
    const int64_t len8 = len / 8 * 8, k = len8;
    for (int c8 = 0; c8 < nr; c8 += 8) {
        for (int64_t k8 = 0; k8 < len8; k8 += 8) {
            __m256 block[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) block[i] = pack_load8_as_f32(dtype, rows[c8 + i], k0 + k8);
            pack_transpose8x8(block);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) _mm256_store_ps(panel + (k8 + j) * nr + c8, block[j]);
        }
    }
    if (k < len) { /* f32/f16/bf16 rows whose length is not a multiple of 8 */
        const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
        float tail[8];
        for (int c = 0; c < nr; c++) {
            traits->to_float((const unsigned char *)rows[c] + (size_t)(k0 + k) * traits->block_bytes, tail, len - k);
            for (int64_t j = 0; j < len - k; j++) panel[(k + j) * nr + c] = tail[j];
        }
    }
}

/* Quantized rows: one 32-element block of each of 8 rows at a time, the
 * block's scale converted once, then four 8x8 transposes. */
static inline __attribute__((always_inline)) void pack_w_panel_blocks(const mkv_dtype dtype, const void *const *rows,
                                                                      int64_t k0, int64_t len, const int nr,
                                                                      float *panel) {
    for (int c8 = 0; c8 < nr; c8 += 8) {
        for (int64_t k32 = 0; k32 < len; k32 += 32) {
            const int64_t block_index = (k0 + k32) / 32;
            __m256 scale[8];
            __m128i quants[8][2];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                if (dtype == MKV_TYPE_Q8_0) {
                    const mkv_block_q8_0 *block = (const mkv_block_q8_0 *)rows[c8 + i] + block_index;
                    scale[i] = _mm256_set1_ps(_cvtsh_ss(block->d));
                    quants[i][0] = _mm_loadu_si128((const __m128i *)block->qs);
                    quants[i][1] = _mm_loadu_si128((const __m128i *)(block->qs + 16));
                } else {
                    const mkv_block_q4_0 *block = (const mkv_block_q4_0 *)rows[c8 + i] + block_index;
                    scale[i] = _mm256_set1_ps(_cvtsh_ss(block->d));
                    __m128i bytes = _mm_loadu_si128((const __m128i *)block->qs);
                    const __m128i low_nibble = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
                    quants[i][0] = _mm_sub_epi8(_mm_and_si128(bytes, low_nibble), eight);
                    quants[i][1] = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), low_nibble), eight);
                }
            }
#pragma GCC unroll 4
            for (int part = 0; part < 4; part++) {
                __m256 tile[8];
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++) {
                    __m128i q = part & 1 ? _mm_srli_si128(quants[i][part / 2], 8) : quants[i][part / 2];
                    tile[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), scale[i]);
                }
                pack_transpose8x8(tile);
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) _mm256_store_ps(panel + (k32 + 8 * part + j) * nr + c8, tile[j]);
            }
        }
    }
}

#include "kernels/pack_quants_avx2.h" /* q4_1, q5_0, q5_1, iq4_nl, q2_K..q6_K: uses pack_transpose8x8 */

static inline void pack_w_panel_any(mkv_dtype dtype, const void *const *rows, int64_t k0, int64_t len, const int nr,
                                    float *panel) {
    switch (dtype) {
    case MKV_TYPE_Q4_1:
    case MKV_TYPE_Q5_0:
    case MKV_TYPE_Q5_1:
    case MKV_TYPE_IQ4_NL:
    case MKV_TYPE_Q2_K:
    case MKV_TYPE_Q3_K:
    case MKV_TYPE_Q4_K:
    case MKV_TYPE_Q5_K:
    case MKV_TYPE_Q6_K: pack_w_panel_unpacked(dtype, rows, k0, len, nr, panel); break;
    case MKV_TYPE_F16: pack_w_panel_typed(MKV_TYPE_F16, rows, k0, len, nr, panel); break;
    case MKV_TYPE_BF16: pack_w_panel_typed(MKV_TYPE_BF16, rows, k0, len, nr, panel); break;
    case MKV_TYPE_Q8_0: pack_w_panel_blocks(MKV_TYPE_Q8_0, rows, k0, len, nr, panel); break;
    case MKV_TYPE_Q4_0: pack_w_panel_blocks(MKV_TYPE_Q4_0, rows, k0, len, nr, panel); break;
    case MKV_TYPE_F32:
    default: pack_w_panel_typed(MKV_TYPE_F32, rows, k0, len, nr, panel); break;
    }
}

#endif
