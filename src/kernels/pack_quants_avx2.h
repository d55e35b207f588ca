/* AVX2 unpacking of the ggml block types beyond q8_0/q4_0 (q4_1, q5_0,
 * q5_1, iq4_nl, q2_K..q6_K) for the packed-panel matmul; included by
 * pack_avx2.h, so kernels_avx2.c and kernels_avx512.c each compile it for
 * their target. Two steps per block: the integer levels of every element as
 * int8 with byte-wide SIMD (nibbles, 2-bit planes, high-bit masks, the
 * iq4_nl table by pshufb), then per group of 16 elements
 * f32(q) * scale (-|+ min), where scale and min are the group's f32 values
 * computed as util/dtype_quants.c does (d * sc). Same operations in the same
 * order as the scalar reference, so the same bits (tests/unit/test_quants.c). */
#ifndef MKV_PACK_QUANTS_AVX2_H
#define MKV_PACK_QUANTS_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "util/dtype.h"
#include "util/fp16.h"

typedef enum { GROUP_SCALE, GROUP_SCALE_SUB, GROUP_SCALE_ADD } group_mode;

/* out[i] = f32(q[i]) * scale (then - or + offset), i < 16. */
static inline __attribute__((always_inline)) void unpack_group16(const int8_t *q, float scale, float offset,
                                                                group_mode mode, float *out) {
    const __m128i v = _mm_loadu_si128((const __m128i *)q);
    const __m256 s = _mm256_set1_ps(scale);
    __m256 lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)), s);
    __m256 hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8))), s);
    if (mode == GROUP_SCALE_SUB) {
        lo = _mm256_sub_ps(lo, _mm256_set1_ps(offset));
        hi = _mm256_sub_ps(hi, _mm256_set1_ps(offset));
    } else if (mode == GROUP_SCALE_ADD) {
        lo = _mm256_add_ps(lo, _mm256_set1_ps(offset));
        hi = _mm256_add_ps(hi, _mm256_set1_ps(offset));
    }
    _mm256_storeu_ps(out, lo);
    _mm256_storeu_ps(out + 8, hi);
}

static inline __m128i low_nibbles128(__m128i v) { return _mm_and_si128(v, _mm_set1_epi8(0x0f)); }
static inline __m128i high_nibbles128(__m128i v) { return _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f)); }
static inline __m256i low_nibbles256(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0f)); }
static inline __m256i high_nibbles256(__m256i v) {
    return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
}
/* 0xff in the bytes whose `bit` is set. */
static inline __m256i bit_set256(__m256i v, uint8_t bit) {
    const __m256i b = _mm256_set1_epi8((char)bit);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, b), b);
}
/* Bits 2j..2j+1 of every byte. */
static inline __m256i plane2_256(__m256i v, int j) {
    return _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), _mm256_set1_epi8(3));
}

/* 16 for element j whose bit j (of 32, little-endian) is set: bytes
 * 0..15 from bits 0..15 (half 0), 16..31 from bits 16..31 (half 1). */
static inline __m128i q5_high_bits(const uint8_t qh[4], int half) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const __m128i spread = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)bits),
                                            half ? _mm_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)
                                                 : _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    const __m128i mask = _mm_set1_epi64x((long long)0x8040201008040201ull);
    return _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(spread, mask), mask), _mm_set1_epi8(16));
}

/* ------------------------------------------------ 32-element blocks */

static inline void unpack_q4_1(const mkv_block_q4_1 *x, float *out) {
    int8_t q[32];
    const __m128i v = _mm_loadu_si128((const __m128i *)x->qs);
    _mm_storeu_si128((__m128i *)q, low_nibbles128(v));
    _mm_storeu_si128((__m128i *)(q + 16), high_nibbles128(v));
    const float d = _cvtsh_ss(x->d), m = _cvtsh_ss(x->m);
    unpack_group16(q, d, m, GROUP_SCALE_ADD, out);
    unpack_group16(q + 16, d, m, GROUP_SCALE_ADD, out + 16);
}

static inline void unpack_q5(const uint8_t qh[4], const uint8_t qs[16], int8_t q[32]) {
    const __m128i v = _mm_loadu_si128((const __m128i *)qs);
    _mm_storeu_si128((__m128i *)q, _mm_or_si128(low_nibbles128(v), q5_high_bits(qh, 0)));
    _mm_storeu_si128((__m128i *)(q + 16), _mm_or_si128(high_nibbles128(v), q5_high_bits(qh, 1)));
}

