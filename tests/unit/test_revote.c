/* The cold store and the re-vote (issue 20): int8 rows, the unnamed temporary
 * file, the promotion of an evicted row, and that with the re-vote off (or
 * nothing evicted) the engine gives exactly the plain MaskKV logits. */
#include <dirent.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cold_store.h"
#include "cache/engine.h"
#include "cache/revote.h"
#include "generate/generate.h"
#include "kernels/kernels.h"
#include "synthetic_model.h"
#include "test.h"
#include "util/alloc.h"

TEST(cold_quantize_round_trip) {
    float x[16], y[16];
    int8_t q[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i - 7) * 0.37f + (i % 3 ? 0.01f : -0.2f);
    float scale = mkv_cold_quantize_row(x, 16, q);
    mkv_cold_dequantize_row(q, scale, 16, y);
    float max = 0;
    for (int i = 0; i < 16; i++) max = fabsf(x[i]) > max ? fabsf(x[i]) : max;
    CHECK_NEAR(scale, max / 127.0f, 1e-7);
    for (int i = 0; i < 16; i++) CHECK(fabsf(x[i] - y[i]) <= scale * 0.5f + 1e-6f);
    float zero[4] = {0, 0, 0, 0}, back[4] = {1, 1, 1, 1};
    CHECK(mkv_cold_quantize_row(zero, 4, q) == 0);
    mkv_cold_dequantize_row(q, 0, 4, back);
    for (int i = 0; i < 4; i++) CHECK(back[i] == 0);
}

/* The quantizer's rounding is roundf's (half away from zero), and a NaN in a
 * row stores 0: rows of random values, rows whose values land on halves, and
 * the capture of a long head (quantized in parallel chunks) against rows
 * quantized one by one; bulk key reads equal mkv_cold_get's. */
TEST(cold_quantize_matches_roundf_and_capture_slots) {
    enum { HD = 40 };
    unsigned seed = 77;
    int bad = 0;
    for (int row = 0; row < 400; row++) {
        float x[HD];
        int8_t q[HD];
        for (int i = 0; i < HD; i++) {
            seed = seed * 1664525u + 1013904223u;
            x[i] = row % 2 ? ((float)(int)(seed >> 9) / 4194304.0f - 1.0f) * 3.0f
                           : (float)((int)(seed >> 24) - 128) * 0.5f;
        }
        if (row % 2 == 0) x[0] = row % 4 ? 127.0f : -127.0f; /* max 127: x * inv = x, every odd multiple of 0.5 a half */
        if (row % 50 == 7) x[3] = NAN;
        float scale = mkv_cold_quantize_row(x, HD, q), max = 0;
        for (int i = 0; i < HD; i++) max = fmaxf(max, fabsf(x[i]));
        float inv = 127.0f / max;
        bad += scale != max / 127.0f;
        for (int i = 0; i < HD; i++) {
            float r = roundf(x[i] * inv);
            int8_t want = isnan(r) ? 0 : (int8_t)(r > 127 ? 127 : (r < -127 ? -127 : r));
            bad += q[i] != want;
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* capture of 3000 rows (parallel chunks) keeping every 7th and a run */
    mkv_cold_store *cs = NULL;
    REQUIRE(mkv_cold_store_create(MKV_COLD_RAM, 1, 1, HD, 3000, &cs) == MKV_OK);
    float *k = malloc(3000 * HD * sizeof(float)), *v = malloc(3000 * HD * sizeof(float));
    int32_t keep[3000];
    int n_keep = 0;
    for (int p = 0; p < 3000; p++) {
        for (int i = 0; i < HD; i++) k[p * HD + i] = (float)((p * 31 + i * 7) % 97) - 48.0f, v[p * HD + i] = (float)(p % 13 - i);
        if (p % 7 == 0 || (p >= 1000 && p < 1300)) keep[n_keep++] = p;
    }
    REQUIRE(mkv_cold_capture(cs, 0, 0, k, v, 3000, keep, n_keep) == MKV_OK);
    CHECK_EQ_INT(mkv_cold_rows(cs, 0, 0), 3000 - n_keep);
    float got_k[HD], got_v[HD], want_k[HD], want_v[HD], *bulk = malloc(3000 * HD * sizeof(float));
    int8_t q[HD];
    mkv_cold_get_keys(cs, 0, 0, 0, 3000 - n_keep, bulk);
    int slot = 0, wrong = 0;
    for (int p = 0, j = 0; p < 3000; p++) {
        if (j < n_keep && keep[j] == p) {
            j++;
            continue;
        }
        wrong += mkv_cold_position(cs, 0, 0, slot) != p;
        mkv_cold_get(cs, 0, 0, slot, got_k, got_v);
        mkv_cold_dequantize_row(q, mkv_cold_quantize_row(k + p * HD, HD, q), HD, want_k);
        mkv_cold_dequantize_row(q, mkv_cold_quantize_row(v + p * HD, HD, q), HD, want_v);
        wrong += memcmp(got_k, want_k, sizeof got_k) != 0 || memcmp(got_v, want_v, sizeof got_v) != 0;
        wrong += memcmp(bulk + (size_t)slot * HD, got_k, sizeof got_k) != 0;
        slot++;
    }
    CHECK_EQ_INT(wrong, 0);
    free(k), free(v), free(bulk);
    mkv_cold_store_free(cs);
}

static int dir_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Lines of /proc/self/maps naming our temporary file (shown as deleted). */
static int cold_mappings(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "maskkv-cold-") && strstr(line, "(deleted)")) n++;
    fclose(f);
    return n;
}

