/* GGUF v3 writer: metadata buffered, tensor data streamed. The layout is the
 * one gguf-py's GGUFWriter produces: header, key-value pairs, tensor infos,
 * zero padding to the alignment, then each tensor followed by padding. */
#include "formats/gguf_writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/dtype.h"
#include "util/safe_write.h"

typedef struct {
    char name[128];
    mkv_dtype type;
    int n_dims;
    int64_t ne[MKV_MAX_DIMS];
    uint64_t offset;
    size_t n_bytes;
} writer_tensor;

typedef struct {
    unsigned char *data;
    size_t len, cap;
} byte_buffer;

struct mkv_gguf_writer {
    char *path;
    FILE *file;        /* out.file while open */
    mkv_safe_file out; /* temporary file renamed over `path` by finish */
    uint32_t alignment;
    bool header_written;
    bool failed;
    byte_buffer kv;        /* encoded key-value pairs */
    int64_t n_kv;
    char **keys;           /* for the duplicate check */
    int64_t keys_cap;
    writer_tensor *tensors;
    int64_t n_tensors, tensors_cap;
    uint64_t data_bytes;   /* running size of the data section (padded) */
    int64_t next_tensor;   /* index of the tensor whose data is expected */
    size_t tensor_bytes_written; /* of that tensor so far */
};

/* ------------------------------------------------------------ buffer */

static mkv_status buf_reserve(byte_buffer *b, size_t extra) {
    if (extra <= b->cap - b->len) return MKV_OK;
    if (extra > SIZE_MAX / 2 - b->len) return mkv_fail(MKV_ERR_NOMEM, "GGUF writer: metadata too large");
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) cap *= 2;
    unsigned char *p = mkv_realloc(b->data, cap, "GGUF writer metadata");
    if (!p) return mkv_last_status();
    b->data = p;
    b->cap = cap;
    return MKV_OK;
}

static mkv_status buf_put(byte_buffer *b, const void *src, size_t n) {
    mkv_status st = buf_reserve(b, n);
    if (st) return st;
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
    return MKV_OK;
}

static mkv_status buf_u32(byte_buffer *b, uint32_t v) { return buf_put(b, &v, 4); }
static mkv_status buf_u64(byte_buffer *b, uint64_t v) { return buf_put(b, &v, 8); }
static mkv_status buf_str(byte_buffer *b, const char *s, size_t len) {
    mkv_status st = buf_u64(b, (uint64_t)len);
    return st ? st : buf_put(b, s, len);
}

/* ------------------------------------------------------------ open/close */

mkv_status mkv_gguf_writer_open(const char *path, mkv_gguf_writer **out) {
    *out = NULL;
    mkv_gguf_writer *w = mkv_calloc(1, sizeof *w, "GGUF writer");
    if (!w) return mkv_last_status();
    size_t len = strlen(path);
    w->path = mkv_malloc(len + 1, "GGUF writer path");
    if (!w->path) {
        mkv_free(w);
        return mkv_last_status();
    }
    memcpy(w->path, path, len + 1);
    mkv_status st = mkv_safe_open(&w->out, path);
    if (st) {
        mkv_free(w->path);
        mkv_free(w);
        return st;
    }
    w->file = w->out.file;
    w->alignment = 32;
    *out = w;
    return MKV_OK;
}

static void writer_free(mkv_gguf_writer *w) {
    for (int64_t i = 0; i < w->n_kv; i++) mkv_free(w->keys[i]);
    mkv_free(w->keys);
    mkv_free(w->kv.data);
    mkv_free(w->tensors);
    mkv_free(w->path);
    mkv_free(w);
}

void mkv_gguf_writer_abort(mkv_gguf_writer *w) {
    if (!w) return;
    mkv_safe_abort(&w->out); /* removes only the temporary file */
    writer_free(w);
}

/* ------------------------------------------------------------ key-value pairs */

static mkv_status begin_kv(mkv_gguf_writer *w, const char *key, mkv_gguf_type type) {
    if (w->header_written) return mkv_fail(MKV_ERR_INPUT, "%s: key '%s' added after the header was written", w->path, key);
    for (int64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0) return mkv_fail(MKV_ERR_INPUT, "%s: duplicate key '%s'", w->path, key);
    if (w->n_kv == w->keys_cap) {
        int64_t cap = w->keys_cap ? w->keys_cap * 2 : 64;
        char **keys = mkv_realloc(w->keys, (size_t)cap * sizeof *keys, "GGUF writer keys");
        if (!keys) return mkv_last_status();
        w->keys = keys;
        w->keys_cap = cap;
    }
    size_t len = strlen(key);
    char *copy = mkv_malloc(len + 1, "GGUF writer key");
    if (!copy) return mkv_last_status();
    memcpy(copy, key, len + 1);
    mkv_status st = buf_str(&w->kv, key, len);
    if (!st) st = buf_u32(&w->kv, (uint32_t)type);
    if (st) {
        mkv_free(copy);
        return st;
    }
    w->keys[w->n_kv++] = copy;
    return MKV_OK;
}

