/* safetensors reader: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}}, then the data section. */
#include "formats/safetensors.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/dtype.h"

struct mkv_safetensors {
    mkv_mapped_file mapping; /* set when opened from a path */
    const unsigned char *data;
    size_t size;
    char *name;
    int64_t n_tensors;
    mkv_tensor *tensors;        /* in data order */
    mkv_tensor **by_name;       /* sorted by name */
};

static char *copy_string(const char *s, const char *what) {
    size_t len = strlen(s);
    char *c = mkv_malloc(len + 1, what);
    if (c) memcpy(c, s, len + 1);
    return c;
}

static int tensor_name_compare(const void *a, const void *b) {
    return strcmp((*(const mkv_tensor *const *)a)->name, (*(const mkv_tensor *const *)b)->name);
}

static int tensor_data_compare(const void *a, const void *b) {
    const unsigned char *x = ((const mkv_tensor *)a)->data, *y = ((const mkv_tensor *)b)->data;
    if (x != y) return x < y ? -1 : 1;
    size_t nx = ((const mkv_tensor *)a)->n_bytes, ny = ((const mkv_tensor *)b)->n_bytes;
    return nx < ny ? -1 : nx > ny ? 1 : 0;
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static bool json_u64(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v) return false;
    *out = (uint64_t)v;
    return true;
}

static bool parse_dtype(const char *s, mkv_dtype *out) {
    if (!strcmp(s, "F32")) *out = MKV_TYPE_F32;
    else if (!strcmp(s, "F16")) *out = MKV_TYPE_F16;
    else if (!strcmp(s, "BF16")) *out = MKV_TYPE_BF16;
    else return false;
    return true;
}

static mkv_status parse_entry(mkv_safetensors *st, const cJSON *entry, mkv_tensor *t, size_t data_start, size_t data_bytes) {
    const char *name = entry->string;
    if (strlen(name) >= sizeof t->name)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor name '%.60s...' is longer than %zu bytes", st->name, name, sizeof t->name - 1);
    if (name[0] == '\0') return mkv_fail(MKV_ERR_FORMAT, "%s: a tensor has an empty name", st->name);
    strcpy(t->name, name);
    if (!cJSON_IsObject(entry)) return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", st->name, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dtype)) return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has no dtype string", st->name, name);
    if (!cJSON_IsArray(shape)) return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has no shape array", st->name, name);
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has no data_offsets pair", st->name, name);
    if (!parse_dtype(dtype->valuestring, &t->dtype))
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %.20s (maskkv reads F32, F16 and BF16)", st->name,
                        name, dtype->valuestring);
    int n_dims = cJSON_GetArraySize(shape);
    if (n_dims > MKV_MAX_DIMS)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)", st->name, name, n_dims, MKV_MAX_DIMS);
    t->n_dims = n_dims;
    for (int d = 0; d < MKV_MAX_DIMS; d++) t->ne[d] = 1;
    uint64_t n_elements = 1;
    int d = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        uint64_t v;
        if (!json_u64(dim, &v))
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s': shape holds something other than a non-negative integer", st->name, name);
        if (v == 0) return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has an empty dimension", st->name, name);
        if (__builtin_mul_overflow(n_elements, v, &n_elements) || n_elements > (uint64_t)INT64_MAX)
            return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s': element count overflows", st->name, name);
        /* PyTorch order is outermost first; ggml's ne[] is innermost first. */
        t->ne[n_dims - 1 - d] = (int64_t)v;
        d++;
    }
    uint64_t begin, end;
    if (!json_u64(cJSON_GetArrayItem(offsets, 0), &begin) || !json_u64(cJSON_GetArrayItem(offsets, 1), &end) || begin > end)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has invalid data_offsets", st->name, name);
    if (end > data_bytes)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' ends at data offset %llu, past the end of the data (%zu bytes)",
                        st->name, name, (unsigned long long)end, data_bytes);
    size_t elem_bytes = mkv_dtype_info(t->dtype)->block_bytes;
    if (n_elements > SIZE_MAX / elem_bytes || end - begin != n_elements * elem_bytes)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' has %llu bytes of data but its shape and dtype need %llu", st->name,
                        name, (unsigned long long)(end - begin), (unsigned long long)(n_elements * elem_bytes));
    /* Writers pad the header so that every tensor is aligned to its
     * elements; readers (kernels, dtype conversions) rely on it. */
    if ((data_start + begin) % elem_bytes != 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' starts at file offset %llu, not aligned to its %zu-byte elements",
                        st->name, name, (unsigned long long)(data_start + begin), elem_bytes);
    t->data = st->data + data_start + begin;
    t->n_bytes = (size_t)(end - begin);
    return MKV_OK;
}

