/* The compute precision as an option of the public API: mkv_gen_params_set
 * "compute" (names, errors, no side effect on the cache policy), how a
 * request's precision is resolved (request, then the model's parameters,
 * then CPU and weights), and what the result's statistics report. */
#include <string.h>

#include "maskkv.h"
#include "test.h"

TEST(compute_option_by_name) {
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    CHECK(p.compute == MKV_COMPUTE_AUTO);
    CHECK(mkv_gen_params_is_option("--compute"));
    CHECK(mkv_gen_params_set(&p, "compute", "bf16") == MKV_OK && p.compute == MKV_COMPUTE_BF16);
    CHECK(mkv_gen_params_set(&p, "--compute", "f32") == MKV_OK && p.compute == MKV_COMPUTE_F32);
    CHECK(mkv_gen_params_set(&p, "compute", "auto") == MKV_OK && p.compute == MKV_COMPUTE_AUTO);
    /* a choice option after the cache fields must not switch the cache to "custom" eviction */
    CHECK(p.cache.mode == MKV_CACHE_NONE && strcmp(p.cache_name, "none") == 0);
    CHECK(mkv_gen_params_set(&p, "compute", "f16") == MKV_ERR_USAGE);
    CHECK(strstr(mkv_last_error(), "f16") != NULL);
    CHECK(mkv_gen_params_set(&p, "compute", NULL) == MKV_ERR_USAGE);
    mkv_compute c;
    CHECK(mkv_compute_from_name("bf16", &c) && c == MKV_COMPUTE_BF16);
    CHECK(!mkv_compute_from_name("BF16x", &c));
    CHECK(strcmp(mkv_compute_name(MKV_COMPUTE_F32), "f32") == 0);
}

TEST(compute_resolved_request_then_model_then_auto) {
    mkv_model *f32_model = NULL, *bf16_model = NULL, *forced = NULL;
    REQUIRE(mkv_model_load(mkv_test_path("models/llada-tiny-f32.gguf"), &f32_model) == MKV_OK);
    REQUIRE(mkv_model_load(mkv_test_path("models/llada-tiny-bf16.gguf"), &bf16_model) == MKV_OK);
    mkv_model_params mp = mkv_model_params_default();
    mp.compute = MKV_COMPUTE_F32;
    REQUIRE(mkv_model_load_with(mkv_test_path("models/llada-tiny-bf16.gguf"), &mp, &forced) == MKV_OK);
    CHECK(mkv_compute_for_model(f32_model, MKV_COMPUTE_AUTO) == MKV_COMPUTE_F32);
    CHECK(mkv_compute_for_model(bf16_model, MKV_COMPUTE_AUTO) ==
          (mkv_cpu_bf16_dot_is_fast() ? MKV_COMPUTE_BF16 : MKV_COMPUTE_F32));
    CHECK(mkv_compute_for_model(f32_model, MKV_COMPUTE_BF16) == MKV_COMPUTE_BF16);
    CHECK(mkv_compute_for_model(forced, MKV_COMPUTE_AUTO) == MKV_COMPUTE_F32);
    CHECK(mkv_compute_for_model(forced, MKV_COMPUTE_BF16) == MKV_COMPUTE_BF16);
    CHECK(!mkv_cpu_bf16_dot_is_fast() || mkv_cpu_has_bf16_dot());

    /* the statistics and the JSON say what ran */
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    p.gen_len = p.steps = p.block_len = 4;
    REQUIRE(mkv_gen_params_set(&p, "compute", "bf16") == MKV_OK);
    const int32_t prompt[] = {1, 2, 3, 4, 5};
    mkv_gen_result *r = NULL;
    REQUIRE(mkv_generate(forced, prompt, 5, &p, &r) == MKV_OK);
    const mkv_gen_stats *s = mkv_gen_result_stats(r);
    CHECK(strcmp(s->compute, "bf16") == 0 && strcmp(s->kv_dtype, "bf16") == 0);
    char *json = NULL;
    REQUIRE(mkv_gen_result_json(r, &json, NULL) == MKV_OK);
    CHECK(strstr(json, "\"compute\":\"bf16\",\"kv_dtype\":\"bf16\"") != NULL);
    mkv_free(json);
    mkv_gen_result_free(r);
    p.compute = MKV_COMPUTE_AUTO; /* the model's F32 */
    REQUIRE(mkv_generate(forced, prompt, 5, &p, &r) == MKV_OK);
    CHECK(strcmp(mkv_gen_result_stats(r)->compute, "f32") == 0 && strcmp(mkv_gen_result_stats(r)->kv_dtype, "f32") == 0);
    mkv_gen_result_free(r);
    mkv_model_free(forced);
    mkv_model_free(bf16_model);
    mkv_model_free(f32_model);
}
