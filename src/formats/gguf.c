/* GGUF v2/v3 reader. The whole file is validated once at open: every count,
 * length and offset is checked against the bytes that remain (never by
 * adding to a position first, so hostile values near 2^64 cannot wrap), and
 * every tensor is checked to be of a known type, inside the file, aligned,
 * not overlapping another, and uniquely named. After that the getters index
 * into the mapping without further checks. */
#include "formats/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/dtype.h"
#include "util/mapped_file.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ARRAY_DEPTH 8 /* arrays of arrays nest at most this deep */

typedef struct {
    mkv_gguf_str key;
    mkv_gguf_type type;
    size_t value_pos;        /* scalar: the value; string: its u64 length; array: its first element */
    mkv_gguf_type elem_type; /* arrays only */
    uint64_t count;          /* arrays only */
    size_t *str_pos;         /* arrays of strings: position of each element's u64 length */
} gguf_kv;

struct mkv_gguf {
    const unsigned char *data;
    size_t size;
    mkv_mapped_file mapping; /* set when opened from a path */
    char *name;
    uint32_t version;
    size_t alignment;
    size_t data_pos; /* start of the tensor data section */
    int64_t n_kv;
    gguf_kv *kvs;
    gguf_kv **kv_sorted; /* by key, for binary search */
    int64_t n_tensors;
    mkv_tensor *tensors;
    mkv_tensor **tensor_sorted; /* by name, for binary search */
    bool header_only;           /* mkv_gguf_open_header: no tensor data */
};

/* ------------------------------------------------------------ cursor */

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t pos;
    const char *name;
} cursor;

static size_t remaining(const cursor *c) { return c->size - c->pos; }

static mkv_status truncated(const cursor *c, const char *what, uint64_t need) {
    return mkv_fail(MKV_ERR_FORMAT, "%s: truncated: %s at offset %zu needs %llu bytes, %zu remain", c->name, what, c->pos,
                    (unsigned long long)need, remaining(c));
}

static mkv_status read_bytes(cursor *c, void *out, size_t n, const char *what) {
    if (remaining(c) < n) return truncated(c, what, n);
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
    return MKV_OK;
}

static mkv_status read_u32(cursor *c, uint32_t *out, const char *what) { return read_bytes(c, out, 4, what); }
static mkv_status read_u64(cursor *c, uint64_t *out, const char *what) { return read_bytes(c, out, 8, what); }

static mkv_status read_str(cursor *c, mkv_gguf_str *out, const char *what) {
    uint64_t len = 0;
    mkv_status st = read_u64(c, &len, what);
    if (st) return st;
    if (len > remaining(c))
        return mkv_fail(MKV_ERR_FORMAT, "%s: truncated: %s at offset %zu has length %llu, past the end of the file (%zu bytes remain)",
                        c->name, what, c->pos - 8, (unsigned long long)len, remaining(c));
    out->data = (const char *)c->data + c->pos;
    out->len = (size_t)len;
    c->pos += (size_t)len;
    return MKV_OK;
}

/* ------------------------------------------------------------ value types */

static const char *const type_names[MKV_GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64",
};

