/* The tokenizer object: vocabulary, merges, added tokens, pre-tokenizer
 * steps; the pieces both loaders (tokenizer.json, GGUF) share; accessors. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode_tables.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

/* ------------------------------------------------------------ hashing */

uint32_t mkv_hash_bytes(const void *data, size_t len) {
    /* FNV-1a, then a final avalanche so that the low bits used as slot index mix well. */
    const unsigned char *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

mkv_status mkv_strmap_init(mkv_strmap *m, uint32_t expected) {
    uint32_t cap = 16;
    while (cap < expected * 2u + 16u) cap *= 2;
    m->slots = mkv_malloc((size_t)cap * sizeof *m->slots, "tokenizer hash map");
    m->hashes = mkv_malloc((size_t)cap * sizeof *m->hashes, "tokenizer hash map");
    if (!m->slots || !m->hashes) {
        mkv_free(m->slots);
        mkv_free(m->hashes);
        m->slots = NULL;
        m->hashes = NULL;
        return mkv_last_status();
    }
    memset(m->slots, 0xff, (size_t)cap * sizeof *m->slots);
    m->mask = cap - 1;
    m->count = 0;
    return MKV_OK;
}

void mkv_strmap_free(mkv_strmap *m) {
    mkv_free(m->slots);
    mkv_free(m->hashes);
    memset(m, 0, sizeof *m);
}

/* Slot of `key` (found or empty where it would go). The key text of a stored
 * value comes from `key_of`. */
typedef const char *(*key_of_fn)(const mkv_tokenizer *tok, int32_t value, uint32_t *len);

static uint32_t strmap_slot(const mkv_strmap *m, const mkv_tokenizer *tok, key_of_fn key_of, const char *key,
                            size_t len, uint32_t hash) {
    uint32_t i = hash & m->mask;
    for (;;) {
        int32_t v = m->slots[i];
        if (v < 0) return i;
        if (m->hashes[i] == hash) {
            uint32_t klen;
            const char *k = key_of(tok, v, &klen);
            if (klen == len && memcmp(k, key, len) == 0) return i;
        }
        i = (i + 1) & m->mask;
    }
}

static const char *vocab_key(const mkv_tokenizer *tok, int32_t id, uint32_t *len) {
    *len = tok->tokens[id].len;
    return tok->tokens[id].text;
}

static const char *added_key(const mkv_tokenizer *tok, int32_t index, uint32_t *len) {
    *len = tok->added[index].len;
    return tok->added[index].content;
}

int32_t mkv_tokenizer_vocab_find(const mkv_tokenizer *tok, const char *text, size_t len) {
    if (!tok->vocab_map.slots) return -1;
    uint32_t h = mkv_hash_bytes(text, len);
    return tok->vocab_map.slots[strmap_slot(&tok->vocab_map, tok, vocab_key, text, len, h)];
}

int32_t mkv_tokenizer_added_find(const mkv_tokenizer *tok, const char *text, size_t len) {
    if (!tok->added_map.slots) return -1;
    uint32_t h = mkv_hash_bytes(text, len);
    int32_t index = tok->added_map.slots[strmap_slot(&tok->added_map, tok, added_key, text, len, h)];
    return index;
}

/* ------------------------------------------------------------ object */

static void *pcre_alloc(PCRE2_SIZE size, void *data) {
    (void)data;
    return mkv_malloc(size, "tokenizer regex");
}

static void pcre_free(void *ptr, void *data) {
    (void)data;
    mkv_free(ptr);
}

mkv_status mkv_tokenizer_alloc(const char *name, mkv_tokenizer **out) {
    *out = NULL;
    mkv_tokenizer *tok = mkv_calloc(1, sizeof *tok, "tokenizer");
    if (!tok) return mkv_last_status();
    snprintf(tok->name, sizeof tok->name, "%s", name ? name : "tokenizer");
    tok->unk_id = -1;
    tok->bos_id = -1;
    tok->eos_id = -1;
    tok->decoder = MKV_DECODER_BYTELEVEL;
    tok->pcre_context = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
    if (!tok->pcre_context) {
        mkv_free(tok);
        return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory creating the regex context", name ? name : "tokenizer");
    }
    /* GPT-2's bytes_to_unicode: printable bytes map to themselves, the others
     * to U+0100 upwards in byte order. */
    for (int i = 0; i < 324; i++) tok->char_byte[i] = -1;
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        tok->byte_char[b] = printable ? (uint32_t)b : next++;
        tok->char_byte[tok->byte_char[b]] = (int16_t)b;
    }
    for (int b = 0; b < 256; b++) tok->byte_id[b] = -1;
    *out = tok;
    return MKV_OK;
}

