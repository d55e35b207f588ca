/* Out of memory and resource limits (bad-input matrix, part 2):
 *  - mkv_alloc_fail_after swept over every allocation of a model load (GGUF
 *    file, HF directory) and of a generation in each cache mode: each
 *    failure returns MKV_ERR_NOMEM with one line, and the counted bytes come
 *    back to where they were (no leak; under `make test-asan` LeakSanitizer
 *    also checks the allocations that are not counted: cJSON, PCRE2).
 *  - the up-front memory estimate of a generation (util/memory_budget.c):
 *    refused against --max-memory and against the physical memory before
 *    anything is allocated, close to what a generation really allocates. */
#include <omp.h>
#include <string.h>

#include "cache/profile.h"
#include "generate/generate.h"
#include "test.h"
#include "util/alloc.h"
#include "util/memory_budget.h"

#define SWEEP_MAX 20000

static bool one_line(const char *s) { return s[0] && !strchr(s, '\n'); }

/* Sweeps the n-th allocation of a model load. An injected failure that the
 * code absorbs (a fallback) is fine as long as the load then succeeds. */
static void sweep_model_load(const char *path) {
    size_t base = mkv_alloc_current_bytes();
    int failures = 0;
    long n;
    for (n = 1; n < SWEEP_MAX; n++) {
        mkv_clear_error();
        mkv_alloc_fail_after(n);
        mkv_model *model = NULL;
        mkv_status st = mkv_model_load(path, &model);
        mkv_alloc_fail_after(0);
        bool injected = strstr(mkv_last_error(), "injected") != NULL;
        if (st == MKV_OK) {
            REQUIRE(model != NULL);
            mkv_model_free(model);
            CHECK_EQ_INT(mkv_alloc_current_bytes(), base);
            if (!injected) break; /* the n-th allocation never happened: all swept */
            continue;
        }
        failures++;
        CHECK_MSG(st == MKV_ERR_NOMEM, "%s: allocation %ld failed, status %d (want %d): %s", path, n, (int)st,
                  (int)MKV_ERR_NOMEM, mkv_last_error());
        CHECK_MSG(one_line(mkv_last_error()), "%s: allocation %ld: message '%s'", path, n, mkv_last_error());
        CHECK(model == NULL);
        CHECK_MSG(mkv_alloc_current_bytes() == base, "%s: allocation %ld failed: %zu counted bytes leaked", path, n,
                  mkv_alloc_current_bytes() - base);
    }
    CHECK_MSG(n < SWEEP_MAX, "%s: sweep did not end", path);
    CHECK_MSG(failures > 10, "%s: only %d allocations swept", path, failures);
}

TEST(badinput_oom_every_allocation_of_gguf_model_load) { sweep_model_load(mkv_test_path("models/llada-tiny-f32.gguf")); }
TEST(badinput_oom_every_allocation_of_quantized_gguf_load) { sweep_model_load(mkv_test_path("models/dream-tiny-q8_0.gguf")); }
TEST(badinput_oom_every_allocation_of_hf_dir_load) { sweep_model_load(mkv_test_path("models/dream-tiny")); }
TEST(badinput_oom_every_allocation_of_slow_tokenizer_dir_load) { sweep_model_load(mkv_test_path("models/dream-tiny-slowtok")); }
TEST(badinput_oom_every_allocation_of_llamacpp_gguf_load) { sweep_model_load(mkv_test_path("models/llada-tiny-llamacpp-f32.gguf")); }

static void small_params(mkv_gen_params *p, mkv_cache_mode mode) {
    mkv_gen_params_defaults(p);
    p->gen_len = 8;
    p->block_len = 8;
    p->steps = 4;
    p->cache.mode = mode;
    p->cache.prompt_refresh = 2;
    p->cache.response_refresh = 2;
    if (mode == MKV_CACHE_EVICT) {
        p->cache.evict.selector = MKV_SELECT_MASKVOTE;
        p->cache.evict.layer_alloc = MKV_LAYERS_UNIFORM;
        p->cache.evict.head_alloc = MKV_HEADS_PREFERENCE;
        p->cache.evict.budget = 4;
    }
}

