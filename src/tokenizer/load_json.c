/* HF tokenizer.json loader (byte-level BPE): model.vocab/merges, added
 * tokens (ids assigned as HF's AddedVocabulary::add_tokens does), NFC
 * normalizer, Split/ByteLevel/Digits pre-tokenizers, ByteLevel decoder,
 * TemplateProcessing/Roberta/Bert post-processors (for add_special_tokens). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

#define MAX_JSON_BYTES ((size_t)1 << 30)

typedef struct {
    mkv_tokenizer *tok;
    const char *name;
} json_loader;

static mkv_status bad(const json_loader *L, const char *fmt, const char *detail) {
    return mkv_fail(MKV_ERR_FORMAT, "%s: %s%s", L->name, fmt, detail ? detail : "");
}

/* Optional boolean: absent/null gives `dflt`; another type is an error. */
static mkv_status get_bool(const json_loader *L, const cJSON *obj, const char *key, bool dflt, bool *out,
                           const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        *out = dflt;
        return MKV_OK;
    }
    if (!cJSON_IsBool(v)) return mkv_fail(MKV_ERR_FORMAT, "%s: %s.%s is not a boolean", L->name, where, key);
    *out = cJSON_IsTrue(v);
    return MKV_OK;
}

static bool get_id(const cJSON *v, int64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d != floor(d) || d > 9.0e15) return false;
    *out = (int64_t)d;
    return true;
}

static const char *type_of(const cJSON *obj) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* ------------------------------------------------------------ normalizer */

static mkv_status parse_normalizer(json_loader *L, const cJSON *n) {
    if (!n || cJSON_IsNull(n)) return MKV_OK;
    if (!cJSON_IsObject(n)) return bad(L, "normalizer is not an object", NULL);
    const char *type = type_of(n);
    if (!type) return bad(L, "normalizer has no type", NULL);
    if (!strcmp(type, "NFC")) {
        L->tok->normalize_nfc = true;
        return MKV_OK;
    }
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
        if (!cJSON_IsArray(list)) return bad(L, "normalizer Sequence has no normalizers list", NULL);
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            mkv_status st = parse_normalizer(L, item);
            if (st) return st;
        }
        return MKV_OK;
    }
    return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: the %s normalizer is not supported (only NFC)", L->name, type);
}

/* ------------------------------------------------------------ pre-tokenizer */

