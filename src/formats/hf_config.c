/* HF config.json / tokenizer_config.json / generation_config.json, and
 * llama.cpp's SpecialVocab rules (gguf-py vocab.py) for the converter. */
#include "formats/hf_config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/mapped_file.h"

/* ------------------------------------------------------------ JSON helpers */

mkv_status mkv_hf_read_json(const char *path, bool optional, cJSON **out) {
    *out = NULL;
    struct stat sb;
    if (optional && stat(path, &sb) != 0) return MKV_OK;
    char *text = NULL;
    size_t len = 0;
    mkv_status st = mkv_read_text_file(path, MKV_HF_MAX_JSON_BYTES, &text, &len);
    if (st) return st;
    const char *error_at = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &error_at, false);
    if (!root) {
        size_t offset = error_at && error_at >= text && error_at <= text + len ? (size_t)(error_at - text) : 0;
        mkv_free(text);
        return mkv_fail(MKV_ERR_FORMAT, "%s: invalid JSON near byte %zu", path, offset);
    }
    mkv_free(text);
    *out = root;
    return MKV_OK;
}

static const cJSON *get(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

static bool json_int(const cJSON *v, int64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != floor(d)) return false;
    *out = (int64_t)d;
    return true;
}

const char *mkv_hf_token_content(const cJSON *tokenizer_config, const char *field) {
    const cJSON *v = get(tokenizer_config, field);
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) {
        const cJSON *c = get(v, "content");
        if (cJSON_IsString(c)) return c->valuestring;
    }
    return NULL;
}

int32_t mkv_hf_json_id(const cJSON *json, const char *field) {
    const cJSON *v = get(json, field);
    if (cJSON_IsArray(v)) v = cJSON_GetArrayItem(v, 0);
    int64_t id;
    if (!json_int(v, &id) || id < 0 || id > INT32_MAX) return -1;
    return (int32_t)id;
}

/* ------------------------------------------------------------ config.json */

typedef struct {
    const char *name;       /* file name for messages */
    const cJSON *root;
} config_reader;

/* An integer hyper-parameter: the first of `keys` present. Returns false
 * with an error for a present but invalid value; `*found` tells presence. */
static mkv_status read_int(const config_reader *r, const char *const *keys, int min, int max, bool required, int *out,
                           bool *found) {
    if (found) *found = false;
    for (int i = 0; keys[i]; i++) {
        const cJSON *v = get(r->root, keys[i]);
        if (!v) continue;
        int64_t x;
        if (!json_int(v, &x)) return mkv_fail(MKV_ERR_FORMAT, "%s: \"%s\" is not an integer", r->name, keys[i]);
        if (x < min || x > max)
            return mkv_fail(MKV_ERR_FORMAT, "%s: \"%s\" is %lld, outside [%d, %d]", r->name, keys[i], (long long)x, min, max);
        *out = (int)x;
        if (found) *found = true;
        return MKV_OK;
    }
    if (required) return mkv_fail(MKV_ERR_FORMAT, "%s: missing \"%s\"", r->name, keys[0]);
    return MKV_OK;
}

static mkv_status read_float(const config_reader *r, const char *key, float fallback, float *out) {
    const cJSON *v = get(r->root, key);
    if (!v) {
        *out = fallback;
        return MKV_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: \"%s\" is not a positive number", r->name, key);
    /* the engine computes in float: 1e-76 would become 0 and 1e300 infinity */
    float f = (float)v->valuedouble;
    if (!(f > 0) || !isfinite(f))
        return mkv_fail(MKV_ERR_FORMAT, "%s: \"%s\" = %g is outside the range of a float", r->name, key,
                        v->valuedouble);
    *out = f;
    return MKV_OK;
}

static const mkv_arch_desc *detect_arch(const cJSON *root, const char **what) {
    const cJSON *model_type = get(root, "model_type");
    *what = cJSON_IsString(model_type) ? model_type->valuestring : NULL;
    if (*what) {
        if (!strcasecmp(*what, "llada")) return mkv_arch_by_id(MKV_ARCH_LLADA);
        if (!strcasecmp(*what, "dream")) return mkv_arch_by_id(MKV_ARCH_DREAM);
    }
    const cJSON *archs = get(root, "architectures"), *a;
    if (!cJSON_IsArray(archs)) archs = NULL;
    cJSON_ArrayForEach(a, archs) {
        if (!cJSON_IsString(a)) continue;
        if (!strcmp(a->valuestring, "LLaDAModelLM")) return mkv_arch_by_id(MKV_ARCH_LLADA);
        if (!strcmp(a->valuestring, "DreamModel")) return mkv_arch_by_id(MKV_ARCH_DREAM);
        if (!*what) *what = a->valuestring;
    }
    return NULL;
}

