/* safetensors reader (HF checkpoints), memory-mapped. The JSON header is
 * checked at open: its length against the file size and a 100 MB cap, each
 * tensor's dtype (F32, F16, BF16; others are MKV_ERR_UNSUPPORTED), shape and
 * data_offsets (inside the data section, size = elements * dtype size, no
 * overlap, aligned to the element size in the file, names unique).
 * `__metadata__` is ignored.
 *
 * Tensor views keep the checkpoint's names ("model.layers.0.mlp.up_proj.weight")
 * and ggml's innermost-first shape order: a PyTorch [out][in] weight has
 * ne[0] = in, ne[1] = out. */
#ifndef MKV_SAFETENSORS_H
#define MKV_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"
#include "util/mapped_file.h"

#define MKV_SAFETENSORS_MAX_HEADER_BYTES ((uint64_t)100000000) /* the Python library's own cap */

typedef struct mkv_safetensors mkv_safetensors;

mkv_status mkv_safetensors_open(const char *path, mkv_safetensors **out);
/* `data` must outlive the handle; `name` is used in error messages. */
mkv_status mkv_safetensors_open_memory(const void *data, size_t size, const char *name, mkv_safetensors **out);
void mkv_safetensors_close(mkv_safetensors *st);

const char *mkv_safetensors_name(const mkv_safetensors *st);
int64_t mkv_safetensors_n_tensors(const mkv_safetensors *st);
/* Tensors in the order of their data in the file. */
const mkv_tensor *mkv_safetensors_tensor(const mkv_safetensors *st, int64_t index);
const mkv_tensor *mkv_safetensors_find(const mkv_safetensors *st, const char *name);

/* A checkpoint directory: `model.safetensors.index.json` (its weight_map
 * names the shards and is checked against them), or else every
 * `model*.safetensors` file (one file or `model-00001-of-0000N` shards),
 * opened in name order. A tensor name present in two shards is an error. */
typedef struct mkv_safetensors_set mkv_safetensors_set;

mkv_status mkv_safetensors_open_dir(const char *dir, mkv_safetensors_set **out);
void mkv_safetensors_set_close(mkv_safetensors_set *set);
int mkv_safetensors_set_n_files(const mkv_safetensors_set *set);
const mkv_safetensors *mkv_safetensors_set_file(const mkv_safetensors_set *set, int index);
const mkv_tensor *mkv_safetensors_set_find(const mkv_safetensors_set *set, const char *name);
/* Moves the files' mappings to `dst` (n_files slots) so that tensor views
 * outlive the set: the caller unmaps them later with mkv_unmap_file. */
void mkv_safetensors_set_take_mappings(mkv_safetensors_set *set, mkv_mapped_file *dst);

#endif
