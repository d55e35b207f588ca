/* The model description shared by both sources: dispatch on the path,
 * weight binding with shape validation, accessors, and freeing. */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/load_internal.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/dtype.h"

/* ------------------------------------------------------------ load / free */

static mkv_status load(const char *path, const mkv_model_params *params, bool header_only, mkv_model **out_model) {
    *out_model = NULL;
    mkv_model_params p = params ? *params : mkv_model_params_default();
    if (p.n_threads < 0 || p.n_threads > 1024)
        return mkv_fail(MKV_ERR_USAGE, "--threads: %d is out of range [1, 1024]", p.n_threads);
    if (p.ctx_size < 0 || p.ctx_size > (1 << 24))
        return mkv_fail(MKV_ERR_USAGE, "--ctx-size: %d is out of range [1, %d]", p.ctx_size, 1 << 24);
    if (p.max_memory > 0) mkv_alloc_set_limit(p.max_memory);
    struct stat sb;
    if (!path || !path[0]) return mkv_fail(MKV_ERR_IO, "no model path given");
    if (stat(path, &sb) != 0) return mkv_fail(MKV_ERR_IO, "%s: cannot open: no such file or directory", path);
    if (strlen(path) >= sizeof ((mkv_model *)0)->path) return mkv_fail(MKV_ERR_IO, "%s: path too long", path);
    mkv_model *model = mkv_calloc(1, sizeof *model, "model");
    if (!model) return mkv_last_status();
    snprintf(model->path, sizeof model->path, "%s", path);
    model->params = p;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    snprintf(model->default_profile, sizeof model->default_profile, "%.*s.profile.json", (int)len, path);
    mkv_status st;
    if (S_ISDIR(sb.st_mode)) {
        st = mkv_load_hf_dir(model, path);
        model->weights_loaded = true;
    } else {
        st = mkv_load_gguf(model, path, header_only);
    }
    if (st) {
        mkv_model_free(model);
        return st;
    }
    *out_model = model;
    return MKV_OK;
}

mkv_status mkv_model_load(const char *path, mkv_model **out_model) { return load(path, NULL, false, out_model); }

mkv_status mkv_model_load_with(const char *path, const mkv_model_params *params, mkv_model **out_model) {
    return load(path, params, false, out_model);
}

mkv_status mkv_model_load_header(const char *path, const mkv_model_params *params, mkv_model **out_model) {
    return load(path, params, true, out_model);
}

mkv_status mkv_model_load_weights(mkv_model *model) {
    if (model->weights_loaded) return MKV_OK;
    mkv_status st = mkv_load_gguf_weights(model);
    model->weights_loaded = st == MKV_OK;
    return st;
}

mkv_status mkv_model_require_weights(const mkv_model *model) {
    if (!model) return mkv_fail(MKV_ERR_USAGE, "no model given");
    if (!model->weights_loaded)
        return mkv_fail(MKV_ERR_USAGE, "%s: the weights are not loaded (mkv_model_load_weights)", model->path);
    return MKV_OK;
}

void mkv_model_free(mkv_model *model) {
    if (!model) return;
    if (model->tokenizer) mkv_tokenizer_free(model->tokenizer);
    for (int i = 0; i < model->n_mappings; i++) mkv_unmap_file(&model->mappings[i]);
    mkv_free(model->mappings);
    for (int i = 0; i < model->n_owned_buffers; i++) mkv_free(model->owned_buffers[i]);
    mkv_free(model->owned_buffers);
    mkv_free(model->tensors);
    mkv_free(model->tensor_by_name);
    mkv_free(model->layers);
    mkv_free(model->chat_template);
    mkv_free(model);
}

const mkv_hparams *mkv_model_hparams(const mkv_model *model) { return &model->hp; }
const mkv_tokenizer *mkv_model_tokenizer(const mkv_model *model) { return model->tokenizer; }

/* ------------------------------------------------------------ accessors */

