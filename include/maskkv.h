/* maskkv — diffusion language models (LLaDA, Dream) with MaskKV prompt-cache eviction.
 *
 * Public API. Every function that can fail returns an mkv_status; on failure a
 * one-line message naming the file/parameter and the problem is available from
 * mkv_last_error() (thread-local). The `maskkv` command exits with the status
 * code, so the numbers below are also the CLI's exit codes. */
#ifndef MASKKV_H
#define MASKKV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- version */
#define MKV_VERSION_MAJOR 0
#define MKV_VERSION_MINOR 4
#define MKV_VERSION_PATCH 0
#define MKV_VERSION_STRING "0.4.0"

/* ---------------------------------------------------------------- errors */
typedef enum {
    MKV_OK = 0,
    MKV_ERR_USAGE = 2,       /* bad command-line arguments or parameter values   */
    MKV_ERR_IO = 3,          /* missing, unreadable or unwritable file            */
    MKV_ERR_FORMAT = 4,      /* malformed, truncated or hostile file contents     */
    MKV_ERR_UNSUPPORTED = 5, /* well-formed but unsupported (arch, dtype, ...)    */
    MKV_ERR_INPUT = 6,       /* bad user input: token ids, prompt text, budgets   */
    MKV_ERR_NOMEM = 7,       /* allocation failed or over the --max-memory bound  */
} mkv_status;

const char *mkv_last_error(void);
mkv_status mkv_last_status(void);
/* Records a formatted error message and returns `status` (for `return mkv_fail(...)`). */
mkv_status mkv_fail(mkv_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mkv_clear_error(void);

/* ---------------------------------------------------------- tensor types */
/* Numbering follows ggml's `enum ggml_type`, so GGUF type ids map directly. */
typedef enum {
    MKV_TYPE_F32 = 0,
    MKV_TYPE_F16 = 1,
    MKV_TYPE_Q4_0 = 2,
    MKV_TYPE_Q4_1 = 3,
    MKV_TYPE_Q5_0 = 6,
    MKV_TYPE_Q5_1 = 7,
    MKV_TYPE_Q8_0 = 8,
    MKV_TYPE_Q2_K = 10,
    MKV_TYPE_Q3_K = 11,
    MKV_TYPE_Q4_K = 12,
    MKV_TYPE_Q5_K = 13,
    MKV_TYPE_Q6_K = 14,
    MKV_TYPE_IQ4_NL = 20,
    MKV_TYPE_BF16 = 30,
} mkv_dtype;

#define MKV_MAX_DIMS 4

/* A view of a weight tensor. Shapes are innermost-first as in ggml: a linear
 * layer W[out][in] (PyTorch) has ne[0] = in, ne[1] = out, and each of the
 * ne[1] rows is ne[0] contiguous elements (or ne[0]/block_size quantized
 * blocks: 32 elements, 256 for the K-quants).
 * `data` points into a memory-mapped file or into memory owned by the model. */
typedef struct {
    char name[128];
    mkv_dtype dtype;
    int n_dims;
    int64_t ne[MKV_MAX_DIMS];
    const void *data;
    size_t n_bytes;
} mkv_tensor;

/* ---------------------------------------------------------------- models */
typedef enum { MKV_ARCH_LLADA = 0, MKV_ARCH_DREAM = 1, MKV_ARCH_COUNT } mkv_arch;

/* NEOX: rotate halves (x[i], x[i + d/2]) — HF checkpoints of LLaDA and Dream.
 * NORM: rotate adjacent pairs (x[2i], x[2i+1]) — llama.cpp's LLaDA GGUF, whose
 *       q/k weights the converter permuted so that both give the same logits. */
typedef enum { MKV_ROPE_NEOX = 0, MKV_ROPE_NORM = 1 } mkv_rope_style;

typedef struct {
    mkv_arch arch;
    int n_layers;
    int d_model;
    int n_heads;
    int n_kv_heads;
    int head_dim;
    int d_ff;
    int n_vocab;
    int n_ctx;            /* maximum sequence length                      */
    float rope_theta;
    float norm_eps;
    mkv_rope_style rope_style;
    bool has_qkv_bias;
    bool shift_logits;    /* Dream: token i is predicted by logits at i-1 */
    int32_t mask_id, bos_id, eos_id, eot_id, pad_id; /* -1 when absent    */
} mkv_hparams;

typedef struct mkv_model mkv_model;
typedef struct mkv_tokenizer mkv_tokenizer;

/* Loads a .gguf file or an HF checkpoint directory (config.json + safetensors). */
mkv_status mkv_model_load(const char *path, mkv_model **out_model);
void mkv_model_free(mkv_model *model);
const mkv_hparams *mkv_model_hparams(const mkv_model *model);
const mkv_tokenizer *mkv_model_tokenizer(const mkv_model *model);

#ifdef __cplusplus
}
#endif
#endif