static mkv_status parse(mkv_safetensors *st) {
    if (st->size < 8)
        return mkv_fail(MKV_ERR_FORMAT, "%s: truncated: %zu bytes, too short for a safetensors header", st->name, st->size);
    uint64_t header_len;
    memcpy(&header_len, st->data, 8);
    if (header_len > MKV_SAFETENSORS_MAX_HEADER_BYTES)
        return mkv_fail(MKV_ERR_FORMAT, "%s: header length %llu is over the %llu-byte limit", st->name,
                        (unsigned long long)header_len, (unsigned long long)MKV_SAFETENSORS_MAX_HEADER_BYTES);
    if (header_len > st->size - 8)
        return mkv_fail(MKV_ERR_FORMAT, "%s: truncated: header length %llu is past the end of the file (%zu bytes)", st->name,
                        (unsigned long long)header_len, st->size);
    cJSON *root = cJSON_ParseWithLength((const char *)st->data + 8, (size_t)header_len);
    if (!root) return mkv_fail(MKV_ERR_FORMAT, "%s: header is not valid JSON", st->name);
    mkv_status status = MKV_OK;
    if (!cJSON_IsObject(root)) {
        status = mkv_fail(MKV_ERR_FORMAT, "%s: header is not a JSON object", st->name);
        goto done;
    }
    int64_t n = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root) if (strcmp(entry->string, "__metadata__") != 0) n++;
    st->tensors = mkv_calloc(n ? (size_t)n : 1, sizeof *st->tensors, "safetensors tensor table");
    st->by_name = mkv_calloc(n ? (size_t)n : 1, sizeof *st->by_name, "safetensors tensor index");
    if (!st->tensors || !st->by_name) {
        status = mkv_last_status();
        goto done;
    }
    size_t data_start = 8 + (size_t)header_len, data_bytes = st->size - data_start;
    cJSON_ArrayForEach(entry, root) {
        if (strcmp(entry->string, "__metadata__") == 0) continue;
        status = parse_entry(st, entry, &st->tensors[st->n_tensors], data_start, data_bytes);
        if (status) goto done;
        st->n_tensors++;
    }
    qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, tensor_data_compare);
    for (int64_t i = 1; i < st->n_tensors; i++) {
        const mkv_tensor *a = &st->tensors[i - 1], *b = &st->tensors[i];
        if ((const unsigned char *)a->data + a->n_bytes > (const unsigned char *)b->data) {
            status = mkv_fail(MKV_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", st->name, a->name, b->name);
            goto done;
        }
    }
    for (int64_t i = 0; i < st->n_tensors; i++) st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, (size_t)st->n_tensors, sizeof *st->by_name, tensor_name_compare);
    for (int64_t i = 1; i < st->n_tensors; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0) {
            status = mkv_fail(MKV_ERR_FORMAT, "%s: duplicate tensor name '%s'", st->name, st->by_name[i]->name);
            goto done;
        }
done:
    cJSON_Delete(root);
    return status;
}

static mkv_status open_common(mkv_safetensors *st, const char *name, mkv_safetensors **out) {
    st->name = copy_string(name, "safetensors file name");
    mkv_status status = st->name ? parse(st) : mkv_last_status();
    if (status) {
        mkv_safetensors_close(st);
        return status;
    }
    *out = st;
    return MKV_OK;
}

mkv_status mkv_safetensors_open_memory(const void *data, size_t size, const char *name, mkv_safetensors **out) {
    *out = NULL;
    mkv_safetensors *st = mkv_calloc(1, sizeof *st, "safetensors handle");
    if (!st) return mkv_last_status();
    st->data = data;
    st->size = data ? size : 0;
    return open_common(st, name ? name : "<memory>", out);
}

mkv_status mkv_safetensors_open(const char *path, mkv_safetensors **out) {
    *out = NULL;
    mkv_safetensors *st = mkv_calloc(1, sizeof *st, "safetensors handle");
    if (!st) return mkv_last_status();
    mkv_status status = mkv_map_file(path, &st->mapping);
    if (status) {
        mkv_free(st);
        return status;
    }
    st->data = st->mapping.data;
    st->size = st->mapping.size;
    return open_common(st, path, out);
}

void mkv_safetensors_close(mkv_safetensors *st) {
    if (!st) return;
    mkv_unmap_file(&st->mapping);
    mkv_free(st->tensors);
    mkv_free(st->by_name);
    mkv_free(st->name);
    mkv_free(st);
}

const char *mkv_safetensors_name(const mkv_safetensors *st) { return st->name; }
int64_t mkv_safetensors_n_tensors(const mkv_safetensors *st) { return st->n_tensors; }

