#include "generate/generate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/memory_budget.h"

void mkv_gen_params_defaults(mkv_gen_params *p) {
    memset(p, 0, sizeof *p);
    snprintf(p->cache_name, sizeof p->cache_name, "none");
    p->sampler = MKV_SAMPLER_AUTO;
    p->gen_len = 128;
    p->steps = 128;
    p->block_len = 32;
    p->remasking = MKV_REMASK_LOW_CONFIDENCE;
    p->alg = MKV_DREAM_MASKGIT_PLUS;
    p->top_p = 1.0;
    p->eps = 1e-3;
    p->cache.mode = MKV_CACHE_NONE;
    p->cache.prompt_refresh = 50;
    p->cache.response_refresh = 5;
    p->cache.transfer_ratio = 0.25;
    mkv_evict_config_defaults(&p->cache.evict);
}

static mkv_sampler_kind sampler_of(const mkv_model *m, const mkv_gen_params *p) {
    if (p->sampler != MKV_SAMPLER_AUTO) return p->sampler;
    return m->hp.arch == MKV_ARCH_DREAM ? MKV_SAMPLER_DREAM : MKV_SAMPLER_LLADA;
}

mkv_status mkv_gen_validate(const mkv_model *m, const mkv_gen_params *p, int n_prompt) {
    if (n_prompt <= 0) return mkv_fail(MKV_ERR_INPUT, "the prompt is empty");
    if (p->gen_len <= 0) return mkv_fail(MKV_ERR_USAGE, "--gen-len must be at least 1 (got %d)", p->gen_len);
    if (p->steps <= 0) return mkv_fail(MKV_ERR_USAGE, "--steps must be at least 1 (got %d)", p->steps);
    if (!mkv_compute_request_supported(m, p))
        return mkv_fail(MKV_ERR_UNSUPPORTED, "--compute bf16 does not run with a cold store (--cold, --revote, "
                                             "maskkv-revote) yet: use --compute f32 or auto");
    if (p->ctx_size < 0) return mkv_fail(MKV_ERR_USAGE, "--ctx-size must be at least 1 (got %d)", p->ctx_size);
    if (p->ctx_size > 0 && (int64_t)n_prompt + p->gen_len > p->ctx_size)
        return mkv_fail(MKV_ERR_INPUT, "prompt (%d tokens) + gen-len (%d) exceeds --ctx-size %d", n_prompt, p->gen_len,
                        p->ctx_size);
    if (p->ctx_size == 0 && (int64_t)n_prompt + p->gen_len > m->hp.n_ctx)
        return mkv_fail(MKV_ERR_INPUT,
                        "prompt (%d tokens) + gen-len (%d) exceeds the model's context of %d tokens (--ctx-size N runs "
                        "past it)",
                        n_prompt, p->gen_len, m->hp.n_ctx);
    if (m->hp.mask_id < 0) return mkv_fail(MKV_ERR_UNSUPPORTED, "the model has no mask token id");
    if (!(p->temperature >= 0)) return mkv_fail(MKV_ERR_USAGE, "--temp must be >= 0");
    if (!(p->top_p > 0 && p->top_p <= 1)) return mkv_fail(MKV_ERR_USAGE, "--top-p must be in (0, 1]");
    if (p->top_k < 0) return mkv_fail(MKV_ERR_USAGE, "--top-k must be >= 0");
    if (!(p->cfg >= 0)) return mkv_fail(MKV_ERR_USAGE, "--cfg must be >= 0");
    if (!(p->threshold >= 0 && p->threshold < 1)) return mkv_fail(MKV_ERR_USAGE, "--threshold must be in [0, 1)");
    if (!(p->eps > 0 && p->eps < 1)) return mkv_fail(MKV_ERR_USAGE, "--eps must be in (0, 1)");
    if (sampler_of(m, p) == MKV_SAMPLER_LLADA) {
        if (p->block_len <= 0) return mkv_fail(MKV_ERR_USAGE, "--block-len must be at least 1");
        if (p->gen_len % p->block_len)
            return mkv_fail(MKV_ERR_USAGE, "--gen-len %d is not a multiple of --block-len %d", p->gen_len, p->block_len);
        int n_blocks = p->gen_len / p->block_len;
        if (p->steps % n_blocks)
            return mkv_fail(MKV_ERR_USAGE, "--steps %d is not divisible by the number of blocks (%d = gen-len / block-len)",
                            p->steps, n_blocks);
    } else if (p->cfg > 0) {
        return mkv_fail(MKV_ERR_USAGE, "--cfg is a LLaDA sampler option (Dream's generation has no guidance)");
    }
    if (p->cfg > 0 && p->cache.mode != MKV_CACHE_NONE && p->cache.mode != MKV_CACHE_PREFIX)
        return mkv_fail(MKV_ERR_USAGE, "--cfg works with --cache none or prefix");
    return MKV_OK;
}