static int compare_tensor_names(const void *a, const void *b, void *ctx) {
    const mkv_tensor *tensors = ctx;
    int c = strcmp(tensors[*(const int *)a].name, tensors[*(const int *)b].name);
    return c ? c : (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

mkv_status mkv_model_index_tensors(mkv_model *model) {
    mkv_free(model->tensor_by_name);
    model->tensor_by_name = NULL;
    int *order = mkv_malloc((size_t)(model->n_tensors ? model->n_tensors : 1) * sizeof *order, "tensor name index");
    if (!order) return mkv_last_status();
    for (int i = 0; i < model->n_tensors; i++) order[i] = i;
    qsort_r(order, (size_t)model->n_tensors, sizeof *order, compare_tensor_names, model->tensors);
    for (int i = 1; i < model->n_tensors; i++)
        if (strcmp(model->tensors[order[i - 1]].name, model->tensors[order[i]].name) == 0) {
            mkv_free(order);
            return mkv_fail(MKV_ERR_FORMAT, "%s: two tensors map to '%s'", model->path, model->tensors[order[i]].name);
        }
    model->tensor_by_name = order;
    return MKV_OK;
}

const mkv_tensor *mkv_model_find_tensor(const mkv_model *model, const char *name) {
    if (!model->tensor_by_name) {
        for (int i = 0; i < model->n_tensors; i++)
            if (strcmp(model->tensors[i].name, name) == 0) return &model->tensors[i];
        return NULL;
    }
    int lo = 0, hi = model->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const mkv_tensor *t = &model->tensors[model->tensor_by_name[mid]];
        int c = strcmp(t->name, name);
        if (c == 0) return t;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

static int64_t n_elements(const mkv_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < MKV_MAX_DIMS; d++) n *= t->ne[d];
    return n;
}

int64_t mkv_model_n_params(const mkv_model *model) {
    int64_t n = 0;
    for (int i = 0; i < model->n_tensors; i++) n += n_elements(&model->tensors[i]);
    return n;
}

size_t mkv_model_n_bytes(const mkv_model *model) {
    size_t n = 0;
    for (int i = 0; i < model->n_tensors; i++) n += model->tensors[i].n_bytes;
    return n;
}

size_t mkv_model_resident_bytes(const mkv_model *model) {
    size_t n = 0;
    for (int i = 0; i < model->n_mappings; i++) n += mkv_mapped_resident_bytes(&model->mappings[i]);
    for (int i = 0; i < model->n_tensors; i++) {
        const unsigned char *p = model->tensors[i].data;
        bool mapped = false;
        for (int k = 0; k < model->n_mappings && !mapped; k++)
            mapped = p >= model->mappings[k].data && p < model->mappings[k].data + model->mappings[k].size;
        if (!mapped) n += model->tensors[i].n_bytes;
    }
    return n;
}

/* ------------------------------------------------------------ alignment */

static size_t element_alignment(mkv_dtype t) {
    /* f16, bf16, and the quantized blocks, whose fields are bytes and f16
     * scales (every ggml block size is even, so a 2-aligned tensor keeps
     * each block's scales 2-aligned) */
    return t == MKV_TYPE_F32 ? 4 : 2;
}

mkv_status mkv_model_align_tensor_data(mkv_model *model) {
    int n_copies = 0;
    for (int i = 0; i < model->n_tensors; i++)
        n_copies += (uintptr_t)model->tensors[i].data % element_alignment(model->tensors[i].dtype) != 0;
    if (n_copies == 0) return MKV_OK;
    void **owned = mkv_realloc(model->owned_buffers, (size_t)(model->n_owned_buffers + n_copies) * sizeof *owned,
                               "model buffers");
    if (!owned) return mkv_last_status();
    model->owned_buffers = owned;
    for (int i = 0; i < model->n_tensors; i++) {
        mkv_tensor *t = &model->tensors[i];
        if ((uintptr_t)t->data % element_alignment(t->dtype) == 0) continue;
        void *copy = mkv_malloc(t->n_bytes ? t->n_bytes : 1, "aligned copy of a tensor");
        if (!copy) return mkv_last_status();
        memcpy(copy, t->data, t->n_bytes);
        model->owned_buffers[model->n_owned_buffers++] = copy;
        t->data = copy;
    }
    return MKV_OK;
}

/* ------------------------------------------------------------ binding */

static void format_shape(char *buf, size_t size, int n_dims, const int64_t *ne) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < n_dims && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld", (long long)ne[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

/* The tensor `name` with shape [ne0] (ne1 == 0) or [ne0, ne1]; NULL with an
 * error when missing (unless optional) or of another shape. */
static mkv_status bind(const mkv_model *model, const char *name, int64_t ne0, int64_t ne1, bool optional,
                       const mkv_tensor **out) {
    const mkv_tensor *t = mkv_model_find_tensor(model, name);
    *out = t;
    if (!t) return optional ? MKV_OK : mkv_fail(MKV_ERR_FORMAT, "%s: missing tensor '%s'", model->path, name);
    int64_t want[MKV_MAX_DIMS] = {ne0, ne1 ? ne1 : 1, 1, 1};
    int want_dims = ne1 ? 2 : 1;
    bool ok = true;
    for (int d = 0; d < MKV_MAX_DIMS; d++) ok = ok && t->ne[d] == want[d];
    if (!ok) {
        char have_s[96], want_s[96];
        format_shape(have_s, sizeof have_s, t->n_dims, t->ne);
        format_shape(want_s, sizeof want_s, want_dims, want);
        *out = NULL;
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", model->path, name, have_s, want_s);
    }
    return MKV_OK;
}

static mkv_status check_hparams(const mkv_model *model) {
    const mkv_hparams *hp = &model->hp;
    const char *path = model->path;
    struct {
        const char *name;
        int value;
    } positive[] = {{"n_layers", hp->n_layers}, {"d_model", hp->d_model}, {"n_heads", hp->n_heads},
                    {"n_kv_heads", hp->n_kv_heads}, {"head_dim", hp->head_dim}, {"d_ff", hp->d_ff},
                    {"n_vocab", hp->n_vocab}, {"n_ctx", hp->n_ctx}};
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (positive[i].value <= 0)
            return mkv_fail(MKV_ERR_FORMAT, "%s: %s is %d (must be positive)", path, positive[i].name, positive[i].value);
    if (hp->n_heads % hp->n_kv_heads != 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: n_heads %d is not a multiple of n_kv_heads %d", path, hp->n_heads, hp->n_kv_heads);
    if ((int64_t)hp->head_dim * hp->n_heads != hp->d_model)
        return mkv_fail(MKV_ERR_FORMAT, "%s: head_dim %d x n_heads %d = %lld does not match d_model %d", path, hp->head_dim,
                        hp->n_heads, (long long)hp->head_dim * hp->n_heads, hp->d_model);
    if (hp->head_dim % 2 != 0) return mkv_fail(MKV_ERR_FORMAT, "%s: head_dim %d is odd (RoPE rotates pairs)", path, hp->head_dim);
    if (!(hp->rope_theta > 0) || !isfinite(hp->rope_theta))
        return mkv_fail(MKV_ERR_FORMAT, "%s: rope theta %g is not a positive number", path, (double)hp->rope_theta);
    if (!(hp->norm_eps > 0) || !isfinite(hp->norm_eps))
        return mkv_fail(MKV_ERR_FORMAT, "%s: norm epsilon %g is not a positive number", path, (double)hp->norm_eps);
    struct {
        const char *name;
        int32_t id;
    } ids[] = {{"mask", hp->mask_id}, {"bos", hp->bos_id}, {"eos", hp->eos_id}, {"eot", hp->eot_id}, {"pad", hp->pad_id}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i].id < -1 || ids[i].id >= hp->n_vocab)
            return mkv_fail(MKV_ERR_FORMAT, "%s: %s token id %d is outside the vocabulary of %d tokens", path, ids[i].name,
                            ids[i].id, hp->n_vocab);
    if (hp->mask_id < 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: no mask token id (a diffusion model needs one: mask_token_id)", path);
    return MKV_OK;
}

mkv_status mkv_model_bind_weights(mkv_model *model) {
    mkv_status st = check_hparams(model);
    if (st) return st;
    if (!model->tensor_by_name && (st = mkv_model_index_tensors(model))) return st;
    mkv_hparams *hp = &model->hp;
    const int64_t d = hp->d_model, q_dim = (int64_t)hp->n_heads * hp->head_dim, kv_dim = (int64_t)hp->n_kv_heads * hp->head_dim;
    const int64_t ff = hp->d_ff, vocab = hp->n_vocab;
    if ((st = bind(model, "token_embd.weight", d, vocab, false, &model->tok_embd))) return st;
    if ((st = bind(model, "output_norm.weight", d, 0, false, &model->output_norm))) return st;
    if ((st = bind(model, "output.weight", d, vocab, true, &model->output))) return st;
    if (!model->output) model->output = model->tok_embd; /* tied embeddings */

    /* Each layer has at least 9 weights: a layer count the file cannot hold is
     * refused before allocating for it (hostile block_count up to 2^30). */
    if ((int64_t)hp->n_layers * 9 > model->n_tensors)
        return mkv_fail(MKV_ERR_FORMAT, "%s: %d layers need at least %lld tensors, the model has %d", model->path,
                        hp->n_layers, (long long)hp->n_layers * 9, model->n_tensors);
    mkv_free(model->layers);
    model->layers = mkv_calloc((size_t)hp->n_layers, sizeof *model->layers, "model layers");
    if (!model->layers) return mkv_last_status();
    bool want_bias = model->arch && model->arch->has_qkv_bias;
    if (!want_bias && mkv_model_find_tensor(model, "blk.0.attn_q.bias")) want_bias = true;
    hp->has_qkv_bias = want_bias;
    for (int l = 0; l < hp->n_layers; l++) {
        mkv_layer_weights *w = &model->layers[l];
        char name[96];
#define BIND(field, suffix, a, b, optional)                                   \
    snprintf(name, sizeof name, "blk.%d.%s", l, suffix);                      \
    if ((st = bind(model, name, a, b, optional, &w->field))) return st
        BIND(attn_norm, "attn_norm.weight", d, 0, false);
        BIND(wq, "attn_q.weight", d, q_dim, false);
        BIND(wk, "attn_k.weight", d, kv_dim, false);
        BIND(wv, "attn_v.weight", d, kv_dim, false);
        BIND(wo, "attn_output.weight", q_dim, d, false);
        BIND(ffn_norm, "ffn_norm.weight", d, 0, false);
        BIND(ffn_gate, "ffn_gate.weight", d, ff, false);
        BIND(ffn_up, "ffn_up.weight", d, ff, false);
        BIND(ffn_down, "ffn_down.weight", ff, d, false);
        if (want_bias) {
            BIND(bq, "attn_q.bias", q_dim, 0, false);
            BIND(bk, "attn_k.bias", kv_dim, 0, false);
            BIND(bv, "attn_v.bias", kv_dim, 0, false);
        }
#undef BIND
    }
    /* A file with more blocks than the hyper-parameters say is inconsistent. */
    char name[96];
    snprintf(name, sizeof name, "blk.%d.attn_q.weight", hp->n_layers);
    if (mkv_model_find_tensor(model, name))
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' exists but the model has %d layers", model->path, name, hp->n_layers);
    return MKV_OK;
}

/* ------------------------------------------------------------ weight scan */

mkv_status mkv_model_check_weights(const mkv_model *model) {
    for (int i = 0; i < model->n_tensors; i++) {
        const mkv_tensor *t = &model->tensors[i];
        const mkv_dtype_traits *traits = mkv_dtype_info(t->dtype);
        if (!traits) return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported type %d", model->path, t->name, (int)t->dtype);
        const int64_t chunk_blocks = 131072 / traits->block_size; /* 512 KiB of floats per thread */
        int64_t n = n_elements(t), n_blocks = n / traits->block_size;
        int64_t n_chunks = (n_blocks + chunk_blocks - 1) / chunk_blocks;
        int64_t first_bad = INT64_MAX;
        mkv_status alloc_status = MKV_OK;
#pragma omp parallel
        {
            float *buf = mkv_malloc((size_t)(chunk_blocks * traits->block_size) * sizeof(float), "weight check buffer");
            if (!buf) {
#pragma omp critical
                alloc_status = MKV_ERR_NOMEM;
            }
#pragma omp for reduction(min : first_bad) schedule(static)
            for (int64_t c = 0; c < n_chunks; c++) {
                if (!buf) continue;
                int64_t b0 = c * chunk_blocks, nb = n_blocks - b0 < chunk_blocks ? n_blocks - b0 : chunk_blocks;
                int64_t count = nb * traits->block_size;
                traits->to_float((const unsigned char *)t->data + (size_t)b0 * traits->block_bytes, buf, count);
                for (int64_t k = 0; k < count; k++)
                    if (!isfinite(buf[k])) {
                        if (b0 * traits->block_size + k < first_bad) first_bad = b0 * traits->block_size + k;
                        break;
                    }
            }
            mkv_free(buf);
        }
        if (alloc_status) return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory checking weights", model->path);
        if (first_bad != INT64_MAX) {
            int64_t row = first_bad / t->ne[0], col = first_bad % t->ne[0];
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has a NaN or Inf at row %lld, column %lld", model->path, t->name,
                            (long long)row, (long long)col);
        }
    }
    return MKV_OK;
}
