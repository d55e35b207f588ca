/* bf16 compute kernels: the vdpbf16ps path against its scalar reference
 * (identical bits: same roundings, same order), the reference's pair step
 * against the instruction, and both against the f32 kernels within bf16
 * tolerance; the AMX path (no bit-exact twin: kernels_amx.c) against the
 * exact sums of the same bf16 operands within f32 accumulation error, and
 * the attention tests on every bf16 path the CPU has. Skipped parts say so
 * on CPUs without AVX512-BF16 or AMX (the scalar reference is then what bf16
 * compute runs, and its tolerance tests still run). */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_amx.h"
#include "quant_blocks.h"
#include "test.h"
#include "util/dtype.h"
#include "util/fp16.h"

static unsigned next_random(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static float uniform(unsigned *state) { return (float)(next_random(state) & 0xffffff) / 16777216.0f * 2.0f - 1.0f; }

static float *random_floats(int64_t count, unsigned *seed, float amplitude) {
    float *values = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    for (int64_t i = 0; i < count; i++) values[i] = amplitude * uniform(seed);
    return values;
}

static float round_bf16(float x) { return mkv_bf16_to_f32(mkv_f32_to_bf16_ftz(x)); }

/* A random bf16 with a normal exponent in [2^-27, 2^28). */
static uint16_t random_bf16(unsigned *seed) {
    unsigned r = next_random(seed);
    return (uint16_t)((r & 1u) << 15 | (100u + (r >> 1) % 56u) << 7 | ((r >> 7) & 127u));
}

__attribute__((target("avx512f,avx512bf16"))) static void dpbf16_lanes(float *acc, const uint16_t *a, const uint16_t *b) {
    __m512 r = _mm512_dpbf16_ps(_mm512_loadu_ps(acc), (__m512bh)_mm512_loadu_si512(a), (__m512bh)_mm512_loadu_si512(b));
    _mm512_storeu_ps(acc, r);
}

TEST(kern_bf16_dot_step_equals_vdpbf16ps) {
    if (!mkv_cpu_has_bf16_dot()) mkv_test_skip("no AVX512-BF16 on this CPU: vdpbf16ps cannot be compared");
    unsigned seed = 77;
    int mismatches = 0;
    for (int it = 0; it < 20000; it++) {
        uint16_t a[32], b[32];
        float acc[16], expected[16];
        for (int i = 0; i < 32; i++) {
            a[i] = random_bf16(&seed);
            b[i] = random_bf16(&seed);
        }
        for (int i = 0; i < 16; i++) acc[i] = i % 4 == 0 ? 0.0f : mkv_bf16_to_f32(random_bf16(&seed)) * (1.0f + uniform(&seed) / 8);
        for (int i = 0; i < 16; i++) expected[i] = mkv_bf16_dot_step(acc[i], a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]);
        dpbf16_lanes(acc, a, b);
        mismatches += memcmp(acc, expected, sizeof acc) != 0;
    }
    CHECK_EQ_INT(mismatches, 0);
}

TEST(kern_bf16_rounding_is_nearest_even) {
    CHECK(mkv_f32_to_bf16_ftz(1.0f + ldexpf(1.0f, -8)) == 0x3f80);           /* tie -> even (down) */
    CHECK(mkv_f32_to_bf16_ftz(1.0f + 3 * ldexpf(1.0f, -8)) == 0x3f82);       /* tie -> even (up)   */
    CHECK(mkv_f32_to_bf16_ftz(1.0f + ldexpf(1.0f, -8) + ldexpf(1.0f, -20)) == 0x3f81);
    CHECK(mkv_f32_to_bf16_ftz(ldexpf(1.0f, -130)) == 0x0000);                /* subnormal -> 0     */
    CHECK(mkv_f32_to_bf16_ftz(-ldexpf(1.0f, -130)) == 0x8000);
    CHECK(mkv_f32_to_bf16(ldexpf(1.0f, -130)) != 0);                          /* PyTorch keeps it   */
}

/* |y - exact(x.W)| <= (2^-7 + (k + 2) 2^-24) sum |x w|: each operand rounded
 * to bf16 (8 significant bits, unit roundoff 2^-8) moves a product by at most
 * ~2^-7 relative, then the f32 accumulation as on the f32 path. */