static void sweep_generation(const char *model_path, mkv_cache_mode mode, mkv_layer_alloc layer_alloc, double cfg) {
    mkv_model *model = NULL;
    REQUIRE(mkv_model_load(model_path, &model) == MKV_OK);
    int32_t prompt[12];
    for (int i = 0; i < 12; i++) prompt[i] = 10 + 13 * i;
    mkv_gen_params p;
    small_params(&p, mode);
    p.cache.evict.layer_alloc = layer_alloc;
    p.cfg = cfg;
    size_t base = mkv_alloc_current_bytes();
    long n;
    int failures = 0;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    for (n = 1; n < SWEEP_MAX; n++) {
        mkv_clear_error();
        mkv_alloc_fail_after(n);
        mkv_denoise_result r;
        mkv_status st = mkv_denoise(model, prompt, 12, &p, &r);
        mkv_alloc_fail_after(0);
        bool injected = strstr(mkv_last_error(), "injected") != NULL;
        if (st == MKV_OK) {
            mkv_denoise_result_free(&r);
            CHECK_EQ_INT(mkv_alloc_current_bytes(), base);
            if (!injected) break;
            continue;
        }
        failures++;
        CHECK_MSG(st == MKV_ERR_NOMEM, "mode %d: allocation %ld failed, status %d: %s", (int)mode, n, (int)st,
                  mkv_last_error());
        CHECK(one_line(mkv_last_error()));
        CHECK(r.tokens == NULL && r.kv_kept_per_layer == NULL);
        CHECK_MSG(mkv_alloc_current_bytes() == base, "mode %d: allocation %ld failed: %zu counted bytes leaked", (int)mode,
                  n, mkv_alloc_current_bytes() - base);
    }
    omp_set_num_threads(threads);
    CHECK_MSG(n < SWEEP_MAX, "mode %d: sweep did not end", (int)mode);
    CHECK_MSG(failures > 5, "mode %d: only %d allocations swept", (int)mode, failures);
    mkv_model_free(model);
}

TEST(badinput_oom_every_allocation_of_generation_none) {
    sweep_generation(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_NONE, MKV_LAYERS_UNIFORM, 0);
}
TEST(badinput_oom_every_allocation_of_generation_cfg) {
    sweep_generation(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_NONE, MKV_LAYERS_UNIFORM, 1.0);
}
TEST(badinput_oom_every_allocation_of_generation_prefix) {
    sweep_generation(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_PREFIX, MKV_LAYERS_UNIFORM, 0);
}
TEST(badinput_oom_every_allocation_of_generation_dllm_dream) {
    sweep_generation(mkv_test_path("models/dream-tiny-f32.gguf"), MKV_CACHE_DLLM, MKV_LAYERS_UNIFORM, 0);
}
TEST(badinput_oom_every_allocation_of_generation_maskkv_layerwise) {
    sweep_generation(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_EVICT, MKV_LAYERS_UNIFORM, 0);
}
TEST(badinput_oom_every_allocation_of_generation_maskkv_online) {
    sweep_generation(mkv_test_path("models/dream-tiny-f32.gguf"), MKV_CACHE_EVICT, MKV_LAYERS_BOUNDARY_ONLINE, 0);
}

/* ------------------------------------------------------------ memory budget */

TEST(badinput_memory_check_bounds) {
    mkv_memory_estimate e = {3.0 * (1 << 30), 1.0 * (1 << 30), 0};
    CHECK(mkv_memory_check_bounds("x", e, 0, 0, 0) == MKV_OK);
    CHECK(mkv_memory_check_bounds("x", e, 0, (size_t)5 << 30, (size_t)8 << 30) == MKV_OK);
    mkv_status st = mkv_memory_check_bounds("this generation", e, 0, (size_t)2 << 30, (size_t)8 << 30);
    CHECK_EQ_INT(st, MKV_ERR_NOMEM);
    CHECK_MSG(strstr(mkv_last_error(), "needs about 4.0 GiB") && strstr(mkv_last_error(), "KV cache 3.0 GiB") &&
                  strstr(mkv_last_error(), "more than the --max-memory limit of 2.0 GiB"),
              "message: %s", mkv_last_error());
    st = mkv_memory_check_bounds("this generation", e, 0, 0, (size_t)3 << 30);
    CHECK_EQ_INT(st, MKV_ERR_NOMEM);
    CHECK_MSG(strstr(mkv_last_error(), "more than the physical memory of this machine, 3.0 GiB"), "message: %s",
              mkv_last_error());
    /* what is already held counts against the limit */
    CHECK_EQ_INT(mkv_memory_check_bounds("x", e, (size_t)2 << 30, (size_t)5 << 30, 0), MKV_ERR_NOMEM);
    CHECK(strstr(mkv_last_error(), "on top of 2.0 GiB held"));
    /* the mapped weights count against the machine, not against --max-memory (the allocator's bound) */
    mkv_memory_estimate w = {1.0 * (1 << 30), 1.0 * (1 << 30), 3.0 * (1 << 30)};
    CHECK(mkv_memory_check_bounds("x", w, 0, (size_t)3 << 30, (size_t)6 << 30) == MKV_OK);
    st = mkv_memory_check_bounds("this generation", w, 0, (size_t)3 << 30, (size_t)4 << 30);
    CHECK_EQ_INT(st, MKV_ERR_NOMEM);
    CHECK_MSG(strstr(mkv_last_error(), "needs about 5.0 GiB (weights 3.0 GiB, KV cache 1.0 GiB") &&
                  strstr(mkv_last_error(), "more than the physical memory of this machine, 4.0 GiB"),
              "message: %s", mkv_last_error());
    char buf[32];
    CHECK(!strcmp(mkv_format_bytes(512, buf, sizeof buf), "512 bytes"));
    CHECK(!strcmp(mkv_format_bytes(1536, buf, sizeof buf), "1.5 KiB"));
    CHECK(mkv_physical_memory_bytes() > ((size_t)64 << 20));
}

