/* Internals shared by the model loaders (model.c, load_gguf.c, load_hf.c)
 * and the converter: not part of the public API. */
#ifndef MKV_MODEL_LOAD_INTERNAL_H
#define MKV_MODEL_LOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "formats/gguf.h"
#include "model/model.h"

/* Fill `model` (zeroed, path set) from a .gguf file / an HF checkpoint
 * directory; on failure the caller frees the partial model. */
/* header_only: read from the first bytes of the file, no tensor data (then
 * mkv_load_gguf_weights maps it); else the whole file mapped and checked. */
mkv_status mkv_load_gguf(mkv_model *model, const char *path, bool header_only);
mkv_status mkv_load_gguf_weights(mkv_model *model);
mkv_status mkv_load_hf_dir(mkv_model *model, const char *dir);

/* Copies the data of any tensor that is not aligned to its element type
 * (a safetensors header of odd length, a GGUF with general.alignment 1) into
 * an aligned buffer the model owns, so that kernels may read it through
 * typed pointers. Real checkpoints need no copy. */
mkv_status mkv_model_align_tensor_data(mkv_model *model);

/* GGUF name of an HF tensor ("model.layers.3.self_attn.q_proj.bias" ->
 * "blk.3.attn_q.bias"), for the LLaDA and Dream checkpoints. Returns 1 when
 * mapped (and *block = layer or -1), 0 for tensors llama.cpp's converter
 * skips (rotary inv_freq, attention masks), -1 for an unknown name. */
int mkv_hf_tensor_name_to_gguf(const char *hf_name, char *out, size_t out_size, int *block);

/* Id of `text` in a GGUF's tokenizer.ggml.tokens, -1 when absent. */
int32_t mkv_gguf_find_token(const mkv_gguf *gguf, const char *text);

/* Token strings that carry LLaDA's and Dream's special roles. */
const char *mkv_arch_mask_token(mkv_arch arch); /* "<|mdm_mask|>", "<|mask|>"   */
const char *mkv_arch_eot_token(mkv_arch arch);  /* "<|eot_id|>",  "<|im_end|>" */

#endif
