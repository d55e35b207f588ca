/* mkv_model_logits: one forward pass over token ids (research use, `maskkv
 * forward`), with its own workspace and K/V store, so that any number of
 * threads may call it on one model. */
#include <string.h>

#include "maskkv.h"
#include "model/forward.h"
#include "util/alloc.h"

mkv_status mkv_model_logits(const mkv_model *model, const int32_t *ids, int n_ids, const int32_t *positions,
                            int n_positions, float *out_logits) {
    const mkv_hparams *hp = mkv_model_hparams(model);
    int ctx_size = model->params.ctx_size;
    mkv_status wst = mkv_model_require_weights(model);
    if (wst != MKV_OK) return wst;
    if (!ids || n_ids <= 0) return mkv_fail(MKV_ERR_INPUT, "no token ids given");
    if (!out_logits) return mkv_fail(MKV_ERR_USAGE, "no logits buffer given");
    if (ctx_size > 0 && n_ids > ctx_size) return mkv_fail(MKV_ERR_INPUT, "%d tokens exceed --ctx-size %d", n_ids, ctx_size);
    if (ctx_size == 0 && n_ids > hp->n_ctx)
        return mkv_fail(MKV_ERR_INPUT, "%d tokens exceed the model's context of %d (--ctx-size N runs past it)", n_ids,
                        hp->n_ctx);
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= hp->n_vocab)
            return mkv_fail(MKV_ERR_INPUT, "token id %d is out of the vocabulary [0, %d)", ids[i], hp->n_vocab);
    if (positions) {
        if (n_positions <= 0) return mkv_fail(MKV_ERR_USAGE, "--positions: no positions given");
        for (int i = 0; i < n_positions; i++)
            if (positions[i] < 0 || positions[i] >= n_ids)
                return mkv_fail(MKV_ERR_USAGE, "--positions: %d is past the last position %d", positions[i], n_ids - 1);
    } else {
        n_positions = n_ids;
    }
    mkv_model_apply_threads(model);
    mkv_workspace ws = {0};
    mkv_kv_store store = {0};
    int32_t *rows = NULL, *all = NULL;
    mkv_status st = mkv_workspace_init(&ws, hp, n_ids);
    if (st == MKV_OK) st = mkv_kv_store_init(&store, hp->n_layers, hp->n_kv_heads, hp->head_dim, 0, n_ids, false);
    if (st == MKV_OK && !(rows = mkv_malloc((size_t)n_ids * sizeof(int32_t), "rows"))) st = mkv_last_status();
    if (st == MKV_OK && !positions && !(all = mkv_malloc((size_t)n_ids * sizeof(int32_t), "positions")))
        st = mkv_last_status();
    if (st == MKV_OK) {
        for (int i = 0; i < n_ids; i++) rows[i] = i;
        if (all) memcpy(all, rows, (size_t)n_ids * sizeof(int32_t));
        st = mkv_forward(model, &ws, &store, ids, rows, n_ids, NULL, positions ? positions : all, n_positions, out_logits);
    }
    mkv_free(all);
    mkv_free(rows);
    mkv_kv_store_free(&store);
    mkv_workspace_free(&ws);
    return st;
}
