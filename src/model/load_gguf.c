/* Loading a .gguf file (llama.cpp's LLaDA and Dream files, or ours) in two
 * steps: the header (hyper-parameters, tensor infos, tokenizer) read from the
 * first bytes of the file, with no tensor data; then the weights, the whole
 * file mapped for the model's lifetime, tensor views pointing into it. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "model/load_internal.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"

const char *mkv_arch_mask_token(mkv_arch arch) { return arch == MKV_ARCH_DREAM ? "<|mask|>" : "<|mdm_mask|>"; }
const char *mkv_arch_eot_token(mkv_arch arch) { return arch == MKV_ARCH_DREAM ? "<|im_end|>" : "<|eot_id|>"; }

int32_t mkv_gguf_find_token(const mkv_gguf *gguf, const char *text) {
    mkv_gguf_type type;
    uint64_t count;
    if (!mkv_gguf_get_arr_info(gguf, "tokenizer.ggml.tokens", &type, &count) || type != MKV_GGUF_STRING) return -1;
    size_t len = strlen(text);
    for (uint64_t i = 0; i < count && i <= INT32_MAX; i++) {
        mkv_gguf_str s;
        if (mkv_gguf_get_arr_str(gguf, "tokenizer.ggml.tokens", i, &s) && s.len == len && memcmp(s.data, text, len) == 0)
            return (int32_t)i;
    }
    return -1;
}

typedef struct {
    const mkv_gguf *gguf;
    const char *path;
    char arch[32];
} gguf_reader;

static mkv_status key_error(const gguf_reader *r, const char *key, const char *want) {
    int64_t i = mkv_gguf_find_key(r->gguf, key);
    if (i < 0) return mkv_fail(MKV_ERR_FORMAT, "%s: missing key '%s'", r->path, key);
    return mkv_fail(MKV_ERR_FORMAT, "%s: key '%s' is not %s", r->path, key, want);
}

/* "{arch}.<suffix>" as an int in [0, 2^30]; `fallback` when absent and not required. */
static mkv_status get_int(const gguf_reader *r, const char *suffix, bool required, int fallback, int *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", r->arch, suffix);
    uint32_t v;
    if (mkv_gguf_find_key(r->gguf, key) < 0) {
        if (required) return key_error(r, key, "");
        *out = fallback;
        return MKV_OK;
    }
    if (!mkv_gguf_get_u32(r->gguf, key, &v) || v > (1u << 30)) return key_error(r, key, "an integer in [0, 2^30]");
    *out = (int)v;
    return MKV_OK;
}

static mkv_status get_float(const gguf_reader *r, const char *suffix, float fallback, bool required, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", r->arch, suffix);
    if (mkv_gguf_find_key(r->gguf, key) < 0) {
        if (required) return key_error(r, key, "");
        *out = fallback;
        return MKV_OK;
    }
    if (!mkv_gguf_get_f32(r->gguf, key, out)) return key_error(r, key, "a float");
    return MKV_OK;
}

/* tokenizer.ggml.<name>_token_id, or -1. A present key of the wrong type is an error. */
static mkv_status get_token_id(const gguf_reader *r, const char *name, int32_t *out) {
    char key[128];
    snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", name);
    *out = -1;
    if (mkv_gguf_find_key(r->gguf, key) < 0) return MKV_OK;
    uint32_t v;
    if (!mkv_gguf_get_u32(r->gguf, key, &v) || v > INT32_MAX) return key_error(r, key, "a token id");
    *out = (int32_t)v;
    return MKV_OK;
}

