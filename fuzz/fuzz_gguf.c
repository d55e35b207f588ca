/* GGUF: the header alone (mkv_gguf_open_header), then header, metadata,
 * tensor infos and data ranges (mkv_gguf_open_memory), then every
 * getter on every key and tensor, the GGUF tokenizer loader, and the whole
 * model loader (hyper-parameters, special ids, weight binding) on the same
 * bytes through a memfd. The input buffer is exactly the file, so
 * AddressSanitizer sees any read past its end. */
#include <sys/mman.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "fuzz_common.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/dtype.h"

static size_t elem_size(mkv_gguf_type t) {
    switch (t) {
    case MKV_GGUF_UINT8: case MKV_GGUF_INT8: case MKV_GGUF_BOOL: return 1;
    case MKV_GGUF_UINT16: case MKV_GGUF_INT16: return 2;
    case MKV_GGUF_UINT32: case MKV_GGUF_INT32: case MKV_GGUF_FLOAT32: return 4;
    case MKV_GGUF_UINT64: case MKV_GGUF_INT64: case MKV_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static volatile unsigned char sink;

static void touch(const void *p, size_t n) {
    if (!n) return;
    sink ^= ((const unsigned char *)p)[0];
    sink ^= ((const unsigned char *)p)[n - 1];
}

static void exercise_key(const mkv_gguf *g, const char *key) {
    uint32_t u32;
    int64_t i64;
    float f32;
    bool b;
    mkv_gguf_str s;
    if (mkv_gguf_get_u32(g, key, &u32)) sink ^= (unsigned char)u32;
    if (mkv_gguf_get_i64(g, key, &i64)) sink ^= (unsigned char)i64;
    if (mkv_gguf_get_f32(g, key, &f32)) sink ^= (unsigned char)(f32 == f32);
    if (mkv_gguf_get_bool(g, key, &b)) sink ^= b;
    if (mkv_gguf_get_str(g, key, &s)) touch(s.data, s.len);
    mkv_gguf_type et;
    uint64_t count;
    if (!mkv_gguf_get_arr_info(g, key, &et, &count)) return;
    uint64_t probe[] = {0, 1, count / 2, count ? count - 1 : 0, count, count + 1, UINT64_MAX};
    for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
        bool in_range = probe[k] < count;
        bool got_str = mkv_gguf_get_arr_str(g, key, probe[k], &s);
        FUZZ_ASSERT(!got_str || (in_range && et == MKV_GGUF_STRING), "array string index %llu of %llu",
                    (unsigned long long)probe[k], (unsigned long long)count);
        if (got_str) touch(s.data, s.len);
        bool got_int = mkv_gguf_get_arr_i64(g, key, probe[k], &i64);
        FUZZ_ASSERT(!got_int || in_range, "array integer index %llu of %llu", (unsigned long long)probe[k],
                    (unsigned long long)count);
    }
    mkv_gguf_type dt;
    uint64_t dcount;
    const void *data = mkv_gguf_get_arr_data(g, key, &dt, &dcount);
    if (data) {
        FUZZ_ASSERT(dt == et && dcount == count && elem_size(dt) > 0, "array data of a non-numeric array");
        touch(data, (size_t)dcount * elem_size(dt));
    }
}

static void exercise_tensors(const mkv_gguf *g) {
    int64_t n = mkv_gguf_n_tensors(g);
    FUZZ_ASSERT(mkv_gguf_tensor(g, -1) == NULL && mkv_gguf_tensor(g, n) == NULL, "tensor index out of range accepted");
    for (int64_t i = 0; i < n; i++) {
        const mkv_tensor *t = mkv_gguf_tensor(g, i);
        FUZZ_ASSERT(t != NULL, "tensor %lld missing", (long long)i);
        FUZZ_ASSERT(mkv_gguf_find_tensor(g, t->name) == t, "tensor '%s' not found by its name", t->name);
        const mkv_dtype_traits *traits = mkv_dtype_info(t->dtype);
        FUZZ_ASSERT(traits != NULL, "tensor '%s' of unsupported type %d accepted", t->name, (int)t->dtype);
        FUZZ_ASSERT(t->n_dims >= 1 && t->n_dims <= MKV_MAX_DIMS, "n_dims %d", t->n_dims);
        int64_t elements = 1;
        for (int d = 0; d < MKV_MAX_DIMS; d++) {
            FUZZ_ASSERT(t->ne[d] >= 1, "dimension %d of '%s' is %lld", d, t->name, (long long)t->ne[d]);
            FUZZ_ASSERT(!__builtin_mul_overflow(elements, t->ne[d], &elements), "element count of '%s' overflows", t->name);
        }
        FUZZ_ASSERT(elements % traits->block_size == 0 &&
                        t->n_bytes == (size_t)(elements / traits->block_size) * traits->block_bytes,
                    "byte size of '%s' disagrees with its shape", t->name);
        touch(t->data, t->n_bytes);
        float first[32];
        traits->to_float(t->data, first, traits->block_size);
    }
    FUZZ_ASSERT(mkv_gguf_find_tensor(g, "") == NULL, "empty name found");
}

static void exercise_tokenizer(const mkv_gguf *g) {
    mkv_tokenizer *tok = NULL;
    mkv_status st = mkv_tokenizer_load_gguf(g, &tok);
    fuzz_check_error(st);
    if (st != MKV_OK) {
        FUZZ_ASSERT(tok == NULL, "tokenizer returned with an error");
        return;
    }
    static const char *const texts[] = {"Hello world", " <|mdm_mask|>  12345\n\n", "\xc3\xa9t\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd", ""};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int32_t *ids = NULL;
        int n = 0;
        st = mkv_tokenize_ex(tok, texts[k], strlen(texts[k]), MKV_TOKENIZE_PARSE_SPECIAL | (k & 1 ? MKV_TOKENIZE_ADD_SPECIAL : 0),
                             &ids, &n);
        fuzz_check_error(st);
        if (st == MKV_OK) {
            char *text = NULL;
            size_t len = 0;
            fuzz_check_error(mkv_detokenize(tok, ids, n, &text, &len));
            mkv_free(text);
        }
        mkv_free(ids);
    }
    int v = mkv_tokenizer_n_vocab(tok);
    int32_t probe[] = {0, v / 2, v - 1};
    for (size_t k = 0; k < 3; k++) {
        if (probe[k] < 0) continue;
        const char *s = mkv_tokenizer_token_text(tok, probe[k]);
        if (s) sink ^= (unsigned char)strlen(s);
        sink ^= (unsigned char)mkv_tokenizer_token_type(tok, probe[k]);
    }
    char *text = NULL;
    if (v > 0 && mkv_detokenize_ex(tok, probe, 3, MKV_DETOKENIZE_SKIP_SPECIAL | MKV_DETOKENIZE_LOSSY_UTF8, &text, NULL) == MKV_OK)
        mkv_free(text);
    for (int k = 0; k < mkv_tokenizer_n_merges(tok) && k < 4; k++) sink ^= (unsigned char)strlen(mkv_tokenizer_merge(tok, k));
    mkv_tokenizer_free(tok);
}