static void trie_free(mkv_trie *t) {
    mkv_free(t->nodes);
    memset(t, 0, sizeof *t);
}

void mkv_tokenizer_free(mkv_tokenizer *tok) {
    if (!tok) return;
    if (tok->tokens) {
        for (int32_t i = 0; i < tok->n_tokens; i++) mkv_free(tok->tokens[i].text);
        mkv_free(tok->tokens);
    }
    mkv_strmap_free(&tok->vocab_map);
    for (int32_t i = 0; i < tok->n_added; i++) {
        if (tok->added[i].match != tok->added[i].content) mkv_free(tok->added[i].match);
        mkv_free(tok->added[i].content);
    }
    mkv_free(tok->added);
    mkv_strmap_free(&tok->added_map);
    trie_free(&tok->trie_raw);
    trie_free(&tok->trie_normalized);
    if (tok->word_char_regex) pcre2_code_free(tok->word_char_regex);
    mkv_free(tok->merge_slots);
    if (tok->merge_text) {
        for (int32_t i = 0; i < tok->n_merges; i++) mkv_free(tok->merge_text[i]);
        mkv_free(tok->merge_text);
    }
    for (int i = 0; i < tok->n_pre; i++) {
        if (tok->pre[i].regex) pcre2_code_free(tok->pre[i].regex);
        mkv_free(tok->pre[i].literal);
    }
    mkv_free(tok->pre);
    mkv_free(tok->prefix_ids);
    mkv_free(tok->suffix_ids);
    if (tok->pcre_context) pcre2_general_context_free(tok->pcre_context);
    mkv_free(tok);
}

