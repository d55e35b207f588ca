/* Scalar references for every kernel in kernels.h: plain loops, obviously
 * correct, no allocation, used by the tests to check the fast paths. Sums that
 * decide accuracy (dot products, norms) are accumulated in double, so the
 * references are closer to exact than the f32 fast paths they check. */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "util/dtype.h"
#include "util/fp16.h"

/* Elements of W converted per step: a multiple of every block size (32). */
#define REF_ROW_CHUNK 256

/* y[i][o] = sum_k x[i][k] * W[o][k] (+ bias[o]). W is converted to f32 in
 * chunks of a row with the dtype's to_float; the dot products run in double. */
void mkv_matmul_ref(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const mkv_dtype_traits *traits = mkv_dtype_info(w->dtype);
    if (!traits) { /* unsupported dtype: callers check at load time; leave a defined result */
        for (int64_t i = 0; i < n * out; i++) y[i] = 0.0f;
        return;
    }
    const size_t row_bytes = mkv_dtype_row_bytes(w->dtype, in);
    const size_t chunk_bytes = (size_t)(REF_ROW_CHUNK / traits->block_size) * traits->block_bytes;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < out; o++) {
        const unsigned char *w_row = (const unsigned char *)w->data + (size_t)o * row_bytes;
        for (int64_t i = 0; i < n; i++) {
            const float *x_row = x + i * in;
            double dot = 0.0;
            float w_chunk[REF_ROW_CHUNK];
            for (int64_t k0 = 0; k0 < in; k0 += REF_ROW_CHUNK) {
                int64_t len = in - k0 < REF_ROW_CHUNK ? in - k0 : REF_ROW_CHUNK;
                traits->to_float(w_row + (size_t)(k0 / REF_ROW_CHUNK) * chunk_bytes, w_chunk, len);
                for (int64_t k = 0; k < len; k++) dot += (double)x_row[k0 + k] * (double)w_chunk[k];
            }
            y[i * out + o] = (float)dot + (bias ? bias[o] : 0.0f);
        }
    }
}

/* out = x * rsqrt(mean(x^2) + eps) * weight, per row (in place allowed;
 * weight may be NULL for an unweighted norm). */
void mkv_rmsnorm_ref(float *out, const float *x, const float *weight, int64_t n_rows, int dim, float eps) {
    for (int64_t r = 0; r < n_rows; r++) {
        const float *x_row = x + r * dim;
        float *out_row = out + r * dim;
        double sum_squares = 0.0;
        for (int c = 0; c < dim; c++) sum_squares += (double)x_row[c] * x_row[c];
        float inv_rms = 1.0f / sqrtf((float)(sum_squares / dim) + eps);
        for (int c = 0; c < dim; c++) out_row[c] = x_row[c] * inv_rms * (weight ? weight[c] : 1.0f);
    }
}

