/* Calibration profiles (src/cache/profile.c): save/load, model identity,
 * malformed files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/evict.h"
#include "cache/profile.h"
#include "test.h"
#include "util/fp16.h"

/* A model with nothing but hyper-parameters and norm weights (all the
 * profile looks at). Norm values 1 + k/128 are exact in f32, bf16 and f16. */
typedef struct {
    mkv_model model;
    mkv_layer_weights layers[8];
    mkv_tensor norms[17];
    float f32[17][64];
    uint16_t half[17][64];
} tiny_model;

static void tiny_init(tiny_model *t, mkv_arch arch, int n_layers, mkv_dtype dtype, int salt) {
    memset(t, 0, sizeof *t);
    mkv_hparams *hp = &t->model.hp;
    hp->arch = arch;
    hp->n_layers = n_layers;
    hp->d_model = 64;
    hp->n_heads = 4;
    hp->n_kv_heads = arch == MKV_ARCH_DREAM ? 2 : 4;
    hp->head_dim = 16;
    hp->n_vocab = 300;
    int n_norms = 2 * n_layers + 1;
    for (int i = 0; i < n_norms; i++) {
        mkv_tensor *x = &t->norms[i];
        x->dtype = dtype;
        x->n_dims = 1;
        x->ne[0] = 64;
        x->ne[1] = x->ne[2] = x->ne[3] = 1;
        for (int j = 0; j < 64; j++) {
            float v = 1.0f + (float)((j * 7 + i * 3 + salt) % 17) / 128.0f;
            t->f32[i][j] = v;
            t->half[i][j] = dtype == MKV_TYPE_BF16 ? mkv_f32_to_bf16(v) : mkv_f32_to_f16(v);
        }
        x->data = dtype == MKV_TYPE_F32 ? (const void *)t->f32[i] : (const void *)t->half[i];
        x->n_bytes = dtype == MKV_TYPE_F32 ? 256 : 128;
    }
    for (int l = 0; l < n_layers; l++) {
        t->layers[l].attn_norm = &t->norms[2 * l];
        t->layers[l].ffn_norm = &t->norms[2 * l + 1];
    }
    t->model.layers = t->layers;
    t->model.output_norm = &t->norms[2 * n_layers];
}

static const char *temp_path(const char *name) {
    static char path[4][256];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof path[slot], "/tmp/maskkv-test-%d-%s", (int)getpid(), name);
    return path[slot];
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(evict_profile_save_load_round_trip) {
    static tiny_model t;
    tiny_init(&t, MKV_ARCH_LLADA, 4, MKV_TYPE_F32, 0);
    mkv_profile p;
    REQUIRE(mkv_profile_init(&p, &t.model) == MKV_OK);
    double a[4] = {0.31, 0.05, 0.0625, 0.4}, b[4] = {0.29, 0.07, 0.0375, 0.2};
    mkv_profile_add_sample(&p, a);
    mkv_profile_add_sample(&p, b);
    CHECK_EQ_INT(p.samples, 2);
    CHECK_NEAR(p.layer_importance[0], 0.30, 1e-15);
    CHECK_NEAR(p.layer_importance[3], 0.30, 1e-15);
    const char *path = temp_path("profile.json");
    REQUIRE(mkv_profile_save(&p, path) == MKV_OK);
    mkv_profile q;
    mkv_status st = mkv_profile_load(path, &t.model, &q);
    CHECK_MSG(st == MKV_OK, "%s", mkv_last_error());
    if (st == MKV_OK) {
        CHECK(strcmp(q.arch, "llada") == 0);
        CHECK(q.n_layers == 4 && q.d_model == 64 && q.n_heads == 4 && q.n_kv_heads == 4 && q.n_vocab == 300);
        CHECK(q.fingerprint == mkv_profile_fingerprint(&t.model));
        CHECK_EQ_INT(q.samples, 2);
        for (int l = 0; l < 4; l++) CHECK(q.layer_importance[l] == p.layer_importance[l]); /* exact */
        /* a loaded profile drives the boundary allocation */
        mkv_evict_config c;
        mkv_evict_config_defaults(&c);
        c.layer_importance = q.layer_importance;
        mkv_evict_policy *policy = NULL;
        CHECK(mkv_evict_policy_create(&c, &t.model.hp, 100, 120, &policy) == MKV_OK);
        if (policy) mkv_evict_policy_free(policy);
        mkv_profile_free(&q);
    }
    /* without a model: no identity check */
    CHECK(mkv_profile_load(path, NULL, &q) == MKV_OK);
    mkv_profile_free(&q);
    mkv_profile_free(&p);
    remove(path);
}

TEST(evict_profile_fingerprint_ignores_storage_type) {
    static tiny_model f32, bf16, f16, other;
    tiny_init(&f32, MKV_ARCH_LLADA, 4, MKV_TYPE_F32, 0);
    tiny_init(&bf16, MKV_ARCH_LLADA, 4, MKV_TYPE_BF16, 0);
    tiny_init(&f16, MKV_ARCH_LLADA, 4, MKV_TYPE_F16, 0);
    tiny_init(&other, MKV_ARCH_LLADA, 4, MKV_TYPE_F32, 1);
    uint64_t fp = mkv_profile_fingerprint(&f32.model);
    CHECK(fp != 0);
    CHECK(mkv_profile_fingerprint(&bf16.model) == fp);
    CHECK(mkv_profile_fingerprint(&f16.model) == fp);
    CHECK(mkv_profile_fingerprint(&other.model) != fp);
    /* one value of the final norm */
    f32.f32[8][5] += 1.0f / 64;
    CHECK(mkv_profile_fingerprint(&f32.model) != fp);
    mkv_model empty;
    memset(&empty, 0, sizeof empty);
    CHECK(mkv_profile_fingerprint(&empty) == 0);
}

