/* Forward logits of llama-quantize's files (tests/models/llada-q256-*,
 * llada-q160-*; README there) against the f32 forward on their own
 * dequantized weights: the same model loaded a second time with every
 * tensor replaced by its f32 dequantization (to_float). Relative error
 * max|a-b| / max|b| <= 1e-4, on every ISA; in fact bit-identical, because
 * the fast matmul multiplies the exact dequantized values with the same f32
 * FMA chains whatever the weight type (and the reference sums in double). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model.h"
#include "synthetic_model.h"
#include "test.h"
#include "util/dtype.h"

static int64_t n_elements(const mkv_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < MKV_MAX_DIMS; d++) n *= t->ne[d];
    return n;
}

/* Replaces every tensor of `m` by an f32 copy; returns the buffers to free after the model. */
static float **dequantize_in_place(mkv_model *m) {
    float **buffers = calloc((size_t)m->n_tensors, sizeof *buffers);
    for (int i = 0; i < m->n_tensors; i++) {
        mkv_tensor *t = &m->tensors[i];
        const int64_t n = n_elements(t);
        buffers[i] = malloc((size_t)n * sizeof(float));
        mkv_dtype_info(t->dtype)->to_float(t->data, buffers[i], n);
        t->dtype = MKV_TYPE_F32;
        t->data = buffers[i];
        t->n_bytes = (size_t)n * sizeof(float);
    }
    return buffers;
}

static void compare_with_dequantized(const char *file, int expect_quantized_types) {
    mkv_model *q = NULL, *f = NULL;
    REQUIRE(mkv_model_load(mkv_test_path(file), &q) == MKV_OK);
    REQUIRE(mkv_model_load(mkv_test_path(file), &f) == MKV_OK);
    int quantized = 0;
    for (int i = 0; i < q->n_tensors; i++) quantized += mkv_dtype_info(q->tensors[i].dtype)->block_size > 1;
    CHECK_MSG(quantized >= expect_quantized_types, "%s: %d quantized tensors", file, quantized);
    float **buffers = dequantize_in_place(f);

    /* prompt-like tokens plus masked positions, every id in the vocabulary */
    enum { N = 45 };
    int32_t ids[N];
    unsigned state = 77;
    for (int i = 0; i < N; i++) {
        state = state * 1664525u + 1013904223u;
        ids[i] = i % 4 == 3 ? q->hp.mask_id : (int32_t)((state >> 8) % (unsigned)q->hp.n_vocab);
    }
    const char *isas[] = {"avx512", "avx2", "scalar"};
    for (int isa = 0; isa < 3; isa++) {
        if (!mkv_kernels_force_isa(isas[isa])) continue;
        float *lq = mkv_test_forward_all(q, ids, N), *lf = mkv_test_forward_all(f, ids, N);
        REQUIRE(lq && lf);
        double max_diff = 0.0, max_ref = 0.0;
        int64_t differ = 0;
        for (int64_t i = 0; i < (int64_t)N * q->hp.n_vocab; i++) {
            max_diff = fmax(max_diff, fabs((double)lq[i] - lf[i]));
            max_ref = fmax(max_ref, fabs((double)lf[i]));
            differ += memcmp(&lq[i], &lf[i], sizeof(float)) != 0;
        }
        CHECK_MSG(max_ref > 0.1 && max_diff <= 1e-4 * max_ref, "%s [%s]: max|diff| %.3g, max|logit| %.3g", file,
                  isas[isa], max_diff, max_ref);
        CHECK_MSG(differ == 0, "%s [%s]: %lld logits not bit-identical to the f32 forward", file, isas[isa],
                  (long long)differ);
        free(lq);
        free(lf);
    }
    mkv_kernels_force_isa("auto");
    const int n_tensors = f->n_tensors;
    mkv_model_free(f);
    for (int i = 0; i < n_tensors; i++) free(buffers[i]);
    free(buffers);
    mkv_model_free(q);
}

TEST(quants_forward_q4_k_m_equals_dequantized_f32) { compare_with_dequantized("models/llada-q256-q4_k_m.gguf", 23); }
TEST(quants_forward_q6_k_equals_dequantized_f32) { compare_with_dequantized("models/llada-q256-q6_k.gguf", 23); }
TEST(quants_forward_q2_k_q3_k_m_equal_dequantized_f32) {
    compare_with_dequantized("models/llada-q256-q2_k.gguf", 23);
    compare_with_dequantized("models/llada-q256-q3_k_m.gguf", 23);
}
TEST(quants_forward_fallback_types_equal_dequantized_f32) {
    compare_with_dequantized("models/llada-q160-q4_k_m.gguf", 16);   /* q5_0, q8_0 */
    compare_with_dequantized("models/llada-q160-q5_k_m.gguf", 16);   /* q5_1, q8_0 */
    compare_with_dequantized("models/llada-q160-iq4_xs.gguf", 16);   /* iq4_nl, q8_0 */
    compare_with_dequantized("models/llada-q160-q4_1.gguf", 16);     /* q4_1, q8_0 */
}