const mkv_tensor *mkv_safetensors_tensor(const mkv_safetensors *st, int64_t index) {
    return index >= 0 && index < st->n_tensors ? &st->tensors[index] : NULL;
}

const mkv_tensor *mkv_safetensors_find(const mkv_safetensors *st, const char *name) {
    int64_t lo = 0, hi = st->n_tensors - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

/* ------------------------------------------------------------ checkpoint directories */

struct mkv_safetensors_set {
    mkv_safetensors **files;
    int n_files;
};

void mkv_safetensors_set_close(mkv_safetensors_set *set) {
    if (!set) return;
    for (int i = 0; i < set->n_files; i++) mkv_safetensors_close(set->files[i]);
    mkv_free(set->files);
    mkv_free(set);
}

int mkv_safetensors_set_n_files(const mkv_safetensors_set *set) { return set->n_files; }
const mkv_safetensors *mkv_safetensors_set_file(const mkv_safetensors_set *set, int index) {
    return index >= 0 && index < set->n_files ? set->files[index] : NULL;
}

const mkv_tensor *mkv_safetensors_set_find(const mkv_safetensors_set *set, const char *name) {
    for (int i = 0; i < set->n_files; i++) {
        const mkv_tensor *t = mkv_safetensors_find(set->files[i], name);
        if (t) return t;
    }
    return NULL;
}

void mkv_safetensors_set_take_mappings(mkv_safetensors_set *set, mkv_mapped_file *dst) {
    for (int i = 0; i < set->n_files; i++) {
        dst[i] = set->files[i]->mapping;
        set->files[i]->mapping = (mkv_mapped_file){NULL, 0};
    }
}

static int string_ptr_compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) mkv_free(names[i]);
    mkv_free(names);
}

/* Appends a copy of `name`; sort_unique_names then sorts and drops repeats
 * (O(n log n) for an index naming 200k shards). */
static mkv_status add_name(char ***names, int *n, int *cap, const char *name) {
    if (*n == INT32_MAX) return mkv_fail(MKV_ERR_FORMAT, "too many shard names");
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 8;
        char **p = mkv_realloc(*names, (size_t)c * sizeof *p, "safetensors shard list");
        if (!p) return mkv_last_status();
        *names = p;
        *cap = c;
    }
    char *copy = copy_string(name, "safetensors shard name");
    if (!copy) return mkv_last_status();
    (*names)[(*n)++] = copy;
    return MKV_OK;
}

static void sort_unique_names(char **names, int *n) {
    qsort(names, (size_t)*n, sizeof *names, string_ptr_compare);
    int kept = 0;
    for (int i = 0; i < *n; i++) {
        if (kept > 0 && strcmp(names[kept - 1], names[i]) == 0) {
            mkv_free(names[i]);
            continue;
        }
        names[kept++] = names[i];
    }
    *n = kept;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Shard names from the weight map of model.safetensors.index.json; the
 * parsed map is returned for the consistency check. */
static mkv_status index_shards(const char *index_path, cJSON **out_map_root, char ***names, int *n) {
    char *text = NULL;
    size_t len = 0;
    int cap = 0;
    *out_map_root = NULL;
    mkv_status status = mkv_read_text_file(index_path, 256u << 20, &text, &len);
    if (status) return status;
    cJSON *root = cJSON_ParseWithLength(text, len);
    mkv_free(text);
    if (!root) return mkv_fail(MKV_ERR_FORMAT, "%s: not valid JSON", index_path);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) {
        cJSON_Delete(root);
        return mkv_fail(MKV_ERR_FORMAT, "%s: no \"weight_map\" object", index_path);
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, map) {
        const char *file = cJSON_IsString(entry) ? entry->valuestring : NULL;
        if (!file || !file[0] || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, "..")) {
            status = mkv_fail(MKV_ERR_FORMAT, "%s: weight_map entry '%s' does not name a file in the directory", index_path,
                              entry->string);
            break;
        }
        status = add_name(names, n, &cap, file);
        if (status) break;
    }
    if (!status) sort_unique_names(*names, n); /* as llama.cpp: sorted(set(...)) */
    if (!status && *n == 0) status = mkv_fail(MKV_ERR_FORMAT, "%s: weight_map is empty", index_path);
    if (status) {
        cJSON_Delete(root);
        return status;
    }
    *out_map_root = root;
    return MKV_OK;
}