static mkv_status parse_config(const config_reader *r, mkv_hf_config *cfg) {
    const char *what = NULL;
    cfg->arch = detect_arch(r->root, &what);
    if (!cfg->arch)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: unknown architecture '%.60s' (maskkv runs LLaDA and Dream)", r->name,
                        what ? what : "none given");
    const int big = 1 << 30;
    bool llada = cfg->arch->arch == MKV_ARCH_LLADA, found;
    mkv_status st;
#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})
    if (llada) {
        if ((st = read_int(r, KEYS("d_model"), 1, big, true, &cfg->d_model, NULL))) return st;
        if ((st = read_int(r, KEYS("n_layers"), 0, big, true, &cfg->n_layers, NULL))) return st;
        if ((st = read_int(r, KEYS("n_heads"), 0, big, true, &cfg->n_heads, NULL))) return st;
        cfg->n_kv_heads = cfg->n_heads;
        if ((st = read_int(r, KEYS("n_kv_heads", "num_key_value_heads"), 0, big, false, &cfg->n_kv_heads, NULL))) return st;
        if ((st = read_int(r, KEYS("mlp_hidden_size"), 1, big, false, &cfg->d_ff, &found))) return st;
        if (!found) {
            int ratio = 0;
            if ((st = read_int(r, KEYS("mlp_ratio"), 1, 1024, false, &ratio, &found))) return st;
            if (!found) return mkv_fail(MKV_ERR_FORMAT, "%s: missing \"mlp_hidden_size\"", r->name);
            if ((int64_t)ratio * cfg->d_model > big) return mkv_fail(MKV_ERR_FORMAT, "%s: mlp_ratio * d_model is too large", r->name);
            cfg->d_ff = ratio * cfg->d_model;
        }
        if ((st = read_int(r, KEYS("vocab_size"), 1, big, true, &cfg->vocab_size, NULL))) return st;
        cfg->n_vocab = cfg->vocab_size;
        if ((st = read_int(r, KEYS("embedding_size"), 1, big, false, &cfg->n_vocab, &found))) return st;
        if (found && cfg->n_vocab < cfg->vocab_size)
            return mkv_fail(MKV_ERR_FORMAT, "%s: embedding_size %d is smaller than vocab_size %d", r->name, cfg->n_vocab,
                            cfg->vocab_size);
        cfg->n_ctx = 4096; /* llama.cpp's converter's default for LLaDA */
        if ((st = read_int(r, KEYS("max_sequence_length"), 1, big, false, &cfg->n_ctx, NULL))) return st;
        if ((st = read_float(r, "rms_norm_eps", 1e-5f, &cfg->norm_eps))) return st;
        const cJSON *tying = get(r->root, "weight_tying");
        cfg->tied_embeddings = cJSON_IsTrue(tying);
    } else {
        if ((st = read_int(r, KEYS("hidden_size"), 1, big, true, &cfg->d_model, NULL))) return st;
        if ((st = read_int(r, KEYS("num_hidden_layers"), 0, big, true, &cfg->n_layers, NULL))) return st;
        if ((st = read_int(r, KEYS("num_attention_heads"), 0, big, true, &cfg->n_heads, NULL))) return st;
        cfg->n_kv_heads = cfg->n_heads;
        if ((st = read_int(r, KEYS("num_key_value_heads"), 0, big, false, &cfg->n_kv_heads, NULL))) return st;
        if ((st = read_int(r, KEYS("intermediate_size"), 1, big, true, &cfg->d_ff, NULL))) return st;
        if ((st = read_int(r, KEYS("vocab_size"), 1, big, true, &cfg->vocab_size, NULL))) return st;
        cfg->n_vocab = cfg->vocab_size;
        cfg->n_ctx = 32768;
        if ((st = read_int(r, KEYS("max_position_embeddings"), 1, big, false, &cfg->n_ctx, NULL))) return st;
        if ((st = read_float(r, "rms_norm_eps", 1e-6f, &cfg->norm_eps))) return st;
        cfg->tied_embeddings = cJSON_IsTrue(get(r->root, "tie_word_embeddings"));
    }
    if ((st = read_float(r, "rope_theta", 10000.0f, &cfg->rope_theta))) return st;
    cfg->head_dim = cfg->n_heads > 0 ? cfg->d_model / cfg->n_heads : 0;
    if ((st = read_int(r, KEYS("head_dim"), 1, big, false, &cfg->head_dim, NULL))) return st;