static char *dup_bytes(const char *s, size_t len, const char *what) {
    char *d = mkv_malloc(len + 1, what);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

mkv_status mkv_tokenizer_set_tokens(mkv_tokenizer *tok, int32_t n_tokens) {
    if (n_tokens < 0 || n_tokens > MKV_TOKENIZER_MAX_ID)
        return mkv_fail(MKV_ERR_FORMAT, "%s: %d tokens is out of range", tok->name, n_tokens);
    tok->tokens = mkv_calloc((size_t)n_tokens + 1, sizeof *tok->tokens, "tokenizer vocabulary");
    if (!tok->tokens) return mkv_last_status();
    for (int32_t i = 0; i < n_tokens; i++) tok->tokens[i].added_index = -1;
    tok->n_tokens = n_tokens;
    return MKV_OK;
}

mkv_status mkv_tokenizer_set_token(mkv_tokenizer *tok, int32_t id, const char *text, size_t len, uint8_t type,
                                   bool in_model_vocab, bool special) {
    if (id < 0 || id >= tok->n_tokens) return mkv_fail(MKV_ERR_FORMAT, "%s: token id %d is out of range", tok->name, id);
    if (len > UINT32_MAX / 2) return mkv_fail(MKV_ERR_FORMAT, "%s: token %d is too long", tok->name, id);
    mkv_token_entry *e = &tok->tokens[id];
    if (e->text && e->in_model_vocab && in_model_vocab)
        return mkv_fail(MKV_ERR_FORMAT, "%s: id %d is given to two vocabulary tokens ('%s' and '%.*s')", tok->name, id,
                        e->text, (int)(len > 64 ? 64 : len), text);
    char *copy = dup_bytes(text, len, "tokenizer token");
    if (!copy) return mkv_last_status();
    mkv_free(e->text);
    e->text = copy;
    e->len = (uint32_t)len;
    e->type = type;
    e->in_model_vocab = e->in_model_vocab || in_model_vocab;
    e->special = special;
    return MKV_OK;
}

mkv_status mkv_tokenizer_build_vocab_map(mkv_tokenizer *tok) {
    uint32_t n = 0;
    for (int32_t i = 0; i < tok->n_tokens; i++)
        if (tok->tokens[i].in_model_vocab) n++;
    mkv_status st = mkv_strmap_init(&tok->vocab_map, n);
    if (st) return st;
    for (int32_t i = 0; i < tok->n_tokens; i++) {
        const mkv_token_entry *e = &tok->tokens[i];
        if (!e->in_model_vocab) continue;
        uint32_t h = mkv_hash_bytes(e->text, e->len);
        uint32_t slot = strmap_slot(&tok->vocab_map, tok, vocab_key, e->text, e->len, h);
        /* The same text at two ids: the later id is the one text -> id finds
         * (as HF's and llama.cpp's maps keep the last); both still decode. */
        if (tok->vocab_map.slots[slot] < 0) tok->vocab_map.count++;
        tok->vocab_map.slots[slot] = i;
        tok->vocab_map.hashes[slot] = h;
    }
    return MKV_OK;
}

mkv_status mkv_tokenizer_add_added(mkv_tokenizer *tok, int32_t id, const char *content, size_t len, bool special,
                                   bool lstrip, bool rstrip, bool single_word, bool normalized) {
    if (id < 0 || id >= tok->n_tokens) return mkv_fail(MKV_ERR_FORMAT, "%s: added token id %d is out of range", tok->name, id);
    if (!tok->added_map.slots) {
        mkv_status st = mkv_strmap_init(&tok->added_map, 1024);
        if (st) return st;
    }
    if (tok->added_map.count * 2 > tok->added_map.mask) { /* grow */
        mkv_strmap bigger;
        mkv_status st = mkv_strmap_init(&bigger, tok->added_map.count * 2);
        if (st) return st;
        for (uint32_t i = 0; i <= tok->added_map.mask; i++) {
            int32_t v = tok->added_map.slots[i];
            if (v < 0) continue;
            uint32_t h = tok->added_map.hashes[i];
            uint32_t j = h & bigger.mask;
            while (bigger.slots[j] >= 0) j = (j + 1) & bigger.mask;
            bigger.slots[j] = v;
            bigger.hashes[j] = h;
            bigger.count++;
        }
        mkv_strmap_free(&tok->added_map);
        tok->added_map = bigger;
    }
    if (tok->n_added == tok->cap_added) {
        int32_t cap = tok->cap_added ? tok->cap_added * 2 : 16;
        mkv_added_token *grown = mkv_realloc(tok->added, (size_t)cap * sizeof *grown, "tokenizer added tokens");
        if (!grown) return mkv_last_status();
        tok->added = grown;
        tok->cap_added = cap;
    }
    char *copy = dup_bytes(content, len, "tokenizer added token");
    if (!copy) return mkv_last_status();
    uint32_t h = mkv_hash_bytes(content, len);
    uint32_t slot = strmap_slot(&tok->added_map, tok, added_key, content, len, h);
    int32_t index;
    if (tok->added_map.slots[slot] >= 0) { /* same content again: later flags win (HF) */
        index = tok->added_map.slots[slot];
        if (tok->added[index].match != tok->added[index].content) mkv_free(tok->added[index].match);
        mkv_free(tok->added[index].content);
    } else {
        index = tok->n_added++;
        tok->added_map.slots[slot] = index;
        tok->added_map.hashes[slot] = h;
        tok->added_map.count++;
    }
    tok->added[index] = (mkv_added_token){id, copy, (uint32_t)len, copy, (uint32_t)len, special, lstrip, rstrip,
                                          single_word, normalized};
    /* A normalized token is matched (and decoded) in its normalized form. */
    if (normalized && tok->normalize_nfc) {
        const char *nfc;
        size_t nfc_len;
        char *owned;
        mkv_status st = mkv_nfc(copy, len, &nfc, &nfc_len, &owned);
        if (st) return st;
        if (owned) {
            tok->added[index].match = owned;
            tok->added[index].match_len = (uint32_t)nfc_len;
        }
    }
    return MKV_OK;
}

/* ------------------------------------------------------------ merges */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

mkv_status mkv_tokenizer_reserve_merges(mkv_tokenizer *tok, int32_t n_merges) {
    if (n_merges < 0 || n_merges > MKV_TOKENIZER_MAX_ID)
        return mkv_fail(MKV_ERR_FORMAT, "%s: %d merges is out of range", tok->name, n_merges);
    uint32_t cap = 16;
    while (cap < (uint32_t)n_merges * 2u + 16u) cap *= 2;
    tok->merge_slots = mkv_malloc((size_t)cap * sizeof *tok->merge_slots, "tokenizer merges");
    tok->merge_text = mkv_calloc((size_t)n_merges + 1, sizeof *tok->merge_text, "tokenizer merges");
    if (!tok->merge_slots || !tok->merge_text) return mkv_last_status();
    for (uint32_t i = 0; i < cap; i++) tok->merge_slots[i].key = UINT64_MAX;
    tok->merge_mask = cap - 1;
    return MKV_OK;
}

mkv_status mkv_tokenizer_add_merge(mkv_tokenizer *tok, const char *left, size_t left_len, const char *right,
                                   size_t right_len, const char *where) {
    int32_t rank = tok->n_merges;
    if (rank > (int32_t)(tok->merge_mask / 2))
        return mkv_fail(MKV_ERR_FORMAT, "%s: %s: more merges than reserved", tok->name, where);
    int32_t a = mkv_tokenizer_vocab_find(tok, left, left_len);
    if (a < 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: %s: '%.*s' is not in the vocabulary", tok->name, where,
                        (int)(left_len > 64 ? 64 : left_len), left);
    int32_t b = mkv_tokenizer_vocab_find(tok, right, right_len);
    if (b < 0)
        return mkv_fail(MKV_ERR_FORMAT, "%s: %s: '%.*s' is not in the vocabulary", tok->name, where,
                        (int)(right_len > 64 ? 64 : right_len), right);
    /* The merged token is the concatenation of the two. */
    char *text = mkv_malloc(left_len + right_len + 2, "tokenizer merges");
    if (!text) return mkv_last_status();
    memcpy(text, left, left_len);
    memcpy(text + left_len, right, right_len);
    int32_t merged = mkv_tokenizer_vocab_find(tok, text, left_len + right_len);
    if (merged < 0) {
        mkv_fail(MKV_ERR_FORMAT, "%s: %s: the merged token '%.*s' is not in the vocabulary", tok->name, where,
                 (int)(left_len + right_len > 64 ? 64 : left_len + right_len), text);
        mkv_free(text);
        return MKV_ERR_FORMAT;
    }
    /* Stored as "left right", the tokenizer.ggml.merges form. */
    memmove(text + left_len + 1, text + left_len, right_len);
    text[left_len] = ' ';
    text[left_len + 1 + right_len] = '\0';
    tok->merge_text[rank] = text;
    tok->n_merges++;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t i = (uint32_t)mix64(key) & tok->merge_mask;
    while (tok->merge_slots[i].key != UINT64_MAX && tok->merge_slots[i].key != key) i = (i + 1) & tok->merge_mask;
    /* A pair listed twice keeps the later rank, as HF's map insertion does. */
    tok->merge_slots[i] = (mkv_merge_slot){key, (uint32_t)rank, merged};
    return MKV_OK;
}

/* ------------------------------------------------------------ regex and pre-tokenizer */

/* HF runs the pre-tokenizer regexes with Oniguruma; PCRE2 differs in two
 * ways that change pre-tokens, both fixed by rewriting the pattern:
 *  - \s: Oniguruma's is the White_Space property, PCRE2's also matches
 *    U+180E (MONGOLIAN VOWEL SEPARATOR, White_Space until Unicode 6.3);
 *    \s is spelled out.
 *  - \p{L}, \p{N}, ...: Oniguruma's Unicode data is newer (16.0 in
 *    tokenizers 0.23) than Debian PCRE2's (14.0); the code points added since
 *    (unicode_tables.c, probed from HF) are added to the class.
 * \S and \P{..} inside a class (absent from every tokenizer we know) are
 * left as they are. */
#define WHITE_SPACE "\\t-\\r\\x20\\x85\\xA0\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static const char *class_extra(const char *name, size_t len) {
    for (int i = 0; i < mkv_uc_regex_extra_count; i++)
        if (strlen(mkv_uc_regex_extras[i].property) == len && !memcmp(mkv_uc_regex_extras[i].property, name, len))
            return mkv_uc_regex_extras[i].extra;
    return NULL;
}