/* The model loader takes a path: give it the bytes as a memfd. */
static void exercise_model(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz.gguf", 0);
    if (fd < 0) return;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) break;
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    mkv_model *model = NULL;
    mkv_status st = mkv_model_load(path, &model);
    fuzz_check_error(st);
    if (st == MKV_OK) {
        const mkv_hparams *hp = mkv_model_hparams(model);
        FUZZ_ASSERT(hp->n_layers > 0 && hp->n_heads > 0 && hp->n_kv_heads > 0 && hp->head_dim > 0 && hp->n_vocab > 0,
                    "model with non-positive sizes loaded");
        FUZZ_ASSERT(hp->mask_id >= 0 && hp->mask_id < hp->n_vocab, "mask id %d of %d", hp->mask_id, hp->n_vocab);
        sink ^= (unsigned char)mkv_model_n_params(model);
        mkv_model_free(model);
    } else {
        FUZZ_ASSERT(model == NULL, "model returned with an error");
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t before = mkv_alloc_current_bytes();
    /* the header alone (mkv_gguf_open_header: tensor infos, no data) */
    mkv_gguf *h = NULL;
    mkv_status header_st = mkv_gguf_open_header(data, size, "fuzz.gguf", &h);
    fuzz_check_error(header_st);
    FUZZ_ASSERT((header_st == MKV_OK) == (h != NULL), "header handle and status disagree");
    for (int64_t i = 0; h && i < mkv_gguf_n_tensors(h); i++)
        FUZZ_ASSERT(mkv_gguf_tensor(h, i)->data == NULL, "header-only tensor %lld has data", (long long)i);
    mkv_gguf_close(h);
    mkv_gguf *g = NULL;
    mkv_status st = mkv_gguf_open_memory(data, size, "fuzz.gguf", &g);
    fuzz_check_error(st);
    FUZZ_ASSERT(st != MKV_OK || header_st == MKV_OK, "file accepted whole but its header refused");
    if (st != MKV_OK) {
        FUZZ_ASSERT(g == NULL, "handle returned with an error");
        FUZZ_CHECK_NO_COUNTED_LEAK(before);
        return 0;
    }
    FUZZ_ASSERT(mkv_gguf_version(g) == 2 || mkv_gguf_version(g) == 3, "version %u", mkv_gguf_version(g));
    size_t a = mkv_gguf_alignment(g);
    FUZZ_ASSERT(a && (a & (a - 1)) == 0, "alignment %zu", a);
    int64_t n_kv = mkv_gguf_n_kv(g);
    FUZZ_ASSERT(mkv_gguf_key_name(g, n_kv).data == NULL && mkv_gguf_key_type(g, -1) == MKV_GGUF_TYPE_COUNT,
                "key index out of range accepted");
    char key[512];
    for (int64_t i = 0; i < n_kv; i++) {
        mkv_gguf_str name = mkv_gguf_key_name(g, i);
        FUZZ_ASSERT(mkv_gguf_key_type(g, i) < MKV_GGUF_TYPE_COUNT, "key type");
        size_t len = name.len < sizeof key - 1 ? name.len : sizeof key - 1;
        memcpy(key, name.data, len);
        key[len] = '\0';
        if (len == name.len && !memchr(name.data, '\0', name.len))
            FUZZ_ASSERT(mkv_gguf_find_key(g, key) == i, "key '%s' not found at its index", key);
        exercise_key(g, key);
    }
    exercise_key(g, "no.such.key");
    exercise_tensors(g);
    exercise_tokenizer(g);
    mkv_gguf_close(g);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    exercise_model(data, size);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
