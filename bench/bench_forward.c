/* Forward-pass benchmark: seconds per token of a full bidirectional forward
 * over n tokens, for several n and thread counts.
 *
 *   build/bench/bench_forward MODEL [--lengths 256,1024,4096] [--threads 1,2] [--repeat N]
 *                               [--compute f32,bf16]
 *
 * Prints one line per (length, threads, compute): total seconds, ms/token,
 * the GFLOP/s achieved (2 * params * n for the matmuls incl. the LM head on
 * every position, as the PyTorch peer does, + 4 * n^2 * d_attn per layer),
 * and the seconds and GFLOP/s of the attention kernel and of the matmuls
 * (qkv + out_proj + ffn + lm_head parts, which include the norms, RoPE and
 * residual adds around them). bf16 compute stores K/V in bf16. */
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
    mkv_compute computes[2] = {MKV_COMPUTE_F32};
    int n_computes = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--lengths")) n_lengths = parse_list(argv[i + 1], lengths, 16);
        else if (!strcmp(argv[i], "--threads")) n_threads = parse_list(argv[i + 1], threads, 8);
        else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--compute")) {
            n_computes = 0;
            for (const char *name = strtok(argv[i + 1], ","); name && n_computes < 2; name = strtok(NULL, ","))
                if (!mkv_compute_from_name(name, &computes[n_computes++])) {
                    fprintf(stderr, "bench_forward: --compute: unknown '%s'\n", name);
                    return 2;
                }
        }
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
        for (int run = 0; run < n_threads * n_computes; run++) {
            const int ti = run / n_computes;
            const mkv_compute compute = computes[run % n_computes];
            omp_set_num_threads(threads[ti]);
            mkv_workspace ws;
            mkv_kv_store store;
            if (mkv_workspace_init(&ws, hp, n) != MKV_OK ||
                mkv_kv_store_init_dtype(&store, hp->n_layers, hp->n_kv_heads, hp->head_dim, 0, n, false,
                                        mkv_compute_kv_dtype(compute)) != MKV_OK) {
                fprintf(stderr, "bench_forward: %s\n", mkv_last_error());
                return 1;
            }
            ws.compute = compute;
            double best = 1e30;
            mkv_forward_timing best_timing = {0};
            for (int r = 0; r < repeat; r++) {
                memset(&ws.timing, 0, sizeof ws.timing);
                double t0 = mkv_now_seconds();
                if (mkv_forward(model, &ws, &store, ids, rows, n, NULL, rows, n, logits) != MKV_OK) {
                    fprintf(stderr, "bench_forward: %s\n", mkv_last_error());
                    return 1;
                }
                double t = mkv_now_seconds() - t0;
                if (t < best) best = t, best_timing = ws.timing;
            }
            const double matmul_flops = 2.0 * (linear_params + (double)hp->d_model * hp->n_vocab) * n;
            const double attention_flops = 4.0 * hp->n_layers * (double)n * n * hp->n_heads * hp->head_dim;
            const double *part = best_timing.seconds;
            const double attention_s = part[MKV_PART_ATTENTION];
            const double matmul_s = part[MKV_PART_QKV] + part[MKV_PART_OUT_PROJ] + part[MKV_PART_FFN] + part[MKV_PART_LM_HEAD];
            printf("n=%-6d threads=%d compute=%-4s  %.3f s  %.3f ms/token  %.1f GFLOP/s  (attention %.2f s %.1f GFLOP/s, "
                   "matmuls %.2f s %.1f GFLOP/s)\n",
                   n, threads[ti], mkv_compute_name(compute), best, 1e3 * best / n, (matmul_flops + attention_flops) / best / 1e9,
                   attention_s, attention_s > 0 ? attention_flops / attention_s / 1e9 : 0, matmul_s,
                   matmul_s > 0 ? matmul_flops / matmul_s / 1e9 : 0);
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