static mkv_status parse_pre(json_loader *L, const cJSON *p, int depth) {
    mkv_tokenizer *tok = L->tok;
    mkv_status st;
    if (!p || cJSON_IsNull(p)) return MKV_OK;
    if (depth > 8) return bad(L, "pre_tokenizer is nested too deeply", NULL);
    if (!cJSON_IsObject(p)) return bad(L, "pre_tokenizer is not an object", NULL);
    const char *type = type_of(p);
    if (!type) return bad(L, "pre_tokenizer has no type", NULL);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        if (!cJSON_IsArray(list)) return bad(L, "pre_tokenizer Sequence has no pretokenizers list", NULL);
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            if ((st = parse_pre(L, item, depth + 1))) return st;
        }
        return MKV_OK;
    }
    mkv_pre_step step;
    memset(&step, 0, sizeof step);
    if (!strcmp(type, "ByteLevel")) {
        bool use_regex;
        step.kind = MKV_PRE_BYTELEVEL;
        if ((st = get_bool(L, p, "add_prefix_space", true, &step.add_prefix_space, "pre_tokenizer")) ||
            (st = get_bool(L, p, "use_regex", true, &use_regex, "pre_tokenizer")))
            return st;
        if (use_regex && (st = mkv_tokenizer_compile_regex(tok, mkv_regex_gpt2, strlen(mkv_regex_gpt2), &step.regex)))
            return st;
        step.behavior = MKV_SPLIT_ISOLATED;
        if (use_regex && !tok->pre_name[0]) snprintf(tok->pre_name, sizeof tok->pre_name, "gpt-2");
    } else if (!strcmp(type, "Split")) {
        step.kind = MKV_PRE_SPLIT;
        const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const cJSON *behavior = cJSON_GetObjectItemCaseSensitive(p, "behavior");
        if (!cJSON_IsObject(pattern)) return bad(L, "Split pre_tokenizer has no pattern", NULL);
        if (!cJSON_IsString(behavior)) return bad(L, "Split pre_tokenizer has no behavior", NULL);
        static const char *const behaviors[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                                "Contiguous"};
        int b = -1;
        for (int i = 0; i < 5; i++)
            if (!strcmp(behavior->valuestring, behaviors[i])) b = i;
        if (b < 0) return bad(L, "unknown Split behavior ", behavior->valuestring);
        step.behavior = (mkv_split_behavior)b;
        if ((st = get_bool(L, p, "invert", false, &step.invert, "pre_tokenizer"))) return st;
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(pattern, "Regex");
        const cJSON *lit = cJSON_GetObjectItemCaseSensitive(pattern, "String");
        if (cJSON_IsString(re)) {
            const char *r = re->valuestring;
            if ((st = mkv_tokenizer_compile_regex(tok, r, strlen(r), &step.regex))) return st;
            const char *name = !strcmp(r, mkv_regex_llama3)       ? "llama-bpe"
                               : !strcmp(r, mkv_regex_qwen2)      ? "qwen2"
                               : !strcmp(r, mkv_regex_bailingmoe) ? "bailingmoe"
                               : !strcmp(r, mkv_regex_gpt2)       ? "gpt-2"
                                                                  : NULL;
            if (name && !tok->pre_name[0]) snprintf(tok->pre_name, sizeof tok->pre_name, "%s", name);
        } else if (cJSON_IsString(lit)) {
            size_t n = strlen(lit->valuestring);
            step.literal = mkv_malloc(n + 1, "tokenizer pre-tokenizer");
            if (!step.literal) return mkv_last_status();
            memcpy(step.literal, lit->valuestring, n + 1);
            step.literal_len = n;
        } else {
            return bad(L, "Split pattern is neither Regex nor String", NULL);
        }
    } else if (!strcmp(type, "Digits")) {
        bool individual;
        step.kind = MKV_PRE_DIGITS;
        if ((st = get_bool(L, p, "individual_digits", false, &individual, "pre_tokenizer"))) return st;
        const char *r = individual ? "\\p{N}" : "\\p{N}+";
        if ((st = mkv_tokenizer_compile_regex(tok, r, strlen(r), &step.regex))) return st;
        step.behavior = MKV_SPLIT_ISOLATED;
    } else {
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: the %s pre-tokenizer is not supported", L->name, type);
    }
    st = mkv_tokenizer_add_pre_step(tok, &step);
    if (st) {
        if (step.regex) pcre2_code_free(step.regex);
        mkv_free(step.literal);
    }
    return st;
}

/* ------------------------------------------------------------ decoder, post-processor */

static mkv_status parse_decoder(json_loader *L, const cJSON *d) {
    if (!d || cJSON_IsNull(d)) {
        L->tok->decoder = MKV_DECODER_NONE;
        return MKV_OK;
    }
    if (!cJSON_IsObject(d)) return bad(L, "decoder is not an object", NULL);
    const char *type = type_of(d);
    if (!type) return bad(L, "decoder has no type", NULL);
    if (!strcmp(type, "ByteLevel")) {
        L->tok->decoder = MKV_DECODER_BYTELEVEL;
        return MKV_OK;
    }
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(d, "decoders");
        if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != 1) /* only [ByteLevel] */
            return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: only a ByteLevel decoder is supported", L->name);
        return parse_decoder(L, cJSON_GetArrayItem(list, 0));
    }
    return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: the %s decoder is not supported (only ByteLevel)", L->name, type);
}

static mkv_status push_special(json_loader *L, int32_t **ids, int *n, int64_t id) {
    if (id < 0 || id >= L->tok->n_tokens) return mkv_fail(MKV_ERR_FORMAT, "%s: post_processor id %lld is out of range",
                                                         L->name, (long long)id);
    if (*n >= 64) return bad(L, "post_processor adds too many tokens", NULL);
    int32_t *grown = mkv_realloc(*ids, (size_t)(*n + 1) * sizeof *grown, "tokenizer post-processor");
    if (!grown) return mkv_last_status();
    grown[(*n)++] = (int32_t)id;
    *ids = grown;
    return MKV_OK;
}

/* ["<s>", 0] of RobertaProcessing / BertProcessing. */
static mkv_status pair_id(json_loader *L, const cJSON *pp, const char *key, int64_t *id) {
    const cJSON *pair = cJSON_GetObjectItemCaseSensitive(pp, key);
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !get_id(cJSON_GetArrayItem(pair, 1), id))
        return mkv_fail(MKV_ERR_FORMAT, "%s: post_processor.%s is not a [token, id] pair", L->name, key);
    return MKV_OK;
}

