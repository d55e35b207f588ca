/* The forward pass against golden logits of the official PyTorch code
 * (tests/golden/, made by tools/make_tiny_models.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "synthetic_model.h"
#include "test.h"
#include "util/alloc.h"
#include "util/dtype.h"

static int32_t *read_ids(const char *path, int *n) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    int cap = 64, count = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    long v;
    while (fscanf(f, "%ld", &v) == 1) {
        if (count == cap) ids = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
        ids[count++] = (int32_t)v;
    }
    fclose(f);
    *n = count;
    return ids;
}

static float *read_f32(const char *path, size_t expected) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *data = malloc(expected * sizeof(float) + 1);
    size_t got = fread(data, sizeof(float), expected + 1, f);
    fclose(f);
    if (got != expected) {
        free(data);
        return NULL;
    }
    return data;
}

/* max |a - b| / max |b| */
static double relative_error(const float *a, const float *b, size_t n) {
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        max_diff = fmax(max_diff, fabs((double)a[i] - b[i]));
        max_ref = fmax(max_ref, fabs((double)b[i]));
    }
    return max_ref > 0 ? max_diff / max_ref : max_diff;
}

/* Rows whose golden top-2 margin is clear must have the same argmax. */
static int argmax_disagreements(const float *a, const float *golden, int n_rows, int n_vocab, double margin) {
    int bad = 0;
    for (int r = 0; r < n_rows; r++) {
        const float *g = golden + (size_t)r * n_vocab, *x = a + (size_t)r * n_vocab;
        int g1 = 0, x1 = 0;
        for (int v = 1; v < n_vocab; v++) {
            if (g[v] > g[g1]) g1 = v;
            if (x[v] > x[x1]) x1 = v;
        }
        float second = -INFINITY;
        for (int v = 0; v < n_vocab; v++)
            if (v != g1 && g[v] > second) second = g[v];
        if (g[g1] - second > margin && x1 != g1) bad++;
    }
    return bad;
}

typedef struct {
    const char *model_path;     /* under tests/ */
    const char *golden_dir;     /* under tests/golden/ */
    const char *golden_suffix;  /* "f32" or "bf16w.f32" */
    double tolerance;           /* max relative error */
} golden_case;

static int compare_model(const golden_case *c) {
    mkv_model *m = NULL;
    mkv_status st = mkv_model_load(mkv_test_path(c->model_path), &m);
    if (st != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "%s: %s", c->model_path, mkv_last_error());
        return 0;
    }
    int compared = 0;
    for (int k = 0; k < 16; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "golden/%s/logits_%d.ids", c->golden_dir, k);
        int n = 0;
        int32_t *ids = read_ids(mkv_test_path(rel), &n);
        if (!ids) break;
        snprintf(rel, sizeof rel, "golden/%s/logits_%d.%s", c->golden_dir, k, c->golden_suffix);
        size_t count = (size_t)n * m->hp.n_vocab;
        float *golden = read_f32(mkv_test_path(rel), count);
        float *ours = mkv_test_forward_all(m, ids, n);
        if (!golden || !ours) {
            mkv_test_fail(__FILE__, __LINE__, "%s sequence %d: golden %s, forward %s", c->model_path, k,
                          golden ? "ok" : "missing/wrong size", ours ? "ok" : mkv_last_error());
        } else {
            double err = relative_error(ours, golden, count);
            CHECK_MSG(err <= c->tolerance, "%s sequence %d (%d tokens): max relative error %.3g > %.3g", c->model_path,
                      k, n, err, c->tolerance);
            int bad = argmax_disagreements(ours, golden, n, m->hp.n_vocab, 10 * c->tolerance * 10);
            CHECK_MSG(bad == 0, "%s sequence %d: %d rows with a clear golden margin changed argmax", c->model_path, k, bad);
            compared++;
        }
        free(golden);
        free(ours);
        free(ids);
    }
    CHECK_MSG(compared >= 3, "%s: only %d golden sequences compared", c->model_path, compared);
    mkv_model_free(m);
    return compared;
}

TEST(golden_llada_hf_f32) { compare_model(&(golden_case){"models/llada-tiny", "llada-tiny", "f32", 1e-4}); }
TEST(golden_llada_gguf_f32_permuted_interleaved_rope) {
    compare_model(&(golden_case){"models/llada-tiny-f32.gguf", "llada-tiny", "f32", 1e-4});
}
TEST(golden_llada_odd_sizes) { compare_model(&(golden_case){"models/llada-odd", "llada-odd", "f32", 1e-4}); }
TEST(golden_dream_hf_sharded_f32) { compare_model(&(golden_case){"models/dream-tiny", "dream-tiny", "f32", 1e-4}); }
TEST(golden_dream_gguf_f32) { compare_model(&(golden_case){"models/dream-tiny-f32.gguf", "dream-tiny", "f32", 1e-4}); }

/* Half-precision and quantized weights: against the same network run (by the
 * official code for bf16, by a numpy reference for the GGUF types) on the
 * exactly dequantized weights of the file, so only f32 rounding remains. */
TEST(golden_llada_gguf_bf16) { compare_model(&(golden_case){"models/llada-tiny-bf16.gguf", "llada-tiny-bf16", "f32", 1e-4}); }
TEST(golden_llada_hf_bf16_safetensors) { compare_model(&(golden_case){"models/llada-odd-bf16", "llada-odd-bf16", "f32", 1e-4}); }
TEST(golden_llada_gguf_f16) { compare_model(&(golden_case){"models/llada-tiny-f16.gguf", "gguf/llada-tiny-f16", "f32", 1e-4}); }
TEST(golden_llada_gguf_q8_0) { compare_model(&(golden_case){"models/llada-tiny-q8_0.gguf", "gguf/llada-tiny-q8_0", "f32", 1e-4}); }
TEST(golden_llada_gguf_q4_0) { compare_model(&(golden_case){"models/llada-tiny-q4_0.gguf", "gguf/llada-tiny-q4_0", "f32", 1e-4}); }
TEST(golden_dream_gguf_q8_0_mixed_types) { compare_model(&(golden_case){"models/dream-tiny-q8_0.gguf", "gguf/dream-tiny-q8_0", "f32", 1e-4}); }
TEST(golden_llada_odd_gguf_q8_0_f16_fallback) { compare_model(&(golden_case){"models/llada-odd-q8_0.gguf", "gguf/llada-odd-q8_0", "f32", 1e-4}); }

/* Quantization costs accuracy: the q4_0 file is measurably further from the
 * f32 golden than from its own dequantized reference (the test would catch a
 * loader that silently read the wrong file or type). */
TEST(golden_quantized_error_is_real_and_bounded) {
    mkv_model *m = NULL;
    REQUIRE(mkv_model_load(mkv_test_path("models/llada-tiny-q4_0.gguf"), &m) == MKV_OK);
    int n = 0;
    int32_t *ids = read_ids(mkv_test_path("golden/llada-tiny/logits_2.ids"), &n);
    REQUIRE(ids);
    float *golden = read_f32(mkv_test_path("golden/llada-tiny/logits_2.f32"), (size_t)n * m->hp.n_vocab);
    float *ours = mkv_test_forward_all(m, ids, n);
    REQUIRE(golden && ours);
    double err = relative_error(ours, golden, (size_t)n * m->hp.n_vocab);
    CHECK_MSG(err > 1e-3 && err < 0.5, "q4_0 vs f32 golden: relative error %.3g", err);
    free(ids);
    free(golden);
    free(ours);
    mkv_model_free(m);
}
