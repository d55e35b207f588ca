/* Fast kernel paths against their scalar references: every ISA the CPU has
 * (forced with mkv_kernels_force_isa), every weight dtype, odd shapes, 1 and
 * 2 threads, and allocation failure (fallback to the reference). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_internal.h"
#include "test.h"
#include "util/alloc.h"
#include "util/dtype.h"

static const char *const all_isas[] = {"avx512", "avx2", "scalar"};
#define N_ISAS 3

static float uniform(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

static float *random_floats(int64_t count, unsigned *seed, float amplitude) {
    float *values = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    for (int64_t i = 0; i < count; i++) values[i] = amplitude * uniform(seed);
    return values;
}

/* A weight of `out` rows of `in` elements in `dtype`, from random f32
 * values, plus its exact f32 dequantization (what every path multiplies). */
typedef struct {
    mkv_tensor tensor;
    void *bytes;
    float *dequantized;
} test_weight;

static test_weight make_weight(mkv_dtype dtype, int64_t in, int64_t out, unsigned *seed) {
    test_weight w;
    const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
    float *source = random_floats(in * out, seed, 1.0f);
    size_t bytes = mkv_dtype_row_bytes(dtype, in) * (size_t)out;
    w.bytes = malloc(bytes ? bytes : 1);
    w.dequantized = malloc((size_t)(in * out > 0 ? in * out : 1) * sizeof(float));
    traits->from_float(source, w.bytes, in * out);
    traits->to_float(w.bytes, w.dequantized, in * out);
    free(source);
    memset(&w.tensor, 0, sizeof w.tensor);
    w.tensor.dtype = dtype;
    w.tensor.n_dims = 2;
    w.tensor.ne[0] = in;
    w.tensor.ne[1] = out;
    w.tensor.ne[2] = w.tensor.ne[3] = 1;
    w.tensor.data = w.bytes;
    w.tensor.n_bytes = bytes;
    return w;
}

static void free_weight(test_weight *w) {
    free(w->bytes);
    free(w->dequantized);
}

/* Checks y against the exact (double) product. Tolerance: the f32 paths
 * accumulate a k-term sum, whose rounding error is at most
 * gamma_k * sum_k |x_k w_k| with gamma_k ~ k * 2^-24 (Higham, Thm 3.1); add
 * one ulp of the bias add. The reference itself is exact to ~1e-16. */
static int check_matmul_result(const float *y, const float *x, const test_weight *w, int64_t n, const float *bias) {
    const int64_t in = w->tensor.ne[0], out = w->tensor.ne[1];
    int failures = 0;
    for (int64_t i = 0; i < n && failures < 5; i++)
        for (int64_t o = 0; o < out && failures < 5; o++) {
            double exact = 0.0, magnitude = 0.0;
            for (int64_t k = 0; k < in; k++) {
                double term = (double)x[i * in + k] * w->dequantized[o * in + k];
                exact += term;
                magnitude += fabs(term);
            }
            if (bias) exact += bias[o];
            double tolerance = (double)(in + 2) * ldexp(1.0, -24) * (magnitude + (bias ? fabs(bias[o]) : 0.0)) + 1e-30;
            if (!(fabs(y[i * out + o] - exact) <= tolerance)) {
                mkv_test_fail(__FILE__, __LINE__, "y[%lld][%lld] = %.9g, exact %.9g (tol %.3g)", (long long)i,
                              (long long)o, y[i * out + o], exact, tolerance);
                failures++;
            }
        }
    return failures;
}