typedef struct {
    const mkv_model *model;
    const mkv_gen_params *params;
    mkv_engine cond, uncond;
    bool has_uncond;
    int32_t *tokens, *uncond_tokens;
    int n_prompt, n_total;
    int32_t *candidates, *chosen_x0;
    int *picked;
    double *confidence;
    float *logits, *uncond_logits;
    int32_t forbidden[2];
    int n_forbidden;
    mkv_rng rng;
    int step;
    double first_step_seconds;
    double sampling_seconds;
    mkv_forward_timing after_first_step; /* both engines' timings after step 0 */
} gen_state;

static void timing_add(mkv_forward_timing *a, const mkv_forward_timing *b, double sign) {
    for (int k = 0; k < MKV_PART_COUNT; k++) a->seconds[k] += sign * b->seconds[k];
}

static mkv_forward_timing engines_timing(const gen_state *g) {
    mkv_forward_timing t = g->cond.ws.timing;
    if (g->has_uncond) timing_add(&t, &g->uncond.ws.timing, 1);
    return t;
}

/* A NaN or infinite logit would be sampled as garbage (argmax of NaNs):
 * refused, naming the first non-finite weight when there is one (the scan
 * runs only on this failure path). */
static mkv_status check_finite(const gen_state *g, const float *logits, int n_cand) {
    size_t V = (size_t)g->model->hp.n_vocab, n = (size_t)n_cand * V;
    size_t bad = n;
#pragma omp parallel for reduction(min : bad) schedule(static)
    for (size_t i = 0; i < n; i++)
        if (!isfinite(logits[i]) && i < bad) bad = i;
    if (bad == n) return MKV_OK;
    int position = g->candidates[bad / V];
    mkv_status weights = mkv_model_check_weights(g->model);
    if (weights != MKV_OK && weights != MKV_ERR_NOMEM) {
        char why[512];
        snprintf(why, sizeof why, "%s", mkv_last_error());
        return mkv_fail(MKV_ERR_FORMAT, "non-finite logits at step %d (position %d): %s", g->step, position, why);
    }
    return mkv_fail(MKV_ERR_FORMAT,
                    "non-finite logits at step %d (position %d, token %zu) although every weight is finite: the activations overflow",
                    g->step, position, bad % V);
}

/* Logits for the candidates at this step, with classifier-free guidance. */
static mkv_status step_logits(gen_state *g, int block_start, int n_cand) {
    size_t V = (size_t)g->model->hp.n_vocab;
    mkv_status st = mkv_engine_logits(&g->cond, g->tokens, g->step, block_start, g->candidates, n_cand, g->logits);
    if (st == MKV_OK) st = check_finite(g, g->logits, n_cand);
    if (st != MKV_OK || !g->has_uncond) return st;
    memcpy(g->uncond_tokens + g->n_prompt, g->tokens + g->n_prompt, (size_t)(g->n_total - g->n_prompt) * sizeof(int32_t));
    st = mkv_engine_logits(&g->uncond, g->uncond_tokens, g->step, block_start, g->candidates, n_cand, g->uncond_logits);
    if (st == MKV_OK) st = check_finite(g, g->uncond_logits, n_cand);
    if (st != MKV_OK) return st;
    /* generate.py: logits = un + (cfg + 1) * (cond - un) */
    float scale = (float)(g->params->cfg + 1.0);
    for (size_t i = 0; i < (size_t)n_cand * V; i++)
        g->logits[i] = g->uncond_logits[i] + scale * (g->logits[i] - g->uncond_logits[i]);
    return MKV_OK;
}

