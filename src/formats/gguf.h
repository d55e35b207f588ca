/* GGUF v3 reader (llama.cpp's model format), memory-mapped. Every offset and
 * count is checked once at open; callers use typed getters and never touch
 * raw file offsets. */
#ifndef MKV_GGUF_H
#define MKV_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"

typedef enum {
    MKV_GGUF_UINT8 = 0, MKV_GGUF_INT8 = 1, MKV_GGUF_UINT16 = 2, MKV_GGUF_INT16 = 3,
    MKV_GGUF_UINT32 = 4, MKV_GGUF_INT32 = 5, MKV_GGUF_FLOAT32 = 6, MKV_GGUF_BOOL = 7,
    MKV_GGUF_STRING = 8, MKV_GGUF_ARRAY = 9, MKV_GGUF_UINT64 = 10, MKV_GGUF_INT64 = 11,
    MKV_GGUF_FLOAT64 = 12, MKV_GGUF_TYPE_COUNT
} mkv_gguf_type;

typedef struct {
    const char *data;   /* not NUL-terminated */
    size_t len;
} mkv_gguf_str;

typedef struct mkv_gguf mkv_gguf;

/* Opens and validates a file (mmap) or an in-memory image (fuzzing, tests;
 * `data` must outlive the handle). `name` is used in error messages. */
mkv_status mkv_gguf_open(const char *path, mkv_gguf **out);
mkv_status mkv_gguf_open_memory(const void *data, size_t size, const char *name, mkv_gguf **out);
/* The header only: metadata and tensor infos from the first `size` bytes of
 * a file, validated as mkv_gguf_open does except that the tensors are not
 * placed: their `data` is NULL and their ranges are not checked against the
 * file (the weights are neither mapped nor read; mkv_gguf_open checks them
 * later). A header longer than `size` is refused as truncated. */
mkv_status mkv_gguf_open_header(const void *data, size_t size, const char *name, mkv_gguf **out);
void mkv_gguf_close(mkv_gguf *gguf);
const char *mkv_gguf_name(const mkv_gguf *gguf);
uint32_t mkv_gguf_version(const mkv_gguf *gguf);
size_t mkv_gguf_alignment(const mkv_gguf *gguf);

/* Metadata. */
int64_t mkv_gguf_n_kv(const mkv_gguf *gguf);
int64_t mkv_gguf_find_key(const mkv_gguf *gguf, const char *key);     /* -1 if absent */
mkv_gguf_str mkv_gguf_key_name(const mkv_gguf *gguf, int64_t index);
mkv_gguf_type mkv_gguf_key_type(const mkv_gguf *gguf, int64_t index);
/* Typed getters: false when the key is absent or of an incompatible type /
 * out of range for the requested C type (integers convert between widths when
 * the value fits). */
bool mkv_gguf_get_u32(const mkv_gguf *gguf, const char *key, uint32_t *out);
bool mkv_gguf_get_i64(const mkv_gguf *gguf, const char *key, int64_t *out);
bool mkv_gguf_get_f32(const mkv_gguf *gguf, const char *key, float *out);
bool mkv_gguf_get_bool(const mkv_gguf *gguf, const char *key, bool *out);
bool mkv_gguf_get_str(const mkv_gguf *gguf, const char *key, mkv_gguf_str *out);
/* Arrays: element type and count; then elements by index. */
bool mkv_gguf_get_arr_info(const mkv_gguf *gguf, const char *key, mkv_gguf_type *elem_type, uint64_t *count);
bool mkv_gguf_get_arr_str(const mkv_gguf *gguf, const char *key, uint64_t index, mkv_gguf_str *out);
bool mkv_gguf_get_arr_i64(const mkv_gguf *gguf, const char *key, uint64_t index, int64_t *out);
/* Pointer to the packed elements of a numeric array (little-endian on disk).
 * Metadata is not aligned: read elements with memcpy, not through a typed pointer. */
const void *mkv_gguf_get_arr_data(const mkv_gguf *gguf, const char *key, mkv_gguf_type *elem_type, uint64_t *count);

/* Tensors: infos validated at open (known type, in-bounds, aligned, sizes
 * consistent, names unique). `out->data` points into the mapping. */
int64_t mkv_gguf_n_tensors(const mkv_gguf *gguf);
const mkv_tensor *mkv_gguf_tensor(const mkv_gguf *gguf, int64_t index);
const mkv_tensor *mkv_gguf_find_tensor(const mkv_gguf *gguf, const char *name);

#endif
