/* GGUF v3 writer. Key-value pairs and tensor infos are collected in memory
 * (the vocabulary of a 152k-token model is a few MB); the header is written
 * once they are complete, then tensor data streams to the file one tensor at
 * a time, in the order the infos were added, each padded to the alignment.
 *
 *   mkv_gguf_writer_open -> add_* / add_tensor_info -> write_header
 *     -> write_tensor (each tensor's bytes, in order) -> finish   (or abort)
 *
 * Errors: MKV_ERR_IO for an unwritable path or a failed write (naming the
 * path), MKV_ERR_INPUT for misuse (duplicate key or tensor, wrong order,
 * wrong byte count). */
#ifndef MKV_GGUF_WRITER_H
#define MKV_GGUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"
#include "maskkv.h"

typedef struct mkv_gguf_writer mkv_gguf_writer;

/* Creates the temporary file beside `path` at once (util/safe_write.h), so
 * that an unwritable directory fails early; `path` itself is replaced only by
 * a successful finish. */
mkv_status mkv_gguf_writer_open(const char *path, mkv_gguf_writer **out);
/* Data alignment, a power of two (default 32). A value other than 32 also
 * writes general.alignment (uint32), as gguf-py does. Before any tensor info. */
mkv_status mkv_gguf_writer_set_alignment(mkv_gguf_writer *w, uint32_t alignment);

/* Scalars. */
mkv_status mkv_gguf_writer_add_u8(mkv_gguf_writer *w, const char *key, uint8_t value);
mkv_status mkv_gguf_writer_add_i8(mkv_gguf_writer *w, const char *key, int8_t value);
mkv_status mkv_gguf_writer_add_u16(mkv_gguf_writer *w, const char *key, uint16_t value);
mkv_status mkv_gguf_writer_add_i16(mkv_gguf_writer *w, const char *key, int16_t value);
mkv_status mkv_gguf_writer_add_u32(mkv_gguf_writer *w, const char *key, uint32_t value);
mkv_status mkv_gguf_writer_add_i32(mkv_gguf_writer *w, const char *key, int32_t value);
mkv_status mkv_gguf_writer_add_f32(mkv_gguf_writer *w, const char *key, float value);
mkv_status mkv_gguf_writer_add_bool(mkv_gguf_writer *w, const char *key, bool value);
mkv_status mkv_gguf_writer_add_u64(mkv_gguf_writer *w, const char *key, uint64_t value);
mkv_status mkv_gguf_writer_add_i64(mkv_gguf_writer *w, const char *key, int64_t value);
mkv_status mkv_gguf_writer_add_f64(mkv_gguf_writer *w, const char *key, double value);
mkv_status mkv_gguf_writer_add_str(mkv_gguf_writer *w, const char *key, const char *value);
mkv_status mkv_gguf_writer_add_str_n(mkv_gguf_writer *w, const char *key, const char *value, size_t len);

/* Array of a fixed-size type: `count` packed little-endian elements at `data`. */
mkv_status mkv_gguf_writer_add_arr(mkv_gguf_writer *w, const char *key, mkv_gguf_type elem_type, const void *data,
                                   uint64_t count);
mkv_status mkv_gguf_writer_add_arr_str(mkv_gguf_writer *w, const char *key, const char *const *strings, uint64_t count);
/* String array produced element by element (no pointer table needed):
 * `get` returns element `index` and its length in bytes. */
typedef const char *(*mkv_gguf_str_getter)(void *ctx, uint64_t index, size_t *len);
mkv_status mkv_gguf_writer_add_arr_str_fn(mkv_gguf_writer *w, const char *key, uint64_t count, mkv_gguf_str_getter get,
                                          void *ctx);
/* A value whose bytes the caller encoded (e.g. arrays of arrays): `type`
 * followed by `bytes` verbatim. */
mkv_status mkv_gguf_writer_add_raw(mkv_gguf_writer *w, const char *key, mkv_gguf_type type, const void *bytes, size_t n);

/* Tensors: `ne` innermost first, as in ggml. */
mkv_status mkv_gguf_writer_add_tensor_info(mkv_gguf_writer *w, const char *name, mkv_dtype type, int n_dims,
                                           const int64_t *ne);
int64_t mkv_gguf_writer_n_tensors(const mkv_gguf_writer *w);
/* Bytes still expected for the current tensor (0 when all are written). */
size_t mkv_gguf_writer_next_tensor_bytes(const mkv_gguf_writer *w);

mkv_status mkv_gguf_writer_write_header(mkv_gguf_writer *w);
/* Appends data of the current tensor, whole or in pieces; the bytes that
 * complete it also write its padding and move on to the next tensor. */
mkv_status mkv_gguf_writer_write_tensor(mkv_gguf_writer *w, const void *data, size_t n_bytes);
/* Checks every tensor was written, closes the file and frees the writer
 * (also on failure). */
mkv_status mkv_gguf_writer_finish(mkv_gguf_writer *w);
/* Removes the temporary file (never `path`), frees the writer. NULL is a no-op. */
void mkv_gguf_writer_abort(mkv_gguf_writer *w);

#endif