/* The file has no name from creation on and no mapping is left after free. */
TEST(cold_file_is_unnamed_and_gone_after_free) {
    char dir[] = "/tmp/mkv-test-cold.XXXXXX";
    REQUIRE(mkdtemp(dir));
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", dir, 1);
    int before = cold_mappings();
    mkv_cold_store *cs = NULL;
    mkv_status st = mkv_cold_store_create(MKV_COLD_FILE, 2, 2, 8, 100, &cs);
    CHECK_MSG(st == MKV_OK, "%s", mkv_last_error());
    CHECK_EQ_INT(dir_entries(dir), 0);
    CHECK_EQ_INT(cold_mappings(), before + 1);
    if (cs) {
        float k[8 * 5], v[8 * 5], back_k[8], back_v[8];
        for (int i = 0; i < 40; i++) k[i] = (float)i * 0.1f, v[i] = -(float)i;
        int32_t keep[2] = {1, 3};
        CHECK(mkv_cold_capture(cs, 1, 0, k, v, 5, keep, 2) == MKV_OK);
        CHECK_EQ_INT(mkv_cold_rows(cs, 1, 0), 3);
        CHECK_EQ_INT(mkv_cold_rows(cs, 0, 0), 0);
        CHECK_EQ_INT(mkv_cold_total_rows(cs), 3);
        int32_t want[3] = {0, 2, 4};
        for (int s = 0; s < 3; s++) {
            CHECK_EQ_INT(mkv_cold_position(cs, 1, 0, s), want[s]);
            mkv_cold_get(cs, 1, 0, s, back_k, back_v); /* read back after the pages were dropped */
            for (int j = 0; j < 8; j++) {
                CHECK_NEAR(back_k[j], k[want[s] * 8 + j], 3.9 / 127 * 0.5 + 1e-6);
                CHECK_NEAR(back_v[j], v[want[s] * 8 + j], 39.0 / 127 * 0.5 + 1e-5);
            }
        }
    }
    mkv_cold_store_free(cs);
    CHECK_EQ_INT(cold_mappings(), before);
    CHECK_EQ_INT(dir_entries(dir), 0);
    /* a TMPDIR that does not exist: an error, not a crash */
    char missing[64];
    snprintf(missing, sizeof missing, "%s/none", dir);
    setenv("TMPDIR", missing, 1);
    cs = NULL;
    CHECK(mkv_cold_store_create(MKV_COLD_FILE, 1, 1, 8, 10, &cs) == MKV_ERR_IO && cs == NULL);
    CHECK(strstr(mkv_last_error(), "cannot create a temporary file") != NULL);
    if (saved) setenv("TMPDIR", saved, 1);
    else unsetenv("TMPDIR");
    free(saved);
    rmdir(dir);
}