/* Bytes of a fixed-size value; 0 for string and array. */
static size_t type_size(mkv_gguf_type t) {
    switch (t) {
    case MKV_GGUF_UINT8: case MKV_GGUF_INT8: case MKV_GGUF_BOOL: return 1;
    case MKV_GGUF_UINT16: case MKV_GGUF_INT16: return 2;
    case MKV_GGUF_UINT32: case MKV_GGUF_INT32: case MKV_GGUF_FLOAT32: return 4;
    case MKV_GGUF_UINT64: case MKV_GGUF_INT64: case MKV_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static bool is_integer_type(mkv_gguf_type t) {
    return t == MKV_GGUF_UINT8 || t == MKV_GGUF_INT8 || t == MKV_GGUF_UINT16 || t == MKV_GGUF_INT16 ||
           t == MKV_GGUF_UINT32 || t == MKV_GGUF_INT32 || t == MKV_GGUF_UINT64 || t == MKV_GGUF_INT64;
}

static mkv_status read_type(cursor *c, mkv_gguf_type *out, const mkv_gguf_str *key, const char *what) {
    uint32_t t = 0;
    mkv_status st = read_u32(c, &t, what);
    if (st) return st;
    if (t >= MKV_GGUF_TYPE_COUNT)
        return mkv_fail(MKV_ERR_FORMAT, "%s: key '%.*s' has unknown %s %u", c->name, (int)(key->len > 200 ? 200 : key->len),
                        key->data, what, t);
    *out = (mkv_gguf_type)t;
    return MKV_OK;
}

/* Validates (and skips) `count` elements of `elem_type` at the cursor. When
 * `str_pos` is given, records where each string element starts. */
static mkv_status skip_array(cursor *c, const mkv_gguf_str *key, mkv_gguf_type elem_type, uint64_t count, int depth,
                             size_t *str_pos) {
    int klen = (int)(key->len > 200 ? 200 : key->len);
    size_t elem_size = type_size(elem_type);
    if (elem_size) {
        if (count > remaining(c) / elem_size)
            return mkv_fail(MKV_ERR_FORMAT, "%s: key '%.*s': array of %llu %s elements is larger than the %zu bytes that remain",
                            c->name, klen, key->data, (unsigned long long)count, type_names[elem_type], remaining(c));
        c->pos += (size_t)count * elem_size;
        return MKV_OK;
    }
    if (elem_type == MKV_GGUF_STRING) {
        if (count > remaining(c) / 8)
            return mkv_fail(MKV_ERR_FORMAT, "%s: key '%.*s': array of %llu strings cannot fit in the %zu bytes that remain",
                            c->name, klen, key->data, (unsigned long long)count, remaining(c));
        for (uint64_t i = 0; i < count; i++) {
            if (str_pos) str_pos[i] = c->pos;
            mkv_gguf_str s;
            mkv_status st = read_str(c, &s, "array string");
            if (st) return st;
        }
        return MKV_OK;
    }
    /* An array of arrays: each element is (u32 type, u64 count, elements). */
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return mkv_fail(MKV_ERR_FORMAT, "%s: key '%.*s': arrays nested more than %d deep", c->name, klen, key->data,
                        GGUF_MAX_ARRAY_DEPTH);
    if (count > remaining(c) / 12)
        return mkv_fail(MKV_ERR_FORMAT, "%s: key '%.*s': array of %llu arrays cannot fit in the %zu bytes that remain", c->name,
                        klen, key->data, (unsigned long long)count, remaining(c));
    for (uint64_t i = 0; i < count; i++) {
        mkv_gguf_type sub_type = MKV_GGUF_UINT8;
        uint64_t sub_count = 0;
        mkv_status st = read_type(c, &sub_type, key, "array element type");
        if (!st) st = read_u64(c, &sub_count, "array count");
        if (!st) st = skip_array(c, key, sub_type, sub_count, depth + 1, NULL);
        if (st) return st;
    }
    return MKV_OK;
}

static int str_compare(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int kv_ptr_compare(const void *a, const void *b) {
    const gguf_kv *x = *(const gguf_kv *const *)a, *y = *(const gguf_kv *const *)b;
    return str_compare(x->key.data, x->key.len, y->key.data, y->key.len);
}

static int tensor_ptr_compare(const void *a, const void *b) {
    const mkv_tensor *x = *(const mkv_tensor *const *)a, *y = *(const mkv_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int tensor_data_compare(const void *a, const void *b) {
    const mkv_tensor *x = *(const mkv_tensor *const *)a, *y = *(const mkv_tensor *const *)b;
    const unsigned char *px = x->data, *py = y->data;
    return px < py ? -1 : px > py ? 1 : 0;
}

/* ------------------------------------------------------------ parsing */

static mkv_status parse_kvs(mkv_gguf *g, cursor *c) {
    for (int64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kvs[i];
        mkv_status st = read_str(c, &kv->key, "key");
        if (st) return st;
        st = read_type(c, &kv->type, &kv->key, "value type");
        if (st) return st;
        kv->value_pos = c->pos;
        if (kv->type == MKV_GGUF_STRING) {
            mkv_gguf_str s;
            st = read_str(c, &s, "string value");
        } else if (kv->type == MKV_GGUF_ARRAY) {
            st = read_type(c, &kv->elem_type, &kv->key, "array element type");
            if (!st) st = read_u64(c, &kv->count, "array count");
            if (st) return st;
            kv->value_pos = c->pos;
            if (kv->elem_type == MKV_GGUF_STRING && kv->count <= remaining(c) / 8) {
                kv->str_pos = mkv_malloc(kv->count ? (size_t)kv->count * sizeof(size_t) : 1, "GGUF string array index");
                if (!kv->str_pos) return mkv_last_status();
            }
            st = skip_array(c, &kv->key, kv->elem_type, kv->count, 1, kv->str_pos);
        } else {
            size_t n = type_size(kv->type);
            if (remaining(c) < n) return truncated(c, "value", n);
            c->pos += n;
        }
        if (st) return st;
    }
    /* Duplicate keys make lookups ambiguous: ggml rejects them, and so do we. */
    if (g->n_kv > 0) {
        g->kv_sorted = mkv_malloc((size_t)g->n_kv * sizeof *g->kv_sorted, "GGUF key index");
        if (!g->kv_sorted) return mkv_last_status();
        for (int64_t i = 0; i < g->n_kv; i++) g->kv_sorted[i] = &g->kvs[i];
        qsort(g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, kv_ptr_compare);
        for (int64_t i = 1; i < g->n_kv; i++)
            if (kv_ptr_compare(&g->kv_sorted[i - 1], &g->kv_sorted[i]) == 0)
                return mkv_fail(MKV_ERR_FORMAT, "%s: duplicate key '%.*s'", g->name,
                                (int)(g->kv_sorted[i]->key.len > 200 ? 200 : g->kv_sorted[i]->key.len),
                                g->kv_sorted[i]->key.data);
    }
    return MKV_OK;
}

static mkv_status parse_alignment(mkv_gguf *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = mkv_gguf_find_key(g, "general.alignment");
    if (i < 0) return MKV_OK;
    if (g->kvs[i].type != MKV_GGUF_UINT32)
        return mkv_fail(MKV_ERR_FORMAT, "%s: general.alignment has type %s, expected uint32", g->name,
                        type_names[g->kvs[i].type]);
    uint32_t a;
    memcpy(&a, g->data + g->kvs[i].value_pos, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: general.alignment %u is not a power of two", g->name, a);
    g->alignment = a;
    return MKV_OK;
}

static mkv_status parse_tensor_infos(mkv_gguf *g, cursor *c, uint64_t *offsets) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        mkv_tensor *t = &g->tensors[i];
        mkv_gguf_str name;
        mkv_status st = read_str(c, &name, "tensor name");
        if (st) return st;
        if (name.len == 0) return mkv_fail(MKV_ERR_FORMAT, "%s: tensor %lld has an empty name", g->name, (long long)i);
        if (name.len >= sizeof t->name)
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor %lld has a name of %zu bytes (at most %zu allowed)", g->name,
                            (long long)i, name.len, sizeof t->name - 1);
        if (memchr(name.data, '\0', name.len))
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor %lld has a NUL byte in its name", g->name, (long long)i);
        memcpy(t->name, name.data, name.len);
        t->name[name.len] = '\0';

        uint32_t n_dims = 0;
        st = read_u32(c, &n_dims, "tensor n_dims");
        if (st) return st;
        if (n_dims < 1 || n_dims > MKV_MAX_DIMS)
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has %u dimensions (1 to %d allowed)", g->name, t->name, n_dims,
                            MKV_MAX_DIMS);
        t->n_dims = (int)n_dims;
        int64_t n_elements = 1;
        for (int d = 0; d < MKV_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < n_dims; d++) {
            st = read_bytes(c, &t->ne[d], 8, "tensor shape");
            if (st) return st;
            if (t->ne[d] <= 0)
                return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has dimension %u of size %lld", g->name, t->name, d,
                                (long long)t->ne[d]);
            if (__builtin_mul_overflow(n_elements, t->ne[d], &n_elements))
                return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s': element count overflows", g->name, t->name);
        }
        uint32_t type_id = 0;
        st = read_u32(c, &type_id, "tensor type");
        if (st) return st;
        const mkv_dtype_traits *traits = mkv_dtype_info((int)type_id);
        if (!traits) {
            const char *type_name = type_id <= INT32_MAX ? mkv_ggml_type_name((int)type_id) : NULL;
            if (type_name)
                return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which maskkv does not support", g->name,
                                t->name, type_name);
            return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tensor '%s' has ggml type %u, which maskkv does not support", g->name,
                            t->name, type_id);
        }
        t->dtype = (mkv_dtype)type_id;
        if (t->ne[0] % traits->block_size != 0)
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' of type %s has rows of %lld elements, not a multiple of %d",
                            g->name, t->name, traits->name, (long long)t->ne[0], traits->block_size);
        uint64_t n_blocks = (uint64_t)(n_elements / traits->block_size);
        if (n_blocks > SIZE_MAX / traits->block_bytes)
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s': byte size overflows", g->name, t->name);
        t->n_bytes = (size_t)n_blocks * traits->block_bytes;
        st = read_u64(c, &offsets[i], "tensor offset");
        if (st) return st;
        if (offsets[i] % g->alignment != 0)
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has offset %llu, not a multiple of the alignment %zu", g->name,
                            t->name, (unsigned long long)offsets[i], g->alignment);
    }
    return MKV_OK;
}