static mkv_status add_scalar(mkv_gguf_writer *w, const char *key, mkv_gguf_type type, const void *value, size_t n) {
    mkv_status st = begin_kv(w, key, type);
    return st ? st : buf_put(&w->kv, value, n);
}

mkv_status mkv_gguf_writer_add_u8(mkv_gguf_writer *w, const char *key, uint8_t v) { return add_scalar(w, key, MKV_GGUF_UINT8, &v, 1); }
mkv_status mkv_gguf_writer_add_i8(mkv_gguf_writer *w, const char *key, int8_t v) { return add_scalar(w, key, MKV_GGUF_INT8, &v, 1); }
mkv_status mkv_gguf_writer_add_u16(mkv_gguf_writer *w, const char *key, uint16_t v) { return add_scalar(w, key, MKV_GGUF_UINT16, &v, 2); }
mkv_status mkv_gguf_writer_add_i16(mkv_gguf_writer *w, const char *key, int16_t v) { return add_scalar(w, key, MKV_GGUF_INT16, &v, 2); }
mkv_status mkv_gguf_writer_add_u32(mkv_gguf_writer *w, const char *key, uint32_t v) { return add_scalar(w, key, MKV_GGUF_UINT32, &v, 4); }
mkv_status mkv_gguf_writer_add_i32(mkv_gguf_writer *w, const char *key, int32_t v) { return add_scalar(w, key, MKV_GGUF_INT32, &v, 4); }
mkv_status mkv_gguf_writer_add_f32(mkv_gguf_writer *w, const char *key, float v) { return add_scalar(w, key, MKV_GGUF_FLOAT32, &v, 4); }
mkv_status mkv_gguf_writer_add_u64(mkv_gguf_writer *w, const char *key, uint64_t v) { return add_scalar(w, key, MKV_GGUF_UINT64, &v, 8); }
mkv_status mkv_gguf_writer_add_i64(mkv_gguf_writer *w, const char *key, int64_t v) { return add_scalar(w, key, MKV_GGUF_INT64, &v, 8); }
mkv_status mkv_gguf_writer_add_f64(mkv_gguf_writer *w, const char *key, double v) { return add_scalar(w, key, MKV_GGUF_FLOAT64, &v, 8); }
mkv_status mkv_gguf_writer_add_bool(mkv_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return add_scalar(w, key, MKV_GGUF_BOOL, &b, 1);
}

mkv_status mkv_gguf_writer_add_str_n(mkv_gguf_writer *w, const char *key, const char *value, size_t len) {
    mkv_status st = begin_kv(w, key, MKV_GGUF_STRING);
    return st ? st : buf_str(&w->kv, value, len);
}

mkv_status mkv_gguf_writer_add_str(mkv_gguf_writer *w, const char *key, const char *value) {
    return mkv_gguf_writer_add_str_n(w, key, value, strlen(value));
}

