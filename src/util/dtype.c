#include "util/dtype.h"

#include <math.h>
#include <string.h>
#include <strings.h>

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
    [MKV_TYPE_Q4_1] = {"q4_1", 32, sizeof(mkv_block_q4_1), mkv_q4_1_to_float, NULL},
    [MKV_TYPE_Q5_0] = {"q5_0", 32, sizeof(mkv_block_q5_0), mkv_q5_0_to_float, NULL},
    [MKV_TYPE_Q5_1] = {"q5_1", 32, sizeof(mkv_block_q5_1), mkv_q5_1_to_float, NULL},
    [MKV_TYPE_Q8_0] = {"q8_0", MKV_QK8_0, sizeof(mkv_block_q8_0), q8_0_to_float, q8_0_from_float},
    [MKV_TYPE_Q2_K] = {"q2_K", MKV_QK_K, sizeof(mkv_block_q2_k), mkv_q2_k_to_float, NULL},
    [MKV_TYPE_Q3_K] = {"q3_K", MKV_QK_K, sizeof(mkv_block_q3_k), mkv_q3_k_to_float, NULL},
    [MKV_TYPE_Q4_K] = {"q4_K", MKV_QK_K, sizeof(mkv_block_q4_k), mkv_q4_k_to_float, NULL},
    [MKV_TYPE_Q5_K] = {"q5_K", MKV_QK_K, sizeof(mkv_block_q5_k), mkv_q5_k_to_float, NULL},
    [MKV_TYPE_Q6_K] = {"q6_K", MKV_QK_K, sizeof(mkv_block_q6_k), mkv_q6_k_to_float, NULL},
    [MKV_TYPE_IQ4_NL] = {"iq4_nl", 32, sizeof(mkv_block_iq4_nl), mkv_iq4_nl_to_float, NULL},
    [MKV_TYPE_BF16] = {"bf16", 1, 2, bf16_to_float, bf16_from_float},
};

/* ggml's `enum ggml_type` names (ggml.c type_traits), for the messages
 * about the types maskkv does not read; ids 4, 5 and 31-33, 36-38 are
 * layouts that ggml removed. */
static const char *const ggml_type_names[] = {
    "f32", "f16", "q4_0", "q4_1", "q4_2 (removed)", "q4_3 (removed)", "q5_0", "q5_1", "q8_0", "q8_1",
    "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s",
    "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64", "iq1_m",
    "bf16", "q4_0_4_4 (removed)", "q4_0_4_8 (removed)", "q4_0_8_8 (removed)", "tq1_0", "tq2_0",
    "iq4_nl_4_4 (removed)", "iq4_nl_4_8 (removed)", "iq4_nl_8_8 (removed)", "mxfp4", "nvfp4", "q1_0", "q2_0",
};

const char *mkv_ggml_type_name(int type_id) {
    if (type_id < 0 || (size_t)type_id >= sizeof ggml_type_names / sizeof ggml_type_names[0]) return NULL;
    return ggml_type_names[type_id];
}

const mkv_dtype_traits *mkv_dtype_info(int type_id) {
    if (type_id < 0 || (size_t)type_id >= sizeof dtype_table / sizeof dtype_table[0]) return NULL;
    return dtype_table[type_id].name ? &dtype_table[type_id] : NULL;
}

bool mkv_dtype_from_name(const char *name, mkv_dtype *out) {
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++) {
        if (dtype_table[i].name && strcasecmp(dtype_table[i].name, name) == 0) {
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
