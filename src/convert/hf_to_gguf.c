/* HF checkpoint directory -> GGUF (mkv_convert_hf_to_gguf, `maskkv convert`):
 * writes the GGUF that llama.cpp's convert_hf_to_gguf.py writes for the same
 * checkpoint (classes LLaDAModel and DreamModel): the same metadata keys and
 * value types, the same tensor names, the same q/k row permutation for LLaDA
 * (LlamaModel.permute, so that llama.cpp's interleaved "NORM" RoPE applies),
 * and the same type choice per tensor:
 *   - 1-D tensors, *_norm.weight and anything not named *.weight stay F32;
 *   - other tensors take --type; a quantized type whose block size does not
 *     divide the row length falls back to F16 (gguf-py raises QuantError and
 *     the converter falls back to F16).
 * Keys come in the converter's order (gguf-py keeps the first insertion
 * position when a key is re-added). general.* follows gguf.Metadata: sampling
 * defaults from generation_config.json, and name / organization / basename /
 * finetune / version / size_label guessed from config.json's _name_or_path and
 * the directory name. Tensors stream through a bounded buffer, one chunk of
 * rows at a time; rows convert in parallel (same bytes at any thread count).
 * tests/python/check_convert_gguf.py compares the output with
 * tools/gguf_export.py (keys, values, tensor bytes, and the whole file).
 *
 * Tensors come in llama.cpp's order too (shards by name, names sorted within
 * each), so that the whole file is the same.
 *
 * Not reproduced: the model card (README.md YAML: license, tags, base models,
 * datasets...) and chat templates given as a list (only the "default" one is
 * written). q4_0 is not an --outtype
 * of llama.cpp's converter; the same rules as for q8_0 apply (what
 * `llama-quantize --pure` gives). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/gguf_writer.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "model/load_internal.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/safe_write.h"
#include "util/dtype.h"

#define GGML_QUANT_VERSION 2

/* llama.cpp's LlamaFileType numbering (general.file_type). */
static uint32_t file_type_of(mkv_dtype t) {
    switch (t) {
    case MKV_TYPE_F32: return 0;
    case MKV_TYPE_F16: return 1;
    case MKV_TYPE_Q4_0: return 2;
    case MKV_TYPE_Q8_0: return 7;
    case MKV_TYPE_BF16: return 32;
    default: return 0; /* the other types have no quantizer here: main() refuses them */
    }
}

/* ------------------------------------------------------------ ordered metadata */

/* gguf-py keeps keys in first-insertion order and lets a later add overwrite
 * the value in place; the converter relies on that (LLaDA re-adds
 * context_length and add_bos_token). */
typedef enum { KV_U32, KV_I32, KV_F32, KV_BOOL, KV_STR, KV_TOKENS, KV_TOKEN_TYPES, KV_MERGES } kv_kind;

typedef struct {
    char key[96];
    kv_kind kind;
    uint32_t u32;
    int32_t i32;
    float f32;
    bool b;
    const char *str;
} kv_entry;

typedef struct {
    kv_entry entries[128];
    int n;
} kv_table;

static kv_entry *kv_slot(kv_table *t, const char *key) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->entries[i].key, key)) return &t->entries[i];
    if (t->n == (int)(sizeof t->entries / sizeof t->entries[0])) return NULL;
    kv_entry *e = &t->entries[t->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    return e;
}

static void kv_u32(kv_table *t, const char *key, uint32_t v) {
    kv_entry *e = kv_slot(t, key);
    if (e) e->kind = KV_U32, e->u32 = v;
}
static void kv_i32(kv_table *t, const char *key, int32_t v) {
    kv_entry *e = kv_slot(t, key);
    if (e) e->kind = KV_I32, e->i32 = v;
}
static void kv_f32(kv_table *t, const char *key, float v) {
    kv_entry *e = kv_slot(t, key);
    if (e) e->kind = KV_F32, e->f32 = v;
}
static void kv_bool(kv_table *t, const char *key, bool v) {
    kv_entry *e = kv_slot(t, key);
    if (e) e->kind = KV_BOOL, e->b = v;
}
static void kv_str(kv_table *t, const char *key, const char *v) {
    kv_entry *e = kv_slot(t, key);
    if (e) e->kind = KV_STR, e->str = v;
}
static void kv_special(kv_table *t, const char *key, kv_kind kind) {
    kv_entry *e = kv_slot(t, key);
    if (e) e->kind = kind;
}

