/* Generation against the official samplers: LLaDA generate.py and Dream
 * diffusion_generate at temperature 0 (tests/golden/<model>/gen_*.json, made
 * by tools/make_tiny_models.py). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate/generate.h"
#include "test.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

static int32_t *json_ids(const cJSON *array, int *n) {
    *n = cJSON_GetArraySize(array);
    int32_t *ids = malloc((size_t)(*n ? *n : 1) * sizeof *ids);
    for (int i = 0; i < *n; i++) ids[i] = (int32_t)cJSON_GetArrayItem(array, i)->valuedouble;
    return ids;
}

static double num(const cJSON *params, const char *key, double fallback) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(params, key);
    return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}

static const char *str(const cJSON *params, const char *key, const char *fallback) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(params, key);
    return cJSON_IsString(item) ? item->valuestring : fallback;
}

/* Runs every gen_<k>.json of a golden directory with the given cache mode. */
static int check_generation(const char *model_path, const char *golden_dir, mkv_cache_mode mode) {
    mkv_model *m = NULL;
    if (mkv_model_load(mkv_test_path(model_path), &m) != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "%s: %s", model_path, mkv_last_error());
        return 0;
    }
    int checked = 0;
    for (int k = 0; k < 32; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "golden/%s/gen_%d.json", golden_dir, k);
        char *text = NULL;
        if (mkv_read_text_file(mkv_test_path(rel), 1 << 24, &text, NULL) != MKV_OK) break;
        cJSON *doc = cJSON_Parse(text);
        mkv_free(text);
        REQUIRE(doc);
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(doc, "params");
        int n_prompt = 0, n_expected = 0;
        int32_t *prompt = json_ids(cJSON_GetObjectItemCaseSensitive(doc, "prompt_ids"), &n_prompt);
        int32_t *expected = json_ids(cJSON_GetObjectItemCaseSensitive(doc, "output_ids"), &n_expected);
        mkv_gen_params p;
        mkv_gen_params_defaults(&p);
        p.gen_len = (int)num(params, "gen_length", num(params, "max_new_tokens", 0));
        p.steps = (int)num(params, "steps", 0);
        p.block_len = (int)num(params, "block_length", p.gen_len);
        p.cfg = num(params, "cfg_scale", 0);
        p.temperature = num(params, "temperature", 0);
        p.eps = num(params, "eps", 1e-3);
        const char *remasking = str(params, "remasking", "low_confidence");
        p.remasking = strcmp(remasking, "random") == 0 ? MKV_REMASK_RANDOM : MKV_REMASK_LOW_CONFIDENCE;
        const char *alg = str(params, "alg", "maskgit_plus");
        p.alg = !strcmp(alg, "origin") ? MKV_DREAM_ORIGIN
                : !strcmp(alg, "topk_margin") ? MKV_DREAM_TOPK_MARGIN
                : !strcmp(alg, "entropy") ? MKV_DREAM_ENTROPY : MKV_DREAM_MASKGIT_PLUS;
        p.cache.mode = mode;
        p.cache.prompt_refresh = 1;
        p.cache.response_refresh = 1;
        p.cache.transfer_ratio = 0;
        if (p.cfg > 0 && mode != MKV_CACHE_NONE) { /* guidance runs with --cache none only */
            free(prompt);
            free(expected);
            cJSON_Delete(doc);
            continue;
        }
        mkv_denoise_result r;
        mkv_status st = mkv_denoise(m, prompt, n_prompt, &p, &r);
        if (st != MKV_OK) {
            mkv_test_fail(__FILE__, __LINE__, "%s gen_%d: %s", golden_dir, k, mkv_last_error());
        } else {
            int mismatches = 0;
            for (int i = 0; i < n_expected && i < p.gen_len; i++) mismatches += r.tokens[n_prompt + i] != expected[i];
            CHECK_MSG(n_expected == p.gen_len && mismatches == 0, "%s gen_%d (%s): %d of %d answer tokens differ",
                      golden_dir, k, mode == MKV_CACHE_NONE ? "no cache" : "dllm refresh-every-step", mismatches,
                      n_expected);
            mkv_denoise_result_free(&r);
            checked++;
        }
        free(prompt);
        free(expected);
        cJSON_Delete(doc);
    }
    CHECK_MSG(checked >= 2, "%s: only %d golden generations checked", golden_dir, checked);
    mkv_model_free(m);
    return checked;
}

TEST(golden_generate_llada_no_cache) { check_generation("models/llada-tiny", "llada-tiny", MKV_CACHE_NONE); }
TEST(golden_generate_llada_gguf_no_cache) { check_generation("models/llada-tiny-f32.gguf", "llada-tiny", MKV_CACHE_NONE); }
TEST(golden_generate_llada_dllm_exact_settings) { check_generation("models/llada-tiny", "llada-tiny", MKV_CACHE_DLLM); }
TEST(golden_generate_dream_no_cache) { check_generation("models/dream-tiny", "dream-tiny", MKV_CACHE_NONE); }
TEST(golden_generate_dream_dllm_exact_settings) { check_generation("models/dream-tiny", "dream-tiny", MKV_CACHE_DLLM); }