static mkv_status parse_post(json_loader *L, const cJSON *pp, int depth) {
    mkv_tokenizer *tok = L->tok;
    mkv_status st;
    if (!pp || cJSON_IsNull(pp)) return MKV_OK;
    if (depth > 8 || !cJSON_IsObject(pp)) return bad(L, "post_processor is not an object", NULL);
    const char *type = type_of(pp);
    if (!type) return bad(L, "post_processor has no type", NULL);
    if (!strcmp(type, "ByteLevel")) return MKV_OK; /* offsets only */
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pp, "processors");
        if (!cJSON_IsArray(list)) return bad(L, "post_processor Sequence has no processors list", NULL);
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            if ((st = parse_post(L, item, depth + 1))) return st;
        }
        return MKV_OK;
    }
    if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
        int64_t cls, sep;
        if ((st = pair_id(L, pp, "cls", &cls)) || (st = pair_id(L, pp, "sep", &sep))) return st;
        if ((st = push_special(L, &tok->prefix_ids, &tok->n_prefix, cls))) return st;
        return push_special(L, &tok->suffix_ids, &tok->n_suffix, sep);
    }
    if (!strcmp(type, "TemplateProcessing")) {
        const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single");
        const cJSON *specials = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
        if (!cJSON_IsArray(single)) return bad(L, "TemplateProcessing has no single template", NULL);
        bool seen_sequence = false;
        const cJSON *piece;
        cJSON_ArrayForEach(piece, single) {
            const cJSON *sp = cJSON_GetObjectItemCaseSensitive(piece, "SpecialToken");
            if (cJSON_GetObjectItemCaseSensitive(piece, "Sequence")) {
                seen_sequence = true;
                continue;
            }
            const cJSON *name = sp ? cJSON_GetObjectItemCaseSensitive(sp, "id") : NULL;
            if (!cJSON_IsString(name)) return bad(L, "TemplateProcessing piece is neither Sequence nor SpecialToken", NULL);
            const cJSON *entry = cJSON_IsObject(specials) ? cJSON_GetObjectItemCaseSensitive(specials, name->valuestring)
                                                         : NULL;
            const cJSON *ids = entry ? cJSON_GetObjectItemCaseSensitive(entry, "ids") : NULL;
            if (!cJSON_IsArray(ids)) return bad(L, "TemplateProcessing has no ids for special token ", name->valuestring);
            const cJSON *idv;
            cJSON_ArrayForEach(idv, ids) {
                int64_t id;
                if (!get_id(idv, &id)) return bad(L, "TemplateProcessing id is not a token id", NULL);
                st = seen_sequence ? push_special(L, &tok->suffix_ids, &tok->n_suffix, id)
                                   : push_special(L, &tok->prefix_ids, &tok->n_prefix, id);
                if (st) return st;
            }
        }
        return MKV_OK;
    }
    return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: the %s post-processor is not supported", L->name, type);
}

/* ------------------------------------------------------------ model and added tokens */

static mkv_status parse_merge(json_loader *L, const cJSON *m, int64_t index) {
    char where[48];
    snprintf(where, sizeof where, "model.merges[%lld]", (long long)index);
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring;
        const char *space = strchr(s, ' ');
        if (!space || strchr(space + 1, ' '))
            return mkv_fail(MKV_ERR_FORMAT, "%s: %s: '%.64s' is not two tokens separated by one space", L->name, where, s);
        return mkv_tokenizer_add_merge(L->tok, s, (size_t)(space - s), space + 1, strlen(space + 1), where);
    }
    if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2) {
        const cJSON *a = cJSON_GetArrayItem(m, 0), *b = cJSON_GetArrayItem(m, 1);
        if (cJSON_IsString(a) && cJSON_IsString(b))
            return mkv_tokenizer_add_merge(L->tok, a->valuestring, strlen(a->valuestring), b->valuestring,
                                           strlen(b->valuestring), where);
    }
    return mkv_fail(MKV_ERR_FORMAT, "%s: %s is neither \"a b\" nor [\"a\", \"b\"]", L->name, where);
}