/* The row a query needs was evicted at the first step; the re-vote promotes
 * it, demotes the weakest hot row into its slot, and keeps the budget. */
TEST(revote_promotes_the_evicted_row_the_queries_need) {
    for (int mode = MKV_COLD_FILE; mode <= MKV_COLD_RAM; mode++) {
        /* 1 layer, 2 query heads over 2 KV heads of 4 dims */
        mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 1, 8, 2, 2, 16, 40, 3);
        REQUIRE(m);
        int n_ev = 8, n_dyn = 2, hd = 4, H = 2;
        mkv_kv_store store;
        REQUIRE(mkv_kv_store_init(&store, 1, H, hd, n_ev, n_dyn, false) == MKV_OK);
        for (int h = 0; h < H; h++)
            for (int p = 0; p < n_ev + n_dyn; p++)
                for (int j = 0; j < hd; j++) {
                    /* dimension 3 is 0 in every key but position 6's */
                    float val = j == 3 ? 0.0f : (j == p % 3) ? 0.5f : 0.05f * (float)(p + 1);
                    if (p == 6) val = j == 3 ? 8.0f : 0.0f;
                    ((float *)store.layers[0].heads[h].k)[p * hd + j] = val;
                    ((float *)store.layers[0].heads[h].v)[p * hd + j] = (float)(100 * p + j);
                }
        mkv_revote_config rc = {(mkv_cold_mode)mode, MKV_REVOTE_BLOCK};
        mkv_revote *rv = NULL;
        REQUIRE(mkv_revote_create(&rc, m, n_ev, n_dyn, &rv) == MKV_OK);
        /* step 0: keep positions 0, 1, 2 in each head (6 is evicted) */
        int32_t keep[3] = {0, 1, 2};
        for (int h = 0; h < H; h++) {
            mkv_kv_head *head = &store.layers[0].heads[h];
            REQUIRE(mkv_cold_capture(mkv_revote_cold(rv), 0, h, head->k, head->v, n_ev, keep, 3) == MKV_OK);
            REQUIRE(mkv_kv_head_keep(&store, 0, h, keep, 3) == MKV_OK);
        }
        CHECK_EQ_INT(mkv_kv_row(&store, 0, 0, 6), -1);
        /* the schedule: block mode re-votes at the first step of block 2, 3, ... only */
        CHECK(!mkv_revote_due(rv, 0, 100));
        CHECK(!mkv_revote_due(rv, 1, 100));
        CHECK(mkv_revote_due(rv, 2, 102));
        CHECK(!mkv_revote_due(rv, 3, 102));
        /* block 2: a query along dimension 3 in both heads */
        float q[2 * 2 * 4] = {0};
        for (int i = 0; i < 2; i++)
            for (int h = 0; h < 2; h++) q[i * 8 + h * 4 + 3] = 3.0f;
        int64_t promoted = -1;
        REQUIRE(mkv_revote_layer(rv, &store, 0, q, 2, &promoted) == MKV_OK);
        CHECK_EQ_INT(promoted, 2);
        CHECK_EQ_INT(mkv_revote_promoted_per_layer(rv)[0], 2);
        for (int h = 0; h < H; h++) {
            mkv_kv_head *head = &store.layers[0].heads[h];
            CHECK_EQ_INT(head->n_fixed, 3);
            int r = mkv_kv_row(&store, 0, h, 6);
            CHECK(r >= 0);
            for (int i = 1; i < head->n_fixed; i++) CHECK(head->fixed_positions[i] > head->fixed_positions[i - 1]);
            if (r >= 0) {
                CHECK_NEAR(((const float *)head->k)[r * hd + 3], 8.0, 8.0 / 127);
                CHECK_NEAR(((const float *)head->v)[r * hd + 1], 601.0, 603.0 / 254 + 1e-3);
            }
            /* the cold slots hold the other five positions, each once */
            int seen[8] = {0};
            for (int s = 0; s < mkv_cold_rows(mkv_revote_cold(rv), 0, h); s++) seen[mkv_cold_position(mkv_revote_cold(rv), 0, h, s)]++;
            for (int i = 0; i < head->n_fixed; i++) seen[head->fixed_positions[i]]++;
            for (int p = 0; p < n_ev; p++) CHECK_EQ_INT(seen[p], 1);
            /* the response rows did not move */
            CHECK_NEAR(((const float *)head->v)[mkv_kv_row(&store, 0, h, n_ev) * hd], 800.0, 0);
        }
        /* the same queries again: nothing left to promote */
        REQUIRE(mkv_revote_layer(rv, &store, 0, q, 2, &promoted) == MKV_OK);
        CHECK_EQ_INT(promoted, 0);
        mkv_revote_free(rv);
        mkv_kv_store_free(&store);
        synthetic_model_free(m);
    }
}