static int check_near_exact(const float *y, const float *x, const float *w_exact, int64_t n, int64_t in, int64_t out,
                            const float *bias) {
    int failures = 0;
    for (int64_t i = 0; i < n && failures < 5; i++)
        for (int64_t o = 0; o < out && failures < 5; o++) {
            double exact = bias ? bias[o] : 0.0, magnitude = bias ? fabs(bias[o]) : 0.0;
            for (int64_t k = 0; k < in; k++) {
                double term = (double)x[i * in + k] * w_exact[o * in + k];
                exact += term;
                magnitude += fabs(term);
            }
            double tolerance = (ldexp(1.0, -7) + (double)(in + 2) * ldexp(1.0, -24)) * magnitude + 1e-30;
            if (!(fabs(y[i * out + o] - exact) <= tolerance)) {
                mkv_test_fail(__FILE__, __LINE__, "y[%lld][%lld] = %.9g, exact %.9g (tol %.3g)", (long long)i, (long long)o,
                              y[i * out + o], exact, tolerance);
                failures++;
            }
        }
    return failures;
}

/* W [out][in] in `dtype` from random values (K-quants, which have no
 * quantizer here: random blocks) and its exact f32 values. */
typedef struct {
    mkv_tensor w;
    void *data; /* w.data, owned */
    float *exact;
} test_weights;

static test_weights random_weights(mkv_dtype dtype, int64_t in, int64_t out, unsigned *seed) {
    const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
    float *source = random_floats(in * out, seed, 1.0f);
    size_t bytes = mkv_dtype_row_bytes(dtype, in) * (size_t)out;
    void *data = malloc(bytes);
    if (traits->from_float) traits->from_float(source, data, in * out);
    else mkv_test_random_blocks(dtype, data, in * out / traits->block_size, (*seed)++);
    test_weights t = {{.dtype = dtype, .n_dims = 2, .ne = {in, out, 1, 1}, .data = data, .n_bytes = bytes}, data,
                      malloc((size_t)(in * out) * sizeof(float))};
    traits->to_float(data, t.exact, in * out);
    free(source);
    return t;
}

static void free_weights(test_weights *t) {
    free(t->data);
    free(t->exact);
}

/* y_ref = the scalar reference, y = mkv_matmul_bf16 on 2 threads, y1 = on 1. */
static void matmul_bf16_three_ways(float *y_ref, float *y, float *y1, const float *x, int64_t n, const mkv_tensor *w,
                                   const float *bias) {
    const int saved_threads = omp_get_max_threads();
    mkv_matmul_bf16_ref(y_ref, x, n, w, bias);
    omp_set_num_threads(2);
    mkv_matmul_bf16(y, x, n, w, bias);
    omp_set_num_threads(1);
    mkv_matmul_bf16(y1, x, n, w, bias);
    omp_set_num_threads(saved_threads);
}

/* A matmul case's random input (drawn after its weights), optional bias and
 * the three outputs of matmul_bf16_three_ways. */
typedef struct {
    float *x, *bias, *y_ref, *y, *y1;
} matmul_buffers;

static matmul_buffers matmul_buffers_alloc(int64_t n, int64_t in, int64_t out, bool with_bias, unsigned *seed) {
    matmul_buffers b;
    b.x = random_floats(n * in, seed, 1.0f);
    b.bias = with_bias ? random_floats(out, seed, 1.0f) : NULL;
    b.y_ref = malloc((size_t)(n * out) * sizeof(float));
    b.y = malloc((size_t)(n * out) * sizeof(float));
    b.y1 = malloc((size_t)(n * out) * sizeof(float));
    return b;
}

static void matmul_buffers_free(matmul_buffers *b) {
    free(b->x);
    free(b->bias);
    free(b->y_ref);
    free(b->y);
    free(b->y1);
}

