/* Calibration (maskkv.h): the per-layer attention importance I(l) of the
 * first denoising step of each sample (SPEC §4, boundary-aware layer
 * budgets), averaged into the profile that mkv_gen_params.profile_path loads. */
#include <string.h>

#include "cache/profile.h"
#include "model/forward.h"
#include "util/alloc.h"

struct mkv_calibration {
    const mkv_model *model;
    mkv_profile profile;
    double *importance;      /* [n_layers] of the last sample */
    int32_t *tokens, *rows;  /* [capacity] */
    int capacity;
    mkv_workspace ws;
};

mkv_status mkv_calibration_create(const mkv_model *model, mkv_calibration **out) {
    *out = NULL;
    mkv_status wst = mkv_model_require_weights(model);
    if (wst != MKV_OK) return wst;
    mkv_calibration *c = mkv_calloc(1, sizeof *c, "calibration");
    if (!c) return mkv_last_status();
    c->model = model;
    mkv_status st = mkv_profile_init(&c->profile, model);
    if (st == MKV_OK &&
        !(c->importance = mkv_malloc((size_t)model->hp.n_layers * sizeof(double), "layer importance")))
        st = mkv_last_status();
    if (st != MKV_OK) {
        mkv_calibration_free(c);
        return st;
    }
    *out = c;
    return MKV_OK;
}

void mkv_calibration_free(mkv_calibration *c) {
    if (!c) return;
    mkv_workspace_free(&c->ws);
    mkv_profile_free(&c->profile);
    mkv_free(c->importance);
    mkv_free(c->tokens);
    mkv_free(c->rows);
    mkv_free(c);
}

/* Buffers for a sample of n positions (kept for the next, smaller ones). */
static mkv_status reserve(mkv_calibration *c, int n) {
    if (n <= c->capacity) return MKV_OK;
    mkv_free(c->tokens);
    mkv_free(c->rows);
    mkv_workspace_free(&c->ws);
    c->capacity = 0;
    c->tokens = mkv_malloc((size_t)n * sizeof(int32_t), "calibration tokens");
    c->rows = mkv_malloc((size_t)n * sizeof(int32_t), "calibration rows");
    if (!c->tokens || !c->rows) return mkv_last_status();
    mkv_status st = mkv_workspace_init(&c->ws, &c->model->hp, n);
    if (st == MKV_OK) c->capacity = n;
    return st;
}

mkv_status mkv_calibration_add(mkv_calibration *c, const int32_t *ids, int n_ids, int gen_len, double *importance) {
    const mkv_hparams *hp = &c->model->hp;
    if (!ids || n_ids <= 0) return mkv_fail(MKV_ERR_INPUT, "calibration: an empty sample");
    if (gen_len < 0) return mkv_fail(MKV_ERR_USAGE, "--gen-len must be at least 0 (got %d)", gen_len);
    if (hp->mask_id < 0 && gen_len > 0) return mkv_fail(MKV_ERR_UNSUPPORTED, "the model has no mask token id");
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= hp->n_vocab)
            return mkv_fail(MKV_ERR_INPUT, "token id %d is out of the vocabulary [0, %d)", ids[i], hp->n_vocab);
    mkv_model_apply_threads(c->model);
    int n = n_ids + gen_len;
    mkv_status st = reserve(c, n);
    if (st != MKV_OK) return st;
    memcpy(c->tokens, ids, (size_t)n_ids * sizeof(int32_t));
    for (int i = n_ids; i < n; i++) c->tokens[i] = hp->mask_id;
    for (int i = 0; i < n; i++) c->rows[i] = i;
    mkv_kv_store store = {0};
    if ((st = mkv_kv_store_init(&store, hp->n_layers, hp->n_kv_heads, hp->head_dim, 0, n, false)) != MKV_OK) return st;
    mkv_forward_observer obs = {.layer_importance = c->importance};
    st = mkv_forward(c->model, &c->ws, &store, c->tokens, c->rows, n, &obs, NULL, 0, NULL);
    mkv_kv_store_free(&store);
    if (st != MKV_OK) return st;
    mkv_profile_add_sample(&c->profile, c->importance);
    if (importance) memcpy(importance, c->importance, (size_t)hp->n_layers * sizeof(double));
    return MKV_OK;
}

int mkv_calibration_samples(const mkv_calibration *c) { return c->profile.samples; }
const double *mkv_calibration_importance(const mkv_calibration *c) { return c->profile.layer_importance; }

mkv_status mkv_calibration_save(const mkv_calibration *c, const char *path) {
    if (c->profile.samples == 0) return mkv_fail(MKV_ERR_INPUT, "%s: no calibration sample was added", path);
    return mkv_profile_save(&c->profile, path);
}