/* Tensors sorted by name (lookup); two of one name are an error. */
static mkv_status index_tensor_names(mkv_gguf *g, mkv_tensor **order) {
    for (int64_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, tensor_ptr_compare);
    g->tensor_sorted = order;
    for (int64_t i = 1; i < g->n_tensors; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            return mkv_fail(MKV_ERR_FORMAT, "%s: duplicate tensor name '%s'", g->name, order[i]->name);
    return MKV_OK;
}

static mkv_status place_tensors(mkv_gguf *g, const uint64_t *offsets) {
    if (g->n_tensors == 0) return MKV_OK;
    if (g->header_only) { /* data = NULL: the ranges are checked when the file is mapped */
        mkv_tensor **order = mkv_malloc((size_t)g->n_tensors * sizeof *order, "GGUF tensor index");
        return order ? index_tensor_names(g, order) : mkv_last_status();
    }
    if (g->data_pos > g->size)
        return mkv_fail(MKV_ERR_FORMAT, "%s: truncated: tensor data would start at offset %zu, past the end of the file (%zu bytes)",
                        g->name, g->data_pos, g->size);
    size_t data_bytes = g->size - g->data_pos;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        mkv_tensor *t = &g->tensors[i];
        if (offsets[i] > data_bytes || t->n_bytes > data_bytes - offsets[i])
            return mkv_fail(MKV_ERR_FORMAT,
                            "%s: tensor '%s' (%zu bytes at data offset %llu) lies outside the file (%zu bytes of tensor data)",
                            g->name, t->name, t->n_bytes, (unsigned long long)offsets[i], data_bytes);
        t->data = g->data + g->data_pos + (size_t)offsets[i];
    }
    mkv_tensor **order = mkv_malloc((size_t)g->n_tensors * sizeof *order, "GGUF tensor index");
    if (!order) return mkv_last_status();
    for (int64_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, tensor_data_compare);
    for (int64_t i = 1; i < g->n_tensors; i++) {
        const mkv_tensor *a = order[i - 1], *b = order[i];
        if ((const unsigned char *)a->data + a->n_bytes > (const unsigned char *)b->data) {
            mkv_status st = mkv_fail(MKV_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", g->name, a->name, b->name);
            mkv_free(order);
            return st;
        }
    }
    return index_tensor_names(g, order); /* reuses the buffer for the by-name index */
}

static mkv_status parse(mkv_gguf *g) {
    cursor c = {g->data, g->size, 0, g->name};
    char magic[4];
    if (g->size < 4 || memcmp(g->data, GGUF_MAGIC, 4) != 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: not a GGUF file (bad magic)", g->name);
    mkv_status st = read_bytes(&c, magic, 4, "magic");
    if (st) return st;
    st = read_u32(&c, &g->version, "version");
    if (st) return st;
    if (g->version == 1)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: GGUF version 1 is not supported (only versions 2 and 3)", g->name);
    if (g->version != 2 && g->version != 3) {
        uint32_t swapped = __builtin_bswap32(g->version);
        if (swapped >= 1 && swapped <= 3)
            return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: big-endian GGUF files are not supported", g->name);
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: GGUF version %u is not supported (only versions 2 and 3)", g->name,
                        g->version);
    }
    uint64_t n_tensors = 0, n_kv = 0;
    st = read_u64(&c, &n_tensors, "tensor count");
    if (!st) st = read_u64(&c, &n_kv, "key-value count");
    if (st) return st;
    /* Each tensor info takes at least 29 bytes and each key-value pair at
     * least 13: counts that cannot fit in the rest of the file are refused
     * before anything is allocated for them. */
    if (n_tensors > remaining(&c) / 29)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor count %llu cannot fit in a file of %zu bytes", g->name,
                        (unsigned long long)n_tensors, g->size);
    if (n_kv > remaining(&c) / 13)
        return mkv_fail(MKV_ERR_FORMAT, "%s: key-value count %llu cannot fit in a file of %zu bytes", g->name,
                        (unsigned long long)n_kv, g->size);
    g->n_tensors = (int64_t)n_tensors;
    g->n_kv = (int64_t)n_kv;
    g->kvs = mkv_calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kvs, "GGUF key-value table");
    g->tensors = mkv_calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *g->tensors, "GGUF tensor table");
    if (!g->kvs || !g->tensors) return mkv_last_status();
    st = parse_kvs(g, &c);
    if (!st) st = parse_alignment(g);
    if (st) return st;
    uint64_t *offsets = mkv_malloc(n_tensors ? (size_t)n_tensors * sizeof *offsets : 1, "GGUF tensor offsets");
    if (!offsets) return mkv_last_status();
    st = parse_tensor_infos(g, &c, offsets);
    if (!st) {
        size_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
        g->data_pos = c.pos + pad; /* c.pos <= size, so this cannot wrap */
        st = place_tensors(g, offsets);
    }
    mkv_free(offsets);
    return st;
}