/* ------------------------------------------------------------ vocabulary */

typedef struct {
    const mkv_tokenizer *tok;
    int n_tok;           /* tokens the tokenizer knows */
    char pad[32];        /* "[PAD<id>]" for ids past them */
} vocab_ctx;

static const char *token_at(void *ctx, uint64_t index, size_t *len) {
    vocab_ctx *v = ctx;
    const char *text = (int64_t)index < v->n_tok ? mkv_tokenizer_token_text(v->tok, (int32_t)index) : NULL;
    if (!text) {
        snprintf(v->pad, sizeof v->pad, "[PAD%llu]", (unsigned long long)index);
        text = v->pad;
    }
    *len = strlen(text);
    return text;
}

static const char *merge_at(void *ctx, uint64_t index, size_t *len) {
    const char *m = mkv_tokenizer_merge(((vocab_ctx *)ctx)->tok, (int)index);
    *len = m ? strlen(m) : 0;
    return m;
}

/* ------------------------------------------------------------ hyper-parameters */

static const cJSON *first_key(const cJSON *json, const char *const *keys) {
    for (int i = 0; keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, keys[i]);
        if (v && !cJSON_IsNull(v)) return v;
    }
    return NULL;
}

static bool json_u32(const cJSON *v, uint32_t *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4294967295.0) return false;
    *out = (uint32_t)v->valuedouble;
    return true;
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* gguf.size_label / model_weight_count_rounded_notation (min_digits 2). */
static void size_label(int64_t n_params, char *out, size_t size) {
    double n = (double)n_params, scaled;
    const char *suffix;
    if (n > 1e12) scaled = n * 1e-12, suffix = "T";
    else if (n > 1e9) scaled = n * 1e-9, suffix = "B";
    else if (n > 1e6) scaled = n * 1e-6, suffix = "M";
    else scaled = n * 1e-3, suffix = "K";
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", nearbyint(scaled)); /* Python round(): half to even */
    const char *d = digits;
    while (*d == '0') d++;
    int fix = 2 - (int)strlen(d);
    if (fix < 0) fix = 0;
    snprintf(out, size, "%.*f%s", fix, scaled, suffix);
}

/* TextModel.set_gguf_parameters, then LLaDAModel's / DreamModel's additions
 * (the key lists of current llama.cpp, as tools/gguf_export.py has them). */