static inline void unpack_q5_0(const mkv_block_q5_0 *x, float *out) {
    int8_t q[32];
    unpack_q5(x->qh, x->qs, q);
    for (int h = 0; h < 2; h++)
        _mm_storeu_si128((__m128i *)(q + 16 * h),
                         _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(q + 16 * h)), _mm_set1_epi8(16)));
    const float d = _cvtsh_ss(x->d);
    unpack_group16(q, d, 0.0f, GROUP_SCALE, out);
    unpack_group16(q + 16, d, 0.0f, GROUP_SCALE, out + 16);
}

static inline void unpack_q5_1(const mkv_block_q5_1 *x, float *out) {
    int8_t q[32];
    unpack_q5(x->qh, x->qs, q);
    const float d = _cvtsh_ss(x->d), m = _cvtsh_ss(x->m);
    unpack_group16(q, d, m, GROUP_SCALE_ADD, out);
    unpack_group16(q + 16, d, m, GROUP_SCALE_ADD, out + 16);
}

static inline void unpack_iq4_nl(const mkv_block_iq4_nl *x, float *out) {
    int8_t q[32];
    const __m128i levels = _mm_loadu_si128((const __m128i *)mkv_iq4_nl_values);
    const __m128i v = _mm_loadu_si128((const __m128i *)x->qs);
    _mm_storeu_si128((__m128i *)q, _mm_shuffle_epi8(levels, low_nibbles128(v)));
    _mm_storeu_si128((__m128i *)(q + 16), _mm_shuffle_epi8(levels, high_nibbles128(v)));
    const float d = _cvtsh_ss(x->d);
    unpack_group16(q, d, 0.0f, GROUP_SCALE, out);
    unpack_group16(q + 16, d, 0.0f, GROUP_SCALE, out + 16);
}

/* ------------------------------------------------ K-quants (256 elements) */

static inline void unpack_q2_k(const mkv_block_q2_k *x, float *out) {
    int8_t q[MKV_QK_K];
    for (int h = 0; h < 2; h++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
        for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)(q + 128 * h + 32 * j), plane2_256(v, j));
    }
    const float d = _cvtsh_ss(x->d), dmin = _cvtsh_ss(x->dmin);
    for (int g = 0; g < 16; g++)
        unpack_group16(q + 16 * g, d * (float)(x->scales[g] & 0x0f), dmin * (float)(x->scales[g] >> 4),
                       GROUP_SCALE_SUB, out + 16 * g);
}

static inline void unpack_q3_k(const mkv_block_q3_k *x, float *out) {
    int8_t q[MKV_QK_K];
    const __m256i hmask = _mm256_loadu_si256((const __m256i *)x->hmask);
    for (int h = 0; h < 2; h++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
        for (int j = 0; j < 4; j++) {
            const __m256i minus4 = _mm256_andnot_si256(bit_set256(hmask, (uint8_t)(1u << (4 * h + j))),
                                                       _mm256_set1_epi8(4));
            _mm256_storeu_si256((__m256i *)(q + 128 * h + 32 * j), _mm256_sub_epi8(plane2_256(v, j), minus4));
        }
    }
    int8_t scales[16];
    mkv_q3_k_scales(x->scales, scales);
    const float d = _cvtsh_ss(x->d);
    for (int g = 0; g < 16; g++) unpack_group16(q + 16 * g, d * (float)scales[g], 0.0f, GROUP_SCALE, out + 16 * g);
}

/* q4_K (qh NULL) and q5_K. */
static inline __attribute__((always_inline)) void unpack_q4_5_k(uint16_t d16, uint16_t dmin16,
                                                               const uint8_t scales[12], const uint8_t *qh,
                                                               const uint8_t qs[128], float *out) {
    int8_t q[MKV_QK_K];
    const __m256i high = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i lo = low_nibbles256(v), hi = high_nibbles256(v);
        if (qh) {
            const __m256i sixteen = _mm256_set1_epi8(16);
            lo = _mm256_or_si256(lo, _mm256_and_si256(bit_set256(high, (uint8_t)(1u << (2 * c))), sixteen));
            hi = _mm256_or_si256(hi, _mm256_and_si256(bit_set256(high, (uint8_t)(2u << (2 * c))), sixteen));
        }
        _mm256_storeu_si256((__m256i *)(q + 64 * c), lo);
        _mm256_storeu_si256((__m256i *)(q + 64 * c + 32), hi);
    }
    const float d = _cvtsh_ss(d16), dmin = _cvtsh_ss(dmin16);
    for (int g = 0; g < 8; g++) {
        uint8_t sc, m;
        mkv_kquant_scale_min(scales, g, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        unpack_group16(q + 32 * g, d1, m1, GROUP_SCALE_SUB, out + 32 * g);
        unpack_group16(q + 32 * g + 16, d1, m1, GROUP_SCALE_SUB, out + 32 * g + 16);
    }
}

