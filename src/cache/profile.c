#include "cache/profile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/arch.h"
#include "util/alloc.h"
#include "util/dtype.h"
#include "util/fp16.h"
#include "util/mapped_file.h"
#include "util/safe_write.h"

#define PROFILE_MAX_BYTES (16u << 20)

/* ------------------------------------------------------------ fingerprint */

static uint64_t fnv1a(uint64_t hash, const void *bytes, size_t n) {
    const uint8_t *b = bytes;
    for (size_t i = 0; i < n; i++) {
        hash ^= b[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

static uint64_t hash_norm(uint64_t hash, const mkv_tensor *t) {
    if (!t || !t->data) return hash;
    const mkv_dtype_traits *info = mkv_dtype_info(t->dtype);
    if (!info) return hash;
    int64_t n = t->ne[0];
    uint64_t count = (uint64_t)n;
    hash = fnv1a(hash, &count, sizeof count);
    float values[256];
    for (int64_t start = 0; start < n; start += 256) {
        int64_t chunk = n - start < 256 ? n - start : 256;
        if (chunk % info->block_size != 0) break;
        size_t offset = (size_t)(start / info->block_size) * info->block_bytes;
        info->to_float((const uint8_t *)t->data + offset, values, chunk);
        for (int64_t i = 0; i < chunk; i++) {
            uint16_t bf = mkv_f32_to_bf16(values[i]);
            uint8_t le[2] = {(uint8_t)(bf & 0xff), (uint8_t)(bf >> 8)};
            hash = fnv1a(hash, le, 2);
        }
    }
    return hash;
}

uint64_t mkv_profile_fingerprint(const mkv_model *model) {
    if (!model || !model->layers || model->hp.n_layers < 1) return 0;
    int L = model->hp.n_layers;
    int picks[3] = {0, L / 2, L - 1};
    uint64_t hash = 0xcbf29ce484222325ull;
    for (int i = 0; i < 3; i++) {
        hash = hash_norm(hash, model->layers[picks[i]].attn_norm);
        hash = hash_norm(hash, model->layers[picks[i]].ffn_norm);
    }
    return hash_norm(hash, model->output_norm);
}

/* ------------------------------------------------------------ in memory */

static const char *arch_name(mkv_arch arch) {
    const mkv_arch_desc *desc = mkv_arch_by_id(arch);
    return desc ? desc->name : "unknown";
}

mkv_status mkv_profile_init(mkv_profile *p, const mkv_model *model) {
    memset(p, 0, sizeof *p);
    const mkv_hparams *hp = &model->hp;
    snprintf(p->arch, sizeof p->arch, "%s", arch_name(hp->arch));
    p->n_layers = hp->n_layers;
    p->d_model = hp->d_model;
    p->n_heads = hp->n_heads;
    p->n_kv_heads = hp->n_kv_heads;
    p->n_vocab = hp->n_vocab;
    p->fingerprint = mkv_profile_fingerprint(model);
    p->layer_importance = mkv_calloc((size_t)(hp->n_layers > 0 ? hp->n_layers : 1), sizeof(double), "layer importance profile");
    return p->layer_importance ? MKV_OK : mkv_last_status();
}

void mkv_profile_add_sample(mkv_profile *p, const double *importance) {
    p->samples++;
    for (int l = 0; l < p->n_layers; l++) {
        /* 1 - mean cos lies in [0, 2]; float rounding may step just outside */
        double v = importance[l] < 0 ? 0 : importance[l] > MKV_PROFILE_MAX_IMPORTANCE ? MKV_PROFILE_MAX_IMPORTANCE : importance[l];
        if (!isfinite(importance[l])) v = importance[l];
        p->layer_importance[l] += (v - p->layer_importance[l]) / p->samples;
    }
}

void mkv_profile_free(mkv_profile *p) {
    mkv_free(p->layer_importance);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------ save */

/* The shortest "%.Ng" that reads back as exactly `value` (cJSON's own
 * printing accepts an approximate round trip). */
static cJSON *exact_number(double value) {
    char text[64];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, value);
        if (strtod(text, NULL) == value) break;
    }
    return cJSON_CreateRaw(text);
}

mkv_status mkv_profile_save(const mkv_profile *p, const char *path) {
    for (int l = 0; l < p->n_layers; l++)
        if (!isfinite(p->layer_importance[l]))
            return mkv_fail(MKV_ERR_INPUT, "%s: the importance of layer %d is not a finite number; profile not written", path, l);
    char fingerprint[17];
    snprintf(fingerprint, sizeof fingerprint, "%016" PRIx64, p->fingerprint);
    cJSON *root = cJSON_CreateObject(), *model = cJSON_CreateObject();
    cJSON *importance = cJSON_CreateArray();
    bool built = importance != NULL;
    for (int l = 0; built && l < p->n_layers; l++) {
        cJSON *number = exact_number(p->layer_importance[l]);
        built = number && cJSON_AddItemToArray(importance, number);
        if (!built) cJSON_Delete(number);
    }
    if (!root || !model || !built) {
        cJSON_Delete(root);
        cJSON_Delete(model);
        cJSON_Delete(importance);
        return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory writing the profile", path);
    }
    cJSON_AddStringToObject(root, "format", MKV_PROFILE_FORMAT);
    cJSON_AddNumberToObject(root, "version", MKV_PROFILE_VERSION);
    cJSON_AddStringToObject(model, "arch", p->arch);
    cJSON_AddNumberToObject(model, "n_layers", p->n_layers);
    cJSON_AddNumberToObject(model, "d_model", p->d_model);
    cJSON_AddNumberToObject(model, "n_heads", p->n_heads);
    cJSON_AddNumberToObject(model, "n_kv_heads", p->n_kv_heads);
    cJSON_AddNumberToObject(model, "n_vocab", p->n_vocab);
    cJSON_AddStringToObject(model, "fingerprint", fingerprint);
    cJSON_AddItemToObject(root, "model", model);
    cJSON_AddItemToObject(root, "layer_importance", importance);
    cJSON_AddNumberToObject(root, "samples", p->samples);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory writing the profile", path);
    size_t n = strlen(text);
    char *with_newline = mkv_malloc(n + 2, "profile text");
    if (!with_newline) {
        cJSON_free(text);
        return mkv_last_status();
    }
    memcpy(with_newline, text, n);
    with_newline[n] = '\n';
    cJSON_free(text);
    mkv_status st = mkv_safe_write_all(path, with_newline, n + 1);
    mkv_free(with_newline);
    return st;
}

/* ------------------------------------------------------------------ load */

static mkv_status read_file(const char *path, char **out, size_t *out_len) {
    int fd;
    struct stat st;
    mkv_status status = mkv_open_regular(path, &fd, &st);
    if (status) return status;
    close(fd);
    if ((unsigned long long)st.st_size > PROFILE_MAX_BYTES)
        return mkv_fail(MKV_ERR_FORMAT, "%s: not a maskkv profile (larger than %u bytes)", path, PROFILE_MAX_BYTES);
    return mkv_read_text_file(path, PROFILE_MAX_BYTES, out, out_len);
}

/* A JSON integer within [lo, hi]. */
static bool get_int(const cJSON *object, const char *key, int lo, int hi, int *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= lo && v <= hi) || v != floor(v)) return false;
    *out = (int)v;
    return true;
}

