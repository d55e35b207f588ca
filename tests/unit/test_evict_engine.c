/* Eviction policies inside the real forward pass and cache engine (synthetic
 * in-memory model): the observer contract (vote sums layout, layer reset,
 * layer importance) end to end. */
#include <stdlib.h>
#include <string.h>

#include "cache/engine.h"
#include "cache/evict.h"
#include "synthetic_model.h"
#include "test.h"

typedef struct {
    mkv_engine engine;
    float *logits;
    int n_logits;
} engine_run;

/* Step 0 and step 1 of the denoising loop; logits of every response position. */
static mkv_status run_two_steps(const mkv_model *m, const mkv_cache_config *config, const int32_t *tokens, int n_prompt,
                                int n_total, engine_run *out) {
    memset(out, 0, sizeof *out);
    mkv_status st = mkv_engine_init(&out->engine, m, config, MKV_COMPUTE_F32, n_prompt, n_total);
    if (st != MKV_OK) return st;
    int n = n_total - n_prompt;
    int32_t positions[64];
    for (int i = 0; i < n; i++) positions[i] = n_prompt + i;
    out->n_logits = n;
    out->logits = calloc((size_t)2 * n * m->hp.n_vocab, sizeof(float));
    st = mkv_engine_logits(&out->engine, tokens, 0, n_prompt, positions, n, out->logits);
    if (st == MKV_OK)
        st = mkv_engine_logits(&out->engine, tokens, 1, n_prompt, positions, n, out->logits + (size_t)n * m->hp.n_vocab);
    return st;
}

static void run_free(engine_run *r) {
    mkv_engine_free(&r->engine);
    free(r->logits);
}

static mkv_cache_config cache_config(mkv_cache_mode mode) {
    mkv_cache_config c;
    memset(&c, 0, sizeof c);
    c.mode = mode;
    c.prompt_refresh = 50;
    c.response_refresh = 5;
    c.transfer_ratio = 0.25;
    mkv_evict_config_defaults(&c.evict);
    return c;
}

static void make_tokens(const mkv_model *m, int32_t *tokens, int n_prompt, int n_total) {
    unsigned s = 99;
    for (int i = 0; i < n_total; i++) {
        s = s * 1664525u + 1013904223u;
        tokens[i] = i < n_prompt ? 3 + (int32_t)((s >> 8) % (unsigned)(m->hp.n_vocab - 4)) : m->hp.mask_id;
    }
}

/* SPEC §4: with B >= n_prompt, MaskKV gives exactly the full cache's logits. */
TEST(evict_engine_exact_when_budget_covers_prompt) {
    for (int arch = 0; arch < 2; arch++) {
        mkv_model *m = synthetic_llada_or_dream(arch, 7);
        int n_prompt = 12, n_total = 20;
        int32_t tokens[20];
        make_tokens(m, tokens, n_prompt, n_total);
        engine_run full, evict;
        mkv_cache_config cf = cache_config(MKV_CACHE_DLLM), ce = cache_config(MKV_CACHE_EVICT);
        ce.evict.layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
        ce.evict.budget = n_prompt;
        mkv_status st1 = run_two_steps(m, &cf, tokens, n_prompt, n_total, &full);
        mkv_status st2 = run_two_steps(m, &ce, tokens, n_prompt, n_total, &evict);
        CHECK_MSG(st1 == MKV_OK && st2 == MKV_OK, "%s", mkv_last_error());
        if (st1 == MKV_OK && st2 == MKV_OK) {
            size_t n = (size_t)2 * full.n_logits * m->hp.n_vocab;
            CHECK(memcmp(full.logits, evict.logits, n * sizeof(float)) == 0);
            const int64_t *kept = mkv_evict_kept_per_layer(evict.engine.policy);
            for (int l = 0; l < 3; l++) CHECK_EQ_INT(kept[l], (int64_t)evict.engine.dyn_start * m->hp.n_kv_heads);
        }
        run_free(&full);
        run_free(&evict);
        synthetic_model_free(m);
    }
}

/* Offline budgets evict layer by layer inside the forward pass: the store's
 * peak stays below the full cache's; online budgets reach the full peak. */
TEST(evict_engine_every_policy_runs_and_offline_saves_peak) {
    mkv_model *m = synthetic_model(MKV_ARCH_DREAM, 4, 32, 4, 2, 64, 60, 3);
    int n_prompt = 40, n_total = 48;
    int32_t tokens[48];
    make_tokens(m, tokens, n_prompt, n_total);
    engine_run full;
    mkv_cache_config cf = cache_config(MKV_CACHE_DLLM);
    REQUIRE(run_two_steps(m, &cf, tokens, n_prompt, n_total, &full) == MKV_OK);
    size_t full_peak = mkv_engine_kv_peak_bytes(&full.engine);
    double importance[4] = {0.3, 0.05, 0.1, 0.4};
    for (int sel = 0; sel <= MKV_SELECT_FULL; sel++)
        for (int la = 0; la <= MKV_LAYERS_BOUNDARY_ONLINE; la++)
            for (int ha = 0; ha <= MKV_HEADS_PREFERENCE; ha++) {
                mkv_cache_config ce = cache_config(MKV_CACHE_EVICT);
                ce.evict.selector = (mkv_selector)sel;
                ce.evict.layer_alloc = (mkv_layer_alloc)la;
                ce.evict.head_alloc = (mkv_head_alloc)ha;
                ce.evict.budget = 6;
                ce.evict.window = 4;
                ce.evict.layer_importance = importance;
                engine_run r;
                mkv_status st = run_two_steps(m, &ce, tokens, n_prompt, n_total, &r);
                CHECK_MSG(st == MKV_OK, "%s/%s/%s: %s", mkv_selector_name(sel), mkv_layer_alloc_name(la),
                          mkv_head_alloc_name(ha), mkv_last_error());
                if (st == MKV_OK) {
                    bool finite = true;
                    for (size_t i = 0; i < (size_t)2 * r.n_logits * m->hp.n_vocab; i++) finite &= isfinite(r.logits[i]);
                    CHECK(finite);
                    size_t peak = mkv_engine_kv_peak_bytes(&r.engine);
                    bool offline = la == MKV_LAYERS_UNIFORM || la == MKV_LAYERS_PYRAMID || la == MKV_LAYERS_BOUNDARY;
                    if (sel == MKV_SELECT_FULL || !offline)
                        CHECK(peak >= full_peak);
                    else
                        CHECK_MSG(peak * 5 < full_peak * 3, "%s/%s/%s: peak %zu vs full %zu", mkv_selector_name(sel),
                                  mkv_layer_alloc_name(la), mkv_head_alloc_name(ha), peak, full_peak);
                    if (sel != MKV_SELECT_FULL)
                        CHECK(mkv_engine_kv_bytes(&r.engine) < mkv_engine_kv_bytes(&full.engine));
                }
                run_free(&r);
            }
    run_free(&full);
    synthetic_model_free(m);
}
