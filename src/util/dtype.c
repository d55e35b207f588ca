#include "util/dtype.h"

#include <math.h>
#include <string.h>

#include "util/fp16.h"

static void f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }
static void f32_from_float(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

/* 16-bit reads by memcpy: a safetensors tensor need not start 2-byte aligned. */
static void f16_to_float(const void *src, float *dst, int64_t n) {
    const unsigned char *h = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t v;
        memcpy(&v, h + 2 * i, 2);
        dst[i] = mkv_f16_to_f32(v);
    }
}
static void f16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = mkv_f32_to_f16(src[i]);
}
static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const unsigned char *h = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t v;
        memcpy(&v, h + 2 * i, 2);
        dst[i] = mkv_bf16_to_f32(v);
    }
}
static void bf16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = mkv_f32_to_bf16(src[i]);
}

static void q8_0_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q8_0 *blocks = src;
    for (int64_t b = 0; b < n / MKV_QK8_0; b++) {
        float d = mkv_f16_to_f32(blocks[b].d);
        for (int j = 0; j < MKV_QK8_0; j++) dst[b * MKV_QK8_0 + j] = (float)blocks[b].qs[j] * d;
    }
}
/* Same arithmetic as ggml's quantize_row_q8_0_ref (and gguf-py's quants.py). */
static void q8_0_from_float(const float *src, void *dst, int64_t n) {
    mkv_block_q8_0 *blocks = dst;
    for (int64_t b = 0; b < n / MKV_QK8_0; b++) {
        const float *x = src + b * MKV_QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < MKV_QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = mkv_f32_to_f16(d);
        for (int j = 0; j < MKV_QK8_0; j++) blocks[b].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void q4_0_to_float(const void *src, float *dst, int64_t n) {
    const mkv_block_q4_0 *blocks = src;
    for (int64_t b = 0; b < n / MKV_QK4_0; b++) {
        float d = mkv_f16_to_f32(blocks[b].d);
        for (int j = 0; j < MKV_QK4_0 / 2; j++) {
            dst[b * MKV_QK4_0 + j] = (float)((blocks[b].qs[j] & 0x0f) - 8) * d;
            dst[b * MKV_QK4_0 + j + MKV_QK4_0 / 2] = (float)((blocks[b].qs[j] >> 4) - 8) * d;
        }
    }
}
/* Same arithmetic as ggml's quantize_row_q4_0_ref. */
static void q4_0_from_float(const float *src, void *dst, int64_t n) {
    mkv_block_q4_0 *blocks = dst;
    for (int64_t b = 0; b < n / MKV_QK4_0; b++) {
        const float *x = src + b * MKV_QK4_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < MKV_QK4_0; j++) {
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        }
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = mkv_f32_to_f16(d);
        for (int j = 0; j < MKV_QK4_0 / 2; j++) {
            float x0 = x[j] * id, x1 = x[j + MKV_QK4_0 / 2] * id;
            int q0 = (int)(x0 + 8.5f), q1 = (int)(x1 + 8.5f);
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            blocks[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static const mkv_dtype_traits dtype_table[] = {
    [MKV_TYPE_F32] = {"f32", 1, 4, f32_to_float, f32_from_float},
    [MKV_TYPE_F16] = {"f16", 1, 2, f16_to_float, f16_from_float},
    [MKV_TYPE_Q4_0] = {"q4_0", MKV_QK4_0, sizeof(mkv_block_q4_0), q4_0_to_float, q4_0_from_float},
    [MKV_TYPE_Q8_0] = {"q8_0", MKV_QK8_0, sizeof(mkv_block_q8_0), q8_0_to_float, q8_0_from_float},
    [MKV_TYPE_BF16] = {"bf16", 1, 2, bf16_to_float, bf16_from_float},
};

const mkv_dtype_traits *mkv_dtype_info(int type_id) {
    if (type_id < 0 || (size_t)type_id >= sizeof dtype_table / sizeof dtype_table[0]) return NULL;
    return dtype_table[type_id].name ? &dtype_table[type_id] : NULL;
}

bool mkv_dtype_from_name(const char *name, mkv_dtype *out) {
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++) {
        if (dtype_table[i].name && strcmp(dtype_table[i].name, name) == 0) {
            *out = (mkv_dtype)i;
            return true;
        }
    }
    return false;
}

size_t mkv_dtype_row_bytes(mkv_dtype type, int64_t n) {
    const mkv_dtype_traits *t = mkv_dtype_info(type);
    if (!t || n < 0 || n % t->block_size) return 0;
    return (size_t)(n / t->block_size) * t->block_bytes;
}