TEST(kern_bf16_matmul_simd_equals_reference_all_dtypes) {
    const mkv_dtype dtypes[] = {MKV_TYPE_BF16, MKV_TYPE_F32, MKV_TYPE_F16, MKV_TYPE_Q8_0, MKV_TYPE_Q4_0, MKV_TYPE_Q4_K};
    const int64_t ins[] = {7, 61, 256, 608};
    const int64_t ns[] = {1, 3, 17, 100};
    const int64_t outs[] = {5, 77, 600};
    unsigned seed = 9001;
    /* the vdpbf16ps kernels (auto may pick AMX); without them the dispatcher runs the reference */
    if (!mkv_kernels_force_isa("avx512bf16")) printf("     (no AVX512-BF16: the reference against itself)\n");
    for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++)
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 4; b++)
                for (size_t c = 0; c < 3; c++) {
                    const mkv_dtype dtype = dtypes[t];
                    const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
                    const int64_t in = ins[a], n = ns[b], out = outs[c];
                    if (in % traits->block_size) continue;
                    if ((a + b + c) % 2 && dtype != MKV_TYPE_BF16) continue; /* half the grid for the other dtypes */
                    test_weights tw = random_weights(dtype, in, out, &seed);
                    const mkv_tensor w = tw.w;
                    const float *w_exact = tw.exact;
                    matmul_buffers b = matmul_buffers_alloc(n, in, out, (a + c) % 2, &seed);
                    matmul_bf16_three_ways(b.y_ref, b.y, b.y1, b.x, n, &w, b.bias);
                    CHECK_MSG(memcmp(b.y, b.y_ref, (size_t)(n * out) * sizeof(float)) == 0,
                              "%s in %lld n %lld out %lld: SIMD != reference", traits->name, (long long)in, (long long)n,
                              (long long)out);
                    CHECK(memcmp(b.y, b.y1, (size_t)(n * out) * sizeof(float)) == 0);
                    if (check_near_exact(b.y, b.x, w_exact, n, in, out, b.bias))
                        mkv_test_fail(__FILE__, __LINE__, "%s in %lld n %lld out %lld: off the f32 product", traits->name,
                                      (long long)in, (long long)n, (long long)out);
                    free_weights(&tw);
                    matmul_buffers_free(&b);
                }
    mkv_kernels_force_isa("auto");
}

/* AMX: |y - exact(bf16(x) . bf16(W))| <= (k + 2) 2^-24 sum |bf16(x) bf16(w)|
 * (f32 accumulation of the exact pair products, in whatever order the tile
 * unit adds them), and within twice that of the vdpbf16ps reference; the
 * same bits on 1 and 2 threads and for a row computed alone. */
static int check_near_exact_bf16(const float *y, const float *x, const float *w_exact, int64_t n, int64_t in, int64_t out,
                                 const float *bias, const float *y_ref) {
    int failures = 0;
    for (int64_t i = 0; i < n && failures < 5; i++)
        for (int64_t o = 0; o < out && failures < 5; o++) {
            double exact = bias ? bias[o] : 0.0, magnitude = bias ? fabs(bias[o]) : 0.0;
            for (int64_t k = 0; k < in; k++) {
                double term = (double)round_bf16(x[i * in + k]) * round_bf16(w_exact[o * in + k]);
                exact += term;
                magnitude += fabs(term);
            }
            const double tolerance = (double)(in + 2) * ldexp(1.0, -24) * magnitude + 1e-30;
            const double got = y[i * out + o];
            if (!(fabs(got - exact) <= tolerance) || !(fabs(got - y_ref[i * out + o]) <= 2 * tolerance)) {
                mkv_test_fail(__FILE__, __LINE__, "y[%lld][%lld] = %.9g, exact %.9g, vdpbf16ps %.9g (tol %.3g)", (long long)i,
                              (long long)o, got, exact, y_ref[i * out + o], tolerance);
                failures++;
            }
        }
    return failures;
}

/* One AMX GEMM shape: bounded as above, same bits on 1 and 2 threads and
 * for the middle row alone. */
