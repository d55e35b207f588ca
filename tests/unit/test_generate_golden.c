/* Generation against the official samplers: LLaDA generate.py and Dream
 * diffusion_generate at temperature 0 (tests/golden/<model>/gen_*.json, made
 * by tools/make_tiny_models.py). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate/generate.h"
#include "golden_files.h"
#include "test.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

/* Runs every gen_<k>.json of a golden directory with the given cache mode. */
static int check_generation(const char *model_path, const char *golden_dir, mkv_cache_mode mode) {
    mkv_model *m = NULL;
    if (mkv_model_load(mkv_test_path(model_path), &m) != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "%s: %s", model_path, mkv_last_error());
        return 0;
    }
    int checked = 0;
    for (int k = 0; k < 32; k++) {
        cJSON *doc = golden_read_gen(golden_dir, k);
        if (!doc) break;
        int n_prompt = 0, n_expected = 0;
        int32_t *prompt = golden_json_ids(cJSON_GetObjectItemCaseSensitive(doc, "prompt_ids"), &n_prompt);
        int32_t *expected = golden_json_ids(cJSON_GetObjectItemCaseSensitive(doc, "output_ids"), &n_expected);
        mkv_gen_params p;
        golden_gen_params(doc, &p);
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
