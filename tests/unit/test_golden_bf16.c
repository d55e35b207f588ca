/* bf16 compute against the official code run in torch.bfloat16
 * (tests/golden/<set>/logits_<k>.torch-bf16.f32 and gen_<k>.torch-bf16.json,
 * made by tools/make_bf16_goldens.py).
 *
 * Tolerances. PyTorch's bf16 run keeps every activation in bf16 (each matmul
 * output, the residual stream, the norm outputs are rounded to 8 bits of
 * mantissa); maskkv's bf16 mode rounds only the two operands where they enter
 * a matmul and keeps the rest f32 (issue 19). So the two bf16 runs carry
 * independent rounding errors of the same order: maskkv-bf16 must be no
 * further from the f32 answer than PyTorch-bf16 is (d3 <= d2 below), and the
 * two bf16 runs no further apart than about the root-sum-square of their
 * errors (d1 <= 1.25 d2; measured worst 1.16). That maskkv really rounds is
 * checked by d3 >= 0.1 d2 (an f32 run is 1e-4 d2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/engine.h"
#include "generate/generate.h"
#include "golden_files.h"
#include "synthetic_model.h"
#include "test.h"

typedef struct {
    const char *model_path; /* under tests/ */
    const char *golden_dir; /* under tests/golden/ */
} bf16_case;

/* d1 = |ours_bf16 - torch_bf16|, d2 = |torch_bf16 - torch_f32|, d3 = |ours_bf16 - torch_f32| (relative, max norm) */
static void compare_logits(const bf16_case *c) {
    mkv_model *m = NULL;
    if (mkv_model_load(mkv_test_path(c->model_path), &m) != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "%s: %s", c->model_path, mkv_last_error());
        return;
    }
    int compared = 0;
    double worst_d1_ratio = 0, worst_d3_ratio = 0, sum_d1 = 0, sum_d2 = 0, sum_d3 = 0;
    for (int k = 0; k < 16; k++) {
        int n = 0;
        int32_t *ids = golden_read_sequence(c->golden_dir, k, &n);
        if (!ids) break;
        size_t count = (size_t)n * m->hp.n_vocab;
        float *torch_f32 = golden_read_logits(c->golden_dir, k, "f32", count);
        float *torch_bf16 = golden_read_logits(c->golden_dir, k, "torch-bf16.f32", count);
        float *ours = mkv_test_forward_all_as(m, MKV_COMPUTE_BF16, ids, n);
        if (!torch_f32 || !torch_bf16 || !ours) {
            mkv_test_fail(__FILE__, __LINE__, "%s sequence %d: a golden file is missing or the forward failed (%s)",
                          c->model_path, k, mkv_last_error());
        } else {
            double d1 = golden_relative_error(ours, torch_bf16, count);
            double d2 = golden_relative_error(torch_bf16, torch_f32, count);
            double d3 = golden_relative_error(ours, torch_f32, count);
            CHECK_MSG(d3 <= d2, "%s sequence %d: maskkv-bf16 is %.3g from torch-f32, torch-bf16 only %.3g", c->model_path,
                      k, d3, d2);
            CHECK_MSG(d1 <= 1.25 * d2, "%s sequence %d: maskkv-bf16 is %.3g from torch-bf16 (torch-bf16 to f32: %.3g)",
                      c->model_path, k, d1, d2);
            CHECK_MSG(d3 >= 0.1 * d2, "%s sequence %d: maskkv-bf16 %.3g from f32: not rounded to bf16?", c->model_path,
                      k, d3);
            worst_d1_ratio = fmax(worst_d1_ratio, d1 / d2);
            worst_d3_ratio = fmax(worst_d3_ratio, d3 / d2);
            sum_d1 += d1, sum_d2 += d2, sum_d3 += d3;
            compared++;
        }
        free(torch_f32);
        free(torch_bf16);
        free(ours);
        free(ids);
    }
    CHECK_MSG(compared >= 3, "%s: only %d sequences compared", c->model_path, compared);
    if (compared)
        printf("     %s: %d sequences, mean d(ours-bf16, torch-bf16) %.2e, d(torch-bf16, torch-f32) %.2e, "
               "d(ours-bf16, torch-f32) %.2e; worst d1/d2 %.2f, d3/d2 %.2f\n",
               c->model_path, compared, sum_d1 / compared, sum_d2 / compared, sum_d3 / compared, worst_d1_ratio,
               worst_d3_ratio);
    mkv_model_free(m);
}

