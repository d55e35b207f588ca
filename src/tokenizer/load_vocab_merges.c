/* The "slow tokenizer" files of an HF directory without tokenizer.json:
 * vocab.json (token -> id), merges.txt (one "left right" per line, by rank,
 * after an optional "#version" line), the added tokens of
 * tokenizer_config.json's added_tokens_decoder (ids and flags) and of
 * added_tokens.json (content -> id), and tokenizer_config.json's
 * tokenizer_class, which picks the pre-tokenizer: Qwen2Tokenizer /
 * DreamTokenizer (what a stock Dream-v0-Instruct-7B folder ships) get Qwen2's
 * NFC + Split regex + ByteLevel, GPT2Tokenizer GPT-2's ByteLevel regex
 * (add_prefix_space from the config). The result is the tokenizer HF
 * builds from the same files (transformers' Qwen2Tokenizer / GPT2Tokenizer). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

#define MAX_FILE_BYTES ((size_t)1 << 30)

typedef struct {
    int32_t id;
    const char *content;
    bool special, lstrip, rstrip, single_word, normalized;
} added_entry;

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static mkv_status read_json(const char *path, bool optional, char **text, cJSON **out) {
    *out = NULL;
    *text = NULL;
    if (optional && !file_exists(path)) return MKV_OK;
    size_t len;
    mkv_status st = mkv_read_text_file(path, MAX_FILE_BYTES, text, &len);
    if (st) return st;
    *out = cJSON_ParseWithLength(*text, len);
    if (!*out) {
        const char *at = cJSON_GetErrorPtr();
        if (at && at >= *text && at <= *text + len)
            return mkv_fail(MKV_ERR_FORMAT, "%s: invalid JSON at byte %zu", path, (size_t)(at - *text));
        return mkv_fail(MKV_ERR_FORMAT, "%s: invalid JSON", path);
    }
    if (!cJSON_IsObject(*out)) return mkv_fail(MKV_ERR_FORMAT, "%s: not a JSON object", path);
    return MKV_OK;
}

static bool json_id(const cJSON *v, int64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d != floor(d) || d >= MKV_TOKENIZER_MAX_ID) return false;
    *out = (int64_t)d;
    return true;
}

static mkv_status flag(const char *path, const cJSON *obj, const char *key, bool dflt, bool *out, const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        *out = dflt;
        return MKV_OK;
    }
    if (!cJSON_IsBool(v)) return mkv_fail(MKV_ERR_FORMAT, "%s: %s.%s is not a boolean", path, where, key);
    *out = cJSON_IsTrue(v);
    return MKV_OK;
}

/* The content of tokenizer_config.json's `key`: a string or {"content": ...}. */
static const char *token_content(const cJSON *config, const char *key) {
    const cJSON *v = config ? cJSON_GetObjectItemCaseSensitive(config, key) : NULL;
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether `content` is one of the special tokens tokenizer_config.json names. */
static bool named_special(const cJSON *config, const char *content) {
    static const char *const keys[] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                                       "mask_token"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *c = token_content(config, keys[k]);
        if (c && !strcmp(c, content)) return true;
    }
    const cJSON *extra = config ? cJSON_GetObjectItemCaseSensitive(config, "additional_special_tokens") : NULL;
    const cJSON *item;
    cJSON_ArrayForEach(item, extra) {
        const cJSON *c = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "content") : item;
        if (cJSON_IsString(c) && !strcmp(c->valuestring, content)) return true;
    }
    return false;
}

/* tokenizer_class -> tokenizer.ggml.pre family name, NULL when unsupported. */
static const char *pre_of_class(const char *cls) {
    static const struct {
        const char *cls, *pre;
    } classes[] = {{"Qwen2Tokenizer", "qwen2"}, {"Qwen2TokenizerFast", "qwen2"}, {"DreamTokenizer", "qwen2"},
                   {"GPT2Tokenizer", "gpt-2"},  {"GPT2TokenizerFast", "gpt-2"}};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (!strcmp(cls, classes[i].cls)) return classes[i].pre;
    return NULL;
}

/* Added tokens of added_tokens_decoder ({"id": {content, flags}}) and of
 * added_tokens.json ({content: id}); the decoder's flags win. */