TEST(badinput_memory_estimate_refuses_an_8b_model_at_a_million_tokens) {
    /* LLaDA-8B's shape; no tensors: the estimate needs the header only */
    mkv_model m;
    memset(&m, 0, sizeof m);
    m.hp = (mkv_hparams){.arch = MKV_ARCH_LLADA, .n_layers = 32, .d_model = 4096, .n_heads = 32, .n_kv_heads = 32,
                         .head_dim = 128, .d_ff = 12288, .n_vocab = 126464, .n_ctx = 1 << 21, .mask_id = 126336};
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    int n_prompt = 1 << 20;
    mkv_memory_estimate e = mkv_gen_memory_estimate(&m, &p, n_prompt);
    /* full cache: 32 layers x (2^20 + 128) positions x 2 x 4096 floats = 1 TiB */
    CHECK_NEAR(e.kv_bytes / (1ull << 40), 1.0, 0.01);
    mkv_status st = mkv_memory_check_bounds("this generation", e, 0, 0, mkv_physical_memory_bytes());
    CHECK_EQ_INT(st, MKV_ERR_NOMEM);
    CHECK_MSG(strstr(mkv_last_error(), "needs about 1.") && strstr(mkv_last_error(), "TiB"), "message: %s", mkv_last_error());
    /* MaskKV with offline budgets holds B rows per head plus one layer's full prompt K/V */
    p.cache.mode = MKV_CACHE_EVICT;
    p.cache.evict.layer_alloc = MKV_LAYERS_UNIFORM;
    p.cache.evict.budget = 256;
    mkv_memory_estimate ev = mkv_gen_memory_estimate(&m, &p, n_prompt);
    CHECK_MSG(ev.kv_bytes < e.kv_bytes / 20, "evict %g vs full %g", ev.kv_bytes, e.kv_bytes);
    /* hostile sizes do not wrap around */
    m.hp.n_layers = 1 << 30;
    m.hp.n_kv_heads = m.hp.n_heads = 1 << 30;
    mkv_memory_estimate huge = mkv_gen_memory_estimate(&m, &p, n_prompt);
    CHECK(huge.kv_bytes > 1e20);
}

/* The estimate is close to what a generation really allocates (peak of the
 * counted bytes), and mkv_denoise refuses before allocating anything. */
static void check_estimate(const char *path, mkv_cache_mode mode, double cfg) {
    mkv_model *model = NULL;
    REQUIRE(mkv_model_load(path, &model) == MKV_OK);
    int32_t prompt[200];
    for (int i = 0; i < 200; i++) prompt[i] = 10 + (7 * i) % 300;
    mkv_gen_params p;
    small_params(&p, mode);
    p.gen_len = 64;
    p.block_len = 32;
    p.steps = 8;
    p.cfg = cfg;
    int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    mkv_memory_estimate e = mkv_gen_memory_estimate(model, &p, 200);
    size_t base = mkv_alloc_current_bytes();
    mkv_alloc_reset_peak();
    mkv_denoise_result r;
    REQUIRE(mkv_denoise(model, prompt, 200, &p, &r) == MKV_OK);
    double actual = (double)(mkv_alloc_peak_bytes() - base), estimate = e.kv_bytes + e.other_bytes;
    mkv_denoise_result_free(&r);
    CHECK_MSG(actual <= estimate * 1.25 && estimate <= actual * 3,
              "%s mode %d: estimate %.0f bytes, actual peak %.0f bytes", path, (int)mode, estimate, actual);
    /* a limit just under the estimate: refused up front, nothing allocated */
    mkv_alloc_set_limit(base + (size_t)(estimate * 0.9));
    mkv_alloc_reset_peak();
    mkv_status st = mkv_denoise(model, prompt, 200, &p, &r);
    mkv_alloc_set_limit(0);
    CHECK_EQ_INT(st, MKV_ERR_NOMEM);
    CHECK_MSG(strstr(mkv_last_error(), "this generation needs about") && strstr(mkv_last_error(), "--max-memory limit"),
              "message: %s", mkv_last_error());
    CHECK_EQ_INT(mkv_alloc_peak_bytes(), base);
    omp_set_num_threads(threads);
    mkv_model_free(model);
}

TEST(badinput_memory_estimate_matches_the_allocations) {
    check_estimate(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_NONE, 0);
    check_estimate(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_NONE, 1.0);
    check_estimate(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_PREFIX, 0);
    check_estimate(mkv_test_path("models/dream-tiny-f32.gguf"), MKV_CACHE_DLLM, 0);
    check_estimate(mkv_test_path("models/llada-tiny-f32.gguf"), MKV_CACHE_EVICT, 0);
}
