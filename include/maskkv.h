/* maskkv — diffusion language models (LLaDA, Dream) with MaskKV prompt-cache eviction.
 *
 * The public C API: everything a program needs to load a model, tokenize,
 * render a chat, generate (with every sampler and cache option of
 * `maskkv generate`), read logits, calibrate, convert and evaluate. The
 * `maskkv` command is built on this header alone.
 *
 * Conventions
 * - Every function that can fail returns an mkv_status; on failure a one-line
 *   message naming the file/parameter and the problem is available from
 *   mkv_last_error() (thread-local: each thread sees its own last error).
 *   The `maskkv` command exits with the status code, so the numbers below
 *   are also the CLI's exit codes.
 * - Ownership: every object from a *_load / *_create / *_new has a *_free
 *   (NULL is accepted and ignored). Buffers the library hands back through
 *   `char **out_text`, `int32_t **out_ids`, ... are freed with mkv_free().
 *   Pointers returned by accessors (const char *, const T *) belong to the
 *   object they came from and live as long as it does.
 * - Thread safety, per function below ("[thread-safe]" / "[not thread-safe]"):
 *   a loaded model and its tokenizer are read-only after mkv_model_load*, so
 *   several threads may tokenize, generate, compute logits and calibrate
 *   with ONE model at the same time (each call allocates its own K/V cache
 *   and activations; results do not depend on what other threads do). What
 *   is process-wide: the memory limit and counters (mkv_alloc_*), and
 *   OpenMP's pool (each calling thread runs its own team of the model's
 *   n_threads). A model must not be freed while a call on it is running.
 *   Objects created by a call (results, calibrations, eval runs) belong to
 *   the caller: one thread at a time. */
#ifndef MASKKV_H
#define MASKKV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols of the shared library: libmaskkv.so is built with
 * -fvisibility=hidden and exports exactly the functions marked MKV_API. */
#if defined(__GNUC__) || defined(__clang__)
#define MKV_API __attribute__((visibility("default")))
#else
#define MKV_API
#endif

/* --------------------------------------------------------------- version */
#define MKV_VERSION_MAJOR 0
#define MKV_VERSION_MINOR 5
#define MKV_VERSION_PATCH 0
#define MKV_VERSION_STRING "0.5.0"

/* The library's version ("0.5.0"): may differ from MKV_VERSION_STRING when a
 * program runs against another build of libmaskkv.so.0. [thread-safe] */
MKV_API const char *mkv_version(void);

/* ---------------------------------------------------------------- errors */
typedef enum {
    MKV_OK = 0,
    MKV_ERR_USAGE = 2,       /* bad command-line arguments or parameter values   */
    MKV_ERR_IO = 3,          /* missing, unreadable or unwritable file            */
    MKV_ERR_FORMAT = 4,      /* malformed, truncated or hostile file contents     */
    MKV_ERR_UNSUPPORTED = 5, /* well-formed but unsupported (arch, dtype, ...)    */
    MKV_ERR_INPUT = 6,       /* bad user input: token ids, prompt text, budgets   */
    MKV_ERR_NOMEM = 7,       /* allocation failed or over the --max-memory bound  */
    MKV_ERR_CANCELLED = 8,   /* a callback asked to stop (mkv_generate's on_step) */
} mkv_status;

/* The calling thread's last error message ("" when none) and status. [thread-safe] */
MKV_API const char *mkv_last_error(void);
MKV_API mkv_status mkv_last_status(void);
/* Records a formatted error message and returns `status` (for `return mkv_fail(...)`). [thread-safe] */
MKV_API mkv_status mkv_fail(mkv_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
MKV_API void mkv_clear_error(void);
/* "ok", "usage", "io", "format", "unsupported", "input", "nomem", "cancelled". [thread-safe] */
MKV_API const char *mkv_status_name(mkv_status status);

/* ---------------------------------------------------------------- memory */
/* Counted allocations: the library's buffers (K/V, activations, returned
 * text and ids) go through these, so that the limit below bounds them and
 * the counters report them. Buffers the library returns are freed with
 * mkv_free. [thread-safe] */
MKV_API void *mkv_malloc(size_t bytes, const char *what);
MKV_API void mkv_free(void *ptr);
/* Process-wide limit on the counted bytes (0 = unlimited): an allocation past
 * it fails with MKV_ERR_NOMEM, and a generation that would not fit is refused
 * before it starts. [thread-safe; process-wide: one limit for every model] */
MKV_API void mkv_alloc_set_limit(size_t max_bytes);
MKV_API size_t mkv_alloc_limit(void);
/* Counted bytes held now / at the most since start (process-wide). [thread-safe] */
MKV_API size_t mkv_alloc_current_bytes(void);
MKV_API size_t mkv_alloc_peak_bytes(void);
/* Peak resident set size of the process (getrusage). [thread-safe] */
MKV_API size_t mkv_peak_rss_bytes(void);

/* ----------------------------------------------------------------- files */
/* Reads a whole file (regular files only, at most max_bytes) into a
 * NUL-terminated buffer (*out_text, mkv_free); *out_len may be NULL. [thread-safe] */
MKV_API mkv_status mkv_read_text_file(const char *path, size_t max_bytes, char **out_text, size_t *out_len);
/* Before writing `target`: refuses (MKV_ERR_USAGE) an output that is one of
 * the inputs (or inside an input directory), a directory or a special file. [thread-safe] */
MKV_API mkv_status mkv_output_check(const char *target, const char *const *inputs, int n_inputs);
/* Writes a whole file safely: temporary file in the target's directory,
 * fsync, rename; a failure leaves the old file as it was. [thread-safe] */
MKV_API mkv_status mkv_safe_write_all(const char *target, const void *data, size_t n_bytes);
/* For a signal handler: removes the temporary files of writes in progress
 * (async-signal-safe). */
MKV_API void mkv_safe_remove_temps_signal_safe(void);

/* -------------------------------------------------------- option values */
/* Checked parsing of option values, with the CLI's messages: every failure
 * sets a one-line error naming `flag` (MKV_ERR_USAGE; "FLAG needs a value"
 * when text is NULL) and returns false. [thread-safe] */
MKV_API bool mkv_parse_long(const char *flag, const char *text, long min, long max, long *out);
MKV_API bool mkv_parse_int(const char *flag, const char *text, int min, int max, int *out);
/* Unsigned 64-bit (seeds): the whole range, "out of range" past it. */
MKV_API bool mkv_parse_u64(const char *flag, const char *text, uint64_t *out);
MKV_API bool mkv_parse_float(const char *flag, const char *text, double min, double max, double *out);
/* "123", "64K", "8M", "24G" -> bytes */
MKV_API bool mkv_parse_bytes(const char *flag, const char *text, size_t *out);
/* "1 2 3" or "1,2,3" -> ids (*out_ids: mkv_free); no ids is MKV_ERR_INPUT. */
MKV_API bool mkv_parse_id_list(const char *flag, const char *text, int32_t **out_ids, int *out_n);

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

/* ggml's name ("f32", "q8_0", "q4_K"; "?" when unknown); the type of a name;
 * whether maskkv can write (quantize to) the type. [thread-safe] */
MKV_API const char *mkv_dtype_name(mkv_dtype type);
MKV_API bool mkv_dtype_from_name(const char *name, mkv_dtype *out);
MKV_API bool mkv_dtype_can_write(mkv_dtype type);

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
    int n_ctx;            /* maximum sequence length (trained context)    */
    float rope_theta;
    float norm_eps;
    mkv_rope_style rope_style;
    bool has_qkv_bias;
    bool shift_logits;    /* Dream: token i is predicted by logits at i-1 */
    int32_t mask_id, bos_id, eos_id, eot_id, pad_id; /* -1 when absent    */
} mkv_hparams;