#undef KEYS
    cfg->mask_id = mkv_hf_json_id(r->root, "mask_token_id");
    cfg->bos_id = mkv_hf_json_id(r->root, "bos_token_id");
    cfg->eos_id = mkv_hf_json_id(r->root, "eos_token_id");
    cfg->pad_id = mkv_hf_json_id(r->root, "pad_token_id");
    return MKV_OK;
}

mkv_status mkv_hf_config_parse(const char *json, size_t len, const char *name, mkv_hf_config *out) {
    memset(out, 0, sizeof *out);
    const char *error_at = NULL;
    out->json = cJSON_ParseWithLengthOpts(json, len, &error_at, false);
    if (!out->json) {
        size_t offset = error_at && error_at >= json && error_at <= json + len ? (size_t)(error_at - json) : 0;
        return mkv_fail(MKV_ERR_FORMAT, "%s: invalid JSON near byte %zu", name, offset);
    }
    if (!cJSON_IsObject(out->json)) {
        mkv_hf_config_free(out);
        return mkv_fail(MKV_ERR_FORMAT, "%s: not a JSON object", name);
    }
    config_reader r = {name, out->json};
    mkv_status st = parse_config(&r, out);
    if (st) mkv_hf_config_free(out);
    return st;
}

mkv_status mkv_hf_config_load(const char *dir, mkv_hf_config *out) {
    memset(out, 0, sizeof *out);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path)
        return mkv_fail(MKV_ERR_IO, "%s: path too long", dir);
    char *text = NULL;
    size_t len = 0;
    mkv_status st = mkv_read_text_file(path, MKV_HF_MAX_JSON_BYTES, &text, &len);
    if (st) return st;
    st = mkv_hf_config_parse(text, len, path, out);
    mkv_free(text);
    return st;
}

void mkv_hf_config_free(mkv_hf_config *cfg) {
    if (!cfg) return;
    cJSON_Delete(cfg->json);
    cfg->json = NULL;
}

/* ------------------------------------------------------------ chat template */

static char *copy_text(const char *s) {
    size_t n = strlen(s);
    char *c = mkv_malloc(n + 1, "chat template");
    if (c) memcpy(c, s, n + 1);
    return c;
}

/* A string, or the "default" entry of a list of {name, template}. */
static const char *template_of(const cJSON *v) {
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *e, *list = cJSON_IsArray(v) ? v : NULL;
    cJSON_ArrayForEach(e, list) {
        const cJSON *name = get(e, "name"), *tmpl = get(e, "template");
        if (cJSON_IsString(name) && !strcmp(name->valuestring, "default") && cJSON_IsString(tmpl)) return tmpl->valuestring;
    }
    return NULL;
}

mkv_status mkv_hf_chat_template(const char *dir, const cJSON *tokenizer_config, char **out) {
    *out = NULL;
    /* As gguf-py's SpecialVocab: no tokenizer_config.json, no template. */
    if (!tokenizer_config) return MKV_OK;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tokenizer_config, "chat_template");
    if (v) {
        const char *t = template_of(v);
        if (t && !(*out = copy_text(t))) return mkv_last_status();
        return MKV_OK;
    }
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    if (stat(path, &sb) == 0) return mkv_read_text_file(path, MKV_HF_MAX_JSON_BYTES, out, NULL);
    snprintf(path, sizeof path, "%s/chat_template.json", dir);
    cJSON *json = NULL;
    mkv_status st = mkv_hf_read_json(path, true, &json);
    if (st || !json) return st;
    const char *t = template_of(get(json, "chat_template"));
    if (t && !(*out = copy_text(t))) st = mkv_last_status();
    cJSON_Delete(json);
    return st;
}