TEST(golden_bf16_llada_hf) { compare_logits(&(bf16_case){"models/llada-tiny", "llada-tiny"}); }
TEST(golden_bf16_llada_gguf_bf16_weights) { compare_logits(&(bf16_case){"models/llada-tiny-bf16.gguf", "llada-tiny"}); }
TEST(golden_bf16_llada_odd_sizes) { compare_logits(&(bf16_case){"models/llada-odd", "llada-odd"}); }
TEST(golden_bf16_dream_hf_gqa_biases) { compare_logits(&(bf16_case){"models/dream-tiny", "dream-tiny"}); }

/* Answer tokens equal to another answer's, position by position. */
static int same_tokens(const int32_t *a, const int32_t *b, int n) {
    int same = 0;
    for (int i = 0; i < n; i++) same += a[i] == b[i];
    return same;
}

/* Greedy generations of every gen_<k>.json in both precisions, against the
 * official answers in f32 and in bf16. */
static void compare_generations(const char *model_path, const char *golden_dir) {
    mkv_model *m = NULL;
    if (mkv_model_load(mkv_test_path(model_path), &m) != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "%s: %s", model_path, mkv_last_error());
        return;
    }
    int total = 0, ours_modes_same = 0, ours_bf16_vs_f32 = 0, torch_bf16_vs_f32 = 0, ours_vs_torch_bf16 = 0, runs = 0;
    for (int k = 0; k < 32; k++) {
        cJSON *doc = golden_read_gen(golden_dir, k);
        if (!doc) break;
        char rel[256];
        snprintf(rel, sizeof rel, "golden/%s/gen_%d.torch-bf16.json", golden_dir, k);
        char *text = NULL;
        REQUIRE(mkv_read_text_file(mkv_test_path(rel), 1 << 24, &text, NULL) == MKV_OK);
        cJSON *bf16_doc = cJSON_Parse(text);
        mkv_free(text);
        REQUIRE(bf16_doc);
        int n_prompt = 0, n_f32 = 0, n_bf16 = 0;
        int32_t *prompt = golden_json_ids(cJSON_GetObjectItemCaseSensitive(doc, "prompt_ids"), &n_prompt);
        int32_t *torch_f32 = golden_json_ids(cJSON_GetObjectItemCaseSensitive(doc, "output_ids"), &n_f32);
        int32_t *torch_bf16 = golden_json_ids(cJSON_GetObjectItemCaseSensitive(bf16_doc, "output_ids"), &n_bf16);
        mkv_gen_params p;
        golden_gen_params(doc, &p);
        REQUIRE(n_f32 == p.gen_len && n_bf16 == p.gen_len);
        mkv_denoise_result r_f32, r_bf16;
        p.compute = MKV_COMPUTE_F32;
        REQUIRE(mkv_denoise(m, prompt, n_prompt, &p, &r_f32) == MKV_OK);
        p.compute = MKV_COMPUTE_BF16;
        REQUIRE(mkv_denoise(m, prompt, n_prompt, &p, &r_bf16) == MKV_OK);
        CHECK(r_f32.compute == MKV_COMPUTE_F32 && r_bf16.compute == MKV_COMPUTE_BF16);
        const int32_t *a32 = r_f32.tokens + n_prompt, *a16 = r_bf16.tokens + n_prompt;
        CHECK_MSG(same_tokens(a32, torch_f32, p.gen_len) == p.gen_len, "%s gen_%d: f32 answer differs from the golden",
                  golden_dir, k);
        total += p.gen_len;
        ours_modes_same += same_tokens(a16, a32, p.gen_len);
        ours_bf16_vs_f32 += same_tokens(a16, torch_f32, p.gen_len);
        torch_bf16_vs_f32 += same_tokens(torch_bf16, torch_f32, p.gen_len);
        ours_vs_torch_bf16 += same_tokens(a16, torch_bf16, p.gen_len);
        runs++;
        mkv_denoise_result_free(&r_f32);
        mkv_denoise_result_free(&r_bf16);
        free(prompt);
        free(torch_f32);
        free(torch_bf16);
        cJSON_Delete(bf16_doc);
        cJSON_Delete(doc);
    }
    CHECK_MSG(runs >= 2, "%s: only %d generations", golden_dir, runs);
    /* a flipped close call early in a denoising run changes what follows, so
     * equality is not asked token for token; broken bf16 agrees on ~0% */
    CHECK_MSG(ours_modes_same >= 0.75 * total, "%s: bf16 and f32 answers agree on %d of %d tokens", golden_dir,
              ours_modes_same, total);
    printf("     %s: %d generations, %d answer tokens; maskkv bf16 = f32 on %d, maskkv-bf16 = torch-f32 on %d, "
           "torch-bf16 = torch-f32 on %d, maskkv-bf16 = torch-bf16 on %d\n",
           golden_dir, runs, total, ours_modes_same, ours_bf16_vs_f32, torch_bf16_vs_f32, ours_vs_torch_bf16);
    mkv_model_free(m);
}

