/* Forward-pass benchmark: seconds per token of a full bidirectional forward
 * over n tokens, for several n and thread counts.
 *
 *   build/bench/bench_forward MODEL [--lengths 256,1024,4096] [--threads 1,2] [--repeat N]
 *
 * Prints one line per (length, threads): total seconds, ms/token, and the
 * GFLOP/s achieved (2 * params * n for the matmuls incl. the LM head on every
 * position, as the PyTorch peer does, + 4 * n^2 * d_attn per layer). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/forward.h"
#include "util/alloc.h"
#include "util/clock.h"

static int parse_list(const char *text, int *out, int max) {
    int n = 0;
    while (*text && n < max) {
        out[n++] = atoi(text);
        const char *comma = strchr(text, ',');
        if (!comma) break;
        text = comma + 1;
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_forward MODEL [--lengths 256,1024] [--threads 1,2] [--repeat N]\n");
        return 2;
    }
    int lengths[16] = {256, 1024}, n_lengths = 2, threads[8] = {1, 2}, n_threads = 2, repeat = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--lengths")) n_lengths = parse_list(argv[i + 1], lengths, 16);
        else if (!strcmp(argv[i], "--threads")) n_threads = parse_list(argv[i + 1], threads, 8);
        else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[i + 1]);
    }
    mkv_model *model;
    if (mkv_model_load(argv[1], &model) != MKV_OK) {
        fprintf(stderr, "bench_forward: %s\n", mkv_last_error());
        return 1;
    }
    const mkv_hparams *hp = mkv_model_hparams(model);
    double linear_params = (double)hp->n_layers *
                               ((double)hp->d_model * hp->head_dim * (2 * hp->n_heads + 2 * hp->n_kv_heads) +
                                3.0 * hp->d_model * hp->d_ff);
    printf("model %s: %d layers, d_model %d, %.1fM linear params per token\n", argv[1], hp->n_layers, hp->d_model,
           linear_params / 1e6);
    for (int li = 0; li < n_lengths; li++) {
        int n = lengths[li];
        if (n > hp->n_ctx) continue;
        int32_t *ids = malloc((size_t)n * sizeof *ids), *rows = malloc((size_t)n * sizeof *rows);
        for (int i = 0; i < n; i++) {
            ids[i] = (int32_t)((i * 2654435761u) % (unsigned)(hp->n_vocab - 3));
            rows[i] = i;
        }
        /* logits of every position, as the PyTorch peer computes them */
        float *logits = malloc((size_t)n * hp->n_vocab * sizeof(float));
        for (int ti = 0; ti < n_threads; ti++) {
            omp_set_num_threads(threads[ti]);
            mkv_workspace ws;
            mkv_kv_store store;
            if (mkv_workspace_init(&ws, hp, n) != MKV_OK ||
                mkv_kv_store_init(&store, hp->n_layers, hp->n_kv_heads, hp->head_dim, 0, n, false) != MKV_OK) {
                fprintf(stderr, "bench_forward: %s\n", mkv_last_error());
                return 1;
            }
            double best = 1e30;
            for (int r = 0; r < repeat; r++) {
                double t0 = mkv_now_seconds();
                if (mkv_forward(model, &ws, &store, ids, rows, n, NULL, rows, n, logits) != MKV_OK) {
                    fprintf(stderr, "bench_forward: %s\n", mkv_last_error());
                    return 1;
                }
                double t = mkv_now_seconds() - t0;
                if (t < best) best = t;
            }
            double flops = 2.0 * (linear_params + (double)hp->d_model * hp->n_vocab) * n + 4.0 * hp->n_layers * (double)n * n * hp->n_heads * hp->head_dim;
            printf("n=%-6d threads=%d  %.3f s  %.3f ms/token  %.1f GFLOP/s\n", n, threads[ti], best, 1e3 * best / n,
                   flops / best / 1e9);
            fflush(stdout);
            mkv_kv_store_free(&store);
            mkv_workspace_free(&ws);
        }
        free(ids);
        free(rows);
        free(logits);
    }
    mkv_model_free(model);
    return 0;
}