/* ------------------------------------------------------------ open/close */

static mkv_status open_common(mkv_gguf *g, const char *name, mkv_gguf **out) {
    size_t len = strlen(name);
    g->name = mkv_malloc(len + 1, "GGUF file name");
    if (!g->name) {
        mkv_gguf_close(g);
        return mkv_last_status();
    }
    memcpy(g->name, name, len + 1);
    mkv_status st = parse(g);
    if (st) {
        mkv_gguf_close(g);
        return st;
    }
    *out = g;
    return MKV_OK;
}

mkv_status mkv_gguf_open_memory(const void *data, size_t size, const char *name, mkv_gguf **out) {
    *out = NULL;
    mkv_gguf *g = mkv_calloc(1, sizeof *g, "GGUF handle");
    if (!g) return mkv_last_status();
    g->data = data;
    g->size = data ? size : 0;
    return open_common(g, name ? name : "<memory>", out);
}

mkv_status mkv_gguf_open_header(const void *data, size_t size, const char *name, mkv_gguf **out) {
    *out = NULL;
    mkv_gguf *g = mkv_calloc(1, sizeof *g, "GGUF handle");
    if (!g) return mkv_last_status();
    g->data = data;
    g->size = data ? size : 0;
    g->header_only = true;
    return open_common(g, name ? name : "<memory>", out);
}