static mkv_status parse(const char *path, const cJSON *root, mkv_profile *p) {
    if (!cJSON_IsObject(root)) return mkv_fail(MKV_ERR_FORMAT, "%s: not a maskkv profile (not a JSON object)", path);
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, MKV_PROFILE_FORMAT) != 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: not a maskkv profile (\"format\" is not \"%s\")", path, MKV_PROFILE_FORMAT);
    int version;
    if (!get_int(root, "version", 0, 1 << 30, &version))
        return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: \"version\" is not a whole number", path);
    if (version != MKV_PROFILE_VERSION)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: profile version %d (this maskkv reads version %d); run `maskkv calibrate` again",
                        path, version, MKV_PROFILE_VERSION);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model)) return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: no \"model\" object", path);
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(model, "arch");
    if (!cJSON_IsString(arch) || strlen(arch->valuestring) >= sizeof p->arch)
        return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: \"model.arch\" is not a short string", path);
    snprintf(p->arch, sizeof p->arch, "%s", arch->valuestring);
    static const char *const keys[] = {"n_layers", "d_model", "n_heads", "n_kv_heads", "n_vocab"};
    int *fields[] = {&p->n_layers, &p->d_model, &p->n_heads, &p->n_kv_heads, &p->n_vocab};
    for (int i = 0; i < 5; i++)
        if (!get_int(model, keys[i], 1, 1 << 30, fields[i]))
            return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: \"model.%s\" is not a positive whole number", path, keys[i]);
    const cJSON *fingerprint = cJSON_GetObjectItemCaseSensitive(model, "fingerprint");
    const char *hex = cJSON_IsString(fingerprint) ? fingerprint->valuestring : "";
    bool hex_ok = strlen(hex) == 16;
    for (int i = 0; hex_ok && i < 16; i++) hex_ok = strchr("0123456789abcdefABCDEF", hex[i]) != NULL;
    if (!hex_ok) return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: \"model.fingerprint\" is not 16 hex digits", path);
    p->fingerprint = strtoull(hex, NULL, 16);
    const cJSON *importance = cJSON_GetObjectItemCaseSensitive(root, "layer_importance");
    if (!cJSON_IsArray(importance) || cJSON_GetArraySize(importance) != p->n_layers)
        return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: \"layer_importance\" is not an array of %d numbers", path,
                        p->n_layers);
    p->layer_importance = mkv_malloc((size_t)p->n_layers * sizeof(double), "layer importance profile");
    if (!p->layer_importance) return mkv_last_status();
    int l = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, importance) {
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
            return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: layer_importance[%d] is not a finite number", path, l);
        if (!(item->valuedouble >= 0 && item->valuedouble <= MKV_PROFILE_MAX_IMPORTANCE))
            return mkv_fail(MKV_ERR_FORMAT,
                            "%s: malformed profile: layer_importance[%d] is %g, outside [0, 2] (1 - mean cosine similarity)", path,
                            l, item->valuedouble);
        p->layer_importance[l++] = item->valuedouble;
    }
    if (!get_int(root, "samples", 1, 1 << 30, &p->samples))
        return mkv_fail(MKV_ERR_FORMAT, "%s: malformed profile: \"samples\" is not a positive whole number", path);
    return MKV_OK;
}