static mkv_status read_hparams(mkv_model *model, const gguf_reader *r) {
    mkv_hparams *hp = &model->hp;
    mkv_status st;
    if ((st = get_int(r, "block_count", true, 0, &hp->n_layers))) return st;
    if ((st = get_int(r, "embedding_length", true, 0, &hp->d_model))) return st;
    if ((st = get_int(r, "feed_forward_length", true, 0, &hp->d_ff))) return st;
    if ((st = get_int(r, "context_length", true, 0, &hp->n_ctx))) return st;
    if ((st = get_int(r, "attention.head_count", true, 0, &hp->n_heads))) return st;
    if ((st = get_int(r, "attention.head_count_kv", false, hp->n_heads, &hp->n_kv_heads))) return st;
    int head_dim = hp->n_heads > 0 ? hp->d_model / hp->n_heads : 0;
    if ((st = get_int(r, "attention.key_length", false, head_dim, &head_dim))) return st;
    hp->head_dim = head_dim;
    int rope_dims = 0;
    if ((st = get_int(r, "rope.dimension_count", false, head_dim, &rope_dims))) return st;
    if (head_dim > 0 && rope_dims != head_dim) /* head_dim 0 (no heads) is reported by the size checks */
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: %s.rope.dimension_count %d differs from head_dim %d (partial RoPE)", r->path,
                        r->arch, rope_dims, head_dim);
    if ((st = get_float(r, "rope.freq_base", 10000.0f, false, &hp->rope_theta))) return st;
    if ((st = get_float(r, "attention.layer_norm_rms_epsilon", 0, true, &hp->norm_eps))) return st;

    /* Vocabulary size: {arch}.vocab_size, else the token list, else the embedding. */
    int n_vocab = -1;
    mkv_gguf_type type;
    uint64_t count;
    if ((st = get_int(r, "vocab_size", false, -1, &n_vocab))) return st;
    if (n_vocab < 0 && mkv_gguf_get_arr_info(r->gguf, "tokenizer.ggml.tokens", &type, &count)) {
        if (type != MKV_GGUF_STRING) return key_error(r, "tokenizer.ggml.tokens", "an array of strings");
        if (count > (1u << 30)) return mkv_fail(MKV_ERR_FORMAT, "%s: %llu tokens is too many", r->path, (unsigned long long)count);
        n_vocab = (int)count;
    }
    if (n_vocab < 0) {
        const mkv_tensor *emb = mkv_gguf_find_tensor(r->gguf, "token_embd.weight");
        n_vocab = emb && emb->ne[1] <= (1 << 30) ? (int)emb->ne[1] : 0;
    }
    hp->n_vocab = n_vocab;

    hp->arch = model->arch->arch;
    hp->rope_style = model->arch->gguf_rope_style;
    hp->has_qkv_bias = model->arch->has_qkv_bias;
    hp->shift_logits = model->arch->shift_logits;
    if (mkv_gguf_find_key(r->gguf, "diffusion.shift_logits") >= 0 &&
        !mkv_gguf_get_bool(r->gguf, "diffusion.shift_logits", &hp->shift_logits))
        return key_error(r, "diffusion.shift_logits", "a bool");

    if ((st = get_token_id(r, "mask", &hp->mask_id))) return st;
    if ((st = get_token_id(r, "bos", &hp->bos_id))) return st;
    if ((st = get_token_id(r, "eos", &hp->eos_id))) return st;
    if ((st = get_token_id(r, "padding", &hp->pad_id))) return st;
    if ((st = get_token_id(r, "eot", &hp->eot_id))) return st;
    if (hp->mask_id < 0) hp->mask_id = mkv_gguf_find_token(r->gguf, mkv_arch_mask_token(hp->arch));
    if (hp->eot_id < 0) hp->eot_id = mkv_gguf_find_token(r->gguf, mkv_arch_eot_token(hp->arch));
    return MKV_OK;
}

/* Bytes read for the header: far more than a real one needs (LLaDA-8B's,
 * with its 126k-token vocabulary, is a few MiB). A longer header is parsed
 * from a mapping of the whole file instead; the tensor data is not read. */
#define HEADER_READ_BYTES ((size_t)32 << 20)

typedef struct {
    void *buffer;             /* the first bytes of the file, or NULL */
    mkv_mapped_file mapping;  /* the whole file, when the header is longer */
} header_source;

static mkv_status read_prefix(const char *path, size_t *file_size, void **out, size_t *out_len) {
    int fd;
    struct stat sb;
    mkv_status st = mkv_open_regular(path, &fd, &sb);
    if (st) return st;
    *file_size = (size_t)sb.st_size;
    size_t len = *file_size < HEADER_READ_BYTES ? *file_size : HEADER_READ_BYTES;
    unsigned char *buf = len ? mkv_malloc(len, "GGUF header") : NULL;
    if (len && !buf) {
        close(fd);
        return mkv_last_status();
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got < len) {
        mkv_free(buf);
        return mkv_fail(MKV_ERR_IO, "%s: cannot read the GGUF header", path);
    }
    if (!len) return mkv_fail(MKV_ERR_FORMAT, "%s: file is empty", path);
    *out = buf;
    *out_len = len;
    return MKV_OK;
}

static mkv_status open_header(const char *path, header_source *src, mkv_gguf **out) {
    size_t file_size = 0, len = 0;
    mkv_status st = read_prefix(path, &file_size, &src->buffer, &len);
    if (st) return st;
    st = mkv_gguf_open_header(src->buffer, len, path, out);
    if (!st || len == file_size) return st;
    mkv_free(src->buffer);
    src->buffer = NULL;
    if ((st = mkv_map_file(path, &src->mapping))) return st;
    return mkv_gguf_open_header(src->mapping.data, src->mapping.size, path, out);
}