typedef struct mkv_model mkv_model;
typedef struct mkv_tokenizer mkv_tokenizer;

/* Compute precision of the matmuls and attention products (`--compute`):
 * F32 multiplies f32 (or exactly dequantized) operands with f32 FMAs; BF16
 * rounds both operands to bf16 where they enter a matmul (round to nearest
 * even, as PyTorch's .to(torch.bfloat16)) and accumulates the exact pair
 * products in f32 (AMX-BF16 tiles where the CPU has them; else AVX-512-BF16
 * vdpbf16ps, or a scalar twin of it with the same bits), and stores keys/values in bf16 (half the K/V bytes); norms,
 * softmax, RoPE, residual adds and the Mask-Voting sums stay f32. AUTO is
 * BF16 when the CPU's AVX-512-BF16 dot products are fast
 * (mkv_cpu_bf16_dot_is_fast) and most matmul weights (by parameter count)
 * are BF16 or quantized, F32 otherwise (mkv_compute_for_model). */
typedef enum { MKV_COMPUTE_AUTO = 0, MKV_COMPUTE_F32 = 1, MKV_COMPUTE_BF16 = 2 } mkv_compute;
/* "auto", "f32", "bf16"; the precision of a name (false when unknown). [thread-safe] */
MKV_API const char *mkv_compute_name(mkv_compute compute);
MKV_API bool mkv_compute_from_name(const char *name, mkv_compute *out);
/* Whether this CPU runs the bf16 products on vdpbf16ps (AVX-512-BF16);
 * without it BF16 compute runs the scalar twin (same results, slower). [thread-safe] */
MKV_API bool mkv_cpu_has_bf16_dot(void);
/* Whether the bf16 products run on AMX-BF16 tiles (Intel Sapphire Rapids
 * and later; the OS must grant the tile state, which maskkv asks Linux for
 * at load time). Their f32 accumulation inside a tile instruction differs
 * from vdpbf16ps's in the last bits. [thread-safe] */
MKV_API bool mkv_cpu_has_amx(void);
/* Whether those products are faster than f32 FMAs here, so that AUTO picks
 * BF16: AMX (3.0 TFLOP/s per core measured, 14x the f32 FMA rate) and AMD
 * CPUs (Zen 4/5: vdpbf16ps does twice the FLOPs of an FMA); not Intel's
 * vdpbf16ps alone, which measured half the FMA rate. [thread-safe] */
MKV_API bool mkv_cpu_bf16_dot_is_fast(void);

typedef struct {
    int n_threads;        /* OpenMP threads of each call on this model; 0 = OpenMP's default
                             (OMP_NUM_THREADS or every core)                                 */
    size_t max_memory;    /* > 0: sets the process-wide limit (mkv_alloc_set_limit) before
                             loading; 0 leaves the limit as it is                             */
    int ctx_size;         /* context limit in tokens of every call (`--ctx-size`); 0 = the
                             trained context; past the trained context is allowed         */
    mkv_compute compute;  /* precision of every call on this model that asks for AUTO
                             (logits, calibration, generations with compute AUTO);
                             AUTO = by CPU and weights (mkv_compute_for_model)            */
} mkv_model_params;

/* Defaults: all zero. [thread-safe] */
MKV_API mkv_model_params mkv_model_params_default(void);
/* Loads a .gguf file or an HF checkpoint directory (config.json +
 * safetensors, tokenizer.json or vocab.json + merges.txt). Weights are
 * memory-mapped. [thread-safe: several loads may run at once] */
MKV_API mkv_status mkv_model_load(const char *path, mkv_model **out_model);
MKV_API mkv_status mkv_model_load_with(const char *path, const mkv_model_params *params, mkv_model **out_model);
/* The two steps of a load, for sizing a request before the weights cost
 * anything: mkv_model_load_header reads hyper-parameters, tensor names,
 * shapes, types and sizes, tokenizer and chat template with no tensor data
 * (a .gguf's weights are neither mapped nor read; an HF directory is loaded
 * whole). mkv_gen_check works on such a model; mkv_model_load_weights then
 * maps the weights (checking every tensor's range in the file), a no-op when
 * they are there. Nothing that reads weights (logits, generate, calibrate)
 * runs before. [load_header: thread-safe; load_weights: not thread-safe on
 * the same model] */
MKV_API mkv_status mkv_model_load_header(const char *path, const mkv_model_params *params, mkv_model **out_model);
MKV_API mkv_status mkv_model_load_weights(mkv_model *model);
/* [not thread-safe: no call on the model may be running] */
MKV_API void mkv_model_free(mkv_model *model);