/* Ends a step; MKV_ERR_CANCELLED when the step callback asks to stop. */
static mkv_status after_step(gen_state *g, double step_start) {
    if (g->step == 0) {
        g->first_step_seconds = mkv_now_seconds() - step_start;
        g->after_first_step = engines_timing(g);
    }
    g->step++;
    if (!g->params->on_step) return MKV_OK;
    int32_t mask_id = g->model->hp.mask_id;
    mkv_step_info info = {.step = g->step, .n_steps = g->params->steps, .gen_len = g->n_total - g->n_prompt,
                          .answer = g->tokens + g->n_prompt, .mask_id = mask_id, .model = g->model};
    for (int i = 0; i < info.gen_len; i++) info.n_unmasked += info.answer[i] != mask_id;
    if (g->params->on_step(&info, g->params->on_step_ctx))
        return mkv_fail(MKV_ERR_CANCELLED, "cancelled by the step callback after step %d", g->step);
    return MKV_OK;
}

static int masked_in(const gen_state *g, int from, int to) {
    int n = 0;
    for (int p = from; p < to; p++)
        if (g->tokens[p] == g->model->hp.mask_id) g->candidates[n++] = p;
    return n;
}

/* Commit the `k` best candidates (or, with a threshold, every candidate above
 * it and at least the best one). */
static void commit(gen_state *g, int n_cand, int k) {
    if (g->params->threshold > 0) {
        mkv_top_k_indices(g->confidence, n_cand, 1, g->picked);
        k = 1;
        for (int i = 0; i < n_cand; i++)
            if (i != g->picked[0] && g->confidence[i] > g->params->threshold) g->picked[k++] = i;
    } else {
        if (k > n_cand) k = n_cand;
        mkv_top_k_indices(g->confidence, n_cand, k, g->picked);
    }
    for (int i = 0; i < k; i++) g->tokens[g->candidates[g->picked[i]]] = g->chosen_x0[g->picked[i]];
}

static mkv_status run_llada(gen_state *g) {
    const mkv_gen_params *p = g->params;
    int V = g->model->hp.n_vocab;
    int n_blocks = p->gen_len / p->block_len, steps_per_block = p->steps / n_blocks;
    int schedule[steps_per_block];
    for (int b = 0; b < n_blocks; b++) {
        int block_start = g->n_prompt + b * p->block_len, block_end = block_start + p->block_len;
        mkv_llada_transfer_schedule(masked_in(g, block_start, block_end), steps_per_block, schedule);
        for (int i = 0; p->threshold > 0 || i < steps_per_block; i++) {
            double t0 = mkv_now_seconds();
            int n_cand = masked_in(g, block_start, block_end);
            mkv_status st;
            if (n_cand == 0) {
                if (p->threshold > 0) break;
                if ((st = after_step(g, t0)) != MKV_OK) return st;
                continue;
            }
            st = step_logits(g, block_start, n_cand);
            if (st != MKV_OK) return st;
            double t1 = mkv_now_seconds();
            mkv_llada_choose(g->logits, n_cand, V, p->temperature, p->remasking, g->forbidden, g->n_forbidden, &g->rng,
                             g->chosen_x0, g->confidence);
            commit(g, n_cand, i < steps_per_block ? schedule[i] : 1);
            g->sampling_seconds += mkv_now_seconds() - t1;
            if ((st = after_step(g, t0)) != MKV_OK) return st;
        }
    }
    return MKV_OK;
}