/* ------------------------------------------------------------ SpecialVocab */

static const char *const special_names[MKV_SPECIAL_COUNT] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask", "eot", "eom"};

const char *mkv_special_kind_name(mkv_special_kind kind) {
    return kind >= 0 && kind < MKV_SPECIAL_COUNT ? special_names[kind] : "?";
}

/* Python equality of two JSON values as SpecialVocab compares them
 * (None == None, str == str by content, dict == dict by value). */
static bool py_equal(const cJSON *a, const cJSON *b) {
    if (!a || !b) return !a && !b;
    if (cJSON_IsString(a) && cJSON_IsString(b)) return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsString(a) || cJSON_IsString(b)) return false;
    return cJSON_Compare(a, b, true);
}

/* Python truthiness of a JSON value (None, "", {}, [] and 0 are false). */
static bool py_truthy(const cJSON *v) {
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return false;
    if (cJSON_IsString(v)) return v->valuestring[0] != '\0';
    if (cJSON_IsNumber(v)) return v->valuedouble != 0;
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) return v->child != NULL;
    return true;
}

typedef struct {
    mkv_hf_special_vocab *sv;
    bool types[MKV_SPECIAL_COUNT];           /* special_token_types */
    const cJSON *tc_override[MKV_SPECIAL_COUNT]; /* tokenizer_config['<typ>_token'] = ... assignments */
    bool tc_overridden[MKV_SPECIAL_COUNT];
} special_state;

static void set_add(mkv_hf_special_vocab *sv, mkv_special_kind k, bool value) {
    if (sv->add[k] < 0) sv->add_order[sv->n_adds++] = k;
    sv->add[k] = value ? 1 : 0;
}

static mkv_status set_special(mkv_hf_special_vocab *sv, mkv_special_kind k, const cJSON *tid, const char *source) {
    int64_t id;
    if (cJSON_IsBool(tid)) id = cJSON_IsTrue(tid) ? 1 : 0; /* Python's bool is an int */
    else if (!json_int(tid, &id)) return MKV_OK;
    if (id < 0) return mkv_fail(MKV_ERR_FORMAT, "%s: invalid value for special token type %s: %lld", source, special_names[k], (long long)id);
    if (sv->ids[k] >= 0) return MKV_OK;
    sv->ids[k] = id;
    sv->id_order[sv->n_ids++] = k;
    return MKV_OK;
}

static const cJSON *special_token_of(const cJSON *item) {
    const cJSON *st = get(item, "SpecialToken");
    return st ? get(st, "id") : NULL;
}

static const cJSON *tc_entry(const special_state *s, const cJSON *tc, mkv_special_kind k) {
    if (s->tc_overridden[k]) return s->tc_override[k];
    char key[32];
    snprintf(key, sizeof key, "%s_token", special_names[k]);
    return get(tc, key);
}

static void tc_assign(special_state *s, mkv_special_kind k, const cJSON *v) {
    s->tc_override[k] = v;
    s->tc_overridden[k] = true;
}