/* Accessors. [thread-safe] */
MKV_API const mkv_hparams *mkv_model_hparams(const mkv_model *model);
MKV_API const mkv_model_params *mkv_model_params_of(const mkv_model *model);
/* NULL when the model file carries no tokenizer. */
MKV_API const mkv_tokenizer *mkv_model_tokenizer(const mkv_model *model);
MKV_API const char *mkv_model_path(const mkv_model *model);
/* "gguf" or "hf" */
MKV_API const char *mkv_model_source(const mkv_model *model);
/* "llada" or "dream" */
MKV_API const char *mkv_model_arch_name(const mkv_model *model);
MKV_API int mkv_model_n_tensors(const mkv_model *model);
/* Tensor i in file order (NULL out of range); by GGUF name ("blk.3.attn_q.weight"), NULL if absent. */
MKV_API const mkv_tensor *mkv_model_tensor(const mkv_model *model, int index);
MKV_API const mkv_tensor *mkv_model_find_tensor(const mkv_model *model, const char *name);
/* The precision a call asking for `requested` runs on this model: F32 and
 * BF16 as they are; AUTO is the model's mkv_model_params.compute, and when
 * that is AUTO too, BF16 if the CPU's bf16 dot products are fast
 * (mkv_cpu_bf16_dot_is_fast) and most matmul weights are BF16 or quantized,
 * else F32. [thread-safe] */
MKV_API mkv_compute mkv_compute_for_model(const mkv_model *model, mkv_compute requested);
/* Whether the LM head is the token embedding. */
MKV_API bool mkv_model_tied_embeddings(const mkv_model *model);
/* Total parameter count and bytes of tensor data. */
MKV_API int64_t mkv_model_n_params(const mkv_model *model);
MKV_API size_t mkv_model_n_bytes(const mkv_model *model);
/* Bytes of weights now in memory (resident mapped pages + converted copies). */
MKV_API size_t mkv_model_resident_bytes(const mkv_model *model);
/* Scans every weight for NaN/Inf: MKV_ERR_FORMAT naming the first bad one. */
MKV_API mkv_status mkv_model_check_weights(const mkv_model *model);
/* The Jinja chat template of the file (NULL when none), and what
 * mkv_chat_apply renders: "llada", "dream" (built-in renderers of those
 * families), "other" (a template of another family) or "none". */
MKV_API const char *mkv_model_chat_template(const mkv_model *model);
MKV_API const char *mkv_model_chat_format(const mkv_model *model);
/* The calibration profile shipped beside the model, MODEL.profile.json (a
 * trailing '/' of a directory dropped), and whether that file exists. */
MKV_API const char *mkv_model_default_profile(const mkv_model *model, bool *exists);

/* ------------------------------------------------------------- tokenizer */
/* Byte-level BPE, identical in output to HF `tokenizers` (GPT-2, LLaMA-3,
 * Qwen2, Ling/LLaDA pre-tokenizers). A tokenizer is read-only once loaded:
 * every function of this section is [thread-safe]. */

/* A standalone tokenizer: a .gguf file, an HF directory or a tokenizer.json. */
MKV_API mkv_status mkv_tokenizer_load(const char *path, mkv_tokenizer **out);
/* Frees a tokenizer from mkv_tokenizer_load (never the one of a model). */
MKV_API void mkv_tokenizer_free(mkv_tokenizer *tok);
MKV_API int mkv_tokenizer_n_vocab(const mkv_tokenizer *tok);
/* Special tokens: -1 / false when unknown. */
MKV_API int32_t mkv_tokenizer_bos_id(const mkv_tokenizer *tok);
MKV_API int32_t mkv_tokenizer_eos_id(const mkv_tokenizer *tok);
MKV_API bool mkv_tokenizer_is_special(const mkv_tokenizer *tok, int32_t id);
/* Whether the tokenizer has a token for `id`, and its text (byte-level
 * unicode form of tokenizer.json; NULL beyond the vocabulary). */
MKV_API bool mkv_tokenizer_has_token(const mkv_tokenizer *tok, int32_t id);
MKV_API const char *mkv_tokenizer_token_text(const mkv_tokenizer *tok, int32_t id);
/* Id of a token string (vocab or added token), -1 if absent. */
MKV_API int32_t mkv_tokenizer_find(const mkv_tokenizer *tok, const char *token);

/* Encodes UTF-8 text exactly as HF `tokenizer.encode(text,
 * add_special_tokens=False).ids`; special added tokens are matched when
 * `parse_special`. Invalid UTF-8 is MKV_ERR_INPUT. *out_ids: mkv_free (also
 * when *out_n is 0). */
MKV_API mkv_status mkv_tokenize(const mkv_tokenizer *tok, const char *text, size_t len, bool parse_special,
                                int32_t **out_ids, int *out_n);
enum {
    MKV_TOKENIZE_PARSE_SPECIAL = 1u << 0, /* match special added tokens in the text (HF default)        */
    MKV_TOKENIZE_ADD_SPECIAL = 1u << 1,   /* add the post-processor's tokens: HF add_special_tokens=True
                                             (tokenizer.json) or BOS/EOS per add_bos/add_eos (GGUF)     */
    MKV_TOKENIZE_LOSSY_UTF8 = 1u << 2,    /* invalid UTF-8 -> U+FFFD as Python's errors="replace",
                                             instead of an MKV_ERR_INPUT error                          */
    MKV_TOKENIZE_ADD_BOS = 1u << 3,       /* prepend the BOS token (MKV_ERR_UNSUPPORTED when there is
                                             none), unless the ids already start with it              */
};
MKV_API mkv_status mkv_tokenize_ex(const mkv_tokenizer *tok, const char *text, size_t len, unsigned flags,
                                   int32_t **out_ids, int *out_n);

/* Decodes ids back to bytes (the exact bytes, which may end inside a UTF-8
 * sequence). NUL-terminated, mkv_free. Ids out of range are MKV_ERR_INPUT;
 * ids without a token decode to nothing, as in HF. */
