#include "quant_blocks.h"

#include <stddef.h>
#include <string.h>

#include "util/dtype.h"
#include "util/fp16.h"

/* Byte offsets of a block's f16 fields (-1: none). */
static void scale_offsets(mkv_dtype dtype, int *d, int *m) {
    *m = -1;
    switch (dtype) {
    case MKV_TYPE_Q4_1: *d = offsetof(mkv_block_q4_1, d), *m = offsetof(mkv_block_q4_1, m); break;
    case MKV_TYPE_Q5_1: *d = offsetof(mkv_block_q5_1, d), *m = offsetof(mkv_block_q5_1, m); break;
    case MKV_TYPE_Q2_K: *d = offsetof(mkv_block_q2_k, d), *m = offsetof(mkv_block_q2_k, dmin); break;
    case MKV_TYPE_Q3_K: *d = offsetof(mkv_block_q3_k, d); break;
    case MKV_TYPE_Q4_K: *d = offsetof(mkv_block_q4_k, d), *m = offsetof(mkv_block_q4_k, dmin); break;
    case MKV_TYPE_Q5_K: *d = offsetof(mkv_block_q5_k, d), *m = offsetof(mkv_block_q5_k, dmin); break;
    case MKV_TYPE_Q6_K: *d = offsetof(mkv_block_q6_k, d); break;
    default: *d = 0; break; /* q4_0, q5_0, q8_0, iq4_nl: d first */
    }
}

static unsigned next(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void put_f16(unsigned char *p, unsigned *state) {
    float v = ((float)(next(state) & 0xffff) / 65536.0f * 2.0f - 1.0f) * 0.02f;
    uint16_t h = mkv_f32_to_f16(v);
    memcpy(p, &h, 2);
}

void mkv_test_random_blocks(mkv_dtype dtype, void *blocks, int64_t n_blocks, unsigned seed) {
    const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
    unsigned char *p = blocks;
    unsigned state = seed * 2654435761u + 1;
    int d, m;
    scale_offsets(dtype, &d, &m);
    for (int64_t b = 0; b < n_blocks; b++, p += traits->block_bytes) {
        for (size_t i = 0; i < traits->block_bytes; i++) p[i] = (unsigned char)next(&state);
        put_f16(p + d, &state);
        if (m >= 0) put_f16(p + m, &state);
    }
}