mkv_status mkv_gguf_open(const char *path, mkv_gguf **out) {
    *out = NULL;
    mkv_gguf *g = mkv_calloc(1, sizeof *g, "GGUF handle");
    if (!g) return mkv_last_status();
    mkv_status st = mkv_map_file(path, &g->mapping);
    if (st) {
        mkv_free(g);
        return st;
    }
    g->data = g->mapping.data;
    g->size = g->mapping.size;
    return open_common(g, path, out);
}

void mkv_gguf_close(mkv_gguf *g) {
    if (!g) return;
    if (g->kvs)
        for (int64_t i = 0; i < g->n_kv; i++) mkv_free(g->kvs[i].str_pos);
    mkv_free(g->kvs);
    mkv_free(g->kv_sorted);
    mkv_free(g->tensors);
    mkv_free(g->tensor_sorted);
    mkv_free(g->name);
    mkv_unmap_file(&g->mapping);
    mkv_free(g);
}

const char *mkv_gguf_name(const mkv_gguf *g) { return g->name; }
uint32_t mkv_gguf_version(const mkv_gguf *g) { return g->version; }
size_t mkv_gguf_alignment(const mkv_gguf *g) { return g->alignment; }

/* ------------------------------------------------------------ metadata */

int64_t mkv_gguf_n_kv(const mkv_gguf *g) { return g->n_kv; }