static void check_amx_shape(mkv_dtype dtype, int64_t in, int64_t n, int64_t out, bool with_bias, unsigned *seed) {
    const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
    test_weights tw = random_weights(dtype, in, out, seed);
    const mkv_tensor w = tw.w;
    matmul_buffers b = matmul_buffers_alloc(n, in, out, with_bias, seed);
    float *y_row = malloc((size_t)out * sizeof(float));
    matmul_bf16_three_ways(b.y_ref, b.y, b.y1, b.x, n, &w, b.bias);
    const int64_t row = n / 2;
    mkv_matmul_bf16(y_row, b.x + row * in, 1, &w, b.bias);
    CHECK(memcmp(b.y, b.y1, (size_t)(n * out) * sizeof(float)) == 0);
    CHECK_MSG(memcmp(y_row, b.y + row * out, (size_t)out * sizeof(float)) == 0,
              "%s in %lld n %lld out %lld: row %lld alone differs", traits->name, (long long)in, (long long)n,
              (long long)out, (long long)row);
    if (check_near_exact_bf16(b.y, b.x, tw.exact, n < 40 ? n : 40, in, out, b.bias, b.y_ref))
        mkv_test_fail(__FILE__, __LINE__, "%s in %lld n %lld out %lld: AMX off the exact bf16 product", traits->name,
                      (long long)in, (long long)n, (long long)out);
    free_weights(&tw);
    matmul_buffers_free(&b);
    free(y_row);
}

TEST(kern_bf16_matmul_amx_within_f32_accumulation_error) {
    if (!mkv_kernels_force_isa("amx")) mkv_test_skip("no AMX tiles on this CPU (or not granted by the OS)");
    const mkv_dtype dtypes[] = {MKV_TYPE_BF16, MKV_TYPE_F32, MKV_TYPE_Q8_0, MKV_TYPE_Q4_K};
    const int64_t ins[] = {7, 64, 256, 608, 3072};
    const int64_t ns[] = {1, 17, 100, 2100};
    const int64_t outs[] = {5, 77, 600};
    unsigned seed = 4242;
    int cases = 0;
    for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++)
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 4; b++)
                for (size_t c = 0; c < 3; c++) {
                    const int64_t in = ins[a], n = ns[b], out = outs[c];
                    if (in % mkv_dtype_info(dtypes[t])->block_size || (a + b + c + t) % 3) continue; /* a third */
                    if (n * in * out > 200000000) continue;
                    check_amx_shape(dtypes[t], in, n, out, (a + c) % 2, &seed);
                    cases++;
                }
    /* k beyond one pass of the kernel (4096): C goes back to the tiles between passes, and
     * fewer columns per work item keep the packed W in L2 */
    const struct {
        mkv_dtype dtype;
        int64_t in, n, out;
    } deep[] = {{MKV_TYPE_BF16, 4701, 33, 70}, {MKV_TYPE_Q8_0, 4608, 20, 100}, {MKV_TYPE_F32, 8200, 9, 40},
                {MKV_TYPE_Q4_K, 12288, 5, 300}};
    for (size_t i = 0; i < sizeof deep / sizeof deep[0]; i++, cases++)
        check_amx_shape(deep[i].dtype, deep[i].in, deep[i].n, deep[i].out, i % 2, &seed);
    mkv_kernels_force_isa("auto");
    printf("     %d AMX matmul shapes checked\n", cases);
    CHECK(cases > 20);
}

/* The bf16 path rounds exactly where it says: with operands already bf16
 * values, its result equals the f32 path's up to f32 accumulation order. */
TEST(kern_bf16_matmul_of_bf16_values_is_f32_accurate) {
    unsigned seed = 31;
    const int64_t in = 96, n = 20, out = 40;
    float *x = random_floats(n * in, &seed, 1.0f), *wf = random_floats(in * out, &seed, 1.0f);
    for (int64_t i = 0; i < n * in; i++) x[i] = round_bf16(x[i]);
    for (int64_t i = 0; i < in * out; i++) wf[i] = round_bf16(wf[i]);
    mkv_tensor w = {.dtype = MKV_TYPE_F32, .n_dims = 2, .ne = {in, out, 1, 1}, .data = wf, .n_bytes = (size_t)(in * out) * 4};
    float y16[20 * 40], y32[20 * 40];
    mkv_matmul_bf16(y16, x, n, &w, NULL);
    mkv_matmul(y32, x, n, &w, NULL);
    for (int64_t i = 0; i < n * out; i++) CHECK_NEAR(y16[i], y32[i], 1e-5 * (1 + fabs(y32[i])));
    free(x);
    free(wf);
}