static mkv_status run_dream(gen_state *g) {
    const mkv_gen_params *p = g->params;
    int V = g->model->hp.n_vocab;
    float timesteps[p->steps + 1];
    mkv_dream_timesteps(p->steps, (float)p->eps, timesteps);
    for (int i = 0; i < p->steps; i++) {
        double t0 = mkv_now_seconds();
        int n_cand = masked_in(g, g->n_prompt, g->n_total);
        mkv_status st;
        if (n_cand == 0) {
            if ((st = after_step(g, t0)) != MKV_OK) return st;
            continue;
        }
        st = step_logits(g, g->n_prompt, n_cand);
        if (st != MKV_OK) return st;
        double t1 = mkv_now_seconds();
        mkv_dream_choose(g->logits, n_cand, V, p->temperature, p->top_p, p->top_k, p->alg, g->forbidden,
                         g->n_forbidden, &g->rng, g->chosen_x0, g->confidence);
        if (p->alg == MKV_DREAM_ORIGIN) {
            /* each masked token is revealed with probability 1 - s/t */
            float t = timesteps[i], s = timesteps[i + 1];
            double p_transfer = i < p->steps - 1 ? 1.0 - (double)(s / t) : 1.0;
            for (int c = 0; c < n_cand; c++)
                if (mkv_rng_uniform(&g->rng) < p_transfer) g->tokens[g->candidates[c]] = g->chosen_x0[c];
        } else {
            int k = mkv_dream_transfer_count(n_cand, i, p->steps, timesteps);
            if (k > 0 && p->alg_temp > 0) {
                /* multinomial without replacement over softmax(confidence / alg_temp) */
                double weights[n_cand], max = -INFINITY;
                for (int c = 0; c < n_cand; c++) max = fmax(max, g->confidence[c] / p->alg_temp);
                for (int c = 0; c < n_cand; c++) weights[c] = exp(g->confidence[c] / p->alg_temp - max);
                for (int j = 0; j < k; j++) {
                    double total = 0;
                    for (int c = 0; c < n_cand; c++) total += weights[c];
                    double u = mkv_rng_uniform(&g->rng) * total, acc = 0;
                    int pick = n_cand - 1;
                    for (int c = 0; c < n_cand; c++) {
                        acc += weights[c];
                        if (weights[c] > 0 && u < acc) {
                            pick = c;
                            break;
                        }
                    }
                    g->tokens[g->candidates[pick]] = g->chosen_x0[pick];
                    weights[pick] = 0;
                }
            } else if (k > 0) {
                commit(g, n_cand, k);
            }
        }
        g->sampling_seconds += mkv_now_seconds() - t1;
        if ((st = after_step(g, t0)) != MKV_OK) return st;
    }
    return MKV_OK;
}