TEST(kern_fast_matmul_all_isas_dtypes_odd_shapes) {
    const mkv_dtype dtypes[] = {MKV_TYPE_F32, MKV_TYPE_F16, MKV_TYPE_BF16, MKV_TYPE_Q8_0, MKV_TYPE_Q4_0};
    const int64_t ins[] = {60, 100, 352, 544, 32, 7};
    const int64_t ns[] = {1, 3, 17, 100};
    const int64_t outs[] = {1, 5, 70, 77, 600};
    unsigned seed = 1234;
    for (int isa = 0; isa < N_ISAS; isa++) {
        if (!mkv_kernels_force_isa(all_isas[isa])) continue;
        for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++)
            for (size_t a = 0; a < sizeof ins / sizeof ins[0]; a++) {
                const int64_t in = ins[a];
                if (mkv_dtype_info(dtypes[t])->block_size > 1 && in % 32) continue;
                for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++)
                    for (size_t c = 0; c < sizeof outs / sizeof outs[0]; c++) {
                        const int64_t n = ns[b], out = outs[c];
                        /* keep the scalar path's cost bounded */
                        if (strcmp(all_isas[isa], "scalar") == 0 && n * out * in > 2000000) continue;
                        test_weight w = make_weight(dtypes[t], in, out, &seed);
                        float *x = random_floats(n * in, &seed, 1.0f);
                        float *bias = (c % 2) ? random_floats(out, &seed, 1.0f) : NULL;
                        float *y = malloc((size_t)(n * out) * sizeof(float));
                        mkv_matmul(y, x, n, &w.tensor, bias);
                        if (check_matmul_result(y, x, &w, n, bias))
                            mkv_test_fail(__FILE__, __LINE__, "isa %s dtype %s in %lld n %lld out %lld", all_isas[isa],
                                          mkv_dtype_info(dtypes[t])->name, (long long)in, (long long)n,
                                          (long long)out);
                        free(y);
                        free(bias);
                        free(x);
                        free_weight(&w);
                    }
            }
    }
    mkv_kernels_force_isa("auto");
}

/* The SIMD paths compute every output as one FMA chain over k in ascending
 * order, so they must equal that chain bit for bit, for every n and row
 * position, on both ISAs (and the bias is one add at the end). */
TEST(kern_fast_matmul_is_exact_fma_chain) {
    const int64_t in = 600, out = 45;
    unsigned seed = 99;
    test_weight w = make_weight(MKV_TYPE_BF16, in, out, &seed);
    float *x = random_floats(37 * in, &seed, 1.0f);
    float *bias = random_floats(out, &seed, 1.0f);
    float *expected = malloc((size_t)(37 * out) * sizeof(float));
    for (int64_t i = 0; i < 37; i++)
        for (int64_t o = 0; o < out; o++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < in; k++) acc = fmaf(x[i * in + k], w.dequantized[o * in + k], acc);
            expected[i * out + o] = acc + bias[o];
        }
    float *y = malloc((size_t)(37 * out) * sizeof(float));
    for (int isa = 0; isa < 2; isa++) {
        if (!mkv_kernels_force_isa(all_isas[isa])) continue;
        for (int64_t n = 1; n <= 37; n++) { /* every row count of the micro-kernels */
            mkv_matmul(y, x + (37 - n) * in, n, &w.tensor, bias);
            int mismatches = 0;
            for (int64_t i = 0; i < n * out; i++) mismatches += y[i] != expected[(37 - n) * out + i];
            CHECK_MSG(mismatches == 0, "isa %s n %lld: %d elements differ from the FMA chain", all_isas[isa],
                      (long long)n, mismatches);
        }
    }
    mkv_kernels_force_isa("auto");
    free(y);
    free(expected);
    free(bias);
    free(x);
    free_weight(&w);
}

TEST(kern_fast_matmul_threads_identical_and_alloc_failure_falls_back) {
    const int64_t in = 352, out = 300, n = 50;
    unsigned seed = 5;
    test_weight w = make_weight(MKV_TYPE_Q8_0, in, out, &seed);
    float *x = random_floats(n * in, &seed, 2.0f);
    float *y1 = malloc((size_t)(n * out) * sizeof(float)), *y2 = malloc((size_t)(n * out) * sizeof(float));
    const int saved_threads = omp_get_max_threads();
    for (int isa = 0; isa < N_ISAS; isa++) {
        if (!mkv_kernels_force_isa(all_isas[isa])) continue;
        omp_set_num_threads(1);
        mkv_matmul(y1, x, n, &w.tensor, NULL);
        omp_set_num_threads(2);
        mkv_matmul(y2, x, n, &w.tensor, NULL);
        CHECK_MSG(memcmp(y1, y2, (size_t)(n * out) * sizeof(float)) == 0, "isa %s: 1 and 2 threads differ",
                  all_isas[isa]);
    }
    omp_set_num_threads(saved_threads);
    mkv_kernels_force_isa("auto");
    /* scratch allocation fails -> scalar reference, same values within tolerance, nothing leaked */
    size_t bytes_before = mkv_alloc_current_bytes();
    mkv_alloc_fail_after(1);
    mkv_matmul(y1, x, n, &w.tensor, NULL);
    mkv_alloc_fail_after(0);
    mkv_clear_error();
    CHECK_EQ_INT(mkv_alloc_current_bytes(), bytes_before);
    CHECK(check_matmul_result(y1, x, &w, n, NULL) == 0);
    free(y1);
    free(y2);
    free(x);
    free_weight(&w);
}

