/* Tests of the scalar kernel references against hand-computed values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "test.h"
#include "util/alloc.h"
#include "util/dtype.h"

static float ref_uniform(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

TEST(kern_ref_matmul_f32_small) {
    /* W [out=2][in=3], x [n=2][3]: y = x W^T + bias */
    const float weights[6] = {1, 2, 3, -1, 0.5f, 4};
    const float x[6] = {1, 0, -1, 2, 3, 0.25f};
    const float bias[2] = {0.5f, -1};
    mkv_tensor w = {.dtype = MKV_TYPE_F32, .n_dims = 2, .ne = {3, 2, 1, 1}, .data = weights, .n_bytes = sizeof weights};
    float y[4];
    mkv_matmul_ref(y, x, 2, &w, bias);
    CHECK_NEAR(y[0], 1 - 3 + 0.5, 1e-6);
    CHECK_NEAR(y[1], -1 - 4 - 1, 1e-6);
    CHECK_NEAR(y[2], 2 + 6 + 0.75 + 0.5, 1e-6);
    CHECK_NEAR(y[3], -2 + 1.5 + 1 - 1, 1e-6);
}

TEST(kern_ref_matmul_quantized_matches_dequantized) {
    enum { IN = 64, OUT = 5, N = 3 };
    unsigned seed = 7;
    float w_f32[OUT * IN], x[N * IN];
    for (int i = 0; i < OUT * IN; i++) w_f32[i] = ref_uniform(&seed);
    for (int i = 0; i < N * IN; i++) x[i] = ref_uniform(&seed);
    const mkv_dtype types[] = {MKV_TYPE_F16, MKV_TYPE_BF16, MKV_TYPE_Q8_0, MKV_TYPE_Q4_0};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const mkv_dtype_traits *traits = mkv_dtype_info(types[t]);
        unsigned char packed[OUT * IN * 4];
        float dequant[OUT * IN];
        traits->from_float(w_f32, packed, OUT * IN);
        traits->to_float(packed, dequant, OUT * IN);
        mkv_tensor wq = {.dtype = types[t], .n_dims = 2, .ne = {IN, OUT, 1, 1}, .data = packed};
        mkv_tensor wf = {.dtype = MKV_TYPE_F32, .n_dims = 2, .ne = {IN, OUT, 1, 1}, .data = dequant};
        float yq[N * OUT], yf[N * OUT];
        mkv_matmul_ref(yq, x, N, &wq, NULL);
        mkv_matmul_ref(yf, x, N, &wf, NULL);
        for (int i = 0; i < N * OUT; i++) CHECK_NEAR(yq[i], yf[i], 0.0);
    }
}

TEST(kern_ref_rmsnorm_swiglu_softmax) {
    const float x[4] = {1, -2, 3, -4};
    const float weight[4] = {1, 2, 0.5f, 1};
    float out[4];
    mkv_rmsnorm_ref(out, x, weight, 1, 4, 1e-5f);
    double inv_rms = 1.0 / sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-5);
    for (int c = 0; c < 4; c++) CHECK_NEAR(out[c], x[c] * inv_rms * weight[c], 1e-6);

    const float gate[3] = {0, 1, -2}, up[3] = {5, 2, 3};
    float act[3];
    mkv_swiglu_ref(act, gate, up, 3);
    for (int i = 0; i < 3; i++) CHECK_NEAR(act[i], gate[i] / (1 + exp(-gate[i])) * up[i], 1e-6);

    float logits[3] = {1, 2, 3};
    mkv_softmax_ref(logits, 3);
    double z = exp(1) + exp(2) + exp(3);
    for (int i = 0; i < 3; i++) CHECK_NEAR(logits[i], exp(i + 1) / z, 1e-6);
}

/* One head of dim 4 at position 3, theta 10000: pair 0 has inv_freq 1 (angle
 * 3), pair 1 inv_freq 10000^-0.5 = 0.01 (angle 0.03). */
TEST(kern_ref_rope_hand_values) {
    const int32_t position = 3;
    const double angle0 = 3.0, angle1 = 0.03;
    float neox[4] = {1, 2, 3, 4};
    mkv_rope_ref(neox, 1, 4, 1, 4, &position, 10000.0f, MKV_ROPE_NEOX);
    /* NEOX pairs (0,2) and (1,3) */
    CHECK_NEAR(neox[0], 1 * cos(angle0) - 3 * sin(angle0), 1e-6);
    CHECK_NEAR(neox[2], 3 * cos(angle0) + 1 * sin(angle0), 1e-6);
    CHECK_NEAR(neox[1], 2 * cos(angle1) - 4 * sin(angle1), 1e-6);
    CHECK_NEAR(neox[3], 4 * cos(angle1) + 2 * sin(angle1), 1e-6);
    float norm[4] = {1, 2, 3, 4};
    mkv_rope_ref(norm, 1, 4, 1, 4, &position, 10000.0f, MKV_ROPE_NORM);
    /* NORM pairs (0,1) and (2,3) */
    CHECK_NEAR(norm[0], 1 * cos(angle0) - 2 * sin(angle0), 1e-6);
    CHECK_NEAR(norm[1], 2 * cos(angle0) + 1 * sin(angle0), 1e-6);
    CHECK_NEAR(norm[2], 3 * cos(angle1) - 4 * sin(angle1), 1e-6);
    CHECK_NEAR(norm[3], 4 * cos(angle1) + 3 * sin(angle1), 1e-6);
}