static mkv_status glob_shards(const char *dir, char ***names, int *n) {
    int cap = 0;
    DIR *d = opendir(dir);
    if (!d) return mkv_fail(MKV_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    struct dirent *e;
    mkv_status status = MKV_OK;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "model", 5) != 0 || !ends_with(e->d_name, ".safetensors")) continue;
        status = add_name(names, n, &cap, e->d_name);
        if (status) break;
    }
    closedir(d);
    if (!status && *n == 0) status = mkv_fail(MKV_ERR_IO, "%s: no model*.safetensors files in the directory", dir);
    if (!status) sort_unique_names(*names, n);
    return status;
}

typedef struct {
    const char *name;
    int file;
} named_tensor;

static int named_tensor_compare(const void *a, const void *b) {
    const named_tensor *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->file > y->file) - (x->file < y->file);
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The shard whose file name is `name` (the files are in sorted name order). */
static const mkv_safetensors *shard_by_name(const mkv_safetensors_set *set, const char *name) {
    int lo = 0, hi = set->n_files - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(base_name(set->files[mid]->name), name);
        if (c == 0) return set->files[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

static mkv_status check_set(const char *dir, mkv_safetensors_set *set, const cJSON *index_root) {
    /* The same tensor in two shards would make the checkpoint ambiguous
     * (all names sorted once: linear in the tensor count, not quadratic). */
    int64_t n_total = 0;
    for (int i = 0; i < set->n_files; i++) n_total += set->files[i]->n_tensors;
    named_tensor *all = mkv_malloc((size_t)(n_total ? n_total : 1) * sizeof *all, "safetensors tensor names");
    if (!all) return mkv_last_status();
    int64_t k = 0;
    for (int i = 0; i < set->n_files; i++)
        for (int64_t t = 0; t < set->files[i]->n_tensors; t++) all[k++] = (named_tensor){set->files[i]->tensors[t].name, i};
    qsort(all, (size_t)n_total, sizeof *all, named_tensor_compare);
    mkv_status st = MKV_OK;
    for (int64_t i = 1; i < n_total && !st; i++)
        if (strcmp(all[i - 1].name, all[i].name) == 0)
            st = mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' is in both %s and %s", dir, all[i].name, set->files[all[i - 1].file]->name,
                          set->files[all[i].file]->name);
    mkv_free(all);
    if (st || !index_root) return st;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(index_root, "weight_map");
    int64_t n_mapped = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, map) {
        n_mapped++;
        const mkv_safetensors *shard = shard_by_name(set, entry->valuestring);
        if (shard && !mkv_safetensors_find(shard, entry->string))
            return mkv_fail(MKV_ERR_FORMAT, "%s/model.safetensors.index.json: tensor '%s' is not in %s", dir, entry->string,
                            entry->valuestring);
    }
    if (n_total != n_mapped)
        return mkv_fail(MKV_ERR_FORMAT, "%s/model.safetensors.index.json: weight_map lists %lld tensors but the shards hold %lld",
                        dir, (long long)n_mapped, (long long)n_total);
    return MKV_OK;
}

mkv_status mkv_safetensors_open_dir(const char *dir, mkv_safetensors_set **out) {
    *out = NULL;
    struct stat sb;
    if (stat(dir, &sb) != 0) return mkv_fail(MKV_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return mkv_fail(MKV_ERR_IO, "%s: not a directory", dir);
    size_t dir_len = strlen(dir);
    char *path = mkv_malloc(dir_len + 512, "safetensors path");
    if (!path) return mkv_last_status();
    char **names = NULL;
    int n_names = 0;
    cJSON *index_root = NULL;
    snprintf(path, dir_len + 512, "%s/model.safetensors.index.json", dir);
    mkv_status status;
    if (stat(path, &sb) == 0) status = index_shards(path, &index_root, &names, &n_names);
    else status = glob_shards(dir, &names, &n_names);
    mkv_safetensors_set *set = NULL;
    if (!status) {
        set = mkv_calloc(1, sizeof *set, "safetensors set");
        if (set) set->files = mkv_calloc((size_t)n_names, sizeof *set->files, "safetensors set");
        if (!set || !set->files) status = mkv_last_status();
    }
    for (int i = 0; i < n_names && !status; i++) {
        if (strlen(names[i]) > 500) {
            status = mkv_fail(MKV_ERR_FORMAT, "%s: shard name too long", dir);
            break;
        }
        snprintf(path, dir_len + 512, "%s/%s", dir, names[i]);
        status = mkv_safetensors_open(path, &set->files[i]);
        if (!status) set->n_files++;
    }
    if (!status) status = check_set(dir, set, index_root);
    cJSON_Delete(index_root);
    free_names(names, n_names);
    mkv_free(path);
    if (status) {
        mkv_safetensors_set_close(set);
        return status;
    }
    *out = set;
    return MKV_OK;
}