/* ------------------------------------------------------------ attention */
typedef struct {
    int n_heads, n_kv_heads, head_dim;
    int64_t n_q;
    int64_t key_counts[4];
    int vote_every;
} bf16_attention_case;

static void run_bf16_attention(const bf16_attention_case *tc, unsigned seed) {
    const int d = tc->head_dim;
    const int64_t q_stride = (int64_t)tc->n_heads * d + 3, out_stride = (int64_t)tc->n_heads * d;
    float *q = random_floats(tc->n_q * q_stride, &seed, 1.5f);
    uint16_t *kv16[4];
    float *kv32[4];
    mkv_kv_head_view view16[4], view32[4];
    int64_t max_keys = 1;
    for (int g = 0; g < tc->n_kv_heads; g++) {
        const int64_t stride = d + 2 * g, count = tc->key_counts[g], total = 2 * (count + 1) * stride;
        float *values = random_floats(total, &seed, 1.5f);
        kv16[g] = malloc((size_t)total * sizeof(uint16_t));
        kv32[g] = malloc((size_t)total * sizeof(float));
        for (int64_t i = 0; i < total; i++) {
            kv16[g][i] = mkv_f32_to_bf16(values[i]);
            kv32[g][i] = mkv_bf16_to_f32(kv16[g][i]);
        }
        free(values);
        view16[g] = (mkv_kv_head_view){kv16[g], kv16[g] + (count + 1) * stride, count, stride};
        view32[g] = (mkv_kv_head_view){kv32[g], kv32[g] + (count + 1) * stride, count, stride};
        if (count > max_keys) max_keys = count;
    }
    uint8_t *vote_query = malloc((size_t)tc->n_q);
    for (int64_t i = 0; i < tc->n_q; i++) vote_query[i] = tc->vote_every && i % tc->vote_every == 0;
    float *votes[3][8];
    for (int r = 0; r < 3; r++)
        for (int h = 0; h < tc->n_heads; h++) votes[r][h] = calloc((size_t)max_keys, sizeof(float));
    float *out[4];
    for (int r = 0; r < 4; r++) out[r] = calloc((size_t)(tc->n_q * out_stride), sizeof(float));
    mkv_attention_args args = {.q = q, .n_q = tc->n_q, .q_stride = q_stride, .out_stride = out_stride,
                               .n_heads = tc->n_heads, .n_kv_heads = tc->n_kv_heads, .head_dim = d,
                               .scale = 1.0f / sqrtf((float)d), .vote_query = tc->vote_every ? vote_query : NULL};
    /* 0: bf16 reference, 1: bf16 kernel (2 threads), 2: bf16 kernel (1 thread), 3: f32 kernel on the same K/V */
    args.bf16 = true;
    args.kv = view16;
    args.out = out[0];
    args.vote_sums = votes[0];
    mkv_attention_ref(&args);
    const int saved_threads = omp_get_max_threads();
    omp_set_num_threads(2);
    args.out = out[1];
    args.vote_sums = votes[1];
    mkv_attention(&args);
    omp_set_num_threads(1);
    args.out = out[2];
    args.vote_sums = votes[2];
    mkv_attention(&args);
    /* votes only (no output): the vote sums of the full bf16 call, bit for bit */
    float *votes_only[8];
    for (int h = 0; h < tc->n_heads; h++) votes_only[h] = calloc((size_t)max_keys, sizeof(float));
    if (tc->vote_every) {
        omp_set_num_threads(2);
        args.out = NULL;
        args.votes_only = true;
        args.vote_sums = votes_only;
        mkv_attention(&args);
        args.votes_only = false;
        for (int h = 0; h < tc->n_heads; h++)
            CHECK_MSG(memcmp(votes_only[h], votes[1][h], (size_t)max_keys * sizeof(float)) == 0,
                      "bf16 head %d: votes-only sums differ from the full pass", h);
    }
    for (int h = 0; h < tc->n_heads; h++) free(votes_only[h]);
    omp_set_num_threads(saved_threads);
    /* values prepared once (AMX: V^T) give the same bits as a call that
     * prepares its own; with fewer than 64 queries a call without them runs
     * vdpbf16ps, so the prepared (AMX) result is held to the reference */
    mkv_attention_values *prepared = mkv_attention_prepare_values(&args);
    if (prepared) {
        float *out_prepared = calloc((size_t)(tc->n_q * out_stride), sizeof(float));
        float *votes_prepared[8];
        for (int h = 0; h < tc->n_heads; h++) votes_prepared[h] = calloc((size_t)max_keys, sizeof(float));
        args.out = out_prepared;
        args.vote_sums = votes_prepared;
        args.values = prepared;
        mkv_attention(&args);
        args.values = NULL;
        if (tc->n_q >= 64) {
            CHECK(memcmp(out_prepared, out[2], (size_t)(tc->n_q * out_stride) * sizeof(float)) == 0);
            for (int h = 0; tc->vote_every && h < tc->n_heads; h++)
                CHECK(memcmp(votes_prepared[h], votes[2][h], (size_t)max_keys * sizeof(float)) == 0);
        } else {
            int off = 0;
            for (int64_t e = 0; e < tc->n_q * out_stride; e++)
                off += !(fabsf(out_prepared[e] - out[0][e]) <= 1.5f * 0x1p-8f + 1.5e-5f);
            CHECK_EQ_INT(off, 0);
            for (int h = 0; tc->vote_every && h < tc->n_heads; h++)
                for (int64_t j = 0; j < view16[h / (tc->n_heads / tc->n_kv_heads)].n_keys; j++)
                    CHECK_NEAR(votes_prepared[h][j], votes[0][h][j], 1e-5 * fabs(votes[0][h][j]) + 1e-6);
        }
        for (int h = 0; h < tc->n_heads; h++) free(votes_prepared[h]);
        free(out_prepared);
        mkv_attention_values_free(prepared);
    } else {
        CHECK(!mkv_cpu_has_amx() || tc->head_dim % 32 != 0); /* AMX with a 32-multiple head_dim prepares V^T */
    }
    args.bf16 = false;
    args.kv = view32;
    args.out = out[3];
    args.vote_sums = NULL;
    args.vote_query = NULL;
    mkv_attention(&args);
    /* kernel vs reference: the same bf16 inputs; the probabilities' bf16
     * rounding differs (tile max vs row max), <= 2^-8 relative per weight:
     * 2^-8 * 1.5 (|v|) plus the f32 path's 1.5e-5. Against f32 compute: also
     * q rounded (scores off by <= 2^-8 |q||k| scale), 2e-2 absolute. */
    int bad_ref = 0, bad_f32 = 0;
    for (int64_t e = 0; e < tc->n_q * out_stride; e++) {
        bad_ref += !(fabsf(out[1][e] - out[0][e]) <= 1.5f * 0x1p-8f + 1.5e-5f);
        bad_f32 += !(fabsf(out[1][e] - out[3][e]) <= 2e-2f);
    }
    CHECK_MSG(bad_ref == 0, "heads %d/%d d %d n_q %lld: %d outputs off the bf16 reference", tc->n_heads, tc->n_kv_heads, d,
              (long long)tc->n_q, bad_ref);
    CHECK_MSG(bad_f32 == 0, "heads %d/%d d %d: %d outputs off the f32 kernel", tc->n_heads, tc->n_kv_heads, d, bad_f32);
    CHECK(memcmp(out[1], out[2], (size_t)(tc->n_q * out_stride) * sizeof(float)) == 0);
    if (tc->vote_every)
        for (int h = 0; h < tc->n_heads; h++) {
            const int64_t keys = view16[h / (tc->n_heads / tc->n_kv_heads)].n_keys;
            CHECK(memcmp(votes[1][h], votes[2][h], (size_t)max_keys * sizeof(float)) == 0);
            for (int64_t j = 0; j < keys; j++) CHECK_NEAR(votes[1][h][j], votes[0][h][j], 1e-5 * fabs(votes[0][h][j]) + 1e-6);
        }
    for (int r = 0; r < 3; r++)
        for (int h = 0; h < tc->n_heads; h++) free(votes[r][h]);
    for (int r = 0; r < 4; r++) free(out[r]);
    for (int g = 0; g < tc->n_kv_heads; g++) {
        free(kv16[g]);
        free(kv32[g]);
    }
    free(vote_query);
    free(q);
}