static size_t fixed_size(mkv_gguf_type t) {
    switch (t) {
    case MKV_GGUF_UINT8: case MKV_GGUF_INT8: case MKV_GGUF_BOOL: return 1;
    case MKV_GGUF_UINT16: case MKV_GGUF_INT16: return 2;
    case MKV_GGUF_UINT32: case MKV_GGUF_INT32: case MKV_GGUF_FLOAT32: return 4;
    case MKV_GGUF_UINT64: case MKV_GGUF_INT64: case MKV_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

mkv_status mkv_gguf_writer_add_arr(mkv_gguf_writer *w, const char *key, mkv_gguf_type elem_type, const void *data,
                                   uint64_t count) {
    size_t size = fixed_size(elem_type);
    if (!size) return mkv_fail(MKV_ERR_INPUT, "%s: key '%s': array element type %d is not a fixed-size type", w->path, key, (int)elem_type);
    if (count > SIZE_MAX / size) return mkv_fail(MKV_ERR_NOMEM, "%s: key '%s': array too large", w->path, key);
    mkv_status st = begin_kv(w, key, MKV_GGUF_ARRAY);
    if (!st) st = buf_u32(&w->kv, (uint32_t)elem_type);
    if (!st) st = buf_u64(&w->kv, count);
    if (!st) st = buf_put(&w->kv, data, (size_t)count * size);
    return st;
}

typedef struct {
    const char *const *strings;
} str_table;

static const char *table_get(void *ctx, uint64_t index, size_t *len) {
    const char *s = ((str_table *)ctx)->strings[index];
    *len = strlen(s);
    return s;
}

mkv_status mkv_gguf_writer_add_arr_str_fn(mkv_gguf_writer *w, const char *key, uint64_t count, mkv_gguf_str_getter get,
                                          void *ctx) {
    mkv_status st = begin_kv(w, key, MKV_GGUF_ARRAY);
    if (!st) st = buf_u32(&w->kv, MKV_GGUF_STRING);
    if (!st) st = buf_u64(&w->kv, count);
    for (uint64_t i = 0; i < count && !st; i++) {
        size_t len = 0;
        const char *s = get(ctx, i, &len);
        st = buf_str(&w->kv, s ? s : "", s ? len : 0);
    }
    return st;
}

mkv_status mkv_gguf_writer_add_arr_str(mkv_gguf_writer *w, const char *key, const char *const *strings, uint64_t count) {
    str_table table = {strings};
    return mkv_gguf_writer_add_arr_str_fn(w, key, count, table_get, &table);
}

mkv_status mkv_gguf_writer_add_raw(mkv_gguf_writer *w, const char *key, mkv_gguf_type type, const void *bytes, size_t n) {
    mkv_status st = begin_kv(w, key, type);
    return st ? st : buf_put(&w->kv, bytes, n);
}

mkv_status mkv_gguf_writer_set_alignment(mkv_gguf_writer *w, uint32_t alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)))
        return mkv_fail(MKV_ERR_INPUT, "%s: alignment %u is not a power of two", w->path, alignment);
    if (w->n_tensors) return mkv_fail(MKV_ERR_INPUT, "%s: alignment set after tensor infos", w->path);
    w->alignment = alignment;
    return alignment == 32 ? MKV_OK : mkv_gguf_writer_add_u32(w, "general.alignment", alignment);
}

/* ------------------------------------------------------------ tensors */

static uint64_t pad_to(uint64_t n, uint64_t alignment) { return (alignment - n % alignment) % alignment; }

mkv_status mkv_gguf_writer_add_tensor_info(mkv_gguf_writer *w, const char *name, mkv_dtype type, int n_dims,
                                           const int64_t *ne) {
    if (w->header_written) return mkv_fail(MKV_ERR_INPUT, "%s: tensor '%s' added after the header was written", w->path, name);
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len >= sizeof ((writer_tensor *)0)->name)
        return mkv_fail(MKV_ERR_INPUT, "%s: tensor name '%s' is empty or too long", w->path, name);
    if (n_dims < 1 || n_dims > MKV_MAX_DIMS)
        return mkv_fail(MKV_ERR_INPUT, "%s: tensor '%s' has %d dimensions", w->path, name, n_dims);
    const mkv_dtype_traits *traits = mkv_dtype_info(type);
    if (!traits) return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported type %d", w->path, name, (int)type);
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] <= 0 || __builtin_mul_overflow(n, ne[d], &n))
            return mkv_fail(MKV_ERR_INPUT, "%s: tensor '%s' has an invalid shape", w->path, name);
    }
    if (ne[0] % traits->block_size)
        return mkv_fail(MKV_ERR_INPUT, "%s: tensor '%s': rows of %lld elements are not a multiple of %d (%s)", w->path, name,
                        (long long)ne[0], traits->block_size, traits->name);
    for (int64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return mkv_fail(MKV_ERR_INPUT, "%s: duplicate tensor '%s'", w->path, name);
    if (w->n_tensors == w->tensors_cap) {
        int64_t cap = w->tensors_cap ? w->tensors_cap * 2 : 64;
        writer_tensor *t = mkv_realloc(w->tensors, (size_t)cap * sizeof *t, "GGUF writer tensors");
        if (!t) return mkv_last_status();
        w->tensors = t;
        w->tensors_cap = cap;
    }
    writer_tensor *t = &w->tensors[w->n_tensors++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, name_len + 1);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < MKV_MAX_DIMS; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->n_bytes = (size_t)(n / traits->block_size) * traits->block_bytes;
    t->offset = w->data_bytes;
    w->data_bytes += t->n_bytes + pad_to(t->n_bytes, w->alignment);
    return MKV_OK;
}

