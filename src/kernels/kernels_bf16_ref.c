/* Scalar references of the bf16 compute kernels: the same roundings and the
 * same order of f32 operations as the vdpbf16ps path (kernels_avx512bf16.c
 * through matmul.c), so the two give identical bits; the tests compare them
 * exactly. Also the fallback when the CPU lacks AVX512-BF16. */
#include <math.h>

#include "kernels/kernels.h"
#include "util/dtype.h"
#include "util/fp16.h"

/* Elements of W converted per step (a multiple of every block size). */
#define REF_ROW_CHUNK 256

static float flush_subnormal(float x) { return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x; }

static float bf16_input(uint16_t h) { return flush_subnormal(mkv_bf16_to_f32(h)); }

float mkv_bf16_dot_step(float acc, uint16_t a0, uint16_t a1, uint16_t b0, uint16_t b1) {
    /* bf16 x bf16 products are exact in f32 (8 + 8 significant bits) */
    float t = flush_subnormal(acc);
    t = flush_subnormal(t + bf16_input(a1) * bf16_input(b1));
    return flush_subnormal(t + bf16_input(a0) * bf16_input(b0));
}

/* W row o as bf16: BF16 weights as stored, others converted to f32 with the
 * dtype's to_float (exact) and rounded like the packed panels. */
static void weight_row_bf16(const mkv_tensor *w, const mkv_dtype_traits *traits, int64_t o, uint16_t *row) {
    const int64_t in = w->ne[0];
    const unsigned char *src = (const unsigned char *)w->data + (size_t)o * mkv_dtype_row_bytes(w->dtype, in);
    if (w->dtype == MKV_TYPE_BF16) {
        for (int64_t k = 0; k < in; k++) row[k] = ((const uint16_t *)(const void *)src)[k];
        return;
    }
    const size_t chunk_bytes = (size_t)(REF_ROW_CHUNK / traits->block_size) * traits->block_bytes;
    float chunk[REF_ROW_CHUNK];
    for (int64_t k0 = 0; k0 < in; k0 += REF_ROW_CHUNK) {
        const int64_t len = in - k0 < REF_ROW_CHUNK ? in - k0 : REF_ROW_CHUNK;
        traits->to_float(src + (size_t)(k0 / REF_ROW_CHUNK) * chunk_bytes, chunk, len);
        for (int64_t k = 0; k < len; k++) row[k0 + k] = mkv_f32_to_bf16_ftz(chunk[k]);
    }
}

void mkv_matmul_bf16_ref(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const mkv_dtype_traits *traits = mkv_dtype_info(w->dtype);
    if (!traits) { /* unsupported dtype: callers check at load time; leave a defined result */
        for (int64_t i = 0; i < n * out; i++) y[i] = 0.0f;
        return;
    }
#pragma omp parallel
    {
        uint16_t w_row[in + 1], x_row[in + 1]; /* + 1: an odd k ends with the pair (last, 0) */
        w_row[in] = x_row[in] = 0;
#pragma omp for schedule(static)
        for (int64_t o = 0; o < out; o++) {
            weight_row_bf16(w, traits, o, w_row);
            for (int64_t i = 0; i < n; i++) {
                for (int64_t k = 0; k < in; k++) x_row[k] = mkv_f32_to_bf16_ftz(x[i * in + k]);
                float acc = 0.0f;
                for (int64_t k = 0; k < in; k += 2) acc = mkv_bf16_dot_step(acc, x_row[k], x_row[k + 1], w_row[k], w_row[k + 1]);
                y[i * out + o] = bias ? acc + bias[o] : acc;
            }
        }
    }
}