static char *rewrite_regex(const char *p, size_t n, size_t *out_len) {
    size_t longest = sizeof WHITE_SPACE;
    for (int i = 0; i < mkv_uc_regex_extra_count; i++)
        if (strlen(mkv_uc_regex_extras[i].extra) + 16 > longest) longest = strlen(mkv_uc_regex_extras[i].extra) + 16;
    if (n > (SIZE_MAX - 1) / (longest + 4)) return NULL;
    char *out = mkv_malloc(n * (longest + 4) + 1, "tokenizer regex");
    if (!out) return NULL;
    size_t o = 0;
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[i + 1];
            if (e == 's' || (e == 'S' && !in_class)) {
                if (!in_class) out[o++] = '[';
                if (e == 'S') out[o++] = '^';
                memcpy(out + o, WHITE_SPACE, sizeof WHITE_SPACE - 1);
                o += sizeof WHITE_SPACE - 1;
                if (!in_class) out[o++] = ']';
                i++;
                continue;
            }
            if ((e == 'p' || (e == 'P' && !in_class)) && i + 2 < n && p[i + 2] == '{') {
                const char *close = memchr(p + i + 3, '}', n - i - 3);
                const char *extra = close ? class_extra(p + i + 3, (size_t)(close - (p + i + 3))) : NULL;
                if (extra && extra[0]) {
                    size_t k = (size_t)(close - (p + i)) + 1; /* "\p{L}" */
                    if (!in_class) out[o++] = '[';
                    if (!in_class && e == 'P') out[o++] = '^';
                    memcpy(out + o, p + i, k);
                    out[o + 1] = 'p';
                    o += k;
                    memcpy(out + o, extra, strlen(extra));
                    o += strlen(extra);
                    if (!in_class) out[o++] = ']';
                    i += k - 1;
                    continue;
                }
            }
            out[o++] = c;
            out[o++] = e;
            i++;
            continue;
        }
        if (!in_class && c == '[') {
            in_class = true;
            out[o++] = c;
            /* A ']' first in the class (after an optional '^') is literal. */
            if (i + 1 < n && p[i + 1] == '^') out[o++] = p[++i];
            if (i + 1 < n && p[i + 1] == ']') out[o++] = p[++i];
            continue;
        }
        if (in_class && c == '[' && i + 1 < n && p[i + 1] == ':') { /* POSIX [:name:] */
            const char *end = memchr(p + i + 2, ']', n - i - 2);
            if (end) {
                size_t k = (size_t)(end - p) - i + 1;
                memcpy(out + o, p + i, k);
                o += k;
                i += k - 1;
                continue;
            }
        }
        if (in_class && c == ']') in_class = false;
        out[o++] = c;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