MKV_API mkv_status mkv_detokenize(const mkv_tokenizer *tok, const int32_t *ids, int n, char **out_text,
                                  size_t *out_len);
enum {
    MKV_DETOKENIZE_SKIP_SPECIAL = 1u << 0, /* drop special tokens (HF skip_special_tokens=True)       */
    MKV_DETOKENIZE_LOSSY_UTF8 = 1u << 1,   /* invalid UTF-8 -> U+FFFD: exactly HF `decode` (a str) */
};
MKV_API mkv_status mkv_detokenize_ex(const mkv_tokenizer *tok, const int32_t *ids, int n, unsigned flags,
                                     char **out_text, size_t *out_len);
/* Decodes model output: ids without a token (a model vocabulary larger than
 * the tokenizer's) decode to nothing, never an error (*n_unknown counts
 * them, may be NULL); the text is valid UTF-8 (HF decode's U+FFFD) and may
 * contain NUL bytes: use *out_len. */
MKV_API mkv_status mkv_detokenize_output(const mkv_tokenizer *tok, const int32_t *ids, int n, unsigned flags,
                                         char **out_text, size_t *out_len, int *n_unknown);

/* ------------------------------------------------------------------ chat */
typedef struct {
    const char *role;    /* "system", "user", "assistant" */
    const char *content; /* UTF-8 */
} mkv_chat_message;

/* Renders a conversation with the model's chat template, as transformers'
 * apply_chat_template(messages, add_generation_prompt=..., tokenize=False)
 * renders it: the Jinja template of the file (GGUF tokenizer.chat_template,
 * tokenizer_config.json chat_template) through maskkv's Jinja subset
 * (if/for/set/namespace, loop.*, the filters, tests and string methods chat
 * templates use; macros, includes and the like are refused), or the built-in
 * LLaDA/Dream renderer of the model's family when the file has no template
 * or its template of that family uses a construct outside the subset. A
 * system prompt is a first message of role "system". With
 * add_generation_prompt the text ends with the assistant header, ready to
 * generate. The special tokens are text: tokenize with parse_special.
 * *out_text: mkv_free. Errors: MKV_ERR_UNSUPPORTED (no template and no known
 * family, or a construct outside the subset in a template of another family),
 * MKV_ERR_FORMAT (template syntax), MKV_ERR_INPUT (no messages, a message
 * without role or content, the template raised or went past a bound: 1M
 * loop iterations, 64 MiB of output). [thread-safe] */
MKV_API mkv_status mkv_chat_apply(const mkv_model *model, const mkv_chat_message *messages, int n_messages,
                                  bool add_generation_prompt, char **out_text);
/* mkv_chat_apply with a template of one's own: template_source (NULL = the
 * model's) replaces the file's Jinja source; note (may be NULL, note_size 0)
 * receives why the built-in renderer of the family was used instead of the
 * template ("" when it was not). [thread-safe] */
MKV_API mkv_status mkv_chat_apply_ex(const mkv_model *model, const char *template_source,
                                     const mkv_chat_message *messages, int n_messages, bool add_generation_prompt,
                                     char **out_text, char *note, size_t note_size);
/* Reads a Jinja chat template file (UTF-8 without NUL bytes, at most 16 MiB:
 * else MKV_ERR_FORMAT) / a document for a user turn (UTF-8 without NUL, at
 * most 1 GiB: else MKV_ERR_INPUT) into *out (mkv_free). [thread-safe] */
MKV_API mkv_status mkv_chat_read_template(const char *path, char **out);
MKV_API mkv_status mkv_chat_read_document(const char *path, char **out);

/* A conversation: owned copies of its messages (at most 100000), for
 * multi-turn chat and for OpenAI-style JSON. One conversation: one thread at
 * a time [not thread-safe]; different conversations are independent, and
 * mkv_chat_messages() may be passed to mkv_chat_apply on any thread while
 * no other call changes the conversation. */
typedef struct mkv_chat_conversation mkv_chat_conversation;
MKV_API mkv_status mkv_chat_conversation_create(mkv_chat_conversation **out);
MKV_API void mkv_chat_conversation_free(mkv_chat_conversation *conversation);
/* Appends a copy of (role, content): any role string, both valid UTF-8
 * (else MKV_ERR_INPUT). */
MKV_API mkv_status mkv_chat_add(mkv_chat_conversation *conversation, const char *role, const char *content);
/* Drops the messages from index `keep` on (a cancelled turn, a reset). */
MKV_API void mkv_chat_truncate(mkv_chat_conversation *conversation, int keep);
MKV_API int mkv_chat_n_messages(const mkv_chat_conversation *conversation);
/* The messages, valid until the next change of the conversation. */
MKV_API const mkv_chat_message *mkv_chat_messages(const mkv_chat_conversation *conversation);
/* Appends the messages of an OpenAI-style JSON list [{"role": "system" |
 * "user" | "assistant", "content": "..."}, ...] (text[0..len); `name` starts
 * the error messages): malformed JSON (or not UTF-8) is MKV_ERR_FORMAT, a
 * valid document that is not a non-empty list of such messages
 * MKV_ERR_INPUT; on failure the conversation is as it was. */
MKV_API mkv_status mkv_chat_parse_json(mkv_chat_conversation *conversation, const char *text, size_t len,
                                       const char *name);
/* The same from a file (at most 1 GiB). */
MKV_API mkv_status mkv_chat_load_json(mkv_chat_conversation *conversation, const char *path);
/* Message `index` becomes "DOCUMENT\n\nCONTENT" (a document before a
 * question, as `generate -f DOC` / `chat /file` put it). */
MKV_API mkv_status mkv_chat_prepend_document(mkv_chat_conversation *conversation, int index, const char *document);