static void parse_template_processing(special_state *s, const cJSON *processor, const cJSON *tc, const cJSON **special_bos,
                                      const cJSON **special_eos, const cJSON **special_cls, const cJSON **special_sep) {
    mkv_hf_special_vocab *sv = s->sv;
    const cJSON *single = get(processor, "single"), *pair = get(processor, "pair");
    int n_single = cJSON_IsArray(single) ? cJSON_GetArraySize(single) : 0;
    const cJSON *special_first = NULL, *special_last = NULL;
    if (n_single > 1) {
        special_first = special_token_of(cJSON_GetArrayItem(single, 0));
        if (py_truthy(special_first)) {
            if (!tc) *special_bos = special_first;
            set_add(sv, MKV_SPECIAL_BOS, py_equal(special_first, *special_bos) || py_equal(special_first, *special_cls));
        } else {
            special_first = NULL;
        }
        special_last = special_token_of(cJSON_GetArrayItem(single, n_single - 1));
        if (py_truthy(special_last)) {
            if (!tc) {
                *special_eos = special_last;
            } else if (!py_equal(special_last, *special_eos)) {
                if (!s->types[MKV_SPECIAL_EOT]) {
                    s->types[MKV_SPECIAL_EOT] = true;
                    tc_assign(s, MKV_SPECIAL_EOT, *special_eos);
                } else if (!s->types[MKV_SPECIAL_EOM]) {
                    s->types[MKV_SPECIAL_EOM] = true;
                    tc_assign(s, MKV_SPECIAL_EOM, *special_eos);
                }
                tc_assign(s, MKV_SPECIAL_EOS, special_last);
                *special_eos = special_last;
            }
            set_add(sv, MKV_SPECIAL_EOS, py_equal(special_last, *special_eos));
        } else {
            special_last = NULL;
        }
    }
    int n_pair = cJSON_IsArray(pair) ? cJSON_GetArraySize(pair) : 0;
    if (n_pair == 0) return;
    int start = special_first && py_equal(special_token_of(cJSON_GetArrayItem(pair, 0)), special_first) ? 1 : 0;
    int stop = special_last && py_equal(special_token_of(cJSON_GetArrayItem(pair, n_pair - 1)), special_last) ? n_pair - 1 : n_pair;
    if (stop - start <= 0) return;
    const cJSON *a = get(get(cJSON_GetArrayItem(pair, start), "Sequence"), "id");
    const cJSON *b = get(get(cJSON_GetArrayItem(pair, stop - 1), "Sequence"), "id");
    bool is_a = cJSON_IsString(a) && !strcmp(a->valuestring, "A"), is_b = cJSON_IsString(b) && !strcmp(b->valuestring, "B");
    /* tmpl_pair[1:-1] must be non-empty */
    int inner_start = start + 1, inner_stop = stop - 1;
    if (!(is_a && is_b) || inner_stop - inner_start <= 0) return;
    bool add_sep = false;
    const cJSON *entry = special_token_of(cJSON_GetArrayItem(pair, inner_start));
    if (py_truthy(entry) && (py_equal(entry, *special_sep) || py_equal(entry, *special_eos)) && !special_last) add_sep = true;
    if (inner_stop - inner_start == 2) {
        entry = special_token_of(cJSON_GetArrayItem(pair, inner_start + 1));
        if (py_truthy(entry) && (py_equal(entry, *special_sep) || py_equal(entry, *special_eos))) add_sep = true;
    }
    set_add(sv, MKV_SPECIAL_SEP, add_sep);
    if (add_sep && !py_truthy(*special_sep) && tc) tc_assign(s, MKV_SPECIAL_SEP, *special_eos);
}