TEST(kern_bf16_attention_matches_reference_and_f32) {
    const bf16_attention_case cases[] = {
        {4, 2, 64, 33, {113, 250}, 3},         /* GQA, per-head lengths, voting */
        {4, 4, 128, 260, {1, 7, 301, 129}, 2}, /* a one-key head, odd key counts, > 8 query panels */
        {8, 1, 20, 5, {61}, 1},                /* d not a multiple of 16 */
        {2, 2, 40, 1, {0, 40}, 1},             /* a head with no keys; one query */
        {2, 2, 32, 70, {0, 33}, 1},            /* AMX: an empty head, a 32-key block and one key */
        {4, 1, 96, 100, {500}, 4},             /* AMX: d = 3 x 32, MQA, a partial last key block */
        {2, 1, 32, 3, {200}, 1},               /* few queries: vdpbf16ps unless V^T is prepared */
        {4, 2, 64, 300, {500, 333}, 1},        /* every query votes: votes-only reuses pass 1's score tiles */
    };
    /* every bf16 path this CPU has: vdpbf16ps, then AMX (head_dim a multiple of 32; the others run vdpbf16ps) */
    const char *paths[] = {"avx512bf16", "amx"};
    for (size_t p = 0; p < 2; p++) {
        if (!mkv_kernels_force_isa(paths[p])) {
            printf("     (no %s here: its attention not run)\n", paths[p]);
            continue;
        }
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_bf16_attention(&cases[i], 500u + (unsigned)i);
    }
    mkv_kernels_force_isa("auto");
}

