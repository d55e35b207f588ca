/* maskkv forward: run the transformer over token ids and write logits. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "model/forward.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/safe_write.h"

static void usage(void) {
    printf("usage: maskkv forward -m MODEL --ids \"1 2 3\" [--positions all|i,j,...] --logits-out FILE\n"
           "                      [--threads N] [--check-weights] [--max-memory SIZE] [--ctx-size N]\n"
           "Writes the logits of the requested positions as raw little-endian f32, rows in\n"
           "position order ([n_positions][n_vocab]), and prints a one-line summary.\n"
           "--ctx-size N runs up to N tokens, past the trained context with a warning.\n");
}

mkv_status cmd_forward(int argc, char **argv) {
    const char *model_path = NULL, *ids_text = NULL, *positions_text = "all", *out_path = NULL;
    bool check_weights = false;
    int ctx_size = 0;
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
            if (!mkv_parse_int(a, v, 1, 1 << 24, &ctx_size)) return MKV_ERR_USAGE;
        }
        else if (!strcmp(a, "--logits-out") || !strcmp(a, "-o")) out_path = v;
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (!mkv_apply_threads(v)) return MKV_ERR_USAGE;
        } else if (!strcmp(a, "--max-memory")) {
            size_t bytes;
            if (!mkv_parse_bytes(a, v, &bytes)) return MKV_ERR_USAGE;
            mkv_alloc_set_limit(bytes);
        } else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv forward --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if (!ids_text) return mkv_fail(MKV_ERR_USAGE, "--ids is required");
    if (!out_path) return mkv_fail(MKV_ERR_USAGE, "--logits-out FILE is required");

    const char *inputs[] = {model_path};
    if (mkv_output_check(out_path, inputs, 1)) return mkv_last_status();

    int32_t *ids = NULL, *positions = NULL, *rows = NULL;
    int n = 0, n_positions = 0;
    mkv_model *model = NULL;
    float *logits = NULL;
    mkv_workspace ws = {0};
    mkv_kv_store store = {0};
    mkv_status st = MKV_OK;
    if (!mkv_parse_id_list("--ids", ids_text, &ids, &n)) return mkv_last_status();
    if ((st = mkv_model_load(model_path, &model)) != MKV_OK) goto done;
    const mkv_hparams *hp = mkv_model_hparams(model);
    if (check_weights && (st = mkv_model_check_weights(model)) != MKV_OK) goto done;
    if (ctx_size > 0 && n > ctx_size) {
        st = mkv_fail(MKV_ERR_INPUT, "%d tokens exceed --ctx-size %d", n, ctx_size);
        goto done;
    }
    if (ctx_size == 0 && n > hp->n_ctx) {
        st = mkv_fail(MKV_ERR_INPUT, "%d tokens exceed the model's context of %d (--ctx-size N runs past it)", n, hp->n_ctx);
        goto done;
    }
    mkv_warn_past_context("forward", n, hp->n_ctx, ctx_size);
    for (int i = 0; i < n; i++)
        if (ids[i] >= hp->n_vocab) {
            st = mkv_fail(MKV_ERR_INPUT, "token id %d is out of the vocabulary [0, %d)", ids[i], hp->n_vocab);
            goto done;
        }
    if (!strcmp(positions_text, "all")) {
        positions = mkv_malloc((size_t)n * sizeof(int32_t), "positions");
        if (!positions) goto nomem;
        for (int i = 0; i < n; i++) positions[i] = i;
        n_positions = n;
    } else {
        if (!mkv_parse_id_list("--positions", positions_text, &positions, &n_positions)) goto fail;
        for (int i = 0; i < n_positions; i++)
            if (positions[i] >= n) {
                st = mkv_fail(MKV_ERR_USAGE, "--positions: %d is past the last position %d", positions[i], n - 1);
                goto done;
            }
    }
    if ((st = mkv_workspace_init(&ws, hp, n)) != MKV_OK) goto done;
    if ((st = mkv_kv_store_init(&store, hp->n_layers, hp->n_kv_heads, hp->head_dim, 0, n, false)) != MKV_OK) goto done;
    logits = mkv_malloc((size_t)n_positions * hp->n_vocab * sizeof(float), "logits");
    if (!logits) goto nomem;
    rows = mkv_malloc((size_t)n * sizeof(int32_t), "rows");
    if (!rows) goto nomem;
    for (int i = 0; i < n; i++) rows[i] = i;
    double start = mkv_now_seconds();
    if ((st = mkv_forward(model, &ws, &store, ids, rows, n, NULL, positions, n_positions, logits)) != MKV_OK) goto done;
    double seconds = mkv_now_seconds() - start;
    if ((st = mkv_safe_write_all(out_path, logits, (size_t)n_positions * hp->n_vocab * sizeof(float))) != MKV_OK) goto done;
    const float *last = logits + (size_t)(n_positions - 1) * hp->n_vocab;
    int argmax = 0;
    for (int v = 1; v < hp->n_vocab; v++)
        if (last[v] > last[argmax]) argmax = v;
    printf("forward: %d tokens, %d logit rows -> %s; argmax of last row %d (%.4f); %.3f s (%.2f ms/token)\n", n,
           n_positions, out_path, argmax, last[argmax], seconds, 1e3 * seconds / n);
    goto done;
nomem:
    st = mkv_last_status() ? mkv_last_status() : MKV_ERR_NOMEM;
    goto done;
fail:
    st = mkv_last_status();
done:
    mkv_free(logits);
    mkv_kv_store_free(&store);
    mkv_workspace_free(&ws);
    if (model) mkv_model_free(model);
    mkv_free(rows);
    mkv_free(positions);
    mkv_free(ids);
    return st;
}