mkv_status mkv_tokenizer_compile_regex(mkv_tokenizer *tok, const char *pattern, size_t len, pcre2_code **out) {
    *out = NULL;
    size_t rewritten_len;
    char *rewritten = rewrite_regex(pattern, len, &rewritten_len);
    if (!rewritten) return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory compiling a regex", tok->name);
    pcre2_compile_context *cctx = pcre2_compile_context_create(tok->pcre_context);
    if (!cctx) {
        mkv_free(rewritten);
        return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory compiling a regex", tok->name);
    }
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)rewritten, rewritten_len, PCRE2_UTF | PCRE2_UCP, &err, &err_offset, cctx);
    pcre2_compile_context_free(cctx);
    mkv_free(rewritten);
    if (!re) {
        PCRE2_UCHAR message[160];
        pcre2_get_error_message(err, message, sizeof message);
        if (err == PCRE2_ERROR_NOMEMORY || err == PCRE2_ERROR_HEAP_FAILED)
            return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory compiling a regex", tok->name);
        return mkv_fail(MKV_ERR_FORMAT, "%s: bad pre-tokenizer regex at offset %zu: %s", tok->name, (size_t)err_offset,
                        (const char *)message);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
    *out = re;
    return MKV_OK;
}

mkv_status mkv_tokenizer_add_pre_step(mkv_tokenizer *tok, const mkv_pre_step *step) {
    if (tok->n_pre >= 16) return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: more than 16 pre-tokenizer steps", tok->name);
    mkv_pre_step *grown = mkv_realloc(tok->pre, (size_t)(tok->n_pre + 1) * sizeof *grown, "tokenizer pre-tokenizer");
    if (!grown) return mkv_last_status();
    tok->pre = grown;
    tok->pre[tok->n_pre++] = *step;
    return MKV_OK;
}

/* ------------------------------------------------------------ tries */

static mkv_status trie_node(mkv_trie *t, uint8_t byte, int32_t *out) {
    if (t->n_nodes == t->cap_nodes) {
        int32_t cap = t->cap_nodes ? t->cap_nodes * 2 : 64;
        mkv_trie_node *grown = mkv_realloc(t->nodes, (size_t)cap * sizeof *grown, "tokenizer added-token trie");
        if (!grown) return mkv_last_status();
        t->nodes = grown;
        t->cap_nodes = cap;
    }
    t->nodes[t->n_nodes] = (mkv_trie_node){-1, -1, -1, byte};
    *out = t->n_nodes++;
    return MKV_OK;
}