/* The row roundings the re-vote uses: the SIMD paths give the scalar
 * rounding (nearest even, subnormals to zero) bit for bit, tails included. */
TEST(kern_bf16_row_roundings_match_scalar) {
    unsigned seed = 99;
    for (int n = 1; n <= 70; n += 3) {
        int8_t q[70];
        float x[70];
        uint16_t got[70], want[70];
        const float scale = 0.0173f * (float)n;
        for (int i = 0; i < n; i++) {
            q[i] = (int8_t)((int)(next_random(&seed) % 255) - 127);
            x[i] = uniform(&seed) * ldexpf(1.0f, (int)(next_random(&seed) % 60) - 30);
        }
        x[0] = ldexpf(1.0f, -130); /* subnormal -> 0 */
        mkv_dequantize_i8_to_bf16(q, scale, n, got);
        for (int i = 0; i < n; i++) want[i] = mkv_f32_to_bf16_ftz(scale * (float)q[i]);
        CHECK(memcmp(got, want, (size_t)n * sizeof got[0]) == 0);
        mkv_round_to_bf16(x, n, got);
        for (int i = 0; i < n; i++) want[i] = mkv_f32_to_bf16_ftz(x[i]);
        CHECK(memcmp(got, want, (size_t)n * sizeof got[0]) == 0);
    }
}

/* The tile path's softmax (P = 2^(s c - m), kernels_amx.c) against exp in
 * double: probabilities, the running max and sum over two key tiles (the
 * online rescale), and the pass-2 votes from the kept stats. Relative
 * bound per probability: 2^-24 (6 + 1.5 (|s c| + |m|)) (the polynomial's 3
 * ulp, the rounding of t = s c - m and of m, as for any f32 exp of a scaled
 * score); sums add 2^-24 per term. One lane has scores 50x larger. */
static double p_bound(float s, float scale, double m) {
    return ldexp(1.0, -24) * (6.0 + 1.5 * (fabs((double)s * scale) + fabs(m * scale)) * M_LOG2E);
}