int64_t mkv_gguf_find_key(const mkv_gguf *g, const char *key) {
    if (!g->kv_sorted || !key) return -1;
    size_t len = strlen(key);
    int64_t lo = 0, hi = g->n_kv - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        const gguf_kv *kv = g->kv_sorted[mid];
        int c = str_compare(kv->key.data, kv->key.len, key, len);
        if (c == 0) return kv - g->kvs;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

mkv_gguf_str mkv_gguf_key_name(const mkv_gguf *g, int64_t index) {
    if (index < 0 || index >= g->n_kv) return (mkv_gguf_str){NULL, 0};
    return g->kvs[index].key;
}

mkv_gguf_type mkv_gguf_key_type(const mkv_gguf *g, int64_t index) {
    if (index < 0 || index >= g->n_kv) return MKV_GGUF_TYPE_COUNT;
    return g->kvs[index].type;
}

static const gguf_kv *find_kv(const mkv_gguf *g, const char *key) {
    int64_t i = mkv_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kvs[i];
}

/* Reads an integer of `type` at `p`; false for a non-integer type. The value
 * is returned as a sign flag and a magnitude-preserving pair. */
static bool read_integer(mkv_gguf_type type, const unsigned char *p, bool *negative, uint64_t *u, int64_t *s) {
    uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; uint64_t u64; int64_t i64;
    switch (type) {
    case MKV_GGUF_UINT8: memcpy(&u8, p, 1); *u = u8; *negative = false; break;
    case MKV_GGUF_UINT16: memcpy(&u16, p, 2); *u = u16; *negative = false; break;
    case MKV_GGUF_UINT32: memcpy(&u32, p, 4); *u = u32; *negative = false; break;
    case MKV_GGUF_UINT64: memcpy(&u64, p, 8); *u = u64; *negative = false; break;
    case MKV_GGUF_INT8: memcpy(&i8, p, 1); *s = i8; *negative = i8 < 0; *u = (uint64_t)(int64_t)i8; break;
    case MKV_GGUF_INT16: memcpy(&i16, p, 2); *s = i16; *negative = i16 < 0; *u = (uint64_t)(int64_t)i16; break;
    case MKV_GGUF_INT32: memcpy(&i32, p, 4); *s = i32; *negative = i32 < 0; *u = (uint64_t)(int64_t)i32; break;
    case MKV_GGUF_INT64: memcpy(&i64, p, 8); *s = i64; *negative = i64 < 0; *u = (uint64_t)i64; break;
    default: return false;
    }
    if (!*negative) *s = *u > (uint64_t)INT64_MAX ? -1 : (int64_t)*u;
    return true;
}

static bool integer_to_i64(mkv_gguf_type type, const unsigned char *p, int64_t *out) {
    bool negative;
    uint64_t u;
    int64_t s;
    if (!read_integer(type, p, &negative, &u, &s)) return false;
    if (!negative && u > (uint64_t)INT64_MAX) return false;
    *out = s;
    return true;
}

bool mkv_gguf_get_u32(const mkv_gguf *g, const char *key, uint32_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    int64_t v;
    if (!kv || !integer_to_i64(kv->type, g->data + kv->value_pos, &v)) return false;
    if (v < 0 || v > (int64_t)UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

bool mkv_gguf_get_i64(const mkv_gguf *g, const char *key, int64_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    return kv && integer_to_i64(kv->type, g->data + kv->value_pos, out);
}

bool mkv_gguf_get_f32(const mkv_gguf *g, const char *key, float *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return false;
    if (kv->type == MKV_GGUF_FLOAT32) {
        memcpy(out, g->data + kv->value_pos, 4);
        return true;
    }
    if (kv->type == MKV_GGUF_FLOAT64) {
        double d;
        memcpy(&d, g->data + kv->value_pos, 8);
        *out = (float)d;
        return true;
    }
    return false;
}

bool mkv_gguf_get_bool(const mkv_gguf *g, const char *key, bool *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != MKV_GGUF_BOOL) return false;
    *out = g->data[kv->value_pos] != 0;
    return true;
}

static mkv_gguf_str str_at(const mkv_gguf *g, size_t pos) {
    uint64_t len;
    memcpy(&len, g->data + pos, 8);
    return (mkv_gguf_str){(const char *)g->data + pos + 8, (size_t)len};
}

bool mkv_gguf_get_str(const mkv_gguf *g, const char *key, mkv_gguf_str *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != MKV_GGUF_STRING) return false;
    *out = str_at(g, kv->value_pos);
    return true;
}

bool mkv_gguf_get_arr_info(const mkv_gguf *g, const char *key, mkv_gguf_type *elem_type, uint64_t *count) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != MKV_GGUF_ARRAY) return false;
    if (elem_type) *elem_type = kv->elem_type;
    if (count) *count = kv->count;
    return true;
}