/* ------------------------------------------------------- forward / logits */
/* The timed parts of a forward pass (generation statistics). */
typedef enum {
    MKV_PART_QKV,          /* "qkv": norms + Q/K/V projections + RoPE + storing K/V   */
    MKV_PART_ATTENTION,    /* "attention": attention kernel (with Mask-Voting sums)   */
    MKV_PART_OUT_PROJ,     /* "out_proj": Wo and the residual add                     */
    MKV_PART_FFN,          /* "ffn": norm + gate/up/down + residual add               */
    MKV_PART_LM_HEAD,      /* "lm_head": final norm + vocabulary projection           */
    MKV_PART_CACHE_POLICY, /* "cache_policy": selection, eviction, refresh hooks      */
    MKV_PART_COUNT
} mkv_forward_part;
/* "qkv", "attention", ... (NULL out of range). [thread-safe] */
MKV_API const char *mkv_forward_part_name(mkv_forward_part part);

/* One bidirectional forward pass over ids[0..n_ids) (no mask is added: pass
 * mask_id where you want masks), writing the logits of `positions`
 * (NULL = every position, n_positions = n_ids) as out_logits
 * [n_positions][n_vocab] (the caller's buffer). Logits of position i are
 * the model's raw output row i (Dream's shift is not applied). Refuses ids
 * outside the vocabulary and more tokens than the context (the model's
 * ctx_size, else the trained context). [thread-safe] */
MKV_API mkv_status mkv_model_logits(const mkv_model *model, const int32_t *ids, int n_ids, const int32_t *positions,
                                    int n_positions, float *out_logits);

/* ------------------------------------------------------------ generation */
/* LLaDA's remasking and Dream's confidence algorithm. */
typedef enum { MKV_REMASK_LOW_CONFIDENCE = 0, MKV_REMASK_RANDOM = 1 } mkv_remasking;
typedef enum {
    MKV_DREAM_ORIGIN = 0,
    MKV_DREAM_MASKGIT_PLUS = 1,
    MKV_DREAM_TOPK_MARGIN = 2,
    MKV_DREAM_ENTROPY = 3,
} mkv_dream_alg;
typedef enum { MKV_SAMPLER_AUTO = 0, MKV_SAMPLER_LLADA = 1, MKV_SAMPLER_DREAM = 2 } mkv_sampler_kind;

/* Cache modes:
 *   none   — every step recomputes the whole sequence (official generate.py).
 *   prefix — Fast-dLLM prefix cache: a full pass at each block start.
 *   dllm   — dLLM-Cache: prompt K/V kept, refreshed every prompt_refresh
 *            steps; response refreshed every response_refresh steps with a
 *            partial update of the transfer_ratio least-similar rows between.
 *   evict  — dllm with the prompt K/V evicted by a policy (MaskKV, SnapKV, ...). */
typedef enum { MKV_CACHE_NONE = 0, MKV_CACHE_PREFIX = 1, MKV_CACHE_DLLM = 2, MKV_CACHE_EVICT = 3 } mkv_cache_mode;

/* Eviction policy = selector x layer allocation x head allocation.
 * MaskKV = maskvote x boundary x preference. */
typedef enum { MKV_SELECT_MASKVOTE, MKV_SELECT_SNAPKV, MKV_SELECT_STREAMING, MKV_SELECT_RANDOM, MKV_SELECT_FULL } mkv_selector;
typedef enum {
    MKV_LAYERS_UNIFORM, MKV_LAYERS_PYRAMID, MKV_LAYERS_SQUEEZE, MKV_LAYERS_BOUNDARY, MKV_LAYERS_BOUNDARY_ONLINE
} mkv_layer_alloc;
typedef enum { MKV_HEADS_UNIFORM, MKV_HEADS_ADAKV, MKV_HEADS_PREFERENCE } mkv_head_alloc;

typedef struct {
    mkv_selector selector;
    mkv_layer_alloc layer_alloc;
    mkv_head_alloc head_alloc;
    int budget;              /* B: average kept prompt pairs per head per layer (256) */
    double alpha;            /* preference head allocation (Eq. 15), 0.1             */
    double beta;             /* boundary layer allocation, 0.4                       */
    double pyramid_beta;     /* PyramidKV, 20                                        */
    double adakv_safeguard;  /* AdaKV, 0.2                                           */
    double squeeze_low_share;/* SqueezeAttention: least important group, 0.4         */
    int window;              /* SnapKV observation window, 32                        */
    int pool_kernel;         /* SnapKV max-pool kernel, 7                            */
    int boundary_size;       /* layers at each end in the boundary group, 1          */
    int sink_tokens;         /* StreamingLLM sinks, 4                                */
    uint64_t seed;           /* random selector                                      */
    const double *layer_importance; /* offline profile [n_layers], or NULL: see
                                       mkv_gen_params.profile_path                   */
} mkv_evict_config;

/* Beyond the paper (cache "maskkv-revote"): the prompt K/V MaskKV evicts go
 * to a cold store (int8 rows with per-row scales, in an unlinked temporary
 * file or in RAM) and the current mask queries re-vote over hot + cold rows,
 * promoting what they now need. */
typedef enum { MKV_COLD_OFF = 0, MKV_COLD_FILE = 1, MKV_COLD_RAM = 2 } mkv_cold_mode;
#define MKV_REVOTE_OFF 0     /* mkv_revote_config.every: never                      */
#define MKV_REVOTE_BLOCK (-1) /* at each new block (Dream: every gen_len/block_len steps) */
typedef struct {
    mkv_cold_mode cold;      /* OFF: no cold store, no re-vote (plain MaskKV) */
    int every;               /* MKV_REVOTE_OFF, MKV_REVOTE_BLOCK or N >= 1 steps */
} mkv_revote_config;

typedef struct {
    mkv_cache_mode mode;
    int prompt_refresh;      /* Kp (50); 0 = only at the first step */
    int response_refresh;    /* Kr >= 1 (5) */
    double transfer_ratio;   /* rho in [0, 1] (0.25) */
    mkv_evict_config evict;  /* MKV_CACHE_EVICT */
    mkv_revote_config revote;/* MKV_CACHE_EVICT + maskvote: cold store and re-vote (all 0: off) */
} mkv_cache_config;

