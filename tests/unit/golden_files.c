#include "golden_files.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

int32_t *golden_read_ids(const char *path, int *n) {
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

float *golden_read_f32(const char *path, size_t expected) {
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

int32_t *golden_read_sequence(const char *golden_dir, int k, int *n) {
    char rel[256];
    snprintf(rel, sizeof rel, "golden/%s/logits_%d.ids", golden_dir, k);
    return golden_read_ids(mkv_test_path(rel), n);
}

float *golden_read_logits(const char *golden_dir, int k, const char *suffix, size_t count) {
    char rel[256];
    snprintf(rel, sizeof rel, "golden/%s/logits_%d.%s", golden_dir, k, suffix);
    return golden_read_f32(mkv_test_path(rel), count);
}

double golden_relative_error(const float *a, const float *b, size_t n) {
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        max_diff = fmax(max_diff, fabs((double)a[i] - b[i]));
        max_ref = fmax(max_ref, fabs((double)b[i]));
    }
    return max_ref > 0 ? max_diff / max_ref : max_diff;
}

int32_t *golden_json_ids(const cJSON *array, int *n) {
    *n = cJSON_GetArraySize(array);
    int32_t *ids = malloc((size_t)(*n ? *n : 1) * sizeof *ids);
    for (int i = 0; i < *n; i++) ids[i] = (int32_t)cJSON_GetArrayItem(array, i)->valuedouble;
    return ids;
}

cJSON *golden_read_gen(const char *golden_dir, int k) {
    char rel[256];
    snprintf(rel, sizeof rel, "golden/%s/gen_%d.json", golden_dir, k);
    char *text = NULL;
    if (mkv_read_text_file(mkv_test_path(rel), 1 << 24, &text, NULL) != MKV_OK) return NULL;
    cJSON *doc = cJSON_Parse(text);
    mkv_free(text);
    return doc;
}

static double num(const cJSON *params, const char *key, double fallback) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(params, key);
    return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}

static const char *str(const cJSON *params, const char *key, const char *fallback) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(params, key);
    return cJSON_IsString(item) ? item->valuestring : fallback;
}

void golden_gen_params(const cJSON *doc, mkv_gen_params *p) {
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(doc, "params");
    mkv_gen_params_defaults(p);
    p->gen_len = (int)num(params, "gen_length", num(params, "max_new_tokens", 0));
    p->steps = (int)num(params, "steps", 0);
    p->block_len = (int)num(params, "block_length", p->gen_len);
    p->cfg = num(params, "cfg_scale", 0);
    p->temperature = num(params, "temperature", 0);
    p->eps = num(params, "eps", 1e-3);
    const char *remasking = str(params, "remasking", "low_confidence");
    p->remasking = strcmp(remasking, "random") == 0 ? MKV_REMASK_RANDOM : MKV_REMASK_LOW_CONFIDENCE;
    const char *alg = str(params, "alg", "maskgit_plus");
    p->alg = !strcmp(alg, "origin") ? MKV_DREAM_ORIGIN
             : !strcmp(alg, "topk_margin") ? MKV_DREAM_TOPK_MARGIN
             : !strcmp(alg, "entropy") ? MKV_DREAM_ENTROPY : MKV_DREAM_MASKGIT_PLUS;
}