/* One re-vote of a 300-row prompt (hd 32, 2 KV heads, 48 hot rows each) with
 * the scores of the given kind; returns the hot positions [2][48]. */
static void revote_hot_positions(bool amx, int32_t *hot) {
    if (!mkv_kernels_force_isa(amx ? "amx" : "avx512")) mkv_kernels_force_isa("auto");
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 1, 64, 2, 2, 16, 40, 3);
    REQUIRE(m);
    const int n_ev = 300, n_dyn = 4, hd = 32, H = 2, n_keep = 48, n_q = 24;
    mkv_kv_store store;
    REQUIRE(mkv_kv_store_init(&store, 1, H, hd, n_ev, n_dyn, false) == MKV_OK);
    unsigned seed = 7;
    for (int h = 0; h < H; h++)
        for (int e = 0; e < (n_ev + n_dyn) * hd; e++) {
            seed = seed * 1664525u + 1013904223u;
            float val = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
            if (e / hd == 250) val = e % hd < 4 ? 3.0f : 0.0f; /* the needle: along the queries' first dims */
            ((float *)store.layers[0].heads[h].k)[e] = val;
            ((float *)store.layers[0].heads[h].v)[e] = val;
        }
    mkv_revote_config rc = {MKV_COLD_RAM, MKV_REVOTE_BLOCK};
    mkv_revote *rv = NULL;
    REQUIRE(mkv_revote_create(&rc, m, n_ev, n_dyn, &rv) == MKV_OK);
    int32_t keep[48];
    for (int i = 0; i < n_keep; i++) keep[i] = i * 6; /* 250 is not among them */
    for (int h = 0; h < H; h++) {
        mkv_kv_head *head = &store.layers[0].heads[h];
        REQUIRE(mkv_cold_capture(mkv_revote_cold(rv), 0, h, head->k, head->v, n_ev, keep, n_keep) == MKV_OK);
        REQUIRE(mkv_kv_head_keep(&store, 0, h, keep, n_keep) == MKV_OK);
    }
    float q[24 * 64];
    for (int e = 0; e < n_q * 64; e++) {
        seed = seed * 1664525u + 1013904223u;
        q[e] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f + ((e % hd) < 4 ? 2.0f : 0.0f);
    }
    int64_t promoted = 0;
    REQUIRE(mkv_revote_layer(rv, &store, 0, q, n_q, &promoted) == MKV_OK);
    CHECK(promoted > 0);
    for (int h = 0; h < H; h++) memcpy(hot + h * n_keep, store.layers[0].heads[h].fixed_positions, n_keep * sizeof(int32_t));
    mkv_revote_free(rv);
    mkv_kv_store_free(&store);
    synthetic_model_free(m);
    mkv_kernels_force_isa("auto");
}