/* ------------------------------------------------------------ attention */
typedef struct {
    int n_heads, n_kv_heads, head_dim;
    int64_t n_q;
    int64_t key_counts[4];
    int vote_every; /* 0 = no voting; else query i votes when i % vote_every == 1 */
} attention_case;

static void run_attention_case(const attention_case *tc, unsigned seed) {
    const int d = tc->head_dim;
    const int64_t q_stride = (int64_t)tc->n_heads * d + 3, out_stride = (int64_t)tc->n_heads * d + 5;
    float *q = random_floats(tc->n_q * q_stride, &seed, 1.5f);
    float *kv_data[4];
    mkv_kv_head_view views[4];
    int64_t max_keys = 1;
    for (int g = 0; g < tc->n_kv_heads; g++) {
        int64_t stride = d + 2 * g + 1; /* different stride per head */
        int64_t count = tc->key_counts[g];
        kv_data[g] = random_floats(2 * (count + 1) * stride, &seed, 1.5f);
        views[g] = (mkv_kv_head_view){kv_data[g], kv_data[g] + (count + 1) * stride, count, stride};
        if (count > max_keys) max_keys = count;
    }
    uint8_t *vote_query = NULL;
    float *vote_ref[8], *vote_fast[8];
    if (tc->vote_every) {
        vote_query = malloc((size_t)tc->n_q);
        for (int64_t i = 0; i < tc->n_q; i++) vote_query[i] = (uint8_t)(i % tc->vote_every == 1 % tc->vote_every);
    }
    for (int h = 0; h < tc->n_heads; h++) {
        vote_ref[h] = calloc((size_t)max_keys, sizeof(float));
        vote_fast[h] = calloc((size_t)max_keys, sizeof(float));
        for (int64_t j = 0; j < max_keys; j++) vote_ref[h][j] = vote_fast[h][j] = 0.25f; /* sums accumulate */
    }
    float *out_ref = calloc((size_t)(tc->n_q * out_stride), sizeof(float));
    float *out_fast = calloc((size_t)(tc->n_q * out_stride), sizeof(float));
    float *out_one_thread = calloc((size_t)(tc->n_q * out_stride), sizeof(float));
    mkv_attention_args args = {.q = q, .n_q = tc->n_q, .q_stride = q_stride, .out = out_ref, .out_stride = out_stride,
                               .n_heads = tc->n_heads, .n_kv_heads = tc->n_kv_heads, .head_dim = d, .kv = views,
                               .scale = 1.0f / sqrtf((float)d), .vote_query = vote_query,
                               .vote_sums = tc->vote_every ? vote_ref : NULL};
    mkv_attention_ref(&args);
    args.out = out_fast;
    args.vote_sums = tc->vote_every ? vote_fast : NULL;
    mkv_attention(&args);
    /* Tolerance: outputs are convex combinations of values (|v| <= 1.5);
     * the f32 path differs from the double reference by rounding of d-term
     * dots (scores ~1e-7 relative), a ~2-ulp polynomial exp and n_keys-term
     * f32 sums: 1e-5 relative to the value scale covers it with margin. */
    int bad = 0;
    for (int64_t i = 0; i < tc->n_q; i++)
        for (int c = 0; c < tc->n_heads * d; c++)
            if (!(fabsf(out_fast[i * out_stride + c] - out_ref[i * out_stride + c]) <= 1.5e-5f)) bad++;
    CHECK_MSG(bad == 0, "isa %s heads %d/%d d %d n_q %lld: %d outputs off", mkv_kernels_isa(), tc->n_heads,
              tc->n_kv_heads, d, (long long)tc->n_q, bad);
    /* Vote sums: sums of up to n_q probabilities; 1e-5 relative + 1e-6. */
    if (tc->vote_every) {
        int bad_votes = 0;
        for (int h = 0; h < tc->n_heads; h++)
            for (int64_t j = 0; j < views[h / (tc->n_heads / tc->n_kv_heads)].n_keys; j++)
                if (!(fabsf(vote_fast[h][j] - vote_ref[h][j]) <= 1e-5f * fabsf(vote_ref[h][j]) + 1e-6f)) bad_votes++;
        CHECK_MSG(bad_votes == 0, "isa %s: %d vote sums off", mkv_kernels_isa(), bad_votes);
    }
    /* identical at 1 thread (outputs; vote sums are checked the same way) */
    const int saved_threads = omp_get_max_threads();
    omp_set_num_threads(1);
    for (int h = 0; h < tc->n_heads; h++)
        for (int64_t j = 0; j < max_keys; j++) vote_ref[h][j] = 0.25f;
    args.out = out_one_thread;
    args.vote_sums = tc->vote_every ? vote_ref : NULL;
    mkv_attention(&args);
    omp_set_num_threads(saved_threads);
    CHECK_MSG(memcmp(out_one_thread, out_fast, (size_t)(tc->n_q * out_stride) * sizeof(float)) == 0,
              "isa %s: 1 and 2 threads differ", mkv_kernels_isa());
    if (tc->vote_every)
        for (int h = 0; h < tc->n_heads; h++)
            CHECK(memcmp(vote_ref[h], vote_fast[h], (size_t)max_keys * sizeof(float)) == 0);
    /* votes only (no output, out NULL): the same vote sums bit for bit, at 2
     * and 1 threads; the reference's votes-only path equals its full path */
    if (tc->vote_every) {
        args.out = NULL;
        args.votes_only = true;
        for (int threads = 2; threads >= 1; threads--) {
            omp_set_num_threads(threads);
            for (int h = 0; h < tc->n_heads; h++)
                for (int64_t j = 0; j < max_keys; j++) vote_ref[h][j] = 0.25f;
            mkv_attention(&args);
            int differ = 0;
            for (int h = 0; h < tc->n_heads; h++) differ += memcmp(vote_ref[h], vote_fast[h], (size_t)max_keys * sizeof(float)) != 0;
            CHECK_MSG(differ == 0, "isa %s, %d threads: votes-only sums differ from the full pass in %d heads",
                      mkv_kernels_isa(), threads, differ);
        }
        omp_set_num_threads(saved_threads);
        float *full_ref[8];
        for (int h = 0; h < tc->n_heads; h++) full_ref[h] = calloc((size_t)max_keys, sizeof(float));
        args.out = out_ref;
        args.votes_only = false;
        args.vote_sums = full_ref;
        mkv_attention_ref(&args);
        args.out = NULL;
        args.votes_only = true;
        args.vote_sums = vote_ref;
        for (int h = 0; h < tc->n_heads; h++) memset(vote_ref[h], 0, (size_t)max_keys * sizeof(float));
        mkv_attention_ref(&args);
        for (int h = 0; h < tc->n_heads; h++) {
            CHECK(memcmp(vote_ref[h], full_ref[h], (size_t)max_keys * sizeof(float)) == 0);
            free(full_ref[h]);
        }
    }

    for (int h = 0; h < tc->n_heads; h++) {
        free(vote_ref[h]);
        free(vote_fast[h]);
    }
    for (int g = 0; g < tc->n_kv_heads; g++) free(kv_data[g]);
    free(vote_query);
    free(out_ref);
    free(out_fast);
    free(out_one_thread);
    free(q);
}