TEST(kern_amx_softmax_and_votes_are_f32_accurate) {
    if (!mkv_kernels_force_isa("amx")) mkv_test_skip("no AMX tiles on this CPU (or not granted by the OS)");
    mkv_kernels_force_isa("auto");
    enum { KEYS = 301, SPLIT = 150, LANES = 32 };
    const float scale = 0.08838834764f; /* 1 / sqrt(128) */
    float *raw = aligned_alloc(64, KEYS * LANES * sizeof(float)), *work = aligned_alloc(64, KEYS * LANES * sizeof(float));
    unsigned seed = 77;
    for (int j = 0; j < KEYS; j++)
        for (int i = 0; i < LANES; i++) raw[j * LANES + i] = (i == 5 ? 3000.0f : 60.0f) * uniform(&seed);
    raw[7 * LANES + 9] = -INFINITY; /* a masked score: probability 0 */
    memcpy(work, raw, sizeof(float) * KEYS * LANES);
    float row_max[LANES], row_sum[LANES];
    mkv_amx_softmax_tile(SPLIT, work, scale, row_max, row_sum, NULL, 0, true);
    int bad = 0;
    for (int i = 0; i < LANES; i++) {
        double m = -INFINITY;
        for (int j = 0; j < SPLIT; j++) m = fmax(m, (double)raw[j * LANES + i]);
        for (int j = 0; j < SPLIT && bad < 5; j++) {
            const float s = raw[j * LANES + i];
            const double exact = exp((double)scale * s - (double)scale * m), got = work[j * LANES + i];
            if (!(got == exact || fabs(got - exact) <= p_bound(s, scale, m) * exact + 1e-44)) {
                mkv_test_fail(__FILE__, __LINE__, "lane %d key %d: P %.9g, exact %.9g", i, j, got, exact);
                bad++;
            }
        }
    }
    CHECK(work[7 * LANES + 9] == 0.0f);
    mkv_amx_softmax_tile(KEYS - SPLIT, work + SPLIT * LANES, scale, row_max, row_sum, NULL, 0, false);
    double exact_sum[LANES], exact_max[LANES], sum_bound[LANES];
    for (int i = 0; i < LANES; i++) {
        exact_max[i] = -INFINITY;
        exact_sum[i] = 0;
        sum_bound[i] = KEYS * ldexp(1.0, -24);
        for (int j = 0; j < KEYS; j++) exact_max[i] = fmax(exact_max[i], (double)raw[j * LANES + i]);
        for (int j = 0; j < KEYS; j++) {
            exact_sum[i] += exp((double)scale * (raw[j * LANES + i] - exact_max[i]));
            if (isfinite(raw[j * LANES + i]))
                sum_bound[i] = fmax(sum_bound[i], KEYS * ldexp(1.0, -24) + 2 * p_bound(raw[j * LANES + i], scale, exact_max[i]));
        }
        CHECK_MSG(fabs(row_sum[i] - exact_sum[i]) <= sum_bound[i] * exact_sum[i], "lane %d: sum %.9g, exact %.9g", i,
                  row_sum[i], exact_sum[i]);
        CHECK(fabs(row_max[i] - exact_max[i] * scale * M_LOG2E) <= 1e-6 * fabs(exact_max[i] * scale * M_LOG2E));
    }
    float inv_row_sum[LANES], votes[KEYS] = {0};
    for (int i = 0; i < LANES; i++) inv_row_sum[i] = 1.0f / row_sum[i];
    mkv_amx_vote_tile(KEYS, raw, scale, row_max, inv_row_sum, votes);
    double total = 0, max_bound = 0;
    for (int i = 0; i < LANES; i++) max_bound = fmax(max_bound, sum_bound[i]);
    for (int j = 0; j < KEYS; j++) {
        double exact = 0;
        for (int i = 0; i < LANES; i++) exact += exp((double)scale * (raw[j * LANES + i] - exact_max[i])) / exact_sum[i];
        total += votes[j];
        if (bad < 5 && !(fabs(votes[j] - exact) <= (2 * max_bound + LANES * ldexp(1.0, -24)) * exact + 1e-30)) {
            mkv_test_fail(__FILE__, __LINE__, "key %d: votes %.9g, exact %.9g", j, votes[j], exact);
            bad++;
        }
    }
    CHECK_MSG(fabs(total - LANES) < 1e-4, "votes add up to %.7f, not %d", total, LANES);
    free(raw);
    free(work);
}