/* On AMX CPUs the re-vote scores in bf16 on tiles (the ranking only): the
 * needle is promoted and the hot sets agree with f32 scores on >= 95%. */
TEST(revote_bf16_scores_keep_the_f32_choice) {
    if (!mkv_kernels_force_isa("amx")) mkv_test_skip("no AMX tiles on this CPU: the re-vote scores in f32");
    mkv_kernels_force_isa("auto");
    int32_t hot_f32[96], hot_bf16[96];
    revote_hot_positions(false, hot_f32);
    revote_hot_positions(true, hot_bf16);
    int common = 0, needle = 0;
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 48; i++) {
            needle += hot_bf16[h * 48 + i] == 250;
            for (int j = 0; j < 48; j++) common += hot_bf16[h * 48 + i] == hot_f32[h * 48 + j];
        }
    printf("     bf16 re-vote keeps %d of the 96 hot rows f32 keeps\n", common);
    CHECK_EQ_INT(needle, 2);
    CHECK(common >= 92);
}

static mkv_cache_config maskkv_config(int budget) {
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    mkv_cache_config c = p.cache;
    c.mode = MKV_CACHE_EVICT;
    c.evict.layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
    c.evict.budget = budget;
    return c;
}

/* Logits of steps 0..7 in blocks of 2 (full pass, partial steps, a response
 * pass at step 5, block starts at 2, 4, 6). */
static float *engine_logits(const mkv_model *m, const mkv_cache_config *c, const int32_t *tokens, int n_prompt,
                            int n_total, int *n_promoted) {
    mkv_engine e;
    if (mkv_engine_init(&e, m, c, MKV_COMPUTE_F32, n_prompt, n_total) != MKV_OK) return NULL;
    int n = n_total - n_prompt, V = m->hp.n_vocab;
    int32_t positions[16];
    for (int i = 0; i < n; i++) positions[i] = n_prompt + i;
    float *logits = calloc((size_t)8 * n * V, sizeof(float));
    for (int step = 0; logits && step < 8; step++)
        if (mkv_engine_logits(&e, tokens, step, n_prompt + 2 * (step / 2), positions, n, logits + (size_t)step * n * V) != MKV_OK) {
            free(logits);
            logits = NULL;
        }
    *n_promoted = 0;
    if (e.revote)
        for (int l = 0; l < m->hp.n_layers; l++) *n_promoted += (int)mkv_revote_promoted_per_layer(e.revote)[l];
    mkv_engine_free(&e);
    return logits;
}

/* n_prompt pseudo-random prompt ids, then masks up to n_total. */
static void random_prompt_then_masks(const mkv_model *m, int32_t *tokens, int n_prompt, int n_total, unsigned s) {
    for (int i = 0; i < n_total; i++) {
        s = s * 1664525u + 1013904223u;
        tokens[i] = i < n_prompt ? 3 + (int32_t)((s >> 8) % 50u) : m->hp.mask_id;
    }
}

