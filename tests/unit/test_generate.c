#include <omp.h>
#include <string.h>

#include "generate/generate.h"
#include "synthetic_model.h"
#include "test.h"
#include "util/alloc.h"

TEST(llada_transfer_schedule_spreads_the_remainder_first) {
    int per_step[8];
    mkv_llada_transfer_schedule(10, 4, per_step);
    CHECK(per_step[0] == 3 && per_step[1] == 3 && per_step[2] == 2 && per_step[3] == 2);
    mkv_llada_transfer_schedule(8, 8, per_step);
    CHECK(per_step[0] == 1 && per_step[3] == 1);
}

TEST(dream_timesteps_match_torch_linspace) {
    /* torch.linspace(1, 1e-3, 5) = [1.0, 0.75025, 0.5005, 0.25075, 0.001] */
    float t[5];
    mkv_dream_timesteps(4, 1e-3f, t);
    CHECK(t[0] == 1.0f);
    CHECK_NEAR(t[1], 0.75025, 1e-6);
    CHECK_NEAR(t[2], 0.5005, 1e-6);
    CHECK_NEAR(t[3], 0.25075, 1e-6);
    CHECK(t[4] == 1e-3f);
    /* 16 masks over 4 steps: int(16*(1-s/t)) then all the rest at the last step */
    CHECK_EQ_INT(mkv_dream_transfer_count(16, 0, 4, t), 3);
    CHECK_EQ_INT(mkv_dream_transfer_count(7, 3, 4, t), 7);
}

TEST(top_k_breaks_ties_by_lower_index) {
    double score[5] = {0.5, 0.9, 0.5, 0.9, 0.1};
    int out[3];
    mkv_top_k_indices(score, 5, 3, out);
    CHECK(out[0] == 1 && out[1] == 3 && out[2] == 0);
}

static int32_t *run(const mkv_model *m, const int32_t *prompt, int n_prompt, const mkv_gen_params *p) {
    mkv_denoise_result r;
    mkv_status st = mkv_denoise(m, prompt, n_prompt, p, &r);
    if (st != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "generate failed: %s", mkv_last_error());
        return NULL;
    }
    int32_t *tokens = r.tokens;
    r.tokens = NULL;
    mkv_denoise_result_free(&r);
    return tokens;
}

static void check_dllm_full_refresh_equals_no_cache(mkv_arch arch) {
    mkv_model *m = arch == MKV_ARCH_DREAM ? synthetic_model(arch, 2, 64, 4, 2, 96, 50, 7)
                                          : synthetic_model(arch, 2, 64, 4, 4, 96, 50, 3);
    int32_t prompt[12];
    for (int i = 0; i < 12; i++) prompt[i] = 3 + (i * 7) % 40;
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    p.gen_len = 16;
    p.steps = 8;
    p.block_len = 8;
    int32_t *reference = run(m, prompt, 12, &p);
    p.cache.mode = MKV_CACHE_DLLM;
    p.cache.prompt_refresh = 1;
    p.cache.response_refresh = 1;
    p.cache.transfer_ratio = 0;
    int32_t *cached = run(m, prompt, 12, &p);
    REQUIRE(reference && cached);
    CHECK(memcmp(reference, cached, 28 * sizeof(int32_t)) == 0);
    int unmasked = 0;
    for (int i = 12; i < 28; i++) unmasked += reference[i] != m->hp.mask_id;
    CHECK(unmasked > 0);
    /* the cached modes run and change something only through caching */
    p.cache.prompt_refresh = 50;
    p.cache.response_refresh = 5;
    p.cache.transfer_ratio = 0.25;
    int32_t *approx = run(m, prompt, 12, &p);
    CHECK(approx != NULL);
    p.cache.mode = MKV_CACHE_PREFIX;
    int32_t *prefix = run(m, prompt, 12, &p);
    CHECK(prefix != NULL);
    mkv_free(reference);
    mkv_free(cached);
    mkv_free(approx);
    mkv_free(prefix);
    synthetic_model_free(m);
}

TEST(dllm_with_every_step_refreshed_equals_no_cache_llada) { check_dllm_full_refresh_equals_no_cache(MKV_ARCH_LLADA); }
TEST(dllm_with_every_step_refreshed_equals_no_cache_dream) { check_dllm_full_refresh_equals_no_cache(MKV_ARCH_DREAM); }

TEST(generation_is_deterministic_for_a_seed_at_any_thread_count) {
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 2, 64, 4, 4, 96, 50, 11);
    int32_t prompt[6] = {3, 4, 5, 6, 7, 8};
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    p.gen_len = 8;
    p.steps = 8;
    p.block_len = 8;
    p.temperature = 0.7;
    p.seed = 42;
    omp_set_num_threads(1);
    int32_t *one = run(m, prompt, 6, &p);
    omp_set_num_threads(2);
    int32_t *two = run(m, prompt, 6, &p);
    REQUIRE(one && two);
    CHECK(memcmp(one, two, 14 * sizeof(int32_t)) == 0);
    mkv_free(one);
    mkv_free(two);
    synthetic_model_free(m);
}

TEST(generation_rejects_impossible_settings) {
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 1, 32, 2, 2, 48, 40, 5);
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    int32_t prompt[3] = {3, 4, 5};
    p.gen_len = 10;
    p.block_len = 4;
    CHECK(mkv_gen_validate(m, &p, 3) == MKV_ERR_USAGE && strstr(mkv_last_error(), "multiple of --block-len"));
    p.gen_len = 8;
    p.steps = 3;
    CHECK(mkv_gen_validate(m, &p, 3) == MKV_ERR_USAGE && strstr(mkv_last_error(), "not divisible"));
    p.steps = 0;
    CHECK(mkv_gen_validate(m, &p, 3) == MKV_ERR_USAGE);
    p.steps = 8;
    p.gen_len = 0;
    CHECK(mkv_gen_validate(m, &p, 3) == MKV_ERR_USAGE);
    p.gen_len = 8;
    CHECK(mkv_gen_validate(m, &p, 0) == MKV_ERR_INPUT);
    CHECK(mkv_gen_validate(m, &p, 4095) == MKV_ERR_INPUT && strstr(mkv_last_error(), "context"));
    int32_t bad[2] = {3, 40};
    mkv_denoise_result r;
    CHECK(mkv_denoise(m, bad, 2, &p, &r) == MKV_ERR_INPUT);
    CHECK(mkv_gen_validate(m, &p, 3) == MKV_OK);
    (void)prompt;
    synthetic_model_free(m);
}