bool mkv_gguf_get_arr_str(const mkv_gguf *g, const char *key, uint64_t index, mkv_gguf_str *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != MKV_GGUF_ARRAY || kv->elem_type != MKV_GGUF_STRING || index >= kv->count || !kv->str_pos)
        return false;
    *out = str_at(g, kv->str_pos[index]);
    return true;
}

bool mkv_gguf_get_arr_i64(const mkv_gguf *g, const char *key, uint64_t index, int64_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != MKV_GGUF_ARRAY || !is_integer_type(kv->elem_type) || index >= kv->count) return false;
    return integer_to_i64(kv->elem_type, g->data + kv->value_pos + (size_t)index * type_size(kv->elem_type), out);
}

const void *mkv_gguf_get_arr_data(const mkv_gguf *g, const char *key, mkv_gguf_type *elem_type, uint64_t *count) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != MKV_GGUF_ARRAY || type_size(kv->elem_type) == 0) return NULL;
    if (elem_type) *elem_type = kv->elem_type;
    if (count) *count = kv->count;
    return g->data + kv->value_pos;
}

/* ------------------------------------------------------------ tensors */

int64_t mkv_gguf_n_tensors(const mkv_gguf *g) { return g->n_tensors; }

const mkv_tensor *mkv_gguf_tensor(const mkv_gguf *g, int64_t index) {
    if (index < 0 || index >= g->n_tensors) return NULL;
    return &g->tensors[index];
}

const mkv_tensor *mkv_gguf_find_tensor(const mkv_gguf *g, const char *name) {
    if (!g->tensor_sorted || !name) return NULL;
    int64_t lo = 0, hi = g->n_tensors - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->tensor_sorted[mid]->name, name);
        if (c == 0) return g->tensor_sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}