mkv_status mkv_hf_special_vocab_load(const char *dir, mkv_hf_special_vocab *out) {
    memset(out, 0, sizeof *out);
    for (int k = 0; k < MKV_SPECIAL_COUNT; k++) out->ids[k] = -1, out->add[k] = -1;
    special_state s = {.sv = out};
    for (int k = 0; k <= MKV_SPECIAL_MASK; k++) s.types[k] = true;

    char path[4096];
    cJSON *tokenizer = NULL, *tc = NULL, *config = NULL;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    mkv_status st = mkv_hf_read_json(path, true, &tokenizer);
    if (!st) {
        snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
        st = mkv_hf_read_json(path, true, &tc);
    }
    if (st) goto done;
    const cJSON *added_tokens = tokenizer ? get(tokenizer, "added_tokens") : NULL;
    if (tokenizer) {
        const cJSON *special_bos = get(tc, "bos_token"), *special_cls = get(tc, "cls_token");
        const cJSON *special_eos = get(tc, "eos_token"), *special_sep = get(tc, "sep_token");
        if (!py_truthy(special_bos) && py_truthy(special_cls) && py_truthy(tc)) {
            tc_assign(&s, MKV_SPECIAL_BOS, special_cls);
            special_bos = special_cls;
        }
        if (!py_truthy(special_eos) && py_truthy(special_sep) && py_truthy(tc)) {
            tc_assign(&s, MKV_SPECIAL_EOS, special_sep);
            special_eos = special_sep;
        }
        const cJSON *post = get(tokenizer, "post_processor");
        if (py_truthy(post)) {
            const cJSON *procs = get(post, "processors");
            const cJSON *single_list[1] = {post};
            int n = procs ? cJSON_GetArraySize(procs) : 1;
            for (int i = 0; i < n; i++) {
                const cJSON *p = procs ? cJSON_GetArrayItem(procs, i) : single_list[0];
                const cJSON *type = get(p, "type");
                if (!cJSON_IsString(type)) continue;
                if (!strcmp(type->valuestring, "RobertaProcessing")) {
                    set_add(out, MKV_SPECIAL_BOS, true);
                    set_add(out, MKV_SPECIAL_EOS, true);
                    set_add(out, MKV_SPECIAL_SEP, true);
                    if (!py_truthy(special_cls) && py_truthy(tc)) {
                        const cJSON *cls = get(p, "cls");
                        special_cls = cJSON_IsArray(cls) ? cJSON_GetArrayItem(cls, 0) : special_bos;
                        tc_assign(&s, MKV_SPECIAL_CLS, special_cls);
                    }
                    if (!py_truthy(special_sep) && py_truthy(tc)) {
                        const cJSON *sep = get(p, "sep");
                        special_sep = cJSON_IsArray(sep) ? cJSON_GetArrayItem(sep, 0) : special_eos;
                        tc_assign(&s, MKV_SPECIAL_SEP, special_sep);
                    }
                } else if (!strcmp(type->valuestring, "TemplateProcessing")) {
                    parse_template_processing(&s, p, py_truthy(tc) ? tc : NULL, &special_bos, &special_eos, &special_cls,
                                              &special_sep);
                }
            }
        }
    }
    if (py_truthy(tc)) {
        st = mkv_hf_chat_template(dir, tc, &out->chat_template);
        if (st) goto done;
        for (int k = 0; k < MKV_SPECIAL_COUNT; k++) {
            if (!s.types[k]) continue;
            char key[32];
            snprintf(key, sizeof key, "add_%s_token", special_names[k]);
            const cJSON *add = get(tc, key);
            if (cJSON_IsBool(add)) set_add(out, (mkv_special_kind)k, cJSON_IsTrue(add));
            const cJSON *entry = tc_entry(&s, tc, (mkv_special_kind)k);
            const char *content = NULL;
            if (cJSON_IsString(entry)) content = entry->valuestring;
            else if (cJSON_IsObject(entry) && cJSON_IsString(get(entry, "content"))) content = get(entry, "content")->valuestring;
            if (!content) continue;
            const cJSON *atok, *atoks = cJSON_IsArray(added_tokens) ? added_tokens : NULL;
            cJSON_ArrayForEach(atok, atoks) {
                const cJSON *c = get(atok, "content");
                if (cJSON_IsString(c) && !strcmp(c->valuestring, content)) {
                    st = set_special(out, (mkv_special_kind)k, get(atok, "id"), "tokenizer.json");
                    break;
                }
            }
            if (st) goto done;
        }
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    st = mkv_hf_read_json(path, true, &config);
    if (st) goto done;
    if (config) {
        for (int k = 0; k < MKV_SPECIAL_COUNT && !st; k++) {
            if (!s.types[k]) continue;
            char key[32];
            snprintf(key, sizeof key, "%s_token_id", special_names[k]);
            const cJSON *id = get(config, key);
            if (!id && get(config, "text_config")) id = get(get(config, "text_config"), key);
            st = set_special(out, (mkv_special_kind)k, id, "config.json");
        }
    }
done:
    cJSON_Delete(tokenizer);
    cJSON_Delete(tc);
    cJSON_Delete(config);
    if (st) mkv_hf_special_vocab_free(out);
    return st;
}

void mkv_hf_special_vocab_free(mkv_hf_special_vocab *sv) {
    if (!sv) return;
    mkv_free(sv->chat_template);
    sv->chat_template = NULL;
}

/* ------------------------------------------------------------ model-id heuristics */

/* Python's re.fullmatch(pattern, s[, re.IGNORECASE]). */
static bool full_match(const char *pattern, const char *s, bool caseless) {
    int err;
    PCRE2_SIZE err_at;
    uint32_t options = PCRE2_ANCHORED | PCRE2_ENDANCHORED | (caseless ? PCRE2_CASELESS : 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &err, &err_at, NULL);
    if (!re) return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = md ? pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) : -1;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

static char *dup_range(const char *s, size_t n) {
    char *c = mkv_malloc(n + 1, "model id");
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* Python str.islower(): some cased character and none upper-case. */
static bool py_islower(const char *w) {
    bool cased = false;
    for (const char *p = w; *p; p++) {
        if (isupper((unsigned char)*p)) return false;
        if (islower((unsigned char)*p)) cased = true;
    }
    return cased;
}

char *mkv_hf_id_to_title(const char *id) {
    size_t n = strlen(id);
    char *out = mkv_malloc(n + 1, "model title"), *o = out;
    if (!out) return NULL;
    const char *p = id;
    char word[256];
    while (*p) {
        while (*p == ' ' || *p == '-' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        size_t len = 0;
        while (p[len] && p[len] != ' ' && p[len] != '-' && p[len] != '\t' && p[len] != '\n') len++;
        size_t wl = len < sizeof word - 1 ? len : sizeof word - 1;
        memcpy(word, p, wl);
        word[wl] = '\0';
        if (o != out) *o++ = ' ';
        if (py_islower(word) && !full_match("v\\d+(?:\\.\\d+)*|\\d.*", word, false)) {
            /* str.title(): upper-case a letter that follows a non-letter */
            bool prev_alpha = false;
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)p[i];
                *o++ = (char)(isalpha(c) ? (prev_alpha ? tolower(c) : toupper(c)) : c);
                prev_alpha = isalpha(c) != 0;
            }
        } else {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
    }
    *o = '\0';
    return out;
}

enum { T_BASENAME = 1, T_SIZE = 2, T_FINETUNE = 4, T_VERSION = 8, T_TYPE = 16 };

/* "-".join(parts whose types include `want` and not `exclude`), deduplicated when `dedup`. */
static char *join_parts(char **parts, const int *types, int n, int want, int exclude, bool dedup) {
    size_t total = 1;
    for (int i = 0; i < n; i++) total += strlen(parts[i]) + 1;
    char *out = mkv_malloc(total, "model id");
    if (!out) return NULL;
    out[0] = '\0';
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (!(types[i] & want) || (types[i] & exclude)) continue;
        bool seen = false;
        for (int j = 0; dedup && j < i; j++)
            if ((types[j] & want) && !(types[j] & exclude) && !strcmp(parts[j], parts[i])) seen = true;
        if (seen) continue;
        if (any) strcat(out, "-");
        strcat(out, parts[i]);
        any = true;
    }
    if (!any) {
        mkv_free(out);
        return NULL;
    }
    return out;
}

void mkv_hf_model_id_free(mkv_hf_model_id *id) {
    if (!id) return;
    mkv_free(id->name);
    mkv_free(id->organization);
    mkv_free(id->basename);
    mkv_free(id->finetune);
    mkv_free(id->version);
    mkv_free(id->size_label);
    memset(id, 0, sizeof *id);
}

/* Metadata.get_model_id_components. */
mkv_status mkv_hf_model_id_parse(const char *model_id, int64_t total_params, mkv_hf_model_id *out) {
    memset(out, 0, sizeof *out);
    if (!model_id) return MKV_OK;
    if (strchr(model_id, ' ')) {
        out->name = dup_range(model_id, strlen(model_id));
        return out->name ? MKV_OK : mkv_last_status();
    }
    const char *slash = strchr(model_id, '/'), *full = model_id;
    if (slash) {
        if (slash != model_id && model_id[0] == '.') {
            /* './x' and '../x' are paths, not organizations */
        } else if (!(out->organization = dup_range(model_id, (size_t)(slash - model_id)))) {
            return mkv_last_status();
        }
        full = slash + 1;
    }
    if (!(out->name = dup_range(full, strlen(full)))) goto oom;
    int n = 0;
    char *parts[64];
    int types[64] = {0};
    for (const char *p = full; *p && n < 64;) {
        const char *dash = strchr(p, '-');
        size_t len = dash ? (size_t)(dash - p) : strlen(p);
        if (len > 0) {
            /* room for the bloom "7b1" -> "7.1b" rewrite */
            if (!(parts[n] = dup_range(p, len + 1))) goto oom_parts;
            parts[n][len] = '\0';
            n++;
        }
        p += len + (dash ? 1 : 0);
        if (!dash) break;
    }
    for (int i = 0; i < n; i++) {
        char *part = parts[i];
        if (full_match("(v|iter)?\\d+([.]\\d+)*", part, true)) {
            types[i] |= T_VERSION;
        } else if (full_match("i?q\\d(_\\w)*|b?fp?(16|32)", part, true)) {
            types[i] |= T_TYPE;
            for (char *c = part; *c; c++) *c = (char)toupper((unsigned char)*c);
        } else if (i > 0 && full_match("(([A]|\\d+[x])?\\d+([._]\\d+)?[KMBT][\\d]?|small|mini|medium|large|x?xl)", part, true)) {
            for (char *c = part; *c; c++)
                if (*c == '_') *c = '.';
            size_t len = strlen(part);
            if (isdigit((unsigned char)part[len - 1]) && len >= 2) { /* bloom-7b1 -> 7.1b */
                char last = part[len - 1], before = part[len - 2];
                part[len - 2] = '.';
                part[len - 1] = last;
                part[len] = before;
                part[len + 1] = '\0';
                len++;
            }
            if (len > 1 && isdigit((unsigned char)part[len - 2]) && strchr("kmbt", part[len - 1]))
                part[len - 1] = (char)toupper((unsigned char)part[len - 1]);
            if (total_params != 0) {
                char number[64];
                snprintf(number, sizeof number, "%.*s", (int)(len - 1), part);
                char *end = NULL;
                double value = strtod(number, &end);
                bool parsed = number[0] && end && *end == '\0' && !strpbrk(number, "xXpP") && !strpbrk(number, "nNiI");
                if (parsed) {
                    const char *units = " KMBT";
                    const char *u = strchr(units, part[len - 1]);
                    double scale = pow(1000.0, u && part[len - 1] ? (double)(u - units) : -1.0);
                    double label = value * scale;
                    double total = (double)total_params;
                    bool context = (total_params < 0 && label < (double)(llabs(total_params) / 8)) ||
                                   (total_params > 0 && fabs(label - total) > (double)(7 * total_params / 8));
                    if (context) {
                        types[i] |= T_FINETUNE;
                        part[len - 1] = (char)tolower((unsigned char)part[len - 1]);
                    }
                }
            }
            if (!types[i]) types[i] |= T_SIZE;
        } else if (i > 0 && full_match("chat|instruct|vision|lora", part, true)) {
            if (total_params < 0 && !strcasecmp(part, "lora")) types[i] |= T_TYPE;
            else types[i] |= T_FINETUNE;
        }
    }
    /* Ignore word-based size labels when a number-based one is present. */
    bool numeric_size = false;
    for (int i = 0; i < n; i++)
        if ((types[i] & T_SIZE) && strpbrk(parts[i], "0123456789")) numeric_size = true;
    if (numeric_size)
        for (int i = 0; i < n; i++) {
            if (!(types[i] & T_SIZE)) continue;
            bool alpha = true;
            for (const char *c = parts[i]; *c; c++) alpha = alpha && isalpha((unsigned char)*c);
            if (alpha) types[i] &= ~T_SIZE;
        }
    bool at_start = true;
    for (int i = 0; i < n; i++) {
        if (at_start && ((types[i] == 0 && isalpha((unsigned char)parts[i][0])) || (types[i] & T_VERSION))) {
            types[i] |= T_BASENAME;
        } else {
            at_start = false;
            if (types[i] == 0) types[i] |= T_FINETUNE;
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        if ((types[i] & T_BASENAME) && (types[i] & ~T_BASENAME)) types[i] &= ~T_BASENAME;
        else break;
    }
    out->basename = join_parts(parts, types, n, T_BASENAME, 0, false);
    out->size_label = join_parts(parts, types, n, T_SIZE, 0, true);
    out->finetune = join_parts(parts, types, n, T_FINETUNE, 0, false);
    out->version = join_parts(parts, types, n, T_VERSION, T_BASENAME, false);
    if (!out->size_label && !out->finetune && !out->version) {
        mkv_free(out->basename);
        out->basename = NULL;
    }
    for (int i = 0; i < n; i++) mkv_free(parts[i]);
    return MKV_OK;
oom_parts:
    for (int i = 0; i < n; i++) mkv_free(parts[i]);
oom:
    mkv_hf_model_id_free(out);
    return mkv_last_status();
}
