/* Memory is a feature: with MaskKV's layer-by-layer eviction the engine never
 * holds the full prompt K/V of all layers (counted allocations, not timings). */
#include <string.h>

#include "generate/generate.h"
#include "synthetic_model.h"
#include "test.h"
#include "util/alloc.h"
#include "util/memory_budget.h"

static size_t peak_alloc_of_generation(const mkv_model *m, const int32_t *prompt, int n_prompt, mkv_cache_mode mode,
                                       size_t *kv_peak, int64_t *kept) {
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    p.gen_len = 8;
    p.steps = 4;
    p.block_len = 8;
    p.cache.mode = mode;
    p.cache.evict.selector = MKV_SELECT_MASKVOTE;
    p.cache.evict.layer_alloc = MKV_LAYERS_UNIFORM;
    p.cache.evict.head_alloc = MKV_HEADS_PREFERENCE;
    p.cache.evict.budget = 64;
    size_t before = mkv_alloc_current_bytes();
    mkv_alloc_reset_peak();
    mkv_denoise_result r;
    mkv_status st = mkv_denoise(m, prompt, n_prompt, &p, &r);
    size_t peak = mkv_alloc_peak_bytes() - before;
    if (st != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "generate: %s", mkv_last_error());
        return 0;
    }
    *kv_peak = r.kv_bytes_peak;
    *kept = r.kv_prompt_kept;
    mkv_denoise_result_free(&r);
    return peak;
}

TEST(maskkv_peak_memory_stays_below_the_full_prompt_cache) {
    const int n_layers = 12, d = 32, n_prompt = 4000; /* 4 forward chunks (context 4096) */
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, n_layers, d, 2, 2, 48, 64, 9);
    int32_t *prompt = mkv_malloc(n_prompt * sizeof(int32_t), "test prompt");
    REQUIRE(prompt);
    for (int i = 0; i < n_prompt; i++) prompt[i] = 3 + (i * 31) % 50;
    /* K and V of every prompt token in every layer: what a full cache holds */
    size_t full_prompt_kv = (size_t)n_layers * n_prompt * 2 * d * sizeof(float);
    size_t kv_peak = 0;
    int64_t kept = 0;
    size_t dllm_peak = peak_alloc_of_generation(m, prompt, n_prompt, MKV_CACHE_DLLM, &kv_peak, &kept);
    CHECK_MSG(dllm_peak > full_prompt_kv, "dllm peak %zu <= full prompt KV %zu", dllm_peak, full_prompt_kv);
    size_t evict_peak = peak_alloc_of_generation(m, prompt, n_prompt, MKV_CACHE_EVICT, &kv_peak, &kept);
    CHECK_MSG(evict_peak < full_prompt_kv, "MaskKV B=64 peak allocation %zu >= full prompt KV %zu", evict_peak,
              full_prompt_kv);
    /* Everything MaskKV allocates (K/V, one residual stream, chunk buffers,
     * votes, logits) stays under a third of the full prompt K/V: activations
     * over every prompt row other than the residual stream (7 x n x d_model
     * floats before the forward was chunked) would not fit. */
    CHECK_MSG(evict_peak < full_prompt_kv / 3, "MaskKV B=64 peak allocation %zu >= a third of the full prompt KV %zu",
              evict_peak, full_prompt_kv);
    /* the K/V store itself peaks at about one full layer plus the kept rows */
    size_t one_layer = full_prompt_kv / n_layers;
    CHECK_MSG(kv_peak < 2 * one_layer, "KV store peak %zu >= two full layers %zu", kv_peak, 2 * one_layer);
    /* B = 64 pairs per head per layer on average */
    CHECK_MSG(kept <= (int64_t)64 * n_layers * 2 + n_layers * 2 && kept >= (int64_t)60 * n_layers * 2,
              "kept %lld prompt pairs for B=64", (long long)kept);
    mkv_free(prompt);
    synthetic_model_free(m);
}

/* bf16 compute stores K/V in bf16: the store holds half the bytes of the f32
 * run, and the up-front estimate (what --max-memory and the physical check
 * compare) counts 2-byte elements. */
TEST(bf16_compute_halves_kv_bytes_held_and_estimated) {
    const int n_layers = 4, d = 32, n_prompt = 256;
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, n_layers, d, 2, 2, 48, 64, 11);
    int32_t prompt[256];
    for (int i = 0; i < n_prompt; i++) prompt[i] = 3 + (i * 17) % 50;
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    p.gen_len = p.steps = p.block_len = 8;
    p.cache.mode = MKV_CACHE_DLLM;
    size_t held[2], estimated[2];
    const mkv_compute modes[2] = {MKV_COMPUTE_F32, MKV_COMPUTE_BF16};
    for (int k = 0; k < 2; k++) {
        p.compute = modes[k];
        mkv_denoise_result r;
        REQUIRE(mkv_denoise(m, prompt, n_prompt, &p, &r) == MKV_OK);
        CHECK(r.compute == modes[k]);
        held[k] = r.kv_bytes_peak;
        mkv_denoise_result_free(&r);
        estimated[k] = (size_t)mkv_gen_memory_estimate(m, &p, n_prompt).kv_bytes;
    }
    /* K and V of every position in every layer, plus the int32 position of
     * each kept prompt row per head */
    size_t kv_f32 = (size_t)n_layers * (n_prompt + 8) * 2 * d * sizeof(float);
    size_t index = (size_t)n_layers * 2 * n_prompt * sizeof(int32_t);
    CHECK_MSG(held[0] == kv_f32 + index, "f32 store %zu bytes, expected %zu", held[0], kv_f32 + index);
    CHECK_MSG(held[1] == kv_f32 / 2 + index, "bf16 store %zu bytes, expected %zu", held[1], kv_f32 / 2 + index);
    CHECK_MSG(2 * estimated[1] == estimated[0] && estimated[0] >= kv_f32, "estimates: bf16 %zu, f32 %zu bytes",
              estimated[1], estimated[0]);
    synthetic_model_free(m);
}