static mkv_status collect_added(const char *dir, const cJSON *config, const cJSON *added_json, added_entry **out,
                                int *n_out) {
    *out = NULL;
    *n_out = 0;
    const cJSON *decoder = config ? cJSON_GetObjectItemCaseSensitive(config, "added_tokens_decoder") : NULL;
    int cap = (cJSON_IsObject(decoder) ? cJSON_GetArraySize(decoder) : 0) +
              (added_json ? cJSON_GetArraySize(added_json) : 0);
    added_entry *list = mkv_calloc((size_t)(cap > 0 ? cap : 1), sizeof *list, "tokenizer added tokens");
    if (!list) return mkv_last_status();
    int n = 0;
    mkv_status st = MKV_OK;
    const cJSON *item;
    if (decoder && !cJSON_IsObject(decoder)) {
        st = mkv_fail(MKV_ERR_FORMAT, "%s/tokenizer_config.json: added_tokens_decoder is not an object", dir);
        goto fail;
    }
    cJSON_ArrayForEach(item, decoder) {
        char *end;
        long id = strtol(item->string, &end, 10);
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
        if (*end || end == item->string || id < 0 || id >= MKV_TOKENIZER_MAX_ID || !cJSON_IsString(content)) {
            st = mkv_fail(MKV_ERR_FORMAT, "%s/tokenizer_config.json: added_tokens_decoder entry '%.32s' is not an id "
                          "with a content string", dir, item->string);
            goto fail;
        }
        added_entry *e = &list[n++];
        e->id = (int32_t)id;
        e->content = content->valuestring;
        const char *where = "added_tokens_decoder entry";
        char path[4200];
        snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
        if ((st = flag(path, item, "special", false, &e->special, where)) ||
            (st = flag(path, item, "lstrip", false, &e->lstrip, where)) ||
            (st = flag(path, item, "rstrip", false, &e->rstrip, where)) ||
            (st = flag(path, item, "single_word", false, &e->single_word, where)) ||
            (st = flag(path, item, "normalized", !e->special, &e->normalized, where)))
            goto fail;
    }
    cJSON_ArrayForEach(item, added_json) {
        int64_t id;
        if (!json_id(item, &id)) {
            st = mkv_fail(MKV_ERR_FORMAT, "%s/added_tokens.json: '%.64s' has no token id", dir, item->string);
            goto fail;
        }
        bool known = false;
        for (int i = 0; i < n && !known; i++) {
            if (list[i].id == id && !strcmp(list[i].content, item->string)) known = true;
            else if (list[i].id == id || !strcmp(list[i].content, item->string)) {
                st = mkv_fail(MKV_ERR_FORMAT, "%s: added_tokens.json gives '%.64s' id %lld, tokenizer_config.json "
                              "disagrees", dir, item->string, (long long)id);
                goto fail;
            }
        }
        if (known) continue;
        added_entry *e = &list[n++];
        e->id = (int32_t)id;
        e->content = item->string;
        e->special = named_special(config, item->string);
        e->normalized = !e->special;
    }
    /* by id, as HF adds them */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && list[j - 1].id > list[j].id; j--) {
            added_entry t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    *out = list;
    *n_out = n;
    return MKV_OK;
fail:
    mkv_free(list);
    return st;
}

static mkv_status load_merges(mkv_tokenizer *tok, const char *path) {
    char *text;
    size_t len;
    mkv_status st = mkv_read_text_file(path, MAX_FILE_BYTES, &text, &len);
    if (st) return st;
    int32_t n_lines = 0;
    for (size_t i = 0; i < len; i++) n_lines += text[i] == '\n';
    if ((st = mkv_tokenizer_reserve_merges(tok, n_lines + 1))) goto done;
    size_t line_no = 0;
    for (char *line = text; line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end) end = text + len;
        char *next = end < text + len ? end + 1 : end;
        line_no++;
        /* as transformers: strip, skip "#version..." on the first line and empty lines */
        while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
        while (line < end && (*line == ' ' || *line == '\t')) line++;
        if (line == end || (line_no == 1 && end - line >= 8 && !memcmp(line, "#version", 8))) {
            line = next;
            continue;
        }
        char *space = memchr(line, ' ', (size_t)(end - line));
        if (!space || memchr(space + 1, ' ', (size_t)(end - space - 1))) {
            st = mkv_fail(MKV_ERR_FORMAT, "%s: line %zu is not two tokens separated by one space", path, line_no);
            goto done;
        }
        char where[48];
        snprintf(where, sizeof where, "merges.txt line %zu", line_no);
        if ((st = mkv_tokenizer_add_merge(tok, line, (size_t)(space - line), space + 1, (size_t)(end - space - 1), where)))
            goto done;
        line = next;
    }
done:
    mkv_free(text);
    return st;
}