/* The whole file mapped for the model's lifetime and validated at once
 * (tensor ranges included), as every command but `generate` loads it. */
static mkv_status open_whole(mkv_model *model, const char *path, mkv_gguf **out) {
    model->mappings = mkv_calloc(1, sizeof *model->mappings, "model file mappings");
    if (!model->mappings) return mkv_last_status();
    mkv_status st = mkv_map_file(path, &model->mappings[0]);
    if (st) return st;
    model->n_mappings = 1;
    return mkv_gguf_open_memory(model->mappings[0].data, model->mappings[0].size, path, out);
}

mkv_status mkv_load_gguf(mkv_model *model, const char *path, bool header_only) {
    model->source = MKV_SOURCE_GGUF;
    header_source src = {0};
    mkv_gguf *gguf = NULL;
    mkv_status st = header_only ? open_header(path, &src, &gguf) : open_whole(model, path, &gguf);
    if (st) {
        mkv_free(src.buffer);
        mkv_unmap_file(&src.mapping);
        return st;
    }

    gguf_reader r = {gguf, path, ""};
    mkv_gguf_str arch;
    if (!mkv_gguf_get_str(gguf, "general.architecture", &arch)) {
        st = key_error(&r, "general.architecture", "a string");
        goto done;
    }
    if (arch.len < sizeof r.arch) {
        memcpy(r.arch, arch.data, arch.len);
        r.arch[arch.len] = '\0';
        model->arch = mkv_arch_by_name(r.arch);
    }
    if (!model->arch) {
        st = mkv_fail(MKV_ERR_UNSUPPORTED, "%s: architecture '%.*s' is not supported (maskkv runs llada and dream)", path,
                      (int)(arch.len > 40 ? 40 : arch.len), arch.data);
        goto done;
    }
    if ((st = read_hparams(model, &r))) goto done;

    int64_t n = mkv_gguf_n_tensors(gguf);
    if (n > 1 << 20) {
        st = mkv_fail(MKV_ERR_FORMAT, "%s: %lld tensors is too many", path, (long long)n);
        goto done;
    }
    model->tensors = mkv_calloc(n ? (size_t)n : 1, sizeof *model->tensors, "model tensors");
    if (!model->tensors) {
        st = mkv_last_status();
        goto done;
    }
    for (int64_t i = 0; i < n; i++) model->tensors[i] = *mkv_gguf_tensor(gguf, i);
    model->n_tensors = (int)n;

    mkv_gguf_str tmpl;
    if (mkv_gguf_get_str(gguf, "tokenizer.chat_template", &tmpl)) {
        model->chat_template = mkv_malloc(tmpl.len + 1, "chat template");
        if (!model->chat_template) {
            st = mkv_last_status();
            goto done;
        }
        memcpy(model->chat_template, tmpl.data, tmpl.len);
        model->chat_template[tmpl.len] = '\0';
    }

    /* A file without a vocabulary has no tokenizer; one with a vocabulary
     * that fails to load is an error. */
    if (mkv_gguf_find_key(gguf, "tokenizer.ggml.tokens") >= 0) {
        st = mkv_tokenizer_load_gguf(gguf, &model->tokenizer);
        if (st) goto done;
    }
    if (!header_only && (st = mkv_model_align_tensor_data(model))) goto done;
    st = mkv_model_bind_weights(model); /* header only: the shapes (no tensor has data yet) */
    model->weights_loaded = !header_only && st == MKV_OK;
done:
    mkv_gguf_close(gguf);
    mkv_free(src.buffer);
    mkv_unmap_file(&src.mapping);
    return st;
}

mkv_status mkv_load_gguf_weights(mkv_model *model) {
    mkv_gguf *gguf = NULL;
    mkv_status st = open_whole(model, model->path, &gguf);
    if (st) return st;
    if (mkv_gguf_n_tensors(gguf) != model->n_tensors)
        st = mkv_fail(MKV_ERR_FORMAT, "%s: the file changed while it was loaded", model->path);
    for (int i = 0; i < model->n_tensors && !st; i++) {
        const mkv_tensor *t = mkv_gguf_tensor(gguf, i);
        mkv_tensor *m = &model->tensors[i];
        if (strcmp(t->name, m->name) || t->dtype != m->dtype || t->n_bytes != m->n_bytes ||
            memcmp(t->ne, m->ne, sizeof t->ne))
            st = mkv_fail(MKV_ERR_FORMAT, "%s: the file changed while it was loaded", model->path);
        else
            m->data = t->data;
    }
    mkv_gguf_close(gguf);
    return st ? st : mkv_model_align_tensor_data(model);
}