static void hparam_keys(kv_table *kv, const mkv_hf_config *cfg, mkv_dtype out_type) {
    const cJSON *j = cfg->json;
    const char *a = cfg->arch->name;
    char key[96];
    uint32_t u;
    const cJSON *v;
#define AKEY(suffix) (snprintf(key, sizeof key, "%s." suffix, a), key)
    kv_u32(kv, AKEY("block_count"), (uint32_t)cfg->n_layers);
    if (json_u32(first_key(j, KEYS("max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length",
                                   "model_max_length")),
                 &u))
        kv_u32(kv, AKEY("context_length"), u);
    if (json_u32(first_key(j, KEYS("hidden_size", "n_embd", "dim")), &u)) kv_u32(kv, AKEY("embedding_length"), u);
    if (json_u32(first_key(j, KEYS("prefix_dense_intermediate_size", "dense_intermediate_size", "intermediate_size",
                                   "n_inner", "hidden_dim")),
                 &u))
        kv_u32(kv, AKEY("feed_forward_length"), u);
    if (json_u32(first_key(j, KEYS("num_attention_heads", "n_heads")), &u)) kv_u32(kv, AKEY("attention.head_count"), u);
    if (json_u32(first_key(j, KEYS("num_key_value_heads", "n_kv_heads")), &u)) kv_u32(kv, AKEY("attention.head_count_kv"), u);
    if (cJSON_IsFalse(first_key(j, KEYS("is_causal")))) kv_bool(kv, AKEY("attention.causal"), false);
    if ((v = first_key(j, KEYS("global_rope_theta", "rope_global_theta", "rope_theta_global", "rope_theta", "rotary_emb_base"))) &&
        cJSON_IsNumber(v))
        kv_f32(kv, AKEY("rope.freq_base"), (float)v->valuedouble);
    if ((v = first_key(j, KEYS("rms_norm_eps", "norm_eps"))) && cJSON_IsNumber(v))
        kv_f32(kv, AKEY("attention.layer_norm_rms_epsilon"), (float)v->valuedouble);
    if (json_u32(first_key(j, KEYS("head_dim")), &u)) {
        kv_u32(kv, AKEY("attention.key_length"), u);
        kv_u32(kv, AKEY("attention.value_length"), u);
    }
    kv_u32(kv, "general.file_type", file_type_of(out_type));

    if (cfg->arch->arch == MKV_ARCH_LLADA) {
        kv_u32(kv, AKEY("vocab_size"), (uint32_t)cfg->vocab_size);
        uint32_t rope_dim;
        if (!json_u32(first_key(j, KEYS("head_dim")), &rope_dim) || rope_dim == 0) {
            uint32_t n_heads = 0, d_model = 0;
            json_u32(first_key(j, KEYS("num_attention_heads", "n_heads")), &n_heads);
            json_u32(first_key(j, KEYS("hidden_size", "d_model")), &d_model);
            rope_dim = n_heads ? d_model / n_heads : 0;
        }
        kv_u32(kv, AKEY("rope.dimension_count"), rope_dim);
        kv_u32(kv, AKEY("context_length"), json_u32(first_key(j, KEYS("max_sequence_length")), &u) ? u : 4096);
        kv_u32(kv, AKEY("embedding_length"), json_u32(first_key(j, KEYS("d_model")), &u) ? u : 4096);
        kv_u32(kv, AKEY("feed_forward_length"), json_u32(first_key(j, KEYS("mlp_hidden_size")), &u) ? u : 12288);
        kv_bool(kv, AKEY("attention.causal"), false);
        kv_bool(kv, "diffusion.shift_logits", false);
    } else {
        kv_bool(kv, AKEY("attention.causal"), false);
        /* Qwen2-style YaRN, as DreamModel writes it (the test models have none). */
        const cJSON *scaling = first_key(j, KEYS("rope_scaling"));
        const cJSON *type = cJSON_IsObject(scaling) ? first_key(scaling, KEYS("rope_type", "type")) : NULL;
        const cJSON *factor = cJSON_IsObject(scaling) ? first_key(scaling, KEYS("factor")) : NULL;
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "yarn") && cJSON_IsNumber(factor)) {
            kv_str(kv, AKEY("rope.scaling.type"), "yarn");
            kv_f32(kv, AKEY("rope.scaling.factor"), (float)factor->valuedouble);
            if (json_u32(first_key(scaling, KEYS("original_max_position_embeddings")), &u))
                kv_u32(kv, AKEY("rope.scaling.original_context_length"), u);
        }
        if (json_u32(first_key(j, KEYS("mask_token_id")), &u)) kv_u32(kv, "tokenizer.ggml.mask_token_id", u);
    }
#undef AKEY
}

/* gguf.Metadata.load + set_gguf_meta_model: sampling defaults from
 * generation_config.json, then name/organization/basename/finetune/version/
 * size_label guessed from config.json's _name_or_path and the directory name.
 * (Model-card YAML in README.md is not read.) Strings are kept in `keep`. */
typedef struct {
    char *strings[8];
    int n;
} string_pool;

static const char *pool_add(string_pool *pool, char *s) {
    if (!s) return NULL;
    if (pool->n == 8) {
        mkv_free(s);
        return NULL;
    }
    return pool->strings[pool->n++] = s;
}

