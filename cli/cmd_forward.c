/* maskkv forward: run the transformer over token ids and write logits. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "progress.h"

static void usage(void) {
    printf("usage: maskkv forward -m MODEL --ids \"1 2 3\" --logits-out FILE [options]\n"
           "Runs the transformer once over the ids (bidirectional attention, no cache) and writes\n"
           "the logits of the requested positions as raw little-endian f32, rows in position\n"
           "order ([n_positions][n_vocab]); prints a one-line summary.\n"
           "  -m, --model PATH       .gguf file or HF checkpoint directory (required)\n"
           "  --ids LIST             token ids separated by spaces or commas (required)\n"
           "  --positions all|i,j,.. positions whose logits are written (all)\n"
           "  --logits-out FILE      the output file (required; written atomically)\n"
           "  -t, --threads N        threads (all cores)\n"
           "  --check-weights        scan every weight for NaN/Inf first (off)\n"
           "  --max-memory SIZE      refuse a run whose estimate exceeds SIZE, e.g. 8G (physical memory)\n"
           "  -c, --ctx-size N       run up to N tokens, past the trained context with a warning\n"
           "                         (default: the trained context)\n"
           "example: maskkv forward -m models/llada-tiny-retrieval.gguf --ids \"1 2 3 4\" --positions 3 --logits-out logits.f32\n");
}

mkv_status cmd_forward(int argc, char **argv) {
    const char *model_path = NULL, *ids_text = NULL, *positions_text = "all", *out_path = NULL;
    bool check_weights = false;
    mkv_model_params mp = mkv_model_params_default();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        if (!strcmp(a, "--check-weights")) {
            check_weights = true;
            continue;
        }
        const char *v = mkv_arg_next(argc, argv, &i); /* NULL: checked once the flag is known */
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "--ids")) ids_text = v;
        else if (!strcmp(a, "--positions")) positions_text = v;
        else if (!strcmp(a, "--ctx-size") || !strcmp(a, "-c")) {
            if (!mkv_parse_int(a, v, 1, 1 << 24, &mp.ctx_size)) return MKV_ERR_USAGE;
        }
        else if (!strcmp(a, "--logits-out") || !strcmp(a, "-o")) out_path = v;
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (!mkv_parse_threads(v, &mp.n_threads)) return MKV_ERR_USAGE;
        } else if (!strcmp(a, "--max-memory")) {
            if (!mkv_parse_bytes(a, v, &mp.max_memory)) return MKV_ERR_USAGE;
            mkv_alloc_set_limit(mp.max_memory); /* also for --max-memory 0 */
        } else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv forward --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if (!ids_text) return mkv_fail(MKV_ERR_USAGE, "--ids is required");
    if (!out_path) return mkv_fail(MKV_ERR_USAGE, "--logits-out FILE is required");

    const char *inputs[] = {model_path};
    if (mkv_output_check(out_path, inputs, 1)) return mkv_last_status();

    int32_t *ids = NULL, *positions = NULL;
    int n = 0, n_positions = 0;
    mkv_model *model = NULL;
    float *logits = NULL;
    mkv_status st = MKV_OK;
    if (!mkv_parse_id_list("--ids", ids_text, &ids, &n)) return mkv_last_status();
    if ((st = mkv_model_load_with(model_path, &mp, &model)) != MKV_OK) goto done;
    const mkv_hparams *hp = mkv_model_hparams(model);
    if (check_weights && (st = mkv_model_check_weights(model)) != MKV_OK) goto done;
    if (strcmp(positions_text, "all") != 0) {
        if (!mkv_parse_id_list("--positions", positions_text, &positions, &n_positions)) {
            st = mkv_last_status();
            goto done;
        }
    } else {
        n_positions = n;
    }
    if (n <= (mp.ctx_size > 0 ? mp.ctx_size : hp->n_ctx)) mkv_warn_past_context("forward", n, hp->n_ctx, mp.ctx_size);
    if (!(logits = mkv_malloc((size_t)n_positions * hp->n_vocab * sizeof(float), "logits"))) {
        st = mkv_last_status();
        goto done;
    }
    double start = mkv_cli_seconds();
    if ((st = mkv_model_logits(model, ids, n, positions, n_positions, logits)) != MKV_OK) goto done;
    double seconds = mkv_cli_seconds() - start;
    if ((st = mkv_safe_write_all(out_path, logits, (size_t)n_positions * hp->n_vocab * sizeof(float))) != MKV_OK) goto done;
    const float *last = logits + (size_t)(n_positions - 1) * hp->n_vocab;
    int argmax = 0;
    for (int v = 1; v < hp->n_vocab; v++)
        if (last[v] > last[argmax]) argmax = v;
    printf("forward: %d tokens, %d logit rows -> %s; argmax of last row %d (%.4f); %.3f s (%.2f ms/token)\n", n,
           n_positions, out_path, argmax, last[argmax], seconds, 1e3 * seconds / n);
done:
    mkv_free(logits);
    mkv_model_free(model);
    mkv_free(positions);
    mkv_free(ids);
    return st;
}