mkv_status mkv_denoise(const mkv_model *m, const int32_t *prompt, int n_prompt, const mkv_gen_params *p,
                        mkv_denoise_result *result) {
    memset(result, 0, sizeof *result);
    mkv_status st = mkv_gen_validate(m, p, n_prompt);
    if (st != MKV_OK) return st;
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= m->hp.n_vocab)
            return mkv_fail(MKV_ERR_INPUT, "prompt token id %d is out of the vocabulary [0, %d)", prompt[i], m->hp.n_vocab);
    /* refuse up front what cannot fit under --max-memory or in the machine */
    if ((st = mkv_gen_check_memory(m, p, n_prompt)) != MKV_OK) return st;
    gen_state g = {.model = m, .params = p, .n_prompt = n_prompt, .n_total = n_prompt + p->gen_len};
    mkv_rng_seed(&g.rng, p->seed);
    if (p->forbid_eos && m->hp.eos_id >= 0) g.forbidden[g.n_forbidden++] = m->hp.eos_id;
    if (p->forbid_eot && m->hp.eot_id >= 0) g.forbidden[g.n_forbidden++] = m->hp.eot_id;
    size_t n = (size_t)g.n_total, V = (size_t)m->hp.n_vocab;
    g.tokens = mkv_malloc(n * sizeof(int32_t), "sequence");
    g.candidates = mkv_malloc(n * sizeof(int32_t), "candidates");
    g.chosen_x0 = mkv_malloc(n * sizeof(int32_t), "candidate tokens");
    g.picked = mkv_malloc(n * sizeof(int), "picked candidates");
    g.confidence = mkv_malloc(n * sizeof(double), "confidence");
    g.logits = mkv_malloc((size_t)p->gen_len * V * sizeof(float), "logits");
    if (!g.tokens || !g.candidates || !g.chosen_x0 || !g.picked || !g.confidence || !g.logits) {
        st = mkv_last_status();
        goto done;
    }
    memcpy(g.tokens, prompt, (size_t)n_prompt * sizeof(int32_t));
    for (size_t i = (size_t)n_prompt; i < n; i++) g.tokens[i] = m->hp.mask_id;
    double start = mkv_now_seconds();
    mkv_cache_config cache = p->cache;
    if (sampler_of(m, p) == MKV_SAMPLER_DREAM && cache.revote.every == MKV_REVOTE_BLOCK)
        cache.revote.every = mkv_revote_dream_interval(p->steps, p->gen_len, p->block_len);
    const mkv_compute compute = mkv_compute_for_request(m, p);
    st = mkv_engine_init(&g.cond, m, &cache, compute, n_prompt, g.n_total);
    if (st != MKV_OK) goto done;
    g.cond.ws.on_layer = p->on_layer;
    g.cond.ws.on_layer_ctx = p->on_layer_ctx;
    if (p->cfg > 0) {
        g.has_uncond = true;
        g.uncond_tokens = mkv_malloc(n * sizeof(int32_t), "unconditional sequence");
        g.uncond_logits = mkv_malloc((size_t)p->gen_len * V * sizeof(float), "unconditional logits");
        if (!g.uncond_tokens || !g.uncond_logits) {
            st = mkv_last_status();
            goto done;
        }
        for (size_t i = 0; i < n; i++) g.uncond_tokens[i] = m->hp.mask_id;
        st = mkv_engine_init(&g.uncond, m, &cache, compute, n_prompt, g.n_total);
        if (st != MKV_OK) goto done;
        g.uncond.ws.on_layer = p->on_layer;
        g.uncond.ws.on_layer_ctx = p->on_layer_ctx;
    }
    st = sampler_of(m, p) == MKV_SAMPLER_DREAM ? run_dream(&g) : run_llada(&g);
    if (st != MKV_OK) goto done;
    result->seconds = mkv_now_seconds() - start;
    result->first_step_seconds = g.first_step_seconds;
    result->steps_run = g.step;
    result->n_prompt = n_prompt;
    result->n_total = g.n_total;
    result->compute = compute;
    result->kv_bytes_peak = mkv_engine_kv_peak_bytes(&g.cond) + (g.has_uncond ? mkv_engine_kv_peak_bytes(&g.uncond) : 0);
    result->kv_bytes_final = mkv_engine_kv_bytes(&g.cond) + (g.has_uncond ? mkv_engine_kv_bytes(&g.uncond) : 0);
    result->kv_prompt_kept = p->cache.mode == MKV_CACHE_DLLM || p->cache.mode == MKV_CACHE_EVICT
                                 ? mkv_kv_store_fixed_rows(&g.cond.store) : 0;
    result->prefill_timing = g.after_first_step;
    result->decode_timing = engines_timing(&g);
    timing_add(&result->decode_timing, &g.after_first_step, -1);
    result->sampling_seconds = g.sampling_seconds;
    result->n_full_passes = g.cond.n_full_passes;
    result->n_partial_steps = g.cond.n_partial_steps;
    if (g.cond.revote && (st = mkv_revote_get_stats(g.cond.revote, m->hp.n_layers, &result->revote)) != MKV_OK) goto done;
    if (p->cache.mode == MKV_CACHE_DLLM || p->cache.mode == MKV_CACHE_EVICT) {
        result->kv_kept_per_layer = mkv_calloc((size_t)m->hp.n_layers, sizeof(int64_t), "kept per layer");
        if (result->kv_kept_per_layer)
            for (int l = 0; l < m->hp.n_layers; l++)
                for (int h = 0; h < m->hp.n_kv_heads; h++)
                    result->kv_kept_per_layer[l] += g.cond.store.layers[l].heads[h].n_fixed;
    }
    result->tokens = g.tokens;
    g.tokens = NULL;
done:
    if (g.cond.model) mkv_engine_free(&g.cond);
    if (g.uncond.model) mkv_engine_free(&g.uncond);
    mkv_free(g.tokens);
    mkv_free(g.uncond_tokens);
    mkv_free(g.candidates);
    mkv_free(g.chosen_x0);
    mkv_free(g.picked);
    mkv_free(g.confidence);
    mkv_free(g.logits);
    mkv_free(g.uncond_logits);
    return st;
}

void mkv_denoise_result_free(mkv_denoise_result *r) {
    mkv_free(r->tokens);
    mkv_free(r->kv_kept_per_layer);
    mkv_free(r->revote.promoted_per_layer);
    memset(r, 0, sizeof *r);
}

int mkv_answer_length(const mkv_model *m, const int32_t *answer, int n) {
    for (int i = 0; i < n; i++)
        if (answer[i] == m->hp.eos_id || answer[i] == m->hp.eot_id || answer[i] == m->hp.pad_id) return i;
    return n;
}