static void pool_free(string_pool *pool) {
    for (int i = 0; i < pool->n; i++) mkv_free(pool->strings[i]);
    pool->n = 0;
}

static mkv_status general_keys(kv_table *kv, const char *in_dir, const mkv_hf_config *cfg, int64_t n_params, string_pool *pool,
                               const char *dir_base) {
    char path[4096];
    snprintf(path, sizeof path, "%s/generation_config.json", in_dir);
    cJSON *gen = NULL;
    if (mkv_hf_read_json(path, true, &gen) != MKV_OK) gen = NULL; /* gguf-py ignores an unreadable file */
    static const struct {
        const char *json, *key;
        char kind; /* s string, i int32, f float32 */
    } sampling[] = {
        {"sequence", "general.sampling.sequence", 's'},     {"top_k", "general.sampling.top_k", 'i'},
        {"top_p", "general.sampling.top_p", 'f'},           {"min_p", "general.sampling.min_p", 'f'},
        {"xtc_probability", "general.sampling.xtc_probability", 'f'},
        {"xtc_threshold", "general.sampling.xtc_threshold", 'f'},
        {"temperature", "general.sampling.temp", 'f'},      {"penalty_last_n", "general.sampling.penalty_last_n", 'i'},
        {"penalty_repeat", "general.sampling.penalty_repeat", 'f'}, {"mirostat", "general.sampling.mirostat", 'i'},
        {"mirostat_tau", "general.sampling.mirostat_tau", 'f'}, {"mirostat_eta", "general.sampling.mirostat_eta", 'f'},
    };
    for (size_t i = 0; gen && i < sizeof sampling / sizeof sampling[0]; i++) {
        const cJSON *v = first_key(gen, KEYS(sampling[i].json));
        if (!v) continue;
        if (sampling[i].kind == 's' && cJSON_IsString(v)) {
            char *copy = mkv_malloc(strlen(v->valuestring) + 1, "sampling sequence");
            if (copy) strcpy(copy, v->valuestring);
            kv_str(kv, sampling[i].key, pool_add(pool, copy));
        } else if (sampling[i].kind == 'i' && cJSON_IsNumber(v)) {
            kv_i32(kv, sampling[i].key, (int32_t)v->valuedouble);
        } else if (sampling[i].kind == 'f' && cJSON_IsNumber(v)) {
            kv_f32(kv, sampling[i].key, (float)v->valuedouble);
        }
    }
    cJSON_Delete(gen);

    mkv_hf_model_id meta = {0}, id;
    const cJSON *name_or_path = first_key(cfg->json, KEYS("_name_or_path"));
    const char *ids[2] = {NULL, dir_base};
    if (cJSON_IsString(name_or_path)) {
        int slashes = 0;
        for (const char *c = name_or_path->valuestring; *c; c++) slashes += *c == '/';
        if (slashes <= 1) ids[0] = name_or_path->valuestring;
    }
    mkv_status st = MKV_OK;
    for (int k = 0; k < 2 && !st; k++) {
        if (!ids[k]) continue;
        if ((st = mkv_hf_model_id_parse(ids[k], n_params, &id))) break;
#define TAKE(field, title)                                                                   if (!meta.field && id.field) {                                                               meta.field = title ? mkv_hf_id_to_title(id.field) : id.field;                            if (title) mkv_free(id.field);                                                           id.field = NULL;                                                                     }
        TAKE(name, true);
        TAKE(organization, true);
        TAKE(basename, false);
        TAKE(finetune, false);
        TAKE(version, false);
        TAKE(size_label, false);
#undef TAKE
        mkv_hf_model_id_free(&id);
    }
    if (st) {
        mkv_hf_model_id_free(&meta);
        return st;
    }
    if (!meta.name) {
        meta.name = mkv_malloc(strlen(dir_base) + 1, "model name");
        if (meta.name) strcpy(meta.name, dir_base);
    }
    if (!meta.size_label && n_params > 0) {
        char label[32];
        size_label(n_params, label, sizeof label);
        meta.size_label = mkv_malloc(strlen(label) + 1, "size label");
        if (meta.size_label) strcpy(meta.size_label, label);
    }
    kv_str(kv, "general.name", pool_add(pool, meta.name));
    if (meta.version) kv_str(kv, "general.version", pool_add(pool, meta.version));
    if (meta.organization) kv_str(kv, "general.organization", pool_add(pool, meta.organization));
    if (meta.finetune) kv_str(kv, "general.finetune", pool_add(pool, meta.finetune));
    if (meta.basename) kv_str(kv, "general.basename", pool_add(pool, meta.basename));
    if (meta.size_label) kv_str(kv, "general.size_label", pool_add(pool, meta.size_label));
    return MKV_OK;
}