static inline void unpack_q6_k(const mkv_block_q6_k *x, float *out) {
    int8_t q[MKV_QK_K];
    const __m256i thirty_two = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
        const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
        const __m256i low[4] = {low_nibbles256(ql0), low_nibbles256(ql1), high_nibbles256(ql0), high_nibbles256(ql1)};
        for (int p = 0; p < 4; p++) {
            const __m256i top = _mm256_slli_epi16(plane2_256(qh, p), 4); /* <= 0x30: stays in its byte */
            _mm256_storeu_si256((__m256i *)(q + 128 * h + 32 * p),
                                _mm256_sub_epi8(_mm256_or_si256(low[p], top), thirty_two));
        }
    }
    const float d = _cvtsh_ss(x->d);
    for (int g = 0; g < 16; g++) unpack_group16(q + 16 * g, d * (float)x->scales[g], 0.0f, GROUP_SCALE, out + 16 * g);
}

/* Elements [k0, k0 + len) of a row as f32 (k0 and len multiples of the block size). */
static inline void unpack_row_blocks(mkv_dtype dtype, const void *row, int64_t k0, int64_t len, float *out) {
    const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
    const int64_t bs = traits->block_size;
    const unsigned char *block = (const unsigned char *)row + (size_t)(k0 / bs) * traits->block_bytes;
    for (int64_t k = 0; k < len; k += bs, block += traits->block_bytes, out += bs) {
        switch (dtype) {
        case MKV_TYPE_Q4_1: unpack_q4_1((const mkv_block_q4_1 *)block, out); break;
        case MKV_TYPE_Q5_0: unpack_q5_0((const mkv_block_q5_0 *)block, out); break;
        case MKV_TYPE_Q5_1: unpack_q5_1((const mkv_block_q5_1 *)block, out); break;
        case MKV_TYPE_IQ4_NL: unpack_iq4_nl((const mkv_block_iq4_nl *)block, out); break;
        case MKV_TYPE_Q2_K: unpack_q2_k((const mkv_block_q2_k *)block, out); break;
        case MKV_TYPE_Q3_K: unpack_q3_k((const mkv_block_q3_k *)block, out); break;
        case MKV_TYPE_Q4_K: {
            const mkv_block_q4_k *x = (const mkv_block_q4_k *)block;
            unpack_q4_5_k(x->d, x->dmin, x->scales, NULL, x->qs, out);
            break;
        }
        case MKV_TYPE_Q5_K: {
            const mkv_block_q5_k *x = (const mkv_block_q5_k *)block;
            unpack_q4_5_k(x->d, x->dmin, x->scales, x->qh, x->qs, out);
            break;
        }
        case MKV_TYPE_Q6_K: unpack_q6_k((const mkv_block_q6_k *)block, out); break;
        default: traits->to_float(block, out, bs); break;
        }
    }
}

/* B panel of nr rows of these types: each group of 8 rows unpacked into
 * f32 rows (len <= MKV_GEMM_KC), then 8x8 transposes into the panel. */
static inline void pack_w_panel_unpacked(mkv_dtype dtype, const void *const *rows, int64_t k0, int64_t len,
                                         const int nr, float *panel) {
    float unpacked[8][MKV_GEMM_KC] __attribute__((aligned(32)));
    for (int c8 = 0; c8 < nr; c8 += 8) {
        for (int i = 0; i < 8; i++) unpack_row_blocks(dtype, rows[c8 + i], k0, len, unpacked[i]);
        for (int64_t k8 = 0; k8 < len; k8 += 8) {
            __m256 tile[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) tile[i] = _mm256_load_ps(unpacked[i] + k8);
            pack_transpose8x8(tile);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) _mm256_store_ps(panel + (k8 + j) * nr + c8, tile[j]);
        }
    }
}

#endif
