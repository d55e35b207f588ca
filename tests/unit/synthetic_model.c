#include "synthetic_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/arch.h"
#include "model/forward.h"

static float next_uniform(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

static mkv_tensor *add_tensor(mkv_model *m, const char *name, int64_t ne0, int64_t ne1, float scale, unsigned *state) {
    mkv_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = MKV_TYPE_F32;
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->ne[2] = t->ne[3] = 1;
    size_t n = (size_t)(ne0 * ne1);
    float *data = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) data[i] = scale < 0 ? 1.0f + 0.1f * next_uniform(state) : scale * next_uniform(state);
    t->data = data;
    t->n_bytes = n * sizeof(float);
    return t;
}

mkv_model *synthetic_llada_or_dream(int arch, unsigned seed) {
    return arch == 0 ? synthetic_model(MKV_ARCH_LLADA, 3, 32, 4, 4, 64, 60, seed)
                     : synthetic_model(MKV_ARCH_DREAM, 3, 32, 4, 2, 64, 60, seed);
}

mkv_model *synthetic_model(mkv_arch arch, int n_layers, int d_model, int n_heads, int n_kv_heads, int d_ff, int n_vocab,
                           unsigned seed) {
    mkv_model *m = calloc(1, sizeof *m);
    m->arch = mkv_arch_by_id(arch);
    mkv_hparams *hp = &m->hp;
    hp->arch = arch;
    hp->n_layers = n_layers;
    hp->d_model = d_model;
    hp->n_heads = n_heads;
    hp->n_kv_heads = n_kv_heads;
    hp->head_dim = d_model / n_heads;
    hp->d_ff = d_ff;
    hp->n_vocab = n_vocab;
    hp->n_ctx = 4096;
    hp->rope_theta = arch == MKV_ARCH_DREAM ? 1e6f : 5e5f;
    hp->norm_eps = 1e-5f;
    hp->rope_style = MKV_ROPE_NEOX;
    hp->has_qkv_bias = arch == MKV_ARCH_DREAM;
    hp->shift_logits = arch == MKV_ARCH_DREAM;
    hp->mask_id = n_vocab - 1;
    hp->bos_id = 0;
    hp->eos_id = 1;
    hp->eot_id = 2;
    hp->pad_id = 1;
    m->tensors = calloc((size_t)(3 + 12 * n_layers), sizeof(mkv_tensor));
    m->layers = calloc((size_t)n_layers, sizeof(mkv_layer_weights));
    unsigned state = seed;
    int kv_dim = n_kv_heads * hp->head_dim;
    float ws = 1.0f / (float)d_model;
    m->tok_embd = add_tensor(m, "token_embd.weight", d_model, n_vocab, 1.0f, &state);
    m->output_norm = add_tensor(m, "output_norm.weight", d_model, 1, -1, &state);
    m->output = add_tensor(m, "output.weight", d_model, n_vocab, 3.0f * ws * 8, &state);
    for (int l = 0; l < n_layers; l++) {
        mkv_layer_weights *w = &m->layers[l];
        char name[64];
#define T(field, suffix, a, b, s)                                  \
    snprintf(name, sizeof name, "blk.%d.%s", l, suffix);           \
    w->field = add_tensor(m, name, a, b, s, &state)
        T(attn_norm, "attn_norm.weight", d_model, 1, -1);
        T(wq, "attn_q.weight", d_model, d_model, 4 * ws * 8);
        T(wk, "attn_k.weight", d_model, kv_dim, 4 * ws * 8);
        T(wv, "attn_v.weight", d_model, kv_dim, ws * 8);
        T(wo, "attn_output.weight", d_model, d_model, ws * 8);
        T(ffn_norm, "ffn_norm.weight", d_model, 1, -1);
        T(ffn_gate, "ffn_gate.weight", d_model, d_ff, ws * 8);
        T(ffn_up, "ffn_up.weight", d_model, d_ff, ws * 8);
        T(ffn_down, "ffn_down.weight", d_ff, d_model, ws * 8);
        if (hp->has_qkv_bias) {
            T(bq, "attn_q.bias", d_model, 1, 0.1f);
            T(bk, "attn_k.bias", kv_dim, 1, 0.1f);
            T(bv, "attn_v.bias", kv_dim, 1, 0.1f);
        }
#undef T
    }
    return m;
}

void synthetic_model_free(mkv_model *m) {
    for (int i = 0; i < m->n_tensors; i++) free((void *)m->tensors[i].data);
    free(m->tensors);
    free(m->layers);
    free(m);
}

/* logits of every position of `ids` */
float *mkv_test_forward_all(const mkv_model *m, const int32_t *ids, int n) {
    return mkv_test_forward_all_as(m, MKV_COMPUTE_F32, ids, n);
}

float *mkv_test_forward_all_as(const mkv_model *m, mkv_compute compute, const int32_t *ids, int n) {
    mkv_workspace ws;
    mkv_kv_store store;
    if (mkv_workspace_init(&ws, &m->hp, n) != MKV_OK) return NULL;
    ws.compute = compute;
    if (mkv_kv_store_init_dtype(&store, m->hp.n_layers, m->hp.n_kv_heads, m->hp.head_dim, 0, n, false,
                                mkv_compute_kv_dtype(compute)) != MKV_OK)
        return NULL;
    int32_t *rows = malloc((size_t)n * sizeof *rows);
    for (int i = 0; i < n; i++) rows[i] = i;
    float *logits = malloc((size_t)n * m->hp.n_vocab * sizeof(float));
    mkv_status st = mkv_forward(m, &ws, &store, ids, rows, n, NULL, rows, n, logits);
    free(rows);
    mkv_kv_store_free(&store);
    mkv_workspace_free(&ws);
    if (st != MKV_OK) {
        free(logits);
        return NULL;
    }
    return logits;
}