/* ------------------------------------------------------------ tensors */

static mkv_dtype tensor_out_type(const mkv_tensor *t, mkv_dtype requested) {
    size_t len = strlen(t->name);
    bool is_weight = len >= 7 && !strcmp(t->name + len - 7, ".weight");
    bool is_norm = len >= 12 && !strcmp(t->name + len - 12, "_norm.weight");
    if (t->n_dims <= 1 || is_norm || !is_weight) return MKV_TYPE_F32;
    const mkv_dtype_traits *traits = mkv_dtype_info(requested);
    if (t->ne[0] % traits->block_size != 0) return MKV_TYPE_F16;
    return requested;
}

/* LlamaModel.permute for LLaDA's q/k: within each head, rows (or bias
 * elements) i of the first half and i of the second half become rows 2i and
 * 2i+1. Returns the source row of destination row r. */
static int64_t permuted_row(int64_t r, int64_t head_rows) {
    int64_t h = r / head_rows, j = r % head_rows, half = head_rows / 2;
    return h * head_rows + (j % 2) * half + j / 2;
}

static int permute_heads(const mkv_model *model, const mkv_tensor *t) {
    if (!model->arch->gguf_permutes_qk) return 0;
    const char *dot = strchr(t->name + 4, '.'); /* "blk.N.attn_q.weight" */
    if (strncmp(t->name, "blk.", 4) != 0 || !dot) return 0;
    if (!strcmp(dot, ".attn_q.weight") || !strcmp(dot, ".attn_q.bias")) return model->hp.n_heads;
    if (!strcmp(dot, ".attn_k.weight") || !strcmp(dot, ".attn_k.bias")) return model->hp.n_kv_heads;
    return 0;
}

static mkv_status write_tensor_data(mkv_gguf_writer *w, const mkv_model *model, const mkv_tensor *t, mkv_dtype out_type) {
    const mkv_dtype_traits *src = mkv_dtype_info(t->dtype), *dst = mkv_dtype_info(out_type);
    int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    bool one_dim = t->n_dims <= 1;
    /* A 1-D tensor (norm, bias) is one row; its permutation moves elements. */
    int64_t row_len = one_dim ? 1 : t->ne[0], n_rows = n / row_len;
    int n_heads = permute_heads(model, t);
    int64_t head_rows = n_heads ? n_rows / n_heads : 0;
    if (n_heads && (n_rows % n_heads || head_rows % 2))
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has %lld rows, not a whole number of heads of even size", model->path,
                        t->name, (long long)n_rows);
    int64_t chunk_rows = (1 << 20) / (row_len > 0 ? row_len : 1);
    if (one_dim) chunk_rows = n_rows;
    if (chunk_rows < 1) chunk_rows = 1;
    if (chunk_rows > n_rows) chunk_rows = n_rows;
    int64_t chunk_elems = chunk_rows * row_len;
    float *values = mkv_malloc((size_t)chunk_elems * sizeof(float), "convert buffer");
    void *out = mkv_malloc((size_t)(chunk_elems / dst->block_size) * dst->block_bytes, "convert output buffer");
    mkv_status st = values && out ? MKV_OK : mkv_last_status();
    size_t src_row_bytes = (size_t)row_len * src->block_bytes; /* F32/F16/BF16 sources: block size 1 */
    /* Rows are converted independently (a quantization block never spans
     * two rows), so the threads' split does not change the bytes. A 1-D
     * tensor is converted whole. */
    size_t dst_row_bytes = one_dim ? 0 : (size_t)(row_len / dst->block_size) * dst->block_bytes;
    for (int64_t r0 = 0; r0 < n_rows && !st; r0 += chunk_rows) {
        int64_t rows = n_rows - r0 < chunk_rows ? n_rows - r0 : chunk_rows;
#pragma omp parallel for schedule(static) if (rows * row_len >= 65536)
        for (int64_t k = 0; k < rows; k++) {
            int64_t r = r0 + k, from = n_heads ? permuted_row(r, head_rows) : r;
            src->to_float((const unsigned char *)t->data + (size_t)from * src_row_bytes, values + k * row_len, row_len);
            if (!one_dim) dst->from_float(values + k * row_len, (unsigned char *)out + (size_t)k * dst_row_bytes, row_len);
        }
        int64_t count = rows * row_len;
        if (one_dim) dst->from_float(values, out, count);
        st = mkv_gguf_writer_write_tensor(w, out, (size_t)(count / dst->block_size) * dst->block_bytes);
    }
    mkv_free(values);
    mkv_free(out);
    return st;
}

