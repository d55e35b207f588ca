/* Scalar reference dequantizers of the ggml block types beyond q8_0/q4_0:
 * q4_1, q5_0, q5_1, iq4_nl (32-element blocks) and the K-quants q2_K..q6_K
 * (256-element super-blocks). Layouts as ggml-common.h; the arithmetic is
 * ggml's dequantize_row_* (and gguf-py's quants.py), operation for
 * operation in f32 (a group scale is d * scale, then scale * q - min), so
 * the values are bit-identical to theirs. The SIMD unpacking in
 * kernels/pack_quants_avx2.h must give the same bits (tests/unit/test_quants.c,
 * tests/python/check_dequant_gguf.py). */
#include <string.h>

#include "util/dtype.h"
#include "util/fp16.h"

_Static_assert(sizeof(mkv_block_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(mkv_block_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(mkv_block_q5_1) == 24, "q5_1 block");
_Static_assert(sizeof(mkv_block_iq4_nl) == 18, "iq4_nl block");
_Static_assert(sizeof(mkv_block_q2_k) == 84, "q2_K block");
_Static_assert(sizeof(mkv_block_q3_k) == 110, "q3_K block");
_Static_assert(sizeof(mkv_block_q4_k) == 144, "q4_K block");
_Static_assert(sizeof(mkv_block_q5_k) == 176, "q5_K block");
_Static_assert(sizeof(mkv_block_q6_k) == 210, "q6_K block");

const int8_t mkv_iq4_nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static uint32_t read_u32_le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------ 32-element blocks */

void mkv_q4_1_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q4_1 *blocks = src;
    for (int64_t b = 0; b < n / 32; b++, dst += 32) {
        const float d = mkv_f16_to_f32(blocks[b].d), m = mkv_f16_to_f32(blocks[b].m);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)(blocks[b].qs[j] & 0x0f) * d + m;
            dst[j + 16] = (float)(blocks[b].qs[j] >> 4) * d + m;
        }
    }
}

/* The fifth bit of element j is bit j of qh (little-endian u32). */
static void q5_values(const uint8_t qh_bytes[4], const uint8_t qs[16], int q[32]) {
    const uint32_t qh = read_u32_le(qh_bytes);
    for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
        q[j + 16] = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
    }
}

void mkv_q5_0_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q5_0 *blocks = src;
    for (int64_t b = 0; b < n / 32; b++, dst += 32) {
        const float d = mkv_f16_to_f32(blocks[b].d);
        int q[32];
        q5_values(blocks[b].qh, blocks[b].qs, q);
        for (int j = 0; j < 32; j++) dst[j] = (float)(q[j] - 16) * d;
    }
}

void mkv_q5_1_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q5_1 *blocks = src;
    for (int64_t b = 0; b < n / 32; b++, dst += 32) {
        const float d = mkv_f16_to_f32(blocks[b].d), m = mkv_f16_to_f32(blocks[b].m);
        int q[32];
        q5_values(blocks[b].qh, blocks[b].qs, q);
        for (int j = 0; j < 32; j++) dst[j] = (float)q[j] * d + m;
    }
}

void mkv_iq4_nl_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_iq4_nl *blocks = src;
    for (int64_t b = 0; b < n / 32; b++, dst += 32) {
        const float d = mkv_f16_to_f32(blocks[b].d);
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)mkv_iq4_nl_values[blocks[b].qs[j] & 0x0f];
            dst[j + 16] = d * (float)mkv_iq4_nl_values[blocks[b].qs[j] >> 4];
        }
    }
}

/* ------------------------------------------------ K-quants (256 elements) */

/* Groups 0-3: low 6 bits of bytes 0-3 (scales) and 4-7 (mins); groups 4-7:
 * the nibbles of bytes 8-11 plus the top 2 bits of bytes 0-3 / 4-7. */
void mkv_kquant_scale_min(const uint8_t scales[12], int group, uint8_t *scale, uint8_t *min) {
    if (group < 4) {
        *scale = scales[group] & 63;
        *min = scales[group + 4] & 63;
    } else {
        *scale = (uint8_t)((scales[group + 4] & 0x0f) | (scales[group - 4] >> 6) << 4);
        *min = (uint8_t)((scales[group + 4] >> 4) | (scales[group] >> 6) << 4);
    }
}

/* Low 4 bits: nibbles of bytes 0-7 (groups 0-7 low, 8-15 high); high 2 bits:
 * bits 2*(i/4) of byte 8 + i%4. */