TEST(evict_profile_refuses_another_model) {
    static tiny_model t, fewer, other, dream;
    tiny_init(&t, MKV_ARCH_LLADA, 4, MKV_TYPE_F32, 0);
    tiny_init(&fewer, MKV_ARCH_LLADA, 3, MKV_TYPE_F32, 0);
    tiny_init(&other, MKV_ARCH_LLADA, 4, MKV_TYPE_F32, 5);
    tiny_init(&dream, MKV_ARCH_DREAM, 4, MKV_TYPE_F32, 0);
    mkv_profile p, q;
    REQUIRE(mkv_profile_init(&p, &t.model) == MKV_OK);
    double a[4] = {0.3, 0.1, 0.1, 0.3};
    mkv_profile_add_sample(&p, a);
    const char *path = temp_path("mismatch.json");
    REQUIRE(mkv_profile_save(&p, path) == MKV_OK);
    mkv_profile_free(&p);

    CHECK(mkv_profile_load(path, &fewer.model, &q) == MKV_ERR_INPUT);
    CHECK(strstr(mkv_last_error(), "n_layers 4, this model 3") != NULL);
    CHECK(strstr(mkv_last_error(), "maskkv calibrate") != NULL);
    CHECK(q.layer_importance == NULL);
    CHECK(mkv_profile_load(path, &other.model, &q) == MKV_ERR_INPUT);
    CHECK(strstr(mkv_last_error(), "fingerprint") != NULL);
    CHECK(mkv_profile_load(path, &dream.model, &q) == MKV_ERR_INPUT);
    CHECK(strstr(mkv_last_error(), "arch llada, this model dream") != NULL);
    CHECK(strchr(mkv_last_error(), '\n') == NULL);
    remove(path);
}

TEST(evict_profile_malformed_files) {
    static tiny_model t;
    tiny_init(&t, MKV_ARCH_LLADA, 2, MKV_TYPE_F32, 0);
    char good_model[256];
    snprintf(good_model, sizeof good_model,
             "\"model\": {\"arch\": \"llada\", \"n_layers\": 2, \"d_model\": 64, \"n_heads\": 4, \"n_kv_heads\": 4, "
             "\"n_vocab\": 300, \"fingerprint\": \"%016llx\"}",
             (unsigned long long)mkv_profile_fingerprint(&t.model));
    struct {
        const char *body;
        mkv_status want;
        const char *mentions;
    } cases[] = {
        {"this is not json", MKV_ERR_FORMAT, "invalid JSON"},
        {"[1, 2]", MKV_ERR_FORMAT, "not a JSON object"},
        {"{\"format\": \"gguf\", \"version\": 1}", MKV_ERR_FORMAT, "format"},
        {"{\"format\": \"maskkv-profile\", \"version\": 2}", MKV_ERR_UNSUPPORTED, "version 2"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1.5}", MKV_ERR_FORMAT, "version"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1}", MKV_ERR_FORMAT, "\"model\""},
        {"{\"format\": \"maskkv-profile\", \"version\": 1, %s, \"layer_importance\": [0.1], \"samples\": 3}",
         MKV_ERR_FORMAT, "array of 2 numbers"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1, %s, \"layer_importance\": [0.1, \"x\"], \"samples\": 3}",
         MKV_ERR_FORMAT, "layer_importance[1]"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1, %s, \"layer_importance\": [0.1, 0.2], \"samples\": 0}",
         MKV_ERR_FORMAT, "samples"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1, %s, \"layer_importance\": [0.1, 0.2]}", MKV_ERR_FORMAT,
         "samples"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1, \"model\": {\"arch\": \"llada\", \"n_layers\": 2, "
         "\"d_model\": 64, \"n_heads\": 4, \"n_kv_heads\": 4, \"n_vocab\": 300, \"fingerprint\": \"12ab\"}, "
         "\"layer_importance\": [0.1, 0.2], \"samples\": 1}",
         MKV_ERR_FORMAT, "fingerprint"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1, \"model\": {\"arch\": \"llada\", \"n_layers\": -2}}",
         MKV_ERR_FORMAT, "n_layers"},
        {"{\"format\": \"maskkv-profile\", \"version\": 1, %s, \"layer_importance\": [0.1, 0.2], \"samples\": 1}", MKV_OK,
         NULL},
    };
    const char *path = temp_path("malformed.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[1024];
        snprintf(body, sizeof body, cases[i].body, good_model);
        write_text(path, body);
        mkv_profile p;
        mkv_status st = mkv_profile_load(path, &t.model, &p);
        CHECK_MSG(st == cases[i].want, "case %zu: status %d, want %d (%s)", i, st, cases[i].want, mkv_last_error());
        if (st != MKV_OK) {
            CHECK_MSG(strstr(mkv_last_error(), path) != NULL, "case %zu: %s", i, mkv_last_error());
            if (cases[i].mentions)
                CHECK_MSG(strstr(mkv_last_error(), cases[i].mentions) != NULL, "case %zu: %s", i, mkv_last_error());
            CHECK(p.layer_importance == NULL);
        } else {
            mkv_profile_free(&p);
        }
    }
    remove(path);
    mkv_profile p;
    CHECK(mkv_profile_load(temp_path("does-not-exist.json"), &t.model, &p) == MKV_ERR_IO);
    REQUIRE(mkv_profile_init(&p, &t.model) == MKV_OK);
    CHECK(mkv_profile_save(&p, "/nonexistent-dir/profile.json") == MKV_ERR_IO);
    CHECK(strstr(mkv_last_error(), "/nonexistent-dir/profile.json") != NULL);
    mkv_profile_free(&p);
}