static int name_ptr_compare(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* llama.cpp's tensor order: shards in name order, tensors sorted by name
 * inside each shard. order[i] indexes model->tensors. */
static mkv_status tensor_order(const char *in_dir, const mkv_model *model, int *order) {
    for (int i = 0; i < model->n_tensors; i++) order[i] = i;
    mkv_safetensors_set *set = NULL;
    mkv_status st = mkv_safetensors_open_dir(in_dir, &set);
    if (st) return st;
    int n = 0;
    for (int f = 0; f < mkv_safetensors_set_n_files(set) && !st; f++) {
        const mkv_safetensors *file = mkv_safetensors_set_file(set, f);
        int64_t count = mkv_safetensors_n_tensors(file);
        const char **names = mkv_malloc((size_t)(count ? count : 1) * sizeof *names, "tensor names");
        if (!names) {
            st = mkv_last_status();
            break;
        }
        for (int64_t i = 0; i < count; i++) names[i] = mkv_safetensors_tensor(file, i)->name;
        qsort(names, (size_t)count, sizeof *names, name_ptr_compare);
        for (int64_t i = 0; i < count && n < model->n_tensors; i++) {
            char gguf_name[128];
            int block;
            if (mkv_hf_tensor_name_to_gguf(names[i], gguf_name, sizeof gguf_name, &block) != 1) continue;
            const mkv_tensor *t = mkv_model_find_tensor(model, gguf_name);
            if (t) order[n++] = (int)(t - model->tensors);
        }
        mkv_free(names);
    }
    mkv_safetensors_set_close(set);
    if (!st && n != model->n_tensors)
        for (int i = 0; i < model->n_tensors; i++) order[i] = i;
    return st;
}

/* ------------------------------------------------------------ the command */

static const char *dir_name(const char *dir, char *buf, size_t size) {
    snprintf(buf, size, "%s", dir);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
    const char *slash = strrchr(buf, '/');
    return slash ? slash + 1 : buf;
}

/* Bytes of a tensor's data once written as `type`. */
static size_t tensor_out_bytes(const mkv_tensor *t, mkv_dtype type) {
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= t->ne[i];
    return mkv_dtype_row_bytes(type, n);
}

static mkv_status convert(const char *in_dir, const char *out_path, mkv_dtype out_type, mkv_convert_progress on_tensor,
                          void *user) {
    mkv_model *model = NULL;
    mkv_hf_config cfg = {0};
    mkv_hf_special_vocab sv = {0};
    mkv_gguf_writer *w = NULL;
    int32_t *token_types = NULL;
    mkv_dtype *tensor_types = NULL;
    int *order = NULL;
    kv_table *kv = NULL;
    string_pool pool = {0};
    mkv_status st = mkv_model_load(in_dir, &model);
    if (st) goto done;
    if (!model->tokenizer) {
        st = mkv_fail(MKV_ERR_IO, "%s: no tokenizer.json (the GGUF needs the vocabulary)", in_dir);
        goto done;
    }
    if ((st = mkv_hf_config_load(in_dir, &cfg))) goto done;
    if ((st = mkv_hf_special_vocab_load(in_dir, &sv))) goto done;
    const mkv_tokenizer *tok = model->tokenizer;
    vocab_ctx vocab = {tok, mkv_tokenizer_n_vocab(tok), ""};
    if (vocab.n_tok > cfg.vocab_size) {
        st = mkv_fail(MKV_ERR_FORMAT, "%s: the tokenizer has %d tokens, more than vocab_size %d", in_dir, vocab.n_tok, cfg.vocab_size);
        goto done;
    }

    /* Tensor types first: the parameter count goes into general.size_label. */
    tensor_types = mkv_malloc((size_t)(model->n_tensors ? model->n_tensors : 1) * sizeof *tensor_types, "tensor types");
    kv = mkv_calloc(1, sizeof *kv, "convert metadata");
    token_types = mkv_malloc((size_t)cfg.vocab_size * sizeof *token_types, "token types");
    order = mkv_malloc((size_t)(model->n_tensors ? model->n_tensors : 1) * sizeof *order, "tensor order");
    if (!tensor_types || !kv || !token_types || !order) {
        st = mkv_last_status();
        goto done;
    }
    int64_t n_params = 0;
    for (int i = 0; i < model->n_tensors; i++) {
        const mkv_tensor *t = &model->tensors[i];
        tensor_types[i] = tensor_out_type(t, out_type);
        n_params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    }
    for (int i = 0; i < cfg.vocab_size; i++) token_types[i] = i < vocab.n_tok ? mkv_tokenizer_token_type(tok, i) : 5;

    /* Keys in the order llama.cpp's converter adds them. */
    char name_buf[1024];
    kv_str(kv, "general.architecture", cfg.arch->name);
    kv_str(kv, "general.type", "model");
    if ((st = general_keys(kv, in_dir, &cfg, n_params, &pool, dir_name(in_dir, name_buf, sizeof name_buf)))) goto done;
    hparam_keys(kv, &cfg, out_type);
    kv_u32(kv, "general.quantization_version", GGML_QUANT_VERSION);
    kv_str(kv, "tokenizer.ggml.model", "gpt2");
    const char *pre = mkv_tokenizer_pre_name(tok);
    kv_str(kv, "tokenizer.ggml.pre", pre ? pre : cfg.arch->default_pre);
    kv_special(kv, "tokenizer.ggml.tokens", KV_TOKENS);
    kv_special(kv, "tokenizer.ggml.token_type", KV_TOKEN_TYPES);
    if (mkv_tokenizer_n_merges(tok) > 0) kv_special(kv, "tokenizer.ggml.merges", KV_MERGES);
    static const char *const id_keys[MKV_SPECIAL_COUNT] = {
        "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
        "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.padding_token_id", NULL /* cls: gguf-py has no key */,
        "tokenizer.ggml.mask_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"};
    for (int i = 0; i < sv.n_ids; i++) {
        mkv_special_kind k = sv.id_order[i];
        if (id_keys[k]) kv_u32(kv, id_keys[k], (uint32_t)sv.ids[k]);
    }
    for (int i = 0; i < sv.n_adds; i++) {
        mkv_special_kind k = sv.add_order[i];
        if (k == MKV_SPECIAL_BOS) kv_bool(kv, "tokenizer.ggml.add_bos_token", sv.add[k]);
        else if (k == MKV_SPECIAL_EOS) kv_bool(kv, "tokenizer.ggml.add_eos_token", sv.add[k]);
        else if (k == MKV_SPECIAL_SEP) kv_bool(kv, "tokenizer.ggml.add_sep_token", sv.add[k]);
    }
    if (sv.chat_template) kv_str(kv, "tokenizer.chat_template", sv.chat_template);
    if (cfg.arch->arch == MKV_ARCH_LLADA) kv_bool(kv, "tokenizer.ggml.add_bos_token", true);

    if ((st = tensor_order(in_dir, model, order))) goto done;
    if ((st = mkv_gguf_writer_open(out_path, &w))) goto done;
    for (int i = 0; i < kv->n && !st; i++) {
        const kv_entry *e = &kv->entries[i];
        switch (e->kind) {
        case KV_U32: st = mkv_gguf_writer_add_u32(w, e->key, e->u32); break;
        case KV_I32: st = mkv_gguf_writer_add_i32(w, e->key, e->i32); break;
        case KV_F32: st = mkv_gguf_writer_add_f32(w, e->key, e->f32); break;
        case KV_BOOL: st = mkv_gguf_writer_add_bool(w, e->key, e->b); break;
        case KV_STR: st = mkv_gguf_writer_add_str(w, e->key, e->str); break;
        case KV_TOKENS: st = mkv_gguf_writer_add_arr_str_fn(w, e->key, (uint64_t)cfg.vocab_size, token_at, &vocab); break;
        case KV_TOKEN_TYPES: st = mkv_gguf_writer_add_arr(w, e->key, MKV_GGUF_INT32, token_types, (uint64_t)cfg.vocab_size); break;
        case KV_MERGES:
            st = mkv_gguf_writer_add_arr_str_fn(w, e->key, (uint64_t)mkv_tokenizer_n_merges(tok), merge_at, &vocab);
            break;
        }
    }
    for (int k = 0; k < model->n_tensors && !st; k++) {
        const mkv_tensor *t = &model->tensors[order[k]];
        st = mkv_gguf_writer_add_tensor_info(w, t->name, tensor_types[order[k]], t->n_dims, t->ne);
    }
    if (!st) st = mkv_gguf_writer_write_header(w);
    size_t n_bytes = 0, bytes_done = 0;
    for (int k = 0; k < model->n_tensors; k++) n_bytes += tensor_out_bytes(&model->tensors[k], tensor_types[k]);
    for (int k = 0; k < model->n_tensors && !st; k++) {
        const mkv_tensor *t = &model->tensors[order[k]];
        st = write_tensor_data(w, model, t, tensor_types[order[k]]);
        bytes_done += tensor_out_bytes(t, tensor_types[order[k]]);
        if (!st && on_tensor) on_tensor(user, k + 1, model->n_tensors, bytes_done, n_bytes, t->name);
    }
    if (!st) {
        st = mkv_gguf_writer_finish(w);
        w = NULL;
    }
done:
    mkv_gguf_writer_abort(w);
    mkv_free(kv);
    pool_free(&pool);
    mkv_free(token_types);
    mkv_free(tensor_types);
    mkv_free(order);
    mkv_hf_special_vocab_free(&sv);
    mkv_hf_config_free(&cfg);
    mkv_model_free(model);
    return st;
}

mkv_status mkv_convert_hf_to_gguf(const char *in, const char *out, mkv_dtype type) {
    return mkv_convert_hf_to_gguf_ex(in, out, type, NULL, NULL);
}

mkv_status mkv_convert_hf_to_gguf_ex(const char *in, const char *out, mkv_dtype type, mkv_convert_progress on_tensor,
                                     void *user) {
    if (!mkv_dtype_can_write(type))
        return mkv_fail(MKV_ERR_USAGE,
                        "--type: maskkv reads %s but does not write it (one of f32, f16, bf16, q8_0, q4_0; "
                        "llama-quantize makes the others)",
                        mkv_dtype_name(type));
    struct stat sb;
    if (stat(in, &sb) != 0) return mkv_fail(MKV_ERR_IO, "%s: cannot open: no such file or directory", in);
    if (!S_ISDIR(sb.st_mode)) return mkv_fail(MKV_ERR_IO, "%s: not a directory (convert reads an HF checkpoint directory)", in);
    /* before anything is opened for writing: the output must not be one of
     * the checkpoint's own files (which are memory-mapped while we write) */
    const char *inputs[] = {in};
    mkv_status st = mkv_output_check(out, inputs, 1);
    if (st) return st;
    return convert(in, out, type, on_tensor, user);
}