TEST(golden_bf16_generate_llada) { compare_generations("models/llada-tiny", "llada-tiny"); }
TEST(golden_bf16_generate_dream) { compare_generations("models/dream-tiny", "dream-tiny"); }

/* Prompt positions MaskKV keeps (B = 64 per head) after the first step, in
 * each precision; returns the kept pairs both keep and those f32 keeps. */
static void kept_overlap(const mkv_model *m, mkv_compute compute_a, mkv_compute compute_b, const int32_t *prompt,
                         int n_prompt, int gen_len, long *both, long *kept_a) {
    mkv_cache_config c = {.mode = MKV_CACHE_EVICT, .prompt_refresh = 50, .response_refresh = 5, .transfer_ratio = 0.25};
    mkv_gen_params defaults;
    mkv_gen_params_defaults(&defaults);
    c.evict = defaults.cache.evict;
    c.evict.selector = MKV_SELECT_MASKVOTE;
    c.evict.layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
    c.evict.head_alloc = MKV_HEADS_PREFERENCE;
    c.evict.budget = 64;
    int n_total = n_prompt + gen_len;
    int32_t *tokens = malloc((size_t)n_total * sizeof *tokens), *positions = malloc((size_t)gen_len * sizeof *positions);
    memcpy(tokens, prompt, (size_t)n_prompt * sizeof *tokens);
    for (int i = 0; i < gen_len; i++) tokens[n_prompt + i] = m->hp.mask_id, positions[i] = n_prompt + i;
    float *logits = malloc((size_t)gen_len * m->hp.n_vocab * sizeof(float));
    mkv_engine a, b;
    REQUIRE(mkv_engine_init(&a, m, &c, compute_a, n_prompt, n_total) == MKV_OK);
    REQUIRE(mkv_engine_init(&b, m, &c, compute_b, n_prompt, n_total) == MKV_OK);
    REQUIRE(mkv_engine_logits(&a, tokens, 0, n_prompt, positions, gen_len, logits) == MKV_OK);
    REQUIRE(mkv_engine_logits(&b, tokens, 0, n_prompt, positions, gen_len, logits) == MKV_OK);
    *both = *kept_a = 0;
    for (int l = 0; l < m->hp.n_layers; l++)
        for (int h = 0; h < m->hp.n_kv_heads; h++) {
            const mkv_kv_head *ha = &a.store.layers[l].heads[h], *hb = &b.store.layers[l].heads[h];
            *kept_a += ha->n_fixed;
            for (int i = 0; i < ha->n_fixed; i++)
                for (int j = 0; j < hb->n_fixed; j++)
                    if (ha->fixed_positions[i] == hb->fixed_positions[j]) {
                        ++*both;
                        break;
                    }
        }
    mkv_engine_free(&a);
    mkv_engine_free(&b);
    free(logits);
    free(positions);
    free(tokens);
}

TEST(golden_bf16_maskkv_kept_sets_overlap) {
    static const struct { const char *model, *ids; } cases[] = {
        {"models/llada-tiny", "golden/llada-tiny/logits_4.ids"},
        {"models/dream-tiny", "golden/dream-tiny/logits_4.ids"},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        mkv_model *m = NULL;
        REQUIRE(mkv_model_load(mkv_test_path(cases[t].model), &m) == MKV_OK);
        int n = 0;
        int32_t *ids = golden_read_ids(mkv_test_path(cases[t].ids), &n);
        REQUIRE(ids && n > 64);
        long both = 0, kept = 0, same_both = 0, same_kept = 0;
        kept_overlap(m, MKV_COMPUTE_F32, MKV_COMPUTE_BF16, ids, n, 16, &both, &kept);
        kept_overlap(m, MKV_COMPUTE_F32, MKV_COMPUTE_F32, ids, n, 16, &same_both, &same_kept);
        CHECK_MSG(same_both == same_kept, "%s: f32 kept sets differ between two runs", cases[t].model);
        CHECK_MSG(kept > 0 && kept < (long)n * m->hp.n_layers * m->hp.n_kv_heads, "%s: nothing evicted (%ld kept)",
                  cases[t].model, kept);
        CHECK_MSG(both >= 0.95 * kept, "%s: bf16 keeps %ld of the %ld pairs f32 keeps (< 95%%)", cases[t].model, both,
                  kept);
        printf("     %s: B=64 of %d prompt tokens, bf16 keeps %ld of the %ld pairs f32 keeps (%.1f%%)\n", cases[t].model,
               n, both, kept, 100.0 * both / kept);
        free(ids);
        mkv_model_free(m);
    }
}