/* out = silu(gate) * up, silu(g) = g * sigmoid(g) = g / (1 + exp(-g)). */
void mkv_swiglu_ref(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

/* inv_freq_i = 1 / theta^(2i/d) and angle = pos * inv_freq_i, each step in
 * f32 exactly as HF (LLaDA modeling code, Qwen2RotaryEmbedding) computes them;
 * then cos/sin of the f32 angle. */
float mkv_rope_angle(int32_t position, int pair, int head_dim, float theta) {
    float exponent = (float)(2 * pair) / (float)head_dim;
    float inv_freq = 1.0f / powf(theta, exponent);
    return (float)position * inv_freq;
}

/* NEOX rotates (x[i], x[i+d/2]), NORM rotates (x[2i], x[2i+1]), both by the
 * angle of pair i: (a, b) -> (a cos - b sin, b cos + a sin). */
void mkv_rope_ref(float *x, int64_t n_rows, int64_t row_stride, int n_heads, int head_dim, const int32_t *positions,
                  float theta, mkv_rope_style style) {
    const int half = head_dim / 2;
    for (int64_t r = 0; r < n_rows; r++) {
        float *row = x + r * row_stride;
        for (int i = 0; i < half; i++) {
            float angle = mkv_rope_angle(positions[r], i, head_dim, theta);
            float cos_a = cosf(angle), sin_a = sinf(angle);
            int first = style == MKV_ROPE_NEOX ? i : 2 * i;
            int second = style == MKV_ROPE_NEOX ? i + half : 2 * i + 1;
            for (int h = 0; h < n_heads; h++) {
                float *head = row + (int64_t)h * head_dim;
                float a = head[first], b = head[second];
                float a_cos = a * cos_a, b_sin = b * sin_a, b_cos = b * cos_a, a_sin = a * sin_a;
                head[first] = a_cos - b_sin;
                head[second] = b_cos + a_sin;
            }
        }
    }
}

/* x = exp(x - max) / sum, in place. */
void mkv_softmax_ref(float *x, int64_t n) {
    if (n <= 0) return;
    float max = x[0];
    for (int64_t i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv_sum = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv_sum;
}

/* Element i of a key/value array: f32, or bf16 when `bf16`. */
static float kv_element(const void *base, bool bf16, int64_t i) {
    return bf16 ? mkv_bf16_to_f32(((const uint16_t *)base)[i]) : ((const float *)base)[i];
}

/* scale * q.k in double; bf16 compute rounds q to bf16 first (k is bf16). */
static double ref_score(const float *q, const void *k, bool bf16, int head_dim, float scale) {
    double dot = 0.0;
    for (int c = 0; c < head_dim; c++) {
        float q_c = bf16 ? mkv_bf16_to_f32(mkv_f32_to_bf16_ftz(q[c])) : q[c];
        dot += (double)q_c * kv_element(k, bf16, c);
    }
    return dot * scale;
}

/* Naive attention, one query row at a time, with no buffer: pass 1 finds the
 * row max of the scores, pass 2 the softmax denominator and the weighted sum
 * of values, pass 3 (voting queries only) adds each key's probability to the
 * head's vote sums. Scores are recomputed in each pass. With args->bf16 the
 * weights of the values are rounded to bf16 (their sum is not), as the bf16
 * path rounds its probabilities where they enter P.V; its per-tile running
 * max makes the rounded values differ slightly, within the tests' tolerance. */
void mkv_attention_ref(const mkv_attention_args *args) {
    const int group = args->n_heads / args->n_kv_heads;
    const int head_dim = args->head_dim;
    const bool bf16 = args->bf16;
    for (int h = 0; h < args->n_heads; h++) {
        const mkv_kv_head_view *kv = &args->kv[h / group];
        const size_t elem = bf16 ? sizeof(uint16_t) : sizeof(float);
        for (int64_t i = 0; i < args->n_q; i++) {
            const bool voter = args->vote_query && args->vote_sums && args->vote_query[i];
            if (args->votes_only && !voter) continue;
            const float *q = args->q + i * args->q_stride + (int64_t)h * head_dim;
            /* votes only: no output (out may be NULL); a local row takes it */
            float local[args->votes_only ? head_dim : 1];
            float *out = args->votes_only ? local : args->out + i * args->out_stride + (int64_t)h * head_dim;
            for (int c = 0; c < head_dim; c++) out[c] = 0.0f;
            if (kv->n_keys <= 0) continue;
#define KEY(j) ((const unsigned char *)kv->k + (size_t)(j) * (size_t)kv->stride * elem)
#define VALUE(j) ((const unsigned char *)kv->v + (size_t)(j) * (size_t)kv->stride * elem)
            double max_score = -INFINITY;
            for (int64_t j = 0; j < kv->n_keys; j++) {
                double s = ref_score(q, KEY(j), bf16, head_dim, args->scale);
                if (s > max_score) max_score = s;
            }
            double denominator = 0.0;
            for (int64_t j = 0; j < kv->n_keys; j++) {
                double p = exp(ref_score(q, KEY(j), bf16, head_dim, args->scale) - max_score);
                denominator += p;
                float weight = bf16 ? mkv_bf16_to_f32(mkv_f32_to_bf16_ftz((float)p)) : (float)p;
                for (int c = 0; c < head_dim; c++) out[c] += weight * kv_element(VALUE(j), bf16, c);
            }
            for (int c = 0; c < head_dim; c++) out[c] = (float)(out[c] / denominator);
            if (voter) {
                float *votes = args->vote_sums[h];
                for (int64_t j = 0; j < kv->n_keys; j++)
                    votes[j] += (float)(exp(ref_score(q, KEY(j), bf16, head_dim, args->scale) - max_score) / denominator);
            }
#undef KEY
#undef VALUE
        }
    }
}