void mkv_q3_k_scales(const uint8_t scales[12], int8_t out[16]) {
    for (int i = 0; i < 16; i++) {
        int low = i < 8 ? scales[i] & 0x0f : scales[i - 8] >> 4;
        int high = (scales[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = (int8_t)((low | high << 4) - 32);
    }
}

/* Element 128*h + 32*j + l (h half, j 2-bit plane, l < 32) is bits 2j..2j+1
 * of qs[32*h + l]; group (16 elements) 8*h + 2*j + l/16. */
void mkv_q2_k_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q2_k *blocks = src;
    for (int64_t b = 0; b < n / MKV_QK_K; b++, dst += MKV_QK_K) {
        const mkv_block_q2_k *x = &blocks[b];
        const float d = mkv_f16_to_f32(x->d), dmin = mkv_f16_to_f32(x->dmin);
        for (int e = 0; e < MKV_QK_K; e++) {
            const int h = e / 128, j = e % 128 / 32, l = e % 32, group = 8 * h + 2 * j + l / 16;
            const float dl = d * (float)(x->scales[group] & 0x0f), ml = dmin * (float)(x->scales[group] >> 4);
            dst[e] = dl * (float)((x->qs[32 * h + l] >> (2 * j)) & 3) - ml;
        }
    }
}

/* As q2_K, minus 4 where bit 4h + j of hmask[l] is clear. */
void mkv_q3_k_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q3_k *blocks = src;
    for (int64_t b = 0; b < n / MKV_QK_K; b++, dst += MKV_QK_K) {
        const mkv_block_q3_k *x = &blocks[b];
        const float d = mkv_f16_to_f32(x->d);
        int8_t scales[16];
        mkv_q3_k_scales(x->scales, scales);
        for (int e = 0; e < MKV_QK_K; e++) {
            const int h = e / 128, j = e % 128 / 32, l = e % 32, group = 8 * h + 2 * j + l / 16;
            const int q = ((x->qs[32 * h + l] >> (2 * j)) & 3) - ((x->hmask[l] >> (4 * h + j)) & 1 ? 0 : 4);
            dst[e] = d * (float)scales[group] * (float)q;
        }
    }
}

/* Element 64*c + l (l < 32) is the low nibble of qs[32*c + l], group 2c;
 * 64*c + 32 + l the high nibble, group 2c + 1. q5_K adds 16 for bit 2c (low)
 * or 2c + 1 (high) of qh[l]. */
static void kquant_4_5_to_float(uint16_t d16, uint16_t dmin16, const uint8_t scales[12], const uint8_t *qh,
                                const uint8_t qs[128], float *dst) {
    const float d = mkv_f16_to_f32(d16), dmin = mkv_f16_to_f32(dmin16);
    for (int group = 0; group < 8; group++) {
        uint8_t sc, m;
        mkv_kquant_scale_min(scales, group, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        const int c = group / 2, high = group % 2;
        for (int l = 0; l < 32; l++) {
            int q = high ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 0x0f;
            if (qh) q |= ((qh[l] >> group) & 1) << 4;
            dst[32 * group + l] = d1 * (float)q - m1;
        }
    }
}

void mkv_q4_k_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q4_k *blocks = src;
    for (int64_t b = 0; b < n / MKV_QK_K; b++, dst += MKV_QK_K)
        kquant_4_5_to_float(blocks[b].d, blocks[b].dmin, blocks[b].scales, NULL, blocks[b].qs, dst);
}

void mkv_q5_k_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q5_k *blocks = src;
    for (int64_t b = 0; b < n / MKV_QK_K; b++, dst += MKV_QK_K)
        kquant_4_5_to_float(blocks[b].d, blocks[b].dmin, blocks[b].scales, blocks[b].qh, blocks[b].qs, dst);
}

/* Element 128*h + 32*p + l (p < 4, l < 32): low 4 bits from ql[64*h + l]
 * (p = 0, 2: low/high nibble) or ql[64*h + 32 + l] (p = 1, 3), high 2 bits
 * from bits 2p of qh[32*h + l]; q - 32 times group 8*h + 2*p + l/16. */
void mkv_q6_k_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q6_k *blocks = src;
    for (int64_t b = 0; b < n / MKV_QK_K; b++, dst += MKV_QK_K) {
        const mkv_block_q6_k *x = &blocks[b];
        const float d = mkv_f16_to_f32(x->d);
        for (int e = 0; e < MKV_QK_K; e++) {
            const int h = e / 128, p = e % 128 / 32, l = e % 32;
            const uint8_t low_byte = x->ql[64 * h + 32 * (p % 2) + l];
            const int low = p < 2 ? low_byte & 0x0f : low_byte >> 4;
            const int q = (low | ((x->qh[32 * h + l] >> (2 * p)) & 3) << 4) - 32;
            dst[e] = d * (float)x->scales[8 * h + 2 * p + l / 16] * (float)q;
        }
    }
}