static mkv_status trie_insert(mkv_trie *t, const char *s, uint32_t len, int32_t added_index) {
    int32_t node;
    mkv_status st;
    if (t->n_nodes == 0 && (st = trie_node(t, 0, &node))) return st;
    node = 0;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)s[i];
        int32_t child = t->nodes[node].first_child;
        while (child >= 0 && t->nodes[child].byte != b) child = t->nodes[child].next_sibling;
        if (child < 0) {
            if ((st = trie_node(t, b, &child))) return st;
            t->nodes[child].next_sibling = t->nodes[node].first_child;
            t->nodes[node].first_child = child;
        }
        node = child;
    }
    t->nodes[node].added_index = added_index;
    t->first_byte[(uint8_t)s[0]] = true;
    return MKV_OK;
}

/* ------------------------------------------------------------ finishing */

static const char *const bos_names[] = {"<|begin_of_text|>", "<|startoftext|>", "<s>", "<|beginoftext|>", "<bos>"};

mkv_status mkv_tokenizer_finish(mkv_tokenizer *tok) {
    mkv_status st;
    if (tok->n_pre == 0 || tok->pre[tok->n_pre - 1].kind != MKV_PRE_BYTELEVEL)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: only byte-level BPE is supported (the pre-tokenizer must end with ByteLevel)",
                        tok->name);
    for (int i = 0; i < tok->n_pre - 1; i++)
        if (tok->pre[i].kind == MKV_PRE_BYTELEVEL)
            return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: a pre-tokenizer step after ByteLevel is not supported", tok->name);
    for (int b = 0; b < 256; b++) {
        char buf[4];
        int n = mkv_utf8_encode(tok->byte_char[b], buf);
        tok->byte_id[b] = mkv_tokenizer_vocab_find(tok, buf, (size_t)n);
    }
    bool need_word_regex = false;
    for (int32_t i = 0; i < tok->n_added; i++) {
        mkv_added_token *a = &tok->added[i];
        if (a->len == 0 || a->match_len == 0) continue;
        if (a->id < 0 || a->id >= tok->n_tokens)
            return mkv_fail(MKV_ERR_FORMAT, "%s: added token id %d is out of range", tok->name, a->id);
        tok->tokens[a->id].added_index = i;
        if (a->special) tok->tokens[a->id].special = true;
        if ((st = trie_insert(a->normalized ? &tok->trie_normalized : &tok->trie_raw, a->match, a->match_len, i)))
            return st;
        if (a->single_word) need_word_regex = true;
    }
    if (need_word_regex) {
        /* Rust regex's \w, which HF uses for single_word boundaries. */
        static const char word[] = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]";
        if ((st = mkv_tokenizer_compile_regex(tok, word, sizeof word - 1, &tok->word_char_regex))) return st;
    }
    /* Holes (ids without a token) read as llama.cpp's converter writes them. */
    for (int32_t i = 0; i < tok->n_tokens; i++) {
        mkv_token_entry *e = &tok->tokens[i];
        if (e->text) continue;
        char pad[32];
        int n = snprintf(pad, sizeof pad, "[PAD%d]", i);
        e->text = dup_bytes(pad, (size_t)n, "tokenizer token");
        if (!e->text) return mkv_last_status();
        e->len = (uint32_t)n;
        e->type = MKV_TOKEN_TYPE_UNUSED;
    }
    if (tok->bos_id < 0) {
        if (tok->n_prefix > 0) tok->bos_id = tok->prefix_ids[0];
        for (size_t k = 0; tok->bos_id < 0 && k < sizeof bos_names / sizeof bos_names[0]; k++) {
            int32_t index = mkv_tokenizer_added_find(tok, bos_names[k], strlen(bos_names[k]));
            if (index >= 0 && tok->added[index].special) tok->bos_id = tok->added[index].id;
        }
    }
    return MKV_OK;
}

/* ------------------------------------------------------------ loading by path */

