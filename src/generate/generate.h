/* The denoising loop: LLaDA's block-wise semi-autoregressive schedule
 * (generate.py) and Dream's timestep schedule (generation_utils.py), over any
 * cache mode of the engine. */
#ifndef MKV_GENERATE_H
#define MKV_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/engine.h"
#include "model/forward.h"
#include "generate/sampler.h"
#include "model/model.h"

typedef enum { MKV_SAMPLER_AUTO = 0, MKV_SAMPLER_LLADA = 1, MKV_SAMPLER_DREAM = 2 } mkv_sampler_kind;

typedef struct {
    mkv_sampler_kind sampler;   /* AUTO: by architecture */
    int gen_len, steps, block_len;
    double temperature;
    mkv_remasking remasking;    /* LLaDA */
    double cfg;                 /* LLaDA classifier-free guidance scale, 0 = off */
    double threshold;           /* Fast-dLLM confidence threshold, 0 = off */
    mkv_dream_alg alg;          /* Dream */
    double top_p;               /* 1 = off */
    int top_k;                  /* 0 = off */
    double alg_temp;            /* Dream, 0 = deterministic top-k */
    double eps;                 /* Dream timestep floor, 1e-3 */
    bool forbid_eos, forbid_eot;
    uint64_t seed;
    mkv_cache_config cache;
    int ctx_size;               /* --ctx-size: context limit in tokens (also what the up-front
                                   memory check sizes); 0 = the model's trained context */
    /* progress: called after every step (may be NULL); returning false stops
     * the generation there (result.stopped; the unfinished positions keep
     * the mask id) */
    bool (*on_step)(void *ctx, int step, int total_steps, const int32_t *tokens, int n_prompt, int n_total);
    void *on_step_ctx;
    /* progress inside a pass: after every layer, with its active rows (the
     * prefill's are the whole prompt); may be NULL */
    void (*on_layer)(void *ctx, int layer, int n_layers, int n_rows);
    void *on_layer_ctx;
} mkv_gen_params;

void mkv_gen_params_defaults(mkv_gen_params *params);
/* Checks the parameters against the model and prompt length (one clear error). */
mkv_status mkv_gen_validate(const mkv_model *model, const mkv_gen_params *params, int n_prompt);

typedef struct {
    int32_t *tokens;            /* the whole sequence (prompt + answer), mkv_free */
    int n_prompt, n_total;
    int steps_run;
    bool stopped;               /* on_step returned false before the last step */
    double seconds, first_step_seconds;
    size_t kv_bytes_peak;       /* K/V held by the cache at its largest */
    size_t kv_bytes_final;      /* K/V held while decoding (after eviction) */
    int64_t kv_prompt_kept;     /* kept prompt pairs over layers and KV heads (end) */
    int64_t *kv_kept_per_layer; /* [n_layers] or NULL, mkv_free */
    int n_full_passes, n_partial_steps;
    /* where the time went: the first step (the prefill pass) and the other
     * steps, summed over both sequences with --cfg; sampling = choosing and
     * committing tokens from the logits */
    mkv_forward_timing prefill_timing, decode_timing;
    double sampling_seconds;
} mkv_gen_result;

mkv_status mkv_generate(const mkv_model *model, const int32_t *prompt, int n_prompt, const mkv_gen_params *params,
                        mkv_gen_result *result);
void mkv_gen_result_free(mkv_gen_result *result);

/* Length of the answer before the first EOS/EOT (pad) token. */
int mkv_answer_length(const mkv_model *model, const int32_t *answer, int n);

#endif