TEST(kern_fast_attention_matches_reference) {
    const attention_case cases[] = {
        {4, 2, 64, 33, {113, 250}, 3},          /* GQA, per-head lengths, voting */
        {4, 4, 128, 260, {1, 7, 300, 129}, 2},  /* MHA, a one-key head, > 8 query panels */
        {8, 1, 20, 5, {61}, 1},                 /* all heads on one KV head, d not a multiple of 8 */
        {2, 2, 8, 1, {0, 40}, 1},               /* a head with no keys; one query */
        {4, 2, 128, 200, {500, 333}, 0},        /* no voting */
        {4, 2, 64, 300, {500, 333}, 1},         /* every query votes: votes-only reuses pass 1's score tiles */
    };
    for (int isa = 0; isa < N_ISAS; isa++) {
        if (!mkv_kernels_force_isa(all_isas[isa])) continue;
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) run_attention_case(&cases[c], 77 + (unsigned)c);
    }
    mkv_kernels_force_isa("auto");
}

/* Large scores (sharp softmax) still match: the online max rescaling must be right. */
TEST(kern_fast_attention_sharp_scores) {
    const attention_case tc = {2, 1, 32, 40, {400}, 4};
    for (int isa = 0; isa < 2; isa++) {
        if (!mkv_kernels_force_isa(all_isas[isa])) continue;
        run_attention_case(&tc, 4242);
    }
    mkv_kernels_force_isa("auto");
}