/* What the per-step callback sees. */
typedef struct {
    int step;                /* steps done so far, 1..n_steps                       */
    int n_steps;             /* steps requested (with a threshold, fewer may run)   */
    int gen_len;
    int n_unmasked;          /* answer positions committed so far                  */
    const int32_t *answer;   /* [gen_len] current answer ids; mask_id = still masked */
    int32_t mask_id;
    const mkv_model *model;
} mkv_step_info;
/* Called after every denoising step on the generating thread; return
 * nonzero to stop: mkv_generate then fails with MKV_ERR_CANCELLED. */
typedef int (*mkv_step_callback)(const mkv_step_info *info, void *user);
/* Called after every layer of every forward pass with its active rows (the
 * first pass, the prefill, has the whole prompt); nonzero stops as above. */
typedef int (*mkv_layer_callback)(void *user, int layer, int n_layers, int n_rows);

/* A generation request: every option of `maskkv generate`. Start from
 * mkv_gen_params_defaults() and change fields (or mkv_gen_params_set by name). */
typedef struct {
    mkv_sampler_kind sampler;   /* AUTO: by architecture */
    int gen_len, steps, block_len; /* 128, 128, 32 (block_len: LLaDA) */
    double temperature;         /* 0 */
    mkv_remasking remasking;    /* LLaDA: low_confidence */
    double cfg;                 /* LLaDA classifier-free guidance scale, 0 = off */
    double threshold;           /* Fast-dLLM confidence threshold, 0 = off */
    mkv_dream_alg alg;          /* Dream: maskgit_plus */
    double top_p;               /* 1 = off */
    int top_k;                  /* 0 = off */
    double alg_temp;            /* Dream, 0 = deterministic top-k */
    double eps;                 /* Dream timestep floor, 1e-3 */
    bool forbid_eos, forbid_eot;
    uint64_t seed;              /* 0 */
    mkv_cache_config cache;     /* mode none; see mkv_gen_params_set_cache */
    int ctx_size;               /* context limit in tokens (also what the up-front memory check
                                   sizes); 0 = the model's ctx_size, else its trained context */
    mkv_compute compute;        /* AUTO: the model's (mkv_compute_for_model); "compute" by name */
    /* MaskKV's offline layer budgets (boundary layer allocation): a profile
     * from mkv_calibrate / `maskkv calibrate`. NULL = the model's default
     * profile (mkv_model_default_profile) when it exists, else the budgets are
     * measured on the request (boundary-online). Ignored when
     * cache.evict.layer_importance is set. */
    const char *profile_path;
    char cache_name[24];        /* name reported in the statistics ("none", "maskkv", "custom") */
    mkv_step_callback on_step;  /* may be NULL */
    void *on_step_ctx;
    mkv_layer_callback on_layer; /* may be NULL */
    void *on_layer_ctx;
} mkv_gen_params;

/* The defaults of `maskkv generate`. [thread-safe] */
MKV_API void mkv_gen_params_defaults(mkv_gen_params *params);
/* `--cache NAME`: none | prefix | dllm | full (= dllm) | maskkv | maskkv-revote | snapkv |
 * pyramidkv | squeeze | adakv | streaming | random. Sets the mode and, for
 * eviction, the selector and allocations (budget and the other numbers stay);
 * MKV_ERR_USAGE naming the choices when unknown. [thread-safe] */
MKV_API mkv_status mkv_gen_params_set_cache(mkv_gen_params *params, const char *name);
/* `--cold off|file|ram` and `--revote off|block|N` over the preset (NULL:
 * not given): --revote alone brings a cold file, --cold alone a re-vote at
 * each block, --cold off alone turns the re-vote off too. Given both, both
 * are taken as they are. [thread-safe on distinct params] */
MKV_API mkv_status mkv_gen_params_set_revote(mkv_gen_params *params, const char *cold, const char *revote);
/* Sets one option by its `maskkv generate` flag name, with or without the
 * dashes ("budget" or "--budget", "gen-len"/"gen_len", "cache", "alg", "temp",
 * "seed", "no-eos", ...) from text ("256", "maskgit_plus"; "" or "1" for the
 * switches), with the CLI's ranges and messages (MKV_ERR_USAGE). "cache"
 * is a preset (set it before the policy parts select/layer-alloc/head-alloc,
 * which switch a request without eviction to a "custom" one); "profile"
 * keeps the pointer. For bindings and servers. [thread-safe] */
MKV_API mkv_status mkv_gen_params_set(mkv_gen_params *params, const char *name, const char *value);
/* Whether `name` is an option mkv_gen_params_set knows. [thread-safe] */
MKV_API bool mkv_gen_params_is_option(const char *name);
/* Heap copies of the defaults for programs that do not use the struct
 * layout (ctypes): mkv_gen_params_free. [thread-safe] */
MKV_API mkv_gen_params *mkv_gen_params_new(void);
MKV_API void mkv_gen_params_free(mkv_gen_params *params);
/* Sets params->on_step and on_step_ctx, for the same programs (a binding
 * that never sees the struct's layout). [thread-safe] */
MKV_API void mkv_gen_params_set_on_step(mkv_gen_params *params, mkv_step_callback on_step, void *user);

/* Names of the eviction parts: "maskvote" "snapkv" "streaming" "random"
 * "full"; "uniform" "pyramid" "squeeze" "boundary" "boundary-online";
 * "uniform" "adakv" "preference". *_from_name: false when unknown. [thread-safe] */
MKV_API const char *mkv_selector_name(mkv_selector selector);
MKV_API const char *mkv_layer_alloc_name(mkv_layer_alloc alloc);
MKV_API const char *mkv_head_alloc_name(mkv_head_alloc alloc);
MKV_API bool mkv_selector_from_name(const char *name, mkv_selector *out);
MKV_API bool mkv_layer_alloc_from_name(const char *name, mkv_layer_alloc *out);
MKV_API bool mkv_head_alloc_from_name(const char *name, mkv_head_alloc *out);

/* Everything mkv_generate refuses up front, without generating: parameters
 * against the model and a prompt of n_prompt tokens, the profile (loaded and
 * matched to the model), and the memory the request needs against the limit
 * and the machine. [thread-safe] */
MKV_API mkv_status mkv_gen_check(const mkv_model *model, const mkv_gen_params *params, int n_prompt);

typedef struct mkv_gen_result mkv_gen_result;

