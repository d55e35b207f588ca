/* Attention benchmark: mkv_attention (tiled, online softmax) at LLaDA/Dream
 * shapes, with and without Mask-Voting, f32 and bf16 compute (bf16 K/V,
 * vdpbf16ps for Q.K^T and P.V) side by side, 1 and 2 threads; the naive
 * reference on the smallest shape for scale. FLOPs counted as
 * 4 * n_q * n_keys * head_dim * n_heads (QK^T and PV), plus the voting
 * pass's 2 * n_vote * n_keys * head_dim * n_heads.
 *
 *   make BUILD=build-kern build-kern/bench/bench_kernel_attention
 *   ./build-kern/bench/bench_kernel_attention [isa=avx512|avx2|scalar]
 * Results: bench/KERNELS.md. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "util/clock.h"
#include "util/fp16.h"

typedef struct {
    const char *what;
    int n_heads, n_kv_heads, head_dim;
    int64_t n_q, n_keys, n_vote;
} attention_shape;

static float *random_floats(int64_t count, unsigned seed) {
    float *values = malloc((size_t)count * sizeof(float));
    for (int64_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        values[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return values;
}

/* K or V as the bf16 cache stores them */
static uint16_t *to_bf16(const float *x, int64_t count) {
    uint16_t *out = malloc((size_t)count * sizeof *out);
    for (int64_t i = 0; i < count; i++) out[i] = mkv_f32_to_bf16(x[i]);
    return out;
}

static double run(const attention_shape *s, bool reference, bool bf16, double min_seconds) {
    const int64_t q_width = (int64_t)s->n_heads * s->head_dim, kv_width = (int64_t)s->n_kv_heads * s->head_dim;
    float *q = random_floats(s->n_q * q_width, 1), *out = malloc((size_t)(s->n_q * q_width) * sizeof(float));
    /* K and V as a forward pass stores them: [token][kv head][dim] */
    float *k = random_floats(s->n_keys * kv_width, 2), *v = random_floats(s->n_keys * kv_width, 3);
    uint16_t *k16 = bf16 ? to_bf16(k, s->n_keys * kv_width) : NULL, *v16 = bf16 ? to_bf16(v, s->n_keys * kv_width) : NULL;
    mkv_kv_head_view *views = malloc((size_t)s->n_kv_heads * sizeof *views);
    for (int g = 0; g < s->n_kv_heads; g++) {
        int64_t at = (int64_t)g * s->head_dim;
        views[g] = bf16 ? (mkv_kv_head_view){k16 + at, v16 + at, s->n_keys, kv_width}
                        : (mkv_kv_head_view){k + at, v + at, s->n_keys, kv_width};
    }
    uint8_t *vote_query = NULL;
    float **vote_sums = NULL;
    if (s->n_vote) {
        vote_query = calloc((size_t)s->n_q, 1);
        for (int64_t i = s->n_q - s->n_vote; i < s->n_q; i++) vote_query[i] = 1; /* the response block votes */
        vote_sums = malloc((size_t)s->n_heads * sizeof *vote_sums);
        for (int h = 0; h < s->n_heads; h++) vote_sums[h] = calloc((size_t)s->n_keys, sizeof(float));
    }
    mkv_attention_args args = {.q = q, .n_q = s->n_q, .q_stride = q_width, .out = out, .out_stride = q_width,
                               .n_heads = s->n_heads, .n_kv_heads = s->n_kv_heads, .head_dim = s->head_dim,
                               .kv = views, .scale = 1.0f / sqrtf((float)s->head_dim), .vote_query = vote_query,
                               .vote_sums = vote_sums, .bf16 = bf16};
    /* best of 3 windows (the machine may be shared) */
    double best = 1e30;
    for (int window = 0; window < 3; window++) {
        int reps = 0;
        double start = mkv_now_seconds(), elapsed;
        do {
            if (reference) mkv_attention_ref(&args);
            else mkv_attention(&args);
            reps++;
            elapsed = mkv_now_seconds() - start;
        } while (elapsed < min_seconds / 3);
        if (elapsed / reps < best) best = elapsed / reps;
    }
    if (vote_sums)
        for (int h = 0; h < s->n_heads; h++) free(vote_sums[h]);
    free(vote_sums);
    free(vote_query);
    free(views);
    free(q);
    free(out);
    free(k);
    free(v);
    free(k16);
    free(v16);
    return best;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "isa=", 4) == 0 && !mkv_kernels_force_isa(argv[i] + 4)) {
            fprintf(stderr, "bench_kernel_attention: this CPU has no %s path\n", argv[i] + 4);
            return 2;
        }
    const attention_shape shapes[] = {
        {"LLaDA 1k, no votes", 32, 32, 128, 1024, 1024, 0},
        {"LLaDA 1k, 256 voters", 32, 32, 128, 1024, 1024, 256},
        {"LLaDA 4k, 256 voters", 32, 32, 128, 4096, 4096, 256},
        {"Dream 4k GQA 28/4", 28, 4, 128, 4096, 4096, 256},
        {"32 rows vs 4k keys", 32, 32, 128, 32, 4096, 0},
    };
    const int max_threads = omp_get_max_threads();
    printf("kernel path: %s, bf16 dot products (vdpbf16ps): %s\n", mkv_kernels_isa(), mkv_cpu_has_bf16_dot() ? "yes" : "no");
    printf("%-22s %6s %6s %6s %-4s", "shape", "n_q", "keys", "votes", "comp");
    for (int t = 1; t <= max_threads && t <= 2; t++) printf("   %d thr ms  GFLOP/s", t);
    printf("\n");
    for (size_t row = 0; row < sizeof shapes / sizeof shapes[0] * 2; row++) {
        const attention_shape *shape = &shapes[row / 2];
        const bool bf16 = row % 2 == 1;
        double flops = 4.0 * (double)shape->n_q * (double)shape->n_keys * shape->head_dim * shape->n_heads +
                       2.0 * (double)shape->n_vote * (double)shape->n_keys * shape->head_dim * shape->n_heads;
        printf("%-22s %6lld %6lld %6lld %-4s", shape->what, (long long)shape->n_q, (long long)shape->n_keys,
               (long long)shape->n_vote, bf16 ? "bf16" : "f32");
        for (int t = 1; t <= max_threads && t <= 2; t++) {
            omp_set_num_threads(t);
            double seconds = run(shape, false, bf16, 1.0);
            printf("   %9.2f %8.1f", seconds * 1e3, flops / seconds * 1e-9);
        }
        printf("\n");
        fflush(stdout);
    }
    omp_set_num_threads(1);
    const attention_shape small = {"reference, 1 thread", 32, 32, 128, 1024, 1024, 256};
    double seconds = run(&small, true, false, 1.0);
    printf("%-22s %6lld %6lld %6lld %-4s   %9.2f %8.1f  (mkv_attention_ref)\n", small.what, (long long)small.n_q,
           (long long)small.n_keys, (long long)small.n_vote, "f32", seconds * 1e3,
           (4.0 * 1024 * 1024 * 128 * 32 + 2.0 * 256 * 1024 * 128 * 32) / seconds * 1e-9);
    return 0;
}