/* ------------------------------------------------------- small ops */
TEST(kern_fast_small_ops_match_reference) {
    unsigned seed = 31;
    const int64_t sizes[] = {1, 7, 16, 33, 100, 4096, 126464 + 3};
    for (int isa = 0; isa < N_ISAS; isa++) {
        if (!mkv_kernels_force_isa(all_isas[isa])) continue;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const int64_t n = sizes[s];
            float *a = random_floats(n, &seed, 8.0f), *b = random_floats(n, &seed, 2.0f);
            float *ref = malloc((size_t)n * sizeof(float)), *fast = malloc((size_t)n * sizeof(float));
            /* swiglu: one polynomial exp (~2 ulp) and three roundings: 1e-6 relative */
            mkv_swiglu_ref(ref, a, b, n);
            mkv_swiglu(fast, a, b, n);
            for (int64_t i = 0; i < n; i++) CHECK_NEAR(fast[i], ref[i], 1e-6 * fabs(ref[i]) + 1e-30);
            /* softmax: exp error plus an n-term f32 sum: 1e-6 relative + 1e-5 * n ulp-ish sum error */
            memcpy(ref, a, (size_t)n * sizeof(float));
            memcpy(fast, a, (size_t)n * sizeof(float));
            mkv_softmax_ref(ref, n);
            mkv_softmax(fast, n);
            for (int64_t i = 0; i < n; i++) CHECK_NEAR(fast[i], ref[i], (2e-6 + 1e-10 * (double)n) * fabs(ref[i]) + 1e-30);
            free(a);
            free(b);
            free(ref);
            free(fast);
        }
        /* rmsnorm: dim-term f32 sum of squares (<= dim * 2^-24 relative) then the ref's products */
        const int dims[] = {1, 60, 100, 4096};
        for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
            const int dim = dims[s];
            float *x = random_floats(3 * dim, &seed, 3.0f), *weight = random_floats(dim, &seed, 1.0f);
            float *ref = malloc((size_t)(3 * dim) * sizeof(float)), *fast = malloc((size_t)(3 * dim) * sizeof(float));
            mkv_rmsnorm_ref(ref, x, weight, 3, dim, 1e-5f);
            mkv_rmsnorm(fast, x, weight, 3, dim, 1e-5f);
            for (int i = 0; i < 3 * dim; i++) CHECK_NEAR(fast[i], ref[i], (dim + 4) * 6e-8 * fabs(ref[i]) + 1e-30);
            mkv_rmsnorm(x, x, NULL, 3, dim, 1e-6f); /* in place, no weight */
            free(x);
            free(weight);
            free(ref);
            free(fast);
        }
        /* rope: same arithmetic as the reference, bit for bit */
        for (int style = 0; style < 2; style++) {
            const int n_rows = 9, n_heads = 3, head_dim = 128, row_stride = 3 * 128 + 4;
            float *ref = random_floats(n_rows * row_stride, &seed, 1.0f);
            float *fast = malloc((size_t)(n_rows * row_stride) * sizeof(float));
            memcpy(fast, ref, (size_t)(n_rows * row_stride) * sizeof(float));
            int32_t positions[9] = {0, 1, 2, 100, 4095, 7, 8, 9000, 3};
            mkv_rope_ref(ref, n_rows, row_stride, n_heads, head_dim, positions, 500000.0f, (mkv_rope_style)style);
            mkv_rope(fast, n_rows, row_stride, n_heads, head_dim, positions, 500000.0f, (mkv_rope_style)style);
            CHECK(memcmp(ref, fast, (size_t)(n_rows * row_stride) * sizeof(float)) == 0);
            free(ref);
            free(fast);
        }
    }
    mkv_kernels_force_isa("auto");
}

/* The polynomial exp of each ISA against libm over the range softmax uses. */
TEST(kern_fast_exp_accuracy) {
    const mkv_isa_ops *tables[] = {&mkv_isa_avx512, &mkv_isa_avx2};
    for (int t = 0; t < 2; t++) {
        if (!mkv_kernels_force_isa(all_isas[t])) continue;
        enum { N = 20001 };
        float *x = malloc(N * sizeof(float));
        for (int i = 0; i < N; i++) x[i] = -87.0f + 175.0f * (float)i / (N - 1);
        float *e = malloc(N * sizeof(float));
        memcpy(e, x, N * sizeof(float));
        tables[t]->exp_inplace(e, N);
        double worst = 0.0;
        for (int i = 0; i < N; i++) {
            double exact = exp((double)x[i]);
            double rel = fabs(e[i] - exact) / exact;
            if (rel > worst) worst = rel;
        }
        CHECK_MSG(worst < 3e-7, "%s exp worst relative error %g", tables[t]->name, worst);
        float big[3] = {-200.0f, -INFINITY, 0.0f};
        tables[t]->exp_inplace(big, 3);
        CHECK(big[0] == 0.0f && big[1] == 0.0f && big[2] == 1.0f);
        free(x);
        free(e);
    }
    mkv_kernels_force_isa("auto");
}

