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

/* mkv_gen_params and its defaults are public (maskkv.h). */
/* Checks the parameters against the model and prompt length (one clear error). */
mkv_status mkv_gen_validate(const mkv_model *model, const mkv_gen_params *params, int n_prompt);

typedef struct {
    int32_t *tokens;            /* the whole sequence (prompt + answer), mkv_free */
    int n_prompt, n_total;
    int steps_run;
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
    mkv_compute compute;        /* the precision that ran (F32 or BF16) */
    mkv_revote_stats revote;    /* cold store and re-votes (zero when off) */
} mkv_denoise_result;

/* The denoising loop on prompt ids (the public mkv_generate wraps it with
 * the profile, the memory check and the decoded answer). params->on_step
 * returning nonzero stops it with MKV_ERR_CANCELLED. */
mkv_status mkv_denoise(const mkv_model *model, const int32_t *prompt, int n_prompt, const mkv_gen_params *params,
                        mkv_denoise_result *result);
void mkv_denoise_result_free(mkv_denoise_result *result);

/* mkv_answer_length is public (maskkv.h). */

#endif