TEST(revote_off_or_nothing_evicted_is_bit_identical) {
    for (int arch = 0; arch < 2; arch++) {
        mkv_model *m = synthetic_llada_or_dream(arch, 11);
        REQUIRE(m);
        int n_prompt = 24, n_total = 32, n = 8;
        int32_t tokens[32];
        random_prompt_then_masks(m, tokens, n_prompt, n_total, 5u);
        tokens[n_prompt + 1] = 7; /* decoded tokens beside masks */
        tokens[n_prompt + 4] = 9;
        size_t bytes = (size_t)8 * n * m->hp.n_vocab * sizeof(float);
        int promoted;
        mkv_cache_config plain = maskkv_config(4), cold = plain, wide = maskkv_config(n_prompt), wide_rv = wide, rv = plain;
        cold.revote = (mkv_revote_config){MKV_COLD_FILE, MKV_REVOTE_OFF};
        wide_rv.revote = (mkv_revote_config){MKV_COLD_RAM, 1};
        rv.revote = (mkv_revote_config){MKV_COLD_RAM, MKV_REVOTE_BLOCK};
        float *a = engine_logits(m, &plain, tokens, n_prompt, n_total, &promoted);
        float *b = engine_logits(m, &cold, tokens, n_prompt, n_total, &promoted);
        float *c = engine_logits(m, &wide, tokens, n_prompt, n_total, &promoted);
        float *d = engine_logits(m, &wide_rv, tokens, n_prompt, n_total, &promoted);
        CHECK_EQ_INT(promoted, 0);
        float *r = engine_logits(m, &rv, tokens, n_prompt, n_total, &promoted);
        REQUIRE(a && b && c && d && r);
        CHECK(memcmp(a, b, bytes) == 0); /* cold store, no re-vote */
        CHECK(memcmp(c, d, bytes) == 0); /* B >= prompt: nothing cold, re-vote every step is a no-op */
        /* the re-vote does change something here (else the test above proves little) */
        CHECK(promoted > 0);
        CHECK(memcmp(a, r, (size_t)2 * n * m->hp.n_vocab * sizeof(float)) == 0); /* block 1 untouched */
        CHECK(memcmp(a, r, bytes) != 0);
        free(a), free(b), free(c), free(d), free(r);
        synthetic_model_free(m);
    }
}

/* The re-vote splits the KV heads over the threads (2 threads) or runs them
 * one after another (1 thread): the same logits either way, MHA and GQA. */
TEST(revote_same_for_any_thread_count) {
    for (int arch = 0; arch < 2; arch++) {
        mkv_model *m = synthetic_llada_or_dream(arch, 13);
        REQUIRE(m);
        int n_prompt = 24, n_total = 32, n = 8;
        int32_t tokens[32];
        random_prompt_then_masks(m, tokens, n_prompt, n_total, 9u);
        mkv_cache_config rv = maskkv_config(4);
        rv.revote = (mkv_revote_config){MKV_COLD_FILE, 1};
        const int saved = omp_get_max_threads();
        int promoted[2];
        float *logits[2];
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            logits[t] = engine_logits(m, &rv, tokens, n_prompt, n_total, &promoted[t]);
        }
        omp_set_num_threads(saved);
        REQUIRE(logits[0] && logits[1]);
        CHECK(promoted[0] > 0);
        CHECK_EQ_INT(promoted[0], promoted[1]);
        CHECK(memcmp(logits[0], logits[1], (size_t)8 * n * m->hp.n_vocab * sizeof(float)) == 0);
        free(logits[0]), free(logits[1]);
        synthetic_model_free(m);
    }
}

/* --revote needs a cold store and the Mask-Voting selector. */
TEST(revote_config_errors) {
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 2, 16, 2, 2, 32, 40, 1);
    REQUIRE(m);
    mkv_engine e;
    mkv_cache_config c = maskkv_config(2);
    c.revote = (mkv_revote_config){MKV_COLD_OFF, 2};
    CHECK(mkv_engine_init(&e, m, &c, MKV_COMPUTE_F32, 8, 12) == MKV_ERR_USAGE);
    c.revote = (mkv_revote_config){MKV_COLD_RAM, 2};
    c.evict.selector = MKV_SELECT_SNAPKV;
    CHECK(mkv_engine_init(&e, m, &c, MKV_COMPUTE_F32, 8, 12) == MKV_ERR_USAGE);
    c = maskkv_config(2);
    c.mode = MKV_CACHE_DLLM;
    c.revote = (mkv_revote_config){MKV_COLD_FILE, MKV_REVOTE_BLOCK};
    CHECK(mkv_engine_init(&e, m, &c, MKV_COMPUTE_F32, 8, 12) == MKV_ERR_USAGE);
    int every = 0;
    CHECK(mkv_revote_parse("block", &every) && every == MKV_REVOTE_BLOCK);
    CHECK(mkv_revote_parse("3", &every) && every == 3);
    CHECK(mkv_revote_parse("off", &every) && every == MKV_REVOTE_OFF);
    CHECK(!mkv_revote_parse("0", &every) && !mkv_revote_parse("2x", &every) && !mkv_revote_parse("", &every));
    CHECK_EQ_INT(mkv_revote_dream_interval(128, 128, 32), 32);
    CHECK_EQ_INT(mkv_revote_dream_interval(8, 128, 32), 2);
    CHECK_EQ_INT(mkv_revote_dream_interval(2, 128, 32), 1);
    synthetic_model_free(m);
}