TEST(kern_fast_force_isa) {
    CHECK(mkv_kernels_force_isa("scalar"));
    CHECK(strcmp(mkv_kernels_isa(), "scalar") == 0);
    CHECK(!mkv_kernels_force_isa("sse9"));
    CHECK(strcmp(mkv_kernels_isa(), "scalar") == 0); /* a refused request changes nothing */
    CHECK(mkv_kernels_force_isa("auto"));
    CHECK(strcmp(mkv_kernels_isa(), "avx512bf16") != 0); /* never chosen automatically */
}

/* Opt-in avx512bf16 path for BF16 weights: x is rounded to bf16 (RNE), the
 * products are exact in f32 and summed in f32, so against the exact sum of
 * bf16(x) * w the error is at most gamma_k * sum |bf16(x) w| as for the f32
 * path; other dtypes keep the f32 path. Skipped on CPUs without AVX512-BF16. */
TEST(kern_fast_matmul_bf16_dot_opt_in) {
    if (!mkv_kernels_force_isa("avx512bf16")) mkv_test_skip("no AVX512-BF16 on this CPU");
    CHECK(strcmp(mkv_kernels_isa(), "avx512bf16") == 0);
    const int64_t ins[] = {7, 61, 352, 600};
    const int64_t ns[] = {1, 3, 17, 100};
    const int64_t outs[] = {5, 77, 600};
    unsigned seed = 404;
    const int saved_threads = omp_get_max_threads();
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t c = 0; c < 3; c++) {
                const int64_t in = ins[a], n = ns[b], out = outs[c];
                test_weight w = make_weight(MKV_TYPE_BF16, in, out, &seed);
                float *x = random_floats(n * in, &seed, 1.0f), *x_rounded = malloc((size_t)(n * in) * sizeof(float));
                for (int64_t i = 0; i < n * in; i++) { /* RNE to bf16, as vcvtneps2bf16 (no subnormals here) */
                    uint16_t h;
                    mkv_dtype_info(MKV_TYPE_BF16)->from_float(&x[i], &h, 1);
                    mkv_dtype_info(MKV_TYPE_BF16)->to_float(&h, &x_rounded[i], 1);
                }
                float *bias = random_floats(out, &seed, 1.0f);
                float *y = malloc((size_t)(n * out) * sizeof(float)), *y1 = malloc((size_t)(n * out) * sizeof(float));
                omp_set_num_threads(2);
                mkv_matmul(y, x, n, &w.tensor, bias);
                omp_set_num_threads(1);
                mkv_matmul(y1, x, n, &w.tensor, bias);
                CHECK(memcmp(y, y1, (size_t)(n * out) * sizeof(float)) == 0);
                if (check_matmul_result(y, x_rounded, &w, n, bias))
                    mkv_test_fail(__FILE__, __LINE__, "bf16 dot: in %lld n %lld out %lld", (long long)in, (long long)n,
                                  (long long)out);
                free(y);
                free(y1);
                free(bias);
                free(x);
                free(x_rounded);
                free_weight(&w);
            }
    omp_set_num_threads(saved_threads);
    /* an F32 weight still takes the exact f32 FMA chain */
    test_weight w = make_weight(MKV_TYPE_F32, 64, 9, &seed);
    float *x = random_floats(2 * 64, &seed, 1.0f), y[18];
    mkv_matmul(y, x, 2, &w.tensor, NULL);
    for (int i = 0; i < 2; i++)
        for (int o = 0; o < 9; o++) {
            float acc = 0.0f;
            for (int k = 0; k < 64; k++) acc = fmaf(x[i * 64 + k], w.dequantized[o * 64 + k], acc);
            CHECK(y[i * 9 + o] == acc);
        }
    free(x);
    free_weight(&w);
    mkv_kernels_force_isa("auto");
}
