/* Memory estimates, checked before a request allocates anything: a
 * generation whose buffers would not fit under --max-memory (mkv_alloc_limit)
 * or in the machine's physical memory is refused up front with one clear
 * error (MKV_ERR_NOMEM), instead of failing half-way, thrashing the page
 * cache or being killed by the kernel's OOM killer. The estimate covers what
 * the engine allocates through mkv_malloc (KV store, activations, logits,
 * response caches, eviction scores) and, separately, the weights: they are
 * memory-mapped, so they count against the physical memory (every step reads
 * all of them) but not against --max-memory, which bounds the allocator. The
 * estimate needs only the header (mkv_model_load_header): `generate` makes
 * it before the weights are mapped. */
#ifndef MKV_MEMORY_BUDGET_H
#define MKV_MEMORY_BUDGET_H

#include <stddef.h>

#include "generate/generate.h"
#include "maskkv.h"

typedef struct {
    double kv_bytes;    /* K/V store at its largest                               */
    double other_bytes; /* activations, logits, sampler and cache-mode buffers     */
    double weights_bytes; /* tensor data of the model file(s), mapped              */
} mkv_memory_estimate;

/* Physical memory of the machine (sysconf), 0 when unknown. */
size_t mkv_physical_memory_bytes(void);

/* "3.1 MiB", "12.4 GiB": `buf` of at least 32 bytes. */
const char *mkv_format_bytes(double bytes, char *buf, size_t size);

/* Refuses (MKV_ERR_NOMEM) `what` when `already` allocated bytes plus the
 * allocated part of the estimate exceed `limit` (the --max-memory bound;
 * 0 = none), or when those plus the weights exceed `physical` (0 = unknown):
 * "WHAT needs about X GiB (...), more than ...". */
mkv_status mkv_memory_check_bounds(const char *what, mkv_memory_estimate estimate, size_t already, size_t limit,
                                   size_t physical);

/* Estimate for mkv_denoise(model, prompt of n_prompt tokens, params); with
 * params->ctx_size (--ctx-size N), for a whole context of N tokens, as a
 * user planning N-token requests needs to know. */
mkv_memory_estimate mkv_gen_memory_estimate(const mkv_model *model, const mkv_gen_params *params, int n_prompt);

/* The check mkv_denoise makes before allocating: the estimate against the
 * current --max-memory limit and the physical memory. */
mkv_status mkv_gen_check_memory(const mkv_model *model, const mkv_gen_params *params, int n_prompt);

#endif