static mkv_status load(mkv_tokenizer *tok, const char *dir, const cJSON *config, const cJSON *vocab,
                       const cJSON *added_json) {
    char path[4200];
    mkv_status st;
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(config, "tokenizer_class");
    const char *pre = cJSON_IsString(cls) ? pre_of_class(cls->valuestring) : NULL;
    if (!pre)
        return mkv_fail(MKV_ERR_UNSUPPORTED,
                        "%s/tokenizer_config.json: tokenizer_class '%.64s' is not supported without tokenizer.json "
                        "(known: Qwen2Tokenizer, DreamTokenizer, GPT2Tokenizer)",
                        dir, cJSON_IsString(cls) ? cls->valuestring : "(none)");

    added_entry *added = NULL;
    int n_added = 0;
    if ((st = collect_added(dir, config, added_json, &added, &n_added))) return st;
    int64_t n_vocab = 0, top = -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, vocab) {
        int64_t id;
        if (!json_id(item, &id)) {
            st = mkv_fail(MKV_ERR_FORMAT, "%s/vocab.json: '%.64s' has no token id", dir, item->string);
            goto done;
        }
        if (id > top) top = id;
        n_vocab++;
    }
    for (int i = 0; i < n_added; i++)
        if (added[i].id > top) top = added[i].id;
    if (top + 1 > 2 * (n_vocab + n_added) + 1024) {
        st = mkv_fail(MKV_ERR_FORMAT, "%s: %lld tokens but ids up to %lld (too sparse)", dir, (long long)(n_vocab + n_added),
                      (long long)top);
        goto done;
    }
    if ((st = mkv_tokenizer_set_tokens(tok, (int32_t)(top + 1)))) goto done;
    tok->n_model_vocab = (int32_t)n_vocab;
    cJSON_ArrayForEach(item, vocab) {
        int64_t id;
        json_id(item, &id);
        if ((st = mkv_tokenizer_set_token(tok, (int32_t)id, item->string, strlen(item->string), MKV_TOKEN_TYPE_NORMAL, true,
                                          false)))
            goto done;
    }
    if ((st = mkv_tokenizer_build_vocab_map(tok))) goto done;

    /* the pre-tokenizer and normalizer first: normalized added tokens are matched normalized */
    bool known;
    if ((st = mkv_tokenizer_apply_pre_name(tok, pre, &known))) goto done;
    const cJSON *aps = cJSON_GetObjectItemCaseSensitive(config, "add_prefix_space");
    if (cJSON_IsTrue(aps) && tok->n_pre > 0) tok->pre[tok->n_pre - 1].add_prefix_space = true;
    tok->add_bos = false;

    for (int i = 0; i < n_added; i++) {
        const added_entry *a = &added[i];
        size_t len = strlen(a->content);
        if (len == 0) continue;
        if ((st = mkv_tokenizer_add_added(tok, a->id, a->content, len, a->special, a->lstrip, a->rstrip, a->single_word,
                                          a->normalized)))
            goto done;
        bool in_vocab = tok->tokens[a->id].in_model_vocab;
        if (in_vocab && strcmp(tok->tokens[a->id].text, a->content) != 0) {
            st = mkv_fail(MKV_ERR_FORMAT, "%s: added token '%.64s' has id %d of vocab.json's '%.64s'", dir, a->content,
                          a->id, tok->tokens[a->id].text);
            goto done;
        }
        if ((st = mkv_tokenizer_set_token(tok, a->id, a->content, len,
                                          a->special ? MKV_TOKEN_TYPE_CONTROL : MKV_TOKEN_TYPE_USER_DEFINED, false,
                                          a->special)))
            goto done;
        tok->tokens[a->id].in_model_vocab = in_vocab;
    }

    snprintf(path, sizeof path, "%s/merges.txt", dir);
    if ((st = load_merges(tok, path))) goto done;

    const char *bos = token_content(config, "bos_token"), *eos = token_content(config, "eos_token");
    if (bos) tok->bos_id = mkv_tokenizer_find(tok, bos);
    if (eos) tok->eos_id = mkv_tokenizer_find(tok, eos);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, "add_bos_token")) && tok->bos_id >= 0) {
        if (!(tok->prefix_ids = mkv_malloc(sizeof *tok->prefix_ids, "tokenizer post-processor"))) {
            st = mkv_last_status();
            goto done;
        }
        tok->prefix_ids[0] = tok->bos_id;
        tok->n_prefix = 1;
        tok->add_bos = true;
    }
    st = mkv_tokenizer_finish(tok);
done:
    mkv_free(added);
    return st;
}

mkv_status mkv_tokenizer_load_vocab_merges(const char *dir, mkv_tokenizer **out) {
    *out = NULL;
    char path[4200];
    char *texts[3] = {NULL, NULL, NULL};
    cJSON *config = NULL, *vocab = NULL, *added_json = NULL;
    mkv_tokenizer *tok = NULL;
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    mkv_status st = mkv_tokenizer_alloc(path, &tok);
    if (st) return st;
    if ((st = read_json(path, false, &texts[0], &vocab))) goto done;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (!file_exists(path)) {
        st = mkv_fail(MKV_ERR_IO, "%s: no tokenizer.json, and no tokenizer_config.json to go with vocab.json", dir);
        goto done;
    }
    if ((st = read_json(path, false, &texts[1], &config))) goto done;
    snprintf(path, sizeof path, "%s/added_tokens.json", dir);
    if ((st = read_json(path, true, &texts[2], &added_json))) goto done;
    st = load(tok, dir, config, vocab, added_json);
done:
    cJSON_Delete(config);
    cJSON_Delete(vocab);
    cJSON_Delete(added_json);
    for (int i = 0; i < 3; i++) mkv_free(texts[i]);
    if (st) mkv_tokenizer_free(tok);
    else *out = tok;
    return st;
}