/* Bytes: with the cold store in a file, the engine's counted allocations at
 * their peak stay within 10% of plain MaskKV (the re-vote's buffers are one
 * head's keys at a time, below the first step's one full layer). */
TEST(revote_file_mode_peak_bytes_within_ten_percent) {
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 2, 64, 4, 4, 64, 50, 4);
    REQUIRE(m);
    int n_prompt = 600;
    int32_t *prompt = malloc((size_t)n_prompt * sizeof(int32_t));
    for (int i = 0; i < n_prompt; i++) prompt[i] = 3 + (i * 7) % 40;
    size_t peak[2];
    for (int k = 0; k < 2; k++) {
        mkv_gen_params p;
        mkv_gen_params_defaults(&p);
        p.gen_len = 16, p.steps = 8, p.block_len = 4;
        p.cache = maskkv_config(16);
        if (k) p.cache.revote = (mkv_revote_config){MKV_COLD_FILE, MKV_REVOTE_BLOCK};
        mkv_denoise_result r;
        size_t base = mkv_alloc_current_bytes();
        mkv_alloc_reset_peak();
        mkv_status st = mkv_denoise(m, prompt, n_prompt, &p, &r);
        REQUIRE(st == MKV_OK);
        peak[k] = mkv_alloc_peak_bytes() - base;
        if (k) {
            CHECK_EQ_INT(r.revote.n_revotes, 3);
            CHECK(r.revote.cold_rows > 0);
        }
        mkv_denoise_result_free(&r);
    }
    CHECK_MSG((double)peak[1] <= 1.10 * (double)peak[0], "peak %zu vs plain %zu", peak[1], peak[0]);
    free(prompt);
    synthetic_model_free(m);
}

/* Every allocation failure inside a generation with a cold file: an error,
 * and no mapping of the file is left behind. */
TEST(revote_cold_file_gone_on_every_error_path) {
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 2, 32, 2, 2, 32, 40, 9);
    REQUIRE(m);
    int32_t prompt[40];
    for (int i = 0; i < 40; i++) prompt[i] = 3 + (i * 5) % 30;
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    p.gen_len = 8, p.steps = 4, p.block_len = 4;
    p.cache = maskkv_config(4);
    p.cache.revote = (mkv_revote_config){MKV_COLD_FILE, MKV_REVOTE_BLOCK};
    int before = cold_mappings(), failures = 0;
    mkv_status st = MKV_ERR_NOMEM;
    for (long n = 1; n < 2000 && st != MKV_OK; n++) {
        mkv_denoise_result r;
        mkv_alloc_fail_after(n);
        st = mkv_denoise(m, prompt, 40, &p, &r);
        mkv_alloc_fail_after(0);
        if (st == MKV_OK) {
            CHECK(r.revote.n_revotes == 1);
            mkv_denoise_result_free(&r);
        } else {
            failures++;
            CHECK_MSG(st == MKV_ERR_NOMEM, "allocation %ld: status %d (%s)", n, (int)st, mkv_last_error());
        }
        CHECK_MSG(cold_mappings() == before, "allocation %ld failed: the cold file is still mapped", n);
    }
    CHECK(st == MKV_OK);
    CHECK(failures > 10);
    synthetic_model_free(m);
}