static mkv_status load_root(json_loader *L, const cJSON *root) {
    mkv_tokenizer *tok = L->tok;
    mkv_status st;
    if (!cJSON_IsObject(root)) return bad(L, "not a JSON object", NULL);
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (version && (!cJSON_IsString(version) || strcmp(version->valuestring, "1.0") != 0))
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: unknown tokenizer.json version", L->name);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model)) return bad(L, "no \"model\" object (is this a tokenizer.json?)", NULL);
    const char *mtype = type_of(model);
    if (mtype && strcmp(mtype, "BPE") != 0)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: model type %s is not supported (only byte-level BPE)", L->name, mtype);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsObject(vocab)) return bad(L, "model.vocab is missing or not an object", NULL);
    if (!cJSON_IsArray(merges)) return bad(L, "model.merges is missing or not an array", NULL);

    /* Model options. */
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: BPE dropout is not supported", L->name);
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
        if (a && !cJSON_IsNull(a) && !(cJSON_IsString(a) && a->valuestring[0] == '\0'))
            return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: model.%s is not supported", L->name, affixes[i]);
    }
    if ((st = get_bool(L, model, "ignore_merges", false, &tok->ignore_merges, "model")) ||
        (st = get_bool(L, model, "byte_fallback", false, &tok->byte_fallback, "model")) ||
        (st = get_bool(L, model, "fuse_unk", false, &tok->fuse_unk, "model")))
        return st;

    /* Sizes: vocabulary ids, then room for the added tokens after them. */
    int64_t n_vocab = 0, max_id = -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, vocab) {
        int64_t id;
        if (!get_id(item, &id)) return bad(L, "model.vocab value is not a token id: ", item->string);
        if (id >= MKV_TOKENIZER_MAX_ID)
            return mkv_fail(MKV_ERR_FORMAT, "%s: model.vocab id %lld of '%.64s' is too large", L->name, (long long)id,
                            item->string);
        if (id > max_id) max_id = id;
        n_vocab++;
    }
    /* Ids without a token become "[PAD<id>]" entries; a real vocabulary has
     * few such holes, a hostile one (found by fuzz_tokenizer_json: one id of
     * 10^8) would allocate gigabytes of them. */
    if (max_id + 1 > 2 * n_vocab + 1024)
        return mkv_fail(MKV_ERR_FORMAT, "%s: model.vocab has %lld tokens but ids up to %lld (too sparse)", L->name,
                        (long long)n_vocab, (long long)max_id);
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added)) return bad(L, "added_tokens is not an array", NULL);
    int64_t n_added_items = cJSON_IsArray(added) ? cJSON_GetArraySize(added) : 0;
    if (n_added_items > MKV_TOKENIZER_MAX_ID) return bad(L, "too many added tokens", NULL);
    int64_t capacity = (max_id + 1 > n_vocab ? max_id + 1 : n_vocab) + n_added_items;
    if (capacity > MKV_TOKENIZER_MAX_ID) return bad(L, "too many tokens", NULL);
    if ((st = mkv_tokenizer_set_tokens(tok, (int32_t)capacity))) return st;
    tok->n_model_vocab = (int32_t)n_vocab;
    cJSON_ArrayForEach(item, vocab) {
        int64_t id;
        get_id(item, &id);
        if ((st = mkv_tokenizer_set_token(tok, (int32_t)id, item->string, strlen(item->string), MKV_TOKEN_TYPE_NORMAL,
                                          true, false)))
            return st;
    }
    if ((st = mkv_tokenizer_build_vocab_map(tok))) return st;

    /* The normalizer first: normalized added tokens are matched normalized. */
    if ((st = parse_normalizer(L, cJSON_GetObjectItemCaseSensitive(root, "normalizer")))) return st;

    /* Added tokens get their ids as HF's add_tokens assigns them (the "id"
     * fields of the file are not used, as in HF): the vocabulary id of the
     * same content, else the next id after the model vocabulary. */
    int64_t next_id = n_vocab, top = max_id;
    int64_t index = 0;
    if (cJSON_IsArray(added)) {
        cJSON_ArrayForEach(item, added) {
            char where[48];
            snprintf(where, sizeof where, "added_tokens[%lld]", (long long)index++);
            if (!cJSON_IsObject(item)) return mkv_fail(MKV_ERR_FORMAT, "%s: %s is not an object", L->name, where);
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
            const cJSON *idv = cJSON_GetObjectItemCaseSensitive(item, "id");
            int64_t file_id;
            if (!cJSON_IsString(content))
                return mkv_fail(MKV_ERR_FORMAT, "%s: %s.content is not a string", L->name, where);
            if (idv && !get_id(idv, &file_id))
                return mkv_fail(MKV_ERR_FORMAT, "%s: %s.id is not a token id", L->name, where);
            bool special, lstrip, rstrip, single_word, normalized;
            if ((st = get_bool(L, item, "special", false, &special, where)) ||
                (st = get_bool(L, item, "lstrip", false, &lstrip, where)) ||
                (st = get_bool(L, item, "rstrip", false, &rstrip, where)) ||
                (st = get_bool(L, item, "single_word", false, &single_word, where)) ||
                (st = get_bool(L, item, "normalized", !special, &normalized, where)))
                return st;
            const char *c = content->valuestring;
            size_t len = strlen(c);
            if (len == 0) continue;
            int32_t existing = mkv_tokenizer_added_find(tok, c, len);
            int64_t id;
            if (existing >= 0) {
                const mkv_added_token *a = &tok->added[existing];
                if (a->special == special && a->lstrip == lstrip && a->rstrip == rstrip &&
                    a->single_word == single_word && a->normalized == normalized)
                    continue; /* identical: ignored */
                id = a->id;
            } else {
                int32_t v = mkv_tokenizer_vocab_find(tok, c, len);
                id = v >= 0 ? v : next_id++;
            }
            if (id > top) top = id;
            if ((st = mkv_tokenizer_add_added(tok, (int32_t)id, c, len, special, lstrip, rstrip, single_word, normalized)))
                return st;
            bool in_vocab = tok->tokens[id].in_model_vocab;
            if ((st = mkv_tokenizer_set_token(tok, (int32_t)id, c, len,
                                              special ? MKV_TOKEN_TYPE_CONTROL : MKV_TOKEN_TYPE_USER_DEFINED, false,
                                              special)))
                return st;
            tok->tokens[id].in_model_vocab = in_vocab;
        }
    }
    tok->n_tokens = (int32_t)(top + 1);

    int64_t n_merges = cJSON_GetArraySize(merges);
    if ((st = mkv_tokenizer_reserve_merges(tok, (int32_t)(n_merges > MKV_TOKENIZER_MAX_ID ? -1 : n_merges)))) return st;
    index = 0;
    cJSON_ArrayForEach(item, merges) {
        if (cJSON_IsString(item) && !strncmp(item->valuestring, "#version", 8)) {
            index++;
            continue;
        }
        if ((st = parse_merge(L, item, index++))) return st;
    }

    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    if (cJSON_IsString(unk)) {
        tok->unk_id = mkv_tokenizer_vocab_find(tok, unk->valuestring, strlen(unk->valuestring));
        if (tok->unk_id < 0) return bad(L, "model.unk_token is not in the vocabulary: ", unk->valuestring);
    } else if (unk && !cJSON_IsNull(unk)) {
        return bad(L, "model.unk_token is not a string", NULL);
    }

    if ((st = parse_pre(L, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), 0)) ||
        (st = parse_decoder(L, cJSON_GetObjectItemCaseSensitive(root, "decoder"))) ||
        (st = parse_post(L, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), 0)))
        return st;
    tok->add_bos = tok->n_prefix > 0;
    return mkv_tokenizer_finish(tok);
}

mkv_status mkv_tokenizer_load_json_text(const char *json, size_t len, const char *name, mkv_tokenizer **out) {
    *out = NULL;
    if (!name) name = "tokenizer.json";
    mkv_tokenizer *tok;
    mkv_status st = mkv_tokenizer_alloc(name, &tok);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        mkv_tokenizer_free(tok);
        const char *at = cJSON_GetErrorPtr();
        if (at && at >= json && at <= json + len)
            return mkv_fail(MKV_ERR_FORMAT, "%s: invalid JSON at byte %zu", name, (size_t)(at - json));
        return mkv_fail(MKV_ERR_FORMAT, "%s: invalid JSON", name);
    }
    json_loader L = {tok, tok->name};
    st = load_root(&L, root);
    cJSON_Delete(root);
    if (st) {
        mkv_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return MKV_OK;
}

mkv_status mkv_tokenizer_load_json(const char *path, mkv_tokenizer **out) {
    *out = NULL;
    char *text;
    size_t len;
    mkv_status st = mkv_read_text_file(path, MAX_JSON_BYTES, &text, &len);
    if (st) return st;
    st = mkv_tokenizer_load_json_text(text, len, path, out);
    mkv_free(text);
    return st;
}