/* Generates params->gen_len tokens after the prompt ids by masked-diffusion
 * denoising. *out_result: mkv_gen_result_free. On failure (including
 * MKV_ERR_CANCELLED) *out_result is NULL.
 * [thread-safe: any number of generations may run on one model at once] */
MKV_API mkv_status mkv_generate(const mkv_model *model, const int32_t *prompt, int n_prompt,
                                const mkv_gen_params *params, mkv_gen_result **out_result);
/* The same from text: tokenized with parse_special (render a chat first with
 * mkv_chat_apply). MKV_ERR_UNSUPPORTED when the model has no tokenizer. [thread-safe] */
MKV_API mkv_status mkv_generate_text(const mkv_model *model, const char *prompt, const mkv_gen_params *params,
                                     mkv_gen_result **out_result);

/* Statistics of one generation (what `generate --json` reports). */
typedef struct {
    int n_prompt;
    int gen_len;
    int n_answer;               /* answer tokens before the first EOS/EOT/pad */
    int steps;                  /* steps run */
    int unknown_ids;            /* answer ids the tokenizer has no token for */
    double seconds;             /* the whole denoising loop */
    double prefill_seconds;     /* the first step */
    double tokens_per_second;   /* gen_len / seconds */
    double decode_seconds_per_step;
    double time_prefill[MKV_PART_COUNT]; /* seconds per part, first step */
    double time_decode[MKV_PART_COUNT];  /* seconds per part, the other steps */
    double time_sampling;
    size_t peak_rss_bytes;      /* process-wide, at the end of this generation */
    size_t peak_alloc_bytes;    /* process-wide counted peak */
    size_t kv_bytes;            /* K/V held at the largest */
    size_t kv_bytes_decode;     /* K/V held while decoding (after eviction) */
    size_t model_bytes;
    size_t weights_resident_bytes;
    int full_passes, partial_steps;
    int budget;                 /* eviction budget, 0 without eviction */
    int64_t kv_prompt_kept;     /* kept prompt pairs over layers and KV heads */
    int n_layers;
    const int64_t *kv_kept_per_layer; /* [n_layers], NULL without a prompt cache */
    const char *cache;          /* params->cache_name */
    const char *layer_alloc;    /* layer allocation used ("boundary-online" when no profile), NULL without eviction */
    const char *profile;        /* profile file used, NULL when none */
    const char *compute;        /* precision that ran: "f32" or "bf16" */
    const char *kv_dtype;       /* element type of the K/V cache: "f32" or "bf16" */
    /* cold store and re-vote (cache.revote on; else cold = NULL and all 0) */
    const char *cold;           /* "file" or "ram" */
    int64_t cold_rows;          /* rows in the cold store at the end */
    size_t cold_bytes, cold_reserved_bytes;
    int revotes;                /* re-votes run */
    double revote_seconds;
    const int64_t *revote_promoted_per_layer; /* [n_layers] cold rows promoted back to hot */
} mkv_gen_stats;

/* Accessors of a result. [thread-safe for reading] */
/* The answer's text (valid UTF-8, may contain NUL: use *len), NULL when the
 * model has no tokenizer. */
MKV_API const char *mkv_gen_result_text(const mkv_gen_result *result, size_t *len);
/* The answer's ids (before the first EOS/EOT/pad): *n of them. */
MKV_API const int32_t *mkv_gen_result_ids(const mkv_gen_result *result, int *n);
/* The whole sequence: prompt + gen_len generated ids (EOS and after included). */
MKV_API const int32_t *mkv_gen_result_tokens(const mkv_gen_result *result, int *n_total);
MKV_API const mkv_gen_stats *mkv_gen_result_stats(const mkv_gen_result *result);
/* One JSON object, exactly `maskkv generate --json`'s line (without the
 * newline): text, tokens, unknown_ids, n_prompt, steps, seconds, the time
 * per part, peak_rss_bytes, kv_bytes, kv_kept_per_layer, ... *out_json:
 * mkv_free; *out_len may be NULL. */
MKV_API mkv_status mkv_gen_result_json(const mkv_gen_result *result, char **out_json, size_t *out_len);
MKV_API void mkv_gen_result_free(mkv_gen_result *result);

/* The text of the answer at a step: the committed tokens in position order,
 * each still-masked position written as mask_text (NULL = nothing); with
 * prefix_only, only the committed run from the start of the answer up to
 * the first masked position or EOS/EOT (text a stream can send and never
 * take back). *out_text: mkv_free. [thread-safe] */
MKV_API mkv_status mkv_step_text(const mkv_step_info *info, bool prefix_only, const char *mask_text, char **out_text,
                                 size_t *out_len);

/* Positions of answer[0..n) before the first EOS, EOT or pad id (n when
 * none): the part of a (partial) answer that is text, e.g. to show a step's
 * answer without what follows its end. [thread-safe] */
MKV_API int mkv_answer_length(const mkv_model *model, const int32_t *answer, int n);

/* ------------------------------------------------------------ calibration */
/* Measures MaskKV's per-layer importance I(l) = 1 - mean cos(h_in, h_out) of
 * every attention sub-layer on calibration samples (the first denoising step
 * of prompt + gen_len masks) and writes the profile mkv_gen_params.profile_path
 * reads. One calibration: one thread at a time; several calibrations may
 * run on one model at once. */
typedef struct mkv_calibration mkv_calibration;
MKV_API mkv_status mkv_calibration_create(const mkv_model *model, mkv_calibration **out);
/* Adds one sample: prompt ids (checked against the vocabulary) followed by
 * gen_len masks; importance (may be NULL) receives this sample's I(l) [n_layers]. */
MKV_API mkv_status mkv_calibration_add(mkv_calibration *calibration, const int32_t *ids, int n_ids, int gen_len,
                                       double *importance);
MKV_API int mkv_calibration_samples(const mkv_calibration *calibration);
/* The running mean over the samples [n_layers]. */
MKV_API const double *mkv_calibration_importance(const mkv_calibration *calibration);
/* Writes the profile (JSON, replaced atomically). */
MKV_API mkv_status mkv_calibration_save(const mkv_calibration *calibration, const char *path);
MKV_API void mkv_calibration_free(mkv_calibration *calibration);