mkv_status mkv_tokenizer_load_dir(const char *dir, mkv_tokenizer **out, const char **source) {
    *out = NULL;
    *source = NULL;
    char path[4096];
    struct stat sb;
    int n = snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (n < 0 || (size_t)n >= sizeof path) return mkv_fail(MKV_ERR_IO, "%s: path too long", dir);
    if (stat(path, &sb) == 0) {
        *source = "tokenizer.json";
        return mkv_tokenizer_load_json(path, out);
    }
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    bool vocab = stat(path, &sb) == 0;
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    bool merges = stat(path, &sb) == 0;
    if (!vocab && !merges) return MKV_OK;
    *source = "vocab.json";
    if (!vocab || !merges)
        return mkv_fail(MKV_ERR_IO, "%s: no tokenizer.json, and %s without %s", dir, vocab ? "vocab.json" : "merges.txt",
                        vocab ? "merges.txt" : "vocab.json");
    return mkv_tokenizer_load_vocab_merges(dir, out);
}

mkv_status mkv_tokenizer_load(const char *path, mkv_tokenizer **out) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return mkv_fail(MKV_ERR_IO, "%s: no such file or directory", path);
    if (S_ISDIR(st.st_mode)) {
        const char *source;
        mkv_status s = mkv_tokenizer_load_dir(path, out, &source);
        if (s == MKV_OK && !source)
            return mkv_fail(MKV_ERR_IO, "%s: no tokenizer.json in this directory (nor vocab.json + merges.txt)", path);
        return s;
    }
    int fd;
    struct stat fst;
    mkv_status opened = mkv_open_regular(path, &fd, &fst);
    if (opened) return opened;
    char magic[4] = {0};
    ssize_t got = read(fd, magic, 4);
    close(fd);
    if (got == 4 && memcmp(magic, "GGUF", 4) == 0) {
        mkv_gguf *gguf;
        mkv_status s = mkv_gguf_open(path, &gguf);
        if (s) return s;
        s = mkv_tokenizer_load_gguf(gguf, out);
        mkv_gguf_close(gguf);
        return s;
    }
    return mkv_tokenizer_load_json(path, out);
}

/* ------------------------------------------------------------ accessors */

int mkv_tokenizer_n_vocab(const mkv_tokenizer *tok) { return tok->n_tokens; }

int32_t mkv_tokenizer_find(const mkv_tokenizer *tok, const char *token) {
    size_t len = strlen(token);
    int32_t index = mkv_tokenizer_added_find(tok, token, len);
    if (index >= 0) return tok->added[index].id;
    return mkv_tokenizer_vocab_find(tok, token, len);
}

const char *mkv_tokenizer_token_text(const mkv_tokenizer *tok, int32_t id) {
    if (id < 0 || id >= tok->n_tokens) return NULL;
    return tok->tokens[id].text;
}

int mkv_tokenizer_token_type(const mkv_tokenizer *tok, int32_t id) {
    if (id < 0 || id >= tok->n_tokens) return 0;
    return tok->tokens[id].type;
}

int mkv_tokenizer_n_merges(const mkv_tokenizer *tok) { return tok->n_merges; }

const char *mkv_tokenizer_merge(const mkv_tokenizer *tok, int index) {
    if (index < 0 || index >= tok->n_merges) return NULL;
    return tok->merge_text[index];
}

const char *mkv_tokenizer_pre_name(const mkv_tokenizer *tok) { return tok->pre_name[0] ? tok->pre_name : NULL; }

int32_t mkv_tokenizer_bos_id(const mkv_tokenizer *tok) { return tok->bos_id; }
int32_t mkv_tokenizer_eos_id(const mkv_tokenizer *tok) { return tok->eos_id; }
bool mkv_tokenizer_add_bos(const mkv_tokenizer *tok) { return tok->add_bos; }

bool mkv_tokenizer_is_special(const mkv_tokenizer *tok, int32_t id) {
    return id >= 0 && id < tok->n_tokens && tok->tokens[id].special;
}

mkv_status mkv_tokenizer_set_special(mkv_tokenizer *tok, int32_t bos_id, int32_t eos_id, int add_bos) {
    if (bos_id >= tok->n_tokens) return mkv_fail(MKV_ERR_INPUT, "%s: BOS id %d is out of range", tok->name, bos_id);
    if (eos_id >= tok->n_tokens) return mkv_fail(MKV_ERR_INPUT, "%s: EOS id %d is out of range", tok->name, eos_id);
    if (bos_id >= 0) tok->bos_id = bos_id;
    if (eos_id >= 0) tok->eos_id = eos_id;
    if (add_bos >= 0) tok->add_bos = add_bos != 0;
    return MKV_OK;
}