/* The first identity field where the profile and the model differ, or MKV_OK. */
mkv_status mkv_profile_check_model(const char *path, const mkv_profile *p, const mkv_model *model) {
    const mkv_hparams *hp = &model->hp;
    const char *why = "run `maskkv calibrate` with this model";
    if (strcmp(p->arch, arch_name(hp->arch)) != 0)
        return mkv_fail(MKV_ERR_INPUT, "%s: calibration profile of another model (arch %s, this model %s); %s", path, p->arch,
                        arch_name(hp->arch), why);
    const char *names[] = {"n_layers", "d_model", "n_heads", "n_kv_heads", "n_vocab"};
    int theirs[] = {p->n_layers, p->d_model, p->n_heads, p->n_kv_heads, p->n_vocab};
    int ours[] = {hp->n_layers, hp->d_model, hp->n_heads, hp->n_kv_heads, hp->n_vocab};
    for (int i = 0; i < 5; i++)
        if (theirs[i] != ours[i])
            return mkv_fail(MKV_ERR_INPUT, "%s: calibration profile of another model (%s %d, this model %d); %s", path,
                            names[i], theirs[i], ours[i], why);
    uint64_t fingerprint = mkv_profile_fingerprint(model);
    if (p->fingerprint != fingerprint)
        return mkv_fail(MKV_ERR_INPUT,
                        "%s: calibration profile of another model (fingerprint %016" PRIx64 ", this model %016" PRIx64 "); %s",
                        path, p->fingerprint, fingerprint, why);
    return MKV_OK;
}

mkv_status mkv_profile_parse(const char *text, size_t len, const char *name, const mkv_model *model, mkv_profile *p) {
    memset(p, 0, sizeof *p);
    if (len > PROFILE_MAX_BYTES)
        return mkv_fail(MKV_ERR_FORMAT, "%s: not a maskkv profile (larger than %u bytes)", name, PROFILE_MAX_BYTES);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) return mkv_fail(MKV_ERR_FORMAT, "%s: not a maskkv profile (invalid JSON)", name);
    mkv_status st = parse(name, root, p);
    cJSON_Delete(root);
    if (st == MKV_OK && model) st = mkv_profile_check_model(name, p, model);
    if (st != MKV_OK) mkv_profile_free(p);
    return st;
}

mkv_status mkv_profile_load(const char *path, const mkv_model *model, mkv_profile *p) {
    memset(p, 0, sizeof *p);
    char *text = NULL;
    size_t len = 0;
    mkv_status st = read_file(path, &text, &len);
    if (st != MKV_OK) return st;
    st = mkv_profile_parse(text, len, path, model, p);
    mkv_free(text);
    return st;
}