int64_t mkv_gguf_writer_n_tensors(const mkv_gguf_writer *w) { return w->n_tensors; }

size_t mkv_gguf_writer_next_tensor_bytes(const mkv_gguf_writer *w) {
    return w->next_tensor < w->n_tensors ? w->tensors[w->next_tensor].n_bytes - w->tensor_bytes_written : 0;
}

/* ------------------------------------------------------------ file output */

static mkv_status file_put(mkv_gguf_writer *w, const void *data, size_t n) {
    if (w->failed) return mkv_fail(MKV_ERR_IO, "%s: an earlier write failed", w->path);
    if (n && fwrite(data, 1, n, w->file) != n) {
        w->failed = true;
        return mkv_fail(MKV_ERR_IO, "%s: write failed: %s (the file is unchanged)", w->path, strerror(errno));
    }
    return MKV_OK;
}

static mkv_status file_pad(mkv_gguf_writer *w, uint64_t written) {
    static const unsigned char zeros[256];
    uint64_t pad = pad_to(written, w->alignment);
    while (pad) {
        size_t n = pad > sizeof zeros ? sizeof zeros : (size_t)pad;
        mkv_status st = file_put(w, zeros, n);
        if (st) return st;
        pad -= n;
    }
    return MKV_OK;
}

mkv_status mkv_gguf_writer_write_header(mkv_gguf_writer *w) {
    if (w->header_written) return mkv_fail(MKV_ERR_INPUT, "%s: header written twice", w->path);
    byte_buffer head = {0};
    mkv_status st = buf_put(&head, "GGUF", 4);
    if (!st) st = buf_u32(&head, 3);
    if (!st) st = buf_u64(&head, (uint64_t)w->n_tensors);
    if (!st) st = buf_u64(&head, (uint64_t)w->n_kv);
    if (!st) st = file_put(w, head.data, head.len);
    uint64_t written = head.len;
    mkv_free(head.data);
    if (!st) st = file_put(w, w->kv.data, w->kv.len);
    written += w->kv.len;
    byte_buffer infos = {0};
    for (int64_t i = 0; i < w->n_tensors && !st; i++) {
        const writer_tensor *t = &w->tensors[i];
        st = buf_str(&infos, t->name, strlen(t->name));
        if (!st) st = buf_u32(&infos, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims && !st; d++) st = buf_u64(&infos, (uint64_t)t->ne[d]);
        if (!st) st = buf_u32(&infos, (uint32_t)t->type);
        if (!st) st = buf_u64(&infos, t->offset);
    }
    if (!st) st = file_put(w, infos.data, infos.len);
    written += infos.len;
    mkv_free(infos.data);
    if (!st) st = file_pad(w, written);
    if (!st) w->header_written = true;
    return st;
}

mkv_status mkv_gguf_writer_write_tensor(mkv_gguf_writer *w, const void *data, size_t n_bytes) {
    if (!w->header_written) return mkv_fail(MKV_ERR_INPUT, "%s: tensor data written before the header", w->path);
    if (w->next_tensor >= w->n_tensors) return mkv_fail(MKV_ERR_INPUT, "%s: more tensor data than tensor infos", w->path);
    const writer_tensor *t = &w->tensors[w->next_tensor];
    if (n_bytes > t->n_bytes - w->tensor_bytes_written)
        return mkv_fail(MKV_ERR_INPUT, "%s: tensor '%s' needs %zu more bytes, got %zu", w->path, t->name,
                        t->n_bytes - w->tensor_bytes_written, n_bytes);
    mkv_status st = file_put(w, data, n_bytes);
    if (st) return st;
    w->tensor_bytes_written += n_bytes;
    if (w->tensor_bytes_written == t->n_bytes) {
        st = file_pad(w, t->n_bytes);
        w->tensor_bytes_written = 0;
        w->next_tensor++;
    }
    return st;
}

mkv_status mkv_gguf_writer_finish(mkv_gguf_writer *w) {
    mkv_status st = MKV_OK;
    if (!w->header_written) st = mkv_gguf_writer_write_header(w);
    if (!st && w->next_tensor != w->n_tensors)
        st = mkv_fail(MKV_ERR_INPUT, "%s: data of tensor '%s' was never written", w->path, w->tensors[w->next_tensor].name);
    if (st) {
        mkv_gguf_writer_abort(w);
        return st;
    }
    w->file = NULL;
    st = mkv_safe_commit(&w->out);
    writer_free(w);
    return st;
}