/* llama.cpp's converter permutes q/k rows so that, within each head, NORM pair
 * (2i, 2i+1) holds NEOX elements (i, i+d/2); both styles must then agree
 * exactly (same angles, same arithmetic). */
TEST(kern_ref_rope_neox_equals_norm_on_permuted) {
    enum { N_ROWS = 5, N_HEADS = 3, HEAD_DIM = 16, ROW = N_HEADS * HEAD_DIM + 7 };
    unsigned seed = 3;
    float neox[N_ROWS * ROW], norm[N_ROWS * ROW];
    int32_t positions[N_ROWS] = {0, 1, 17, 300, 4095};
    for (int i = 0; i < N_ROWS * ROW; i++) neox[i] = ref_uniform(&seed);
    for (int r = 0; r < N_ROWS; r++)
        for (int h = 0; h < N_HEADS; h++)
            for (int i = 0; i < HEAD_DIM / 2; i++) {
                const float *src = neox + r * ROW + h * HEAD_DIM;
                float *dst = norm + r * ROW + h * HEAD_DIM;
                dst[2 * i] = src[i];
                dst[2 * i + 1] = src[i + HEAD_DIM / 2];
            }
    mkv_rope_ref(neox, N_ROWS, ROW, N_HEADS, HEAD_DIM, positions, 500000.0f, MKV_ROPE_NEOX);
    mkv_rope_ref(norm, N_ROWS, ROW, N_HEADS, HEAD_DIM, positions, 500000.0f, MKV_ROPE_NORM);
    for (int r = 0; r < N_ROWS; r++)
        for (int h = 0; h < N_HEADS; h++)
            for (int i = 0; i < HEAD_DIM / 2; i++) {
                const float *a = neox + r * ROW + h * HEAD_DIM, *b = norm + r * ROW + h * HEAD_DIM;
                CHECK(a[i] == b[2 * i]);
                CHECK(a[i + HEAD_DIM / 2] == b[2 * i + 1]);
            }
}

/* Attention reference against an explicit probability matrix (GQA 4 -> 2,
 * KV heads with different lengths and strides, vote sums). */
TEST(kern_ref_attention_explicit_probabilities) {
    enum { N_Q = 3, N_HEADS = 4, N_KV = 2, D = 8, MAX_KEYS = 6 };
    unsigned seed = 11;
    float q[N_Q * N_HEADS * D], out[N_Q * N_HEADS * D];
    float keys[2][MAX_KEYS * 10], values[2][MAX_KEYS * 10];
    for (int i = 0; i < N_Q * N_HEADS * D; i++) q[i] = ref_uniform(&seed);
    for (int g = 0; g < 2; g++)
        for (int i = 0; i < MAX_KEYS * 10; i++) keys[g][i] = ref_uniform(&seed), values[g][i] = ref_uniform(&seed);
    mkv_kv_head_view kv[N_KV] = {{keys[0], values[0], 6, 10}, {keys[1], values[1], 4, 8}};
    float votes[N_HEADS][MAX_KEYS];
    memset(votes, 0, sizeof votes);
    float *vote_rows[N_HEADS] = {votes[0], votes[1], votes[2], votes[3]};
    const uint8_t vote_query[N_Q] = {1, 0, 1};
    mkv_attention_args args = {.q = q, .n_q = N_Q, .q_stride = N_HEADS * D, .out = out, .out_stride = N_HEADS * D,
                               .n_heads = N_HEADS, .n_kv_heads = N_KV, .head_dim = D, .kv = kv,
                               .scale = 1.0f / sqrtf(D), .vote_query = vote_query, .vote_sums = vote_rows};
    mkv_attention_ref(&args);
    for (int h = 0; h < N_HEADS; h++) {
        const mkv_kv_head_view *view = &kv[h / 2];
        double expected_votes[MAX_KEYS] = {0};
        for (int i = 0; i < N_Q; i++) {
            double p[MAX_KEYS], z = 0;
            for (int j = 0; j < view->n_keys; j++) {
                double s = 0;
                for (int c = 0; c < D; c++) s += q[i * N_HEADS * D + h * D + c] * ((const float *)view->k)[j * view->stride + c];
                p[j] = exp(s / sqrt(D));
                z += p[j];
            }
            for (int c = 0; c < D; c++) {
                double o = 0;
                for (int j = 0; j < view->n_keys; j++) o += p[j] / z * ((const float *)view->v)[j * view->stride + c];
                CHECK_NEAR(out[i * N_HEADS * D + h * D + c], o, 1e-6);
            }
            if (vote_query[i])
                for (int j = 0; j < view->n_keys; j++) expected_votes[j] += p[j] / z;
        }
        for (int j = 0; j < view->n_keys; j++) CHECK_NEAR(votes[h][j], expected_votes[j], 1e-6);
    }
}