/* ------------------------------------------------------------- conversion */
/* Writes the GGUF that llama.cpp's convert_hf_to_gguf.py writes for an HF
 * checkpoint directory: 2-D weights as `type` (f32, f16, bf16, q8_0, q4_0:
 * mkv_dtype_can_write), norms and biases f32. The output is written safely
 * (temporary file, rename) and may not be one of the inputs. [thread-safe] */
MKV_API mkv_status mkv_convert_hf_to_gguf(const char *hf_dir, const char *out_path, mkv_dtype type);
/* The same with progress: on_tensor (may be NULL) is called after each
 * tensor's data is written, with the tensors and bytes written so far and
 * their totals, and the tensor's name. [thread-safe] */
typedef void (*mkv_convert_progress)(void *user, int tensors_done, int n_tensors, size_t bytes_done, size_t n_bytes,
                                     const char *tensor_name);
MKV_API mkv_status mkv_convert_hf_to_gguf_ex(const char *hf_dir, const char *out_path, mkv_dtype type,
                                             mkv_convert_progress on_tensor, void *user);

/* ------------------------------------------------------------- evaluation */
/* Exact-match accuracy of cache policies on the retrieval tasks of EVAL.md:
 * for every task, length, method and budget, the samples of
 * DATA/<task>_<length>.jsonl (tools/train/tasks.py) are generated with
 * `base` and the given method and compared with their answer. */
typedef struct {
    const char *data_dir;       /* required */
    const char *const *tasks;   /* "niah", "recall" (= "kv"), "two" */
    int n_tasks;
    const char *const *methods; /* prompt-cache methods of mkv_gen_params_set_cache: full, maskkv, ... */
    int n_methods;
    const int *lengths;
    int n_lengths;
    const int *budgets;
    int n_budgets;
    const double *depths;       /* needle depth buckets in [0, 1] */
    int n_depths;
    int samples;                /* per file */
    mkv_gen_params base;        /* sampler, gen_len, steps, refresh, ctx_size, profile_path */
    mkv_revote_config revote;   /* method maskkv-revote: its cold store and re-vote cadence (all 0:
                                   the preset's, a file and a re-vote at each block) */
    /* progress after every run (may be NULL): runs done, and the cell */
    void (*on_run)(void *user, int runs_done, const char *task, int length, const char *method, int budget);
    /* once, for the first run past the model's trained context (allowed by base.ctx_size); may be NULL */
    void (*on_past_context)(void *user, int n_tokens, int n_ctx, int ctx_size);
    void *on_run_ctx;           /* `user` of both callbacks */
} mkv_eval_params;

typedef struct mkv_eval_result mkv_eval_result;
/* [thread-safe as mkv_generate] */
MKV_API mkv_status mkv_eval_run(const mkv_model *model, const mkv_eval_params *params, mkv_eval_result **out);
/* The results as JSON ({"model", "samples_per_cell", "gen_len", "compute", "seconds", "results": [...]}). */
MKV_API const char *mkv_eval_result_json(const mkv_eval_result *result);
/* The accuracy table (per task: methods x budgets, % of full). */
MKV_API void mkv_eval_result_print_table(const mkv_eval_result *result, FILE *out);
/* DIR/results.json and DIR/results.csv, each replaced atomically. */
MKV_API mkv_status mkv_eval_result_save(const mkv_eval_result *result, const char *out_dir);
MKV_API void mkv_eval_result_free(mkv_eval_result *result);

/* ---------------------------------------------------------------- server */
/* An OpenAI-compatible HTTP server over one loaded model (`maskkv serve`,
 * libmicrohttpd): POST /v1/chat/completions and /v1/completions (OpenAI's
 * JSON; max_tokens = gen_len; the diffusion options steps, block_length,
 * cache, budget, alg, ... as extra fields; stream: true as server-sent
 * events, one chunk per step that unmasks tokens), GET /v1/models, /health
 * and /metrics (Prometheus text). Every generation goes through
 * mkv_generate; a client that disconnects cancels its generation (the step
 * callback stops it). README.md describes the endpoints and fields. */
typedef struct {
    const char *host;          /* IPv4 or IPv6 literal to bind ("127.0.0.1")            */
    int port;                  /* 8080; 0 = a free port (on_listening says which)       */
    int parallel;              /* generations at once (1)                               */
    int queue;                 /* requests that may wait beyond them (8); more -> 503   */
    int threads;               /* OpenMP threads per generation; 0 = cores / parallel   */
    const char *api_key;       /* NULL = none; else "Authorization: Bearer KEY" or 401  */
    const char *model_id;      /* the id /v1/models reports; NULL = the file's name     */
    const char *profile_path;  /* maskkv's layer importance (mkv_gen_params.profile_path);
                                  NULL = the model's default profile when it exists     */
    size_t max_body_bytes;     /* request bodies past this get 413 (1 MiB)              */
    int max_tokens;            /* largest max_tokens accepted (1024)                    */
    double timeout_seconds;    /* per request, queueing included (300)                  */
    /* called once the server listens, with its URL ("http://127.0.0.1:8080") */
    void (*on_listening)(void *ctx, const char *url);
    void *on_listening_ctx;
} mkv_serve_params;

/* The defaults above. [thread-safe] */
MKV_API void mkv_serve_params_defaults(mkv_serve_params *params);
/* Serves `model` on the calling thread until mkv_serve_stop(); then stops
 * listening, answers new requests 503, lets the accepted ones finish (at
 * most timeout_seconds more), and returns MKV_OK. The model must stay loaded
 * until it returns. [not thread-safe: one server per process at a time (the
 * stop request is process-wide); other threads may use the model meanwhile] */
MKV_API mkv_status mkv_serve_run(const mkv_model *model, const mkv_serve_params *params);
/* Asks the running server to stop. [thread-safe and async-signal-safe: a
 * SIGINT/SIGTERM handler may call it; called before mkv_serve_run, the next
 * run stops at once] */
MKV_API void mkv_serve_stop(void);

#ifdef __cplusplus
}
#endif
#endif
