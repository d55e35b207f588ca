/* Encoding and decoding, step for step as HF `tokenizers` does it:
 *
 *   text -> split on added tokens that are not normalized (leftmost-longest,
 *           lstrip/rstrip/single_word) -> normalize each remaining piece (NFC)
 *        -> split on normalized added tokens -> pre-tokenizer steps (regex
 *           splits, ByteLevel) -> BPE of each pre-token by merge rank
 *
 * A per-call cache maps pre-token bytes to their ids (HF keeps one per model),
 * which makes long natural text cheap: most words repeat. */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

typedef struct {
    size_t start, len; /* into the current segment */
} piece;

typedef struct {
    int32_t id;
    int32_t prev, next;
    bool removed;
} bpe_symbol;

typedef struct {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} bpe_merge;

typedef struct {
    uint32_t hash;
    uint32_t key_start, key_len;  /* into cache_keys */
    uint32_t ids_start, ids_len;  /* into cache_ids */
} cache_slot;

typedef struct {
    const mkv_tokenizer *tok;
    unsigned flags;

    int32_t *ids;
    size_t n_ids, cap_ids;

    pcre2_match_data *match_data;
    pcre2_match_context *match_context;
    pcre2_jit_stack *jit_stack;
    uint32_t match_limit;      /* PCRE2 match steps allowed, from the text length */

    piece *pieces, *pieces_next;
    size_t n_pieces, cap_pieces, n_next, cap_next;

    bpe_symbol *symbols;
    size_t cap_symbols;
    bpe_merge *heap;
    size_t cap_heap;
    char *scratch;
    size_t cap_scratch;

    cache_slot *cache;            /* open addressing, key_len == UINT32_MAX = empty */
    uint32_t cache_mask, cache_count;
    char *cache_keys;
    size_t n_cache_keys, cap_cache_keys;
    int32_t *cache_ids;
    size_t n_cache_ids, cap_cache_ids;
} encoder;

#define CACHE_MAX_ENTRIES (1u << 16)
#define CACHE_MAX_KEY 256

/* ------------------------------------------------------------ growable arrays */

static mkv_status grow(void **array, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return MKV_OK;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / elem) return mkv_fail(MKV_ERR_NOMEM, "%s: too large", what);
        cap2 *= 2;
    }
    void *p = mkv_realloc(*array, cap2 * elem, what);
    if (!p) return mkv_last_status();
    *array = p;
    *cap = cap2;
    return MKV_OK;
}

static mkv_status push_id(encoder *e, int32_t id) {
    if (e->n_ids == e->cap_ids) {
        mkv_status st = grow((void **)&e->ids, &e->cap_ids, e->n_ids + 1, sizeof *e->ids, "token ids");
        if (st) return st;
    }
    e->ids[e->n_ids++] = id;
    return MKV_OK;
}

static mkv_status push_piece(piece **array, size_t *n, size_t *cap, size_t start, size_t len) {
    if (*n == *cap) {
        mkv_status st = grow((void **)array, cap, *n + 1, sizeof **array, "pre-tokenizer pieces");
        if (st) return st;
    }
    (*array)[(*n)++] = (piece){start, len};
    return MKV_OK;
}

/* ------------------------------------------------------------ regex matching */

/* Finds the next match in s[0..n) from `*pos` with Oniguruma's find_iter
 * rules (an empty match right where the previous one ended is skipped by
 * advancing one character). Returns 1 with [*ms, *me), 0 at the end, or -1
 * with an error set. `*last_end` is the end of the previous match, or
 * SIZE_MAX. */
static int next_match(encoder *e, const pcre2_code *re, const char *s, size_t n, size_t *pos, size_t *last_end,
                      size_t *ms, size_t *me) {
    while (*pos <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, *pos, PCRE2_NO_UTF_CHECK, e->match_data, e->match_context);
        if (rc == PCRE2_ERROR_NOMATCH) return 0;
        if (rc < 0) {
            PCRE2_UCHAR message[160];
            pcre2_get_error_message(rc, message, sizeof message);
            if (rc == PCRE2_ERROR_MATCHLIMIT)
                mkv_fail(MKV_ERR_INPUT, "%s: pre-tokenizer regex failed: match limit exceeded (%u steps for %zu bytes of text)",
                         e->tok->name, e->match_limit, n);
            else
                mkv_fail(rc == PCRE2_ERROR_NOMEMORY ? MKV_ERR_NOMEM : MKV_ERR_INPUT, "%s: pre-tokenizer regex failed: %s",
                         e->tok->name, (const char *)message);
            return -1;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->match_data);
        size_t start = ov[0], end = ov[1];
        if (start == end && *last_end == end) {
            if (*pos >= n) return 0;
            int len = mkv_utf8_sequence_length((const unsigned char *)s + *pos, n - *pos);
            *pos += (size_t)(len > 0 ? len : 1);
            continue;
        }
        *pos = end;
        *last_end = end;
        *ms = start;
        *me = end;
        return 1;
    }
    return 0;
}

/* One HF `NormalizedString::split(pattern, behavior)` of piece p of `base`,
 * appending the resulting pieces to pieces_next. */
static mkv_status split_piece(encoder *e, const mkv_pre_step *step, const char *base, piece p) {
    const char *s = base + p.start;
    size_t n = p.len;
    /* Collect (start, end, is_match) covering the piece. */
    typedef struct {
        size_t start, end;
        bool is_match;
    } span;
    span stack_spans[64];
    span *spans = stack_spans;
    size_t n_spans = 0, cap_spans = 64;
    mkv_status st = MKV_OK;
#define ADD_SPAN(a, b, m)                                                                                  \
    do {                                                                                                   \
        if (n_spans == cap_spans) {                                                                        \
            size_t cap2 = cap_spans * 2;                                                                   \
            span *grown = mkv_malloc(cap2 * sizeof *grown, "pre-tokenizer spans");                         \
            if (!grown) {                                                                                  \
                st = mkv_last_status();                                                                    \
                goto done;                                                                                 \
            }                                                                                              \
            memcpy(grown, spans, n_spans * sizeof *spans);                                                 \
            if (spans != stack_spans) mkv_free(spans);                                                     \
            spans = grown;                                                                                 \
            cap_spans = cap2;                                                                              \
        }                                                                                                  \
        spans[n_spans++] = (span){(a), (b), (m)};                                                          \
    } while (0)

    size_t prev = 0;
    if (step->literal) {
        size_t k = step->literal_len;
        for (size_t i = 0; k > 0 && i + k <= n;) {
            if (memcmp(s + i, step->literal, k) == 0) {
                if (prev != i) ADD_SPAN(prev, i, false);
                ADD_SPAN(i, i + k, true);
                i += k;
                prev = i;
            } else {
                i++;
            }
        }
    } else {
        size_t pos = 0, last_end = SIZE_MAX, ms, me;
        for (;;) {
            int r = next_match(e, step->regex, s, n, &pos, &last_end, &ms, &me);
            if (r < 0) {
                st = mkv_last_status();
                goto done;
            }
            if (r == 0) break;
            if (prev != ms) ADD_SPAN(prev, ms, false);
            ADD_SPAN(ms, me, true);
            prev = me;
        }
    }
    if (prev != n) ADD_SPAN(prev, n, false);
    if (step->invert)
        for (size_t i = 0; i < n_spans; i++) spans[i].is_match = !spans[i].is_match;

    /* Apply the behavior: spans become (start, end, remove). */
    size_t w = 0;
    switch (step->behavior) {
    case MKV_SPLIT_ISOLATED:
        for (size_t i = 0; i < n_spans; i++) spans[i].is_match = false;
        w = n_spans;
        break;
    case MKV_SPLIT_REMOVED:
        w = n_spans;
        break;
    case MKV_SPLIT_CONTIGUOUS: {
        bool previous = false;
        for (size_t i = 0; i < n_spans; i++) {
            bool m = spans[i].is_match;
            if (m == previous && w > 0) spans[w - 1].end = spans[i].end;
            else spans[w++] = (span){spans[i].start, spans[i].end, false};
            previous = m;
        }
        break;
    }
    case MKV_SPLIT_MERGED_WITH_PREVIOUS: {
        bool previous = false;
        for (size_t i = 0; i < n_spans; i++) {
            bool m = spans[i].is_match;
            if (m && !previous && w > 0) spans[w - 1].end = spans[i].end;
            else spans[w++] = (span){spans[i].start, spans[i].end, false};
            previous = m;
        }
        break;
    }
    case MKV_SPLIT_MERGED_WITH_NEXT: {
        /* Right to left, then the result is reversed: write from the end. */
        bool previous = false;
        size_t r = n_spans; /* spans[r..n_spans) hold the output, in order */
        for (size_t i = n_spans; i-- > 0;) {
            bool m = spans[i].is_match;
            span cur = spans[i];
            if (m && !previous && r < n_spans) spans[r].start = cur.start;
            else spans[--r] = (span){cur.start, cur.end, false};
            previous = m;
        }
        memmove(spans, spans + r, (n_spans - r) * sizeof *spans);
        w = n_spans - r;
        break;
    }
    }
    for (size_t i = 0; i < w; i++) {
        if (spans[i].is_match || spans[i].end == spans[i].start) continue; /* removed, or empty */
        if ((st = push_piece(&e->pieces_next, &e->n_next, &e->cap_next, p.start + spans[i].start,
                             spans[i].end - spans[i].start)))
            goto done;
    }
done:
    if (spans != stack_spans) mkv_free(spans);
    return st;
#undef ADD_SPAN
}

/* ------------------------------------------------------------ BPE */

static bool merge_get(const mkv_tokenizer *tok, int32_t a, int32_t b, uint32_t *rank, int32_t *new_id) {
    if (!tok->merge_slots) return false;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint64_t x = key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    uint32_t i = (uint32_t)x & tok->merge_mask;
    for (;;) {
        const mkv_merge_slot *s = &tok->merge_slots[i];
        if (s->key == key) {
            *rank = s->rank;
            *new_id = s->new_id;
            return true;
        }
        if (s->key == UINT64_MAX) return false;
        i = (i + 1) & tok->merge_mask;
    }
}

static bool heap_before(const bpe_merge *a, const bpe_merge *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static mkv_status heap_push(encoder *e, size_t *n, bpe_merge m) {
    if (*n == e->cap_heap) {
        mkv_status st = grow((void **)&e->heap, &e->cap_heap, *n + 1, sizeof *e->heap, "BPE queue");
        if (st) return st;
    }
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_before(&m, &e->heap[parent])) break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = m;
    return MKV_OK;
}

static bpe_merge heap_pop(encoder *e, size_t *n) {
    bpe_merge top = e->heap[0];
    bpe_merge last = e->heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n) break;
        if (child + 1 < *n && heap_before(&e->heap[child + 1], &e->heap[child])) child++;
        if (!heap_before(&e->heap[child], &last)) break;
        e->heap[i] = e->heap[child];
        i = child;
    }
    if (*n > 0) e->heap[i] = last;
    return top;
}

static mkv_status add_symbol(encoder *e, size_t *n, int32_t id) {
    if (*n == e->cap_symbols) {
        mkv_status st = grow((void **)&e->symbols, &e->cap_symbols, *n + 1, sizeof *e->symbols, "BPE symbols");
        if (st) return st;
    }
    e->symbols[*n] = (bpe_symbol){id, (int32_t)*n - 1, (int32_t)*n + 1, false};
    (*n)++;
    return MKV_OK;
}

static mkv_status scratch_reserve(encoder *e, size_t need) {
    return grow((void **)&e->scratch, &e->cap_scratch, need, 1, "tokenizer scratch");
}

/* BPE of one pre-token (raw bytes; the byte-level characters are implied).
 * Appends the ids to e->ids. Mirrors HF BPE::merge_word + Word::merge_all. */
static mkv_status bpe_word(encoder *e, const unsigned char *s, size_t n) {
    const mkv_tokenizer *tok = e->tok;
    mkv_status st;
    if (n == 0) return MKV_OK;
    if (tok->ignore_merges) {
        if ((st = scratch_reserve(e, n * 2))) return st;
        size_t w = 0;
        for (size_t i = 0; i < n; i++) w += (size_t)mkv_utf8_encode(tok->byte_char[s[i]], e->scratch + w);
        int32_t id = mkv_tokenizer_vocab_find(tok, e->scratch, w);
        if (id >= 0) return push_id(e, id);
    }
    size_t n_sym = 0;
    int32_t unk_pending = -1; /* HF keeps at most one unk waiting to be fused */
    for (size_t i = 0; i < n; i++) {
        int32_t id = tok->byte_id[s[i]];
        if (id >= 0) {
            if (unk_pending >= 0) {
                if ((st = add_symbol(e, &n_sym, unk_pending))) return st;
                unk_pending = -1;
            }
            if ((st = add_symbol(e, &n_sym, id))) return st;
            continue;
        }
        if (tok->byte_fallback) {
            /* "<0xXX>" for each UTF-8 byte of the byte-level character. */
            char ch[4];
            int k = mkv_utf8_encode(tok->byte_char[s[i]], ch);
            int32_t fb[4];
            bool all = true;
            for (int j = 0; j < k && all; j++) {
                char name[8];
                static const char hex[] = "0123456789ABCDEF";
                unsigned char c = (unsigned char)ch[j];
                name[0] = '<', name[1] = '0', name[2] = 'x', name[3] = hex[c >> 4], name[4] = hex[c & 15], name[5] = '>';
                fb[j] = mkv_tokenizer_vocab_find(tok, name, 6);
                all = fb[j] >= 0;
            }
            if (all) {
                for (int j = 0; j < k; j++)
                    if ((st = add_symbol(e, &n_sym, fb[j]))) return st;
                continue;
            }
        }
        if (tok->unk_id >= 0) {
            if (unk_pending >= 0 && !tok->fuse_unk)
                if ((st = add_symbol(e, &n_sym, unk_pending))) return st;
            unk_pending = tok->unk_id;
        }
        /* else: the character is dropped, as HF does without unk/byte fallback */
    }
    if (unk_pending >= 0 && (st = add_symbol(e, &n_sym, unk_pending))) return st;
    if (n_sym == 0) return MKV_OK;
    e->symbols[n_sym - 1].next = -1;

    bpe_symbol *sym = e->symbols;
    size_t n_heap = 0;
    for (size_t i = 0; i + 1 < n_sym; i++) {
        uint32_t rank;
        int32_t new_id;
        if (merge_get(tok, sym[i].id, sym[i + 1].id, &rank, &new_id))
            if ((st = heap_push(e, &n_heap, (bpe_merge){rank, (uint32_t)i, new_id}))) return st;
        sym = e->symbols;
    }
    while (n_heap > 0) {
        bpe_merge top = heap_pop(e, &n_heap);
        sym = e->symbols;
        bpe_symbol *cur = &sym[top.pos];
        if (cur->removed || cur->next < 0) continue;
        int32_t next_pos = cur->next;
        bpe_symbol right = sym[next_pos];
        uint32_t rank;
        int32_t new_id;
        /* An expired entry: the pair there now is a different merge. */
        if (!merge_get(tok, cur->id, right.id, &rank, &new_id) || new_id != top.new_id) continue;
        cur->id = top.new_id;
        cur->next = right.next;
        sym[next_pos].removed = true;
        if (right.next >= 0) sym[right.next].prev = (int32_t)top.pos;
        if (cur->prev >= 0 && merge_get(tok, sym[cur->prev].id, cur->id, &rank, &new_id)) {
            if ((st = heap_push(e, &n_heap, (bpe_merge){rank, (uint32_t)cur->prev, new_id}))) return st;
            sym = e->symbols;
            cur = &sym[top.pos];
        }
        if (cur->next >= 0 && merge_get(tok, cur->id, sym[cur->next].id, &rank, &new_id))
            if ((st = heap_push(e, &n_heap, (bpe_merge){rank, top.pos, new_id}))) return st;
    }
    sym = e->symbols;
    for (int32_t i = 0; i >= 0; i = sym[i].next)
        if ((st = push_id(e, sym[i].id))) return st;
    return MKV_OK;
}

/* ------------------------------------------------------------ cache */

static mkv_status cache_init(encoder *e) {
    uint32_t cap = 1024;
    e->cache = mkv_malloc(cap * sizeof *e->cache, "tokenizer cache");
    if (!e->cache) return mkv_last_status();
    for (uint32_t i = 0; i < cap; i++) e->cache[i].key_len = UINT32_MAX;
    e->cache_mask = cap - 1;
    return MKV_OK;
}

static cache_slot *cache_find(encoder *e, const char *key, size_t len, uint32_t hash) {
    uint32_t i = hash & e->cache_mask;
    for (;;) {
        cache_slot *s = &e->cache[i];
        if (s->key_len == UINT32_MAX) return s;
        if (s->hash == hash && s->key_len == len && memcmp(e->cache_keys + s->key_start, key, len) == 0) return s;
        i = (i + 1) & e->cache_mask;
    }
}

static mkv_status cache_grow(encoder *e) {
    uint32_t cap = (e->cache_mask + 1) * 2;
    cache_slot *bigger = mkv_malloc(cap * sizeof *bigger, "tokenizer cache");
    if (!bigger) return mkv_last_status();
    for (uint32_t i = 0; i < cap; i++) bigger[i].key_len = UINT32_MAX;
    for (uint32_t i = 0; i <= e->cache_mask; i++) {
        if (e->cache[i].key_len == UINT32_MAX) continue;
        uint32_t j = e->cache[i].hash & (cap - 1);
        while (bigger[j].key_len != UINT32_MAX) j = (j + 1) & (cap - 1);
        bigger[j] = e->cache[i];
    }
    mkv_free(e->cache);
    e->cache = bigger;
    e->cache_mask = cap - 1;
    return MKV_OK;
}

/* BPE through the cache. */
static mkv_status encode_word(encoder *e, const char *s, size_t n) {
    if (n == 0) return MKV_OK;
    if (n > CACHE_MAX_KEY) return bpe_word(e, (const unsigned char *)s, n);
    uint32_t h = mkv_hash_bytes(s, n);
    cache_slot *slot = cache_find(e, s, n, h);
    mkv_status st;
    if (slot->key_len != UINT32_MAX) {
        if ((st = grow((void **)&e->ids, &e->cap_ids, e->n_ids + slot->ids_len, sizeof *e->ids, "token ids"))) return st;
        if (slot->ids_len) memcpy(e->ids + e->n_ids, e->cache_ids + slot->ids_start, slot->ids_len * sizeof *e->ids);
        e->n_ids += slot->ids_len;
        return MKV_OK;
    }
    size_t first = e->n_ids;
    if ((st = bpe_word(e, (const unsigned char *)s, n))) return st;
    if (e->cache_count >= CACHE_MAX_ENTRIES) return MKV_OK;
    size_t n_new = e->n_ids - first;
    if ((st = grow((void **)&e->cache_keys, &e->cap_cache_keys, e->n_cache_keys + n, 1, "tokenizer cache")) ||
        (st = grow((void **)&e->cache_ids, &e->cap_cache_ids, e->n_cache_ids + n_new, sizeof *e->cache_ids,
                   "tokenizer cache")))
        return st;
    if ((e->cache_count + 1) * 2 > e->cache_mask) {
        if ((st = cache_grow(e))) return st;
    }
    slot = cache_find(e, s, n, h);
    memcpy(e->cache_keys + e->n_cache_keys, s, n);
    if (n_new) memcpy(e->cache_ids + e->n_cache_ids, e->ids + first, n_new * sizeof *e->ids); /* ids may be NULL */
    *slot = (cache_slot){h, (uint32_t)e->n_cache_keys, (uint32_t)n, (uint32_t)e->n_cache_ids, (uint32_t)n_new};
    e->n_cache_keys += n;
    e->n_cache_ids += n_new;
    e->cache_count++;
    return MKV_OK;
}

/* ------------------------------------------------------------ pre-tokenization */

/* ByteLevel: optional prefix space, optional GPT-2 regex split, then BPE. */
static mkv_status byte_level_piece(encoder *e, const mkv_pre_step *step, const char *s, size_t n) {
    mkv_status st;
    const char *text = s;
    char *owned = NULL;
    if (step->add_prefix_space && (n == 0 || s[0] != ' ')) {
        owned = mkv_malloc(n + 2, "tokenizer text");
        if (!owned) return mkv_last_status();
        owned[0] = ' ';
        memcpy(owned + 1, s, n);
        owned[n + 1] = '\0';
        text = owned;
        n++;
    }
    if (!step->regex) {
        st = encode_word(e, text, n);
    } else {
        size_t pos = 0, last_end = SIZE_MAX, ms, me, prev = 0;
        st = MKV_OK;
        for (;;) {
            int r = next_match(e, step->regex, text, n, &pos, &last_end, &ms, &me);
            if (r < 0) {
                st = mkv_last_status();
                break;
            }
            if (r == 0) break;
            if (prev != ms && (st = encode_word(e, text + prev, ms - prev))) break;
            if ((st = encode_word(e, text + ms, me - ms))) break;
            prev = me;
        }
        if (!st && prev != n) st = encode_word(e, text + prev, n - prev);
    }
    mkv_free(owned);
    return st;
}

/* Pre-tokenizes and encodes one normalized text piece. */
static mkv_status pretokenize(encoder *e, const char *s, size_t n) {
    const mkv_tokenizer *tok = e->tok;
    mkv_status st;
    if (n == 0) return MKV_OK;
    e->n_pieces = 0;
    if ((st = push_piece(&e->pieces, &e->n_pieces, &e->cap_pieces, 0, n))) return st;
    for (int k = 0; k < tok->n_pre - 1; k++) {
        e->n_next = 0;
        for (size_t i = 0; i < e->n_pieces; i++)
            if ((st = split_piece(e, &tok->pre[k], s, e->pieces[i]))) return st;
        piece *t = e->pieces;
        e->pieces = e->pieces_next;
        e->pieces_next = t;
        size_t c = e->cap_pieces;
        e->cap_pieces = e->cap_next;
        e->cap_next = c;
        e->n_pieces = e->n_next;
    }
    const mkv_pre_step *byte_level = &tok->pre[tok->n_pre - 1];
    for (size_t i = 0; i < e->n_pieces; i++)
        if ((st = byte_level_piece(e, byte_level, s + e->pieces[i].start, e->pieces[i].len))) return st;
    return MKV_OK;
}

/* ------------------------------------------------------------ added tokens */

/* Rust's regex \w on one character (single_word boundaries). */
static bool is_word_char(const encoder *e, const unsigned char *s, size_t n) {
    int len = mkv_utf8_sequence_length(s, n);
    if (len <= 0) return false;
    if (len == 1) return (s[0] >= '0' && s[0] <= '9') || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_';
    int rc = pcre2_match(e->tok->word_char_regex, s, (size_t)len, 0, PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, e->match_data,
                         e->match_context);
    return rc > 0;
}

/* Start of the last character of s[0..n). */
static size_t last_char_start(const unsigned char *s, size_t n) {
    size_t i = n - 1;
    while (i > 0 && (s[i] & 0xC0) == 0x80) i--;
    return i;
}

typedef mkv_status (*segment_fn)(encoder *e, const char *s, size_t n);

/* HF AddedVocabulary::find_matches over s[0..n): token ids are pushed,
 * the text between them goes to `rest`. */
static mkv_status split_added(encoder *e, const mkv_trie *trie, const char *s, size_t n, segment_fn rest) {
    const mkv_tokenizer *tok = e->tok;
    const unsigned char *u = (const unsigned char *)s;
    mkv_status st;
    if (trie->n_nodes == 0) return rest(e, s, n);
    bool parse_special = (e->flags & MKV_TOKENIZE_PARSE_SPECIAL) != 0;
    size_t start_offset = 0;
    size_t i = 0;
    while (i < n) {
        if (!trie->first_byte[u[i]]) {
            i++;
            continue;
        }
        /* Longest token starting at i. */
        int32_t node = 0, best = -1;
        size_t best_end = 0;
        for (size_t j = i; j < n; j++) {
            int32_t child = trie->nodes[node].first_child;
            while (child >= 0 && trie->nodes[child].byte != u[j]) child = trie->nodes[child].next_sibling;
            if (child < 0) break;
            node = child;
            if (trie->nodes[node].added_index >= 0) {
                best = trie->nodes[node].added_index;
                best_end = j + 1;
            }
        }
        if (best < 0) {
            i++;
            continue;
        }
        /* The matcher resumes after this match whether or not it is used. */
        size_t start = i, stop = best_end;
        i = best_end;
        const mkv_added_token *a = &tok->added[best];
        if (!parse_special && a->special) continue;
        if (a->single_word) {
            bool start_space = start == 0 || !is_word_char(e, u + last_char_start(u, start), start - last_char_start(u, start));
            bool stop_space = stop == n || !is_word_char(e, u + stop, n - stop);
            if (!start_space || !stop_space) continue;
        }
        if (a->lstrip) {
            size_t new_start = start;
            while (new_start > 0) {
                size_t k = last_char_start(u, new_start);
                if (!mkv_uc_is_whitespace(mkv_utf8_decode(u + k, (int)(new_start - k)))) break;
                new_start = k;
            }
            start = new_start > start_offset ? new_start : start_offset;
        }
        if (a->rstrip) {
            while (stop < n) {
                int len = mkv_utf8_sequence_length(u + stop, n - stop);
                if (len <= 0 || !mkv_uc_is_whitespace(mkv_utf8_decode(u + stop, len))) break;
                stop += (size_t)len;
            }
        }
        if (start_offset < start && (st = rest(e, s + start_offset, start - start_offset))) return st;
        if ((st = push_id(e, a->id))) return st;
        start_offset = stop;
    }
    if (start_offset < n) return rest(e, s + start_offset, n - start_offset);
    return MKV_OK;
}

static mkv_status after_normalized_split(encoder *e, const char *s, size_t n) { return pretokenize(e, s, n); }

/* A piece between non-normalized added tokens: normalize, then match the
 * normalized added tokens. */
static mkv_status normalize_segment(encoder *e, const char *s, size_t n) {
    const char *text = s;
    size_t len = n;
    char *owned = NULL;
    if (e->tok->normalize_nfc) {
        mkv_status st = mkv_nfc(s, n, &text, &len, &owned);
        if (st) return st;
    }
    mkv_status st = split_added(e, &e->tok->trie_normalized, text, len, after_normalized_split);
    mkv_free(owned);
    return st;
}

/* ------------------------------------------------------------ entry points */

static void encoder_free(encoder *e) {
    mkv_free(e->ids);
    if (e->match_data) pcre2_match_data_free(e->match_data);
    if (e->match_context) pcre2_match_context_free(e->match_context);
    if (e->jit_stack) pcre2_jit_stack_free(e->jit_stack);
    mkv_free(e->pieces);
    mkv_free(e->pieces_next);
    mkv_free(e->symbols);
    mkv_free(e->heap);
    mkv_free(e->scratch);
    mkv_free(e->cache);
    mkv_free(e->cache_keys);
    mkv_free(e->cache_ids);
}

mkv_status mkv_tokenize_ex(const mkv_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **out_ids,
                           int *out_n) {
    *out_ids = NULL;
    *out_n = 0;
    if (!text && len > 0) return mkv_fail(MKV_ERR_INPUT, "%s: no text", tok->name);
    if (len > (size_t)INT32_MAX) return mkv_fail(MKV_ERR_INPUT, "%s: text of %zu bytes is too long", tok->name, len);
    char *repaired = NULL;
    size_t bad;
    if (len > 0 && !mkv_utf8_validate(text, len, &bad)) {
        if (!(flags & MKV_TOKENIZE_LOSSY_UTF8))
            return mkv_fail(MKV_ERR_INPUT, "the text is not valid UTF-8 (byte %zu: 0x%02x)", bad,
                            (unsigned)(unsigned char)text[bad]);
        repaired = mkv_utf8_lossy(text, len, &len);
        if (!repaired) return mkv_last_status();
        text = repaired;
    }
    if ((flags & MKV_TOKENIZE_ADD_BOS) && tok->bos_id < 0) {
        mkv_free(repaired);
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: the tokenizer has no BOS token", tok->name);
    }

    encoder e;
    memset(&e, 0, sizeof e);
    e.tok = tok;
    e.flags = flags;
    mkv_status st = MKV_OK;
    e.match_data = pcre2_match_data_create(1, tok->pcre_context);
    e.match_context = pcre2_match_context_create(tok->pcre_context);
    if (!e.match_data || !e.match_context) {
        st = mkv_fail(MKV_ERR_NOMEM, "%s: out of memory for regex matching", tok->name);
        goto out;
    }
    /* Long pre-tokens (a megabyte of letters is one \p{L}+ match) can need
     * more than PCRE2's default 32 KiB JIT stack. */
    e.jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, tok->pcre_context);
    if (e.jit_stack) pcre2_jit_stack_assign(e.match_context, NULL, e.jit_stack);
    /* PCRE2's default of 10M match steps fails on a 10 MB run of whitespace
     * (one \s+ match); the limit grows with the text so that the work stays
     * linear in it while a pathological pattern still cannot run forever. */
    double limit = 10e6 > 100.0 * (double)len ? 10e6 : 100.0 * (double)len;
    e.match_limit = limit > 4e9 ? 4000000000u : (uint32_t)limit;
    pcre2_set_match_limit(e.match_context, e.match_limit);
    if ((st = cache_init(&e))) goto out;
    if ((st = grow((void **)&e.ids, &e.cap_ids, 16, sizeof *e.ids, "token ids"))) goto out;

    if (flags & MKV_TOKENIZE_ADD_SPECIAL)
        for (int i = 0; i < tok->n_prefix; i++)
            if ((st = push_id(&e, tok->prefix_ids[i]))) goto out;
    if (len > 0 && (st = split_added(&e, &tok->trie_raw, text, len, normalize_segment))) goto out;
    if (flags & MKV_TOKENIZE_ADD_SPECIAL)
        for (int i = 0; i < tok->n_suffix; i++)
            if ((st = push_id(&e, tok->suffix_ids[i]))) goto out;
    if ((flags & MKV_TOKENIZE_ADD_BOS) && (e.n_ids == 0 || e.ids[0] != tok->bos_id)) {
        if ((st = push_id(&e, tok->bos_id))) goto out;
        memmove(e.ids + 1, e.ids, (e.n_ids - 1) * sizeof *e.ids);
        e.ids[0] = tok->bos_id;
    }
    if (e.n_ids > (size_t)INT32_MAX) {
        st = mkv_fail(MKV_ERR_INPUT, "%s: too many tokens", tok->name);
        goto out;
    }
    *out_ids = e.ids;
    *out_n = (int)e.n_ids;
    e.ids = NULL;
out:
    encoder_free(&e);
    mkv_free(repaired);
    return st;
}

mkv_status mkv_tokenize(const mkv_tokenizer *tok, const char *text, size_t len, bool parse_special, int32_t **out_ids,
                        int *out_n) {
    return mkv_tokenize_ex(tok, text, len, parse_special ? MKV_TOKENIZE_PARSE_SPECIAL : 0, out_ids, out_n);
}

mkv_status mkv_detokenize_ex(const mkv_tokenizer *tok, const int32_t *ids, int n, unsigned flags, char **out_text,
                             size_t *out_len) {
    *out_text = NULL;
    if (out_len) *out_len = 0;
    if (n < 0 || (n > 0 && !ids)) return mkv_fail(MKV_ERR_INPUT, "%s: bad id list", tok->name);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_tokens)
            return mkv_fail(MKV_ERR_INPUT, "token id %d is out of range (the vocabulary has %d tokens)", ids[i],
                            tok->n_tokens);
        const mkv_token_entry *t = &tok->tokens[ids[i]];
        total += (t->added_index >= 0 ? tok->added[t->added_index].match_len : t->len) + 1;
    }
    char *buf = mkv_malloc(total + 1, "decoded text");
    if (!buf) return mkv_last_status();
    size_t o = 0;
    bool first = true;
    for (int i = 0; i < n; i++) {
        const mkv_token_entry *t = &tok->tokens[ids[i]];
        /* Ids without a token decode to nothing (HF skips them). */
        if (t->type == MKV_TOKEN_TYPE_UNUSED && t->added_index < 0 && !t->in_model_vocab) continue;
        if ((flags & MKV_DETOKENIZE_SKIP_SPECIAL) && t->special) continue;
        const char *s = t->text;
        size_t len = t->len;
        if (t->added_index >= 0) { /* HF decodes an added token by its (normalized) content */
            s = tok->added[t->added_index].match;
            len = tok->added[t->added_index].match_len;
        }
        if (tok->decoder == MKV_DECODER_NONE) {
            if (!first) buf[o++] = ' ';
            memcpy(buf + o, s, len);
            o += len;
            first = false;
            continue;
        }
        /* ByteLevel: map every character back to its byte; a token with a
         * character outside the byte alphabet is copied as it is. */
        size_t start = o;
        bool mapped = true;
        for (size_t k = 0; k < len;) {
            int l = mkv_utf8_sequence_length((const unsigned char *)s + k, len - k);
            uint32_t cp = l > 0 ? mkv_utf8_decode((const unsigned char *)s + k, l) : 0xFFFFFFFFu;
            if (l <= 0 || cp >= 324 || tok->char_byte[cp] < 0) {
                mapped = false;
                break;
            }
            buf[o++] = (char)tok->char_byte[cp];
            k += (size_t)l;
        }
        if (!mapped) {
            o = start;
            memcpy(buf + o, s, len);
            o += len;
        }
        first = false;
    }
    buf[o] = '\0';
    if (flags & MKV_DETOKENIZE_LOSSY_UTF8) {
        size_t bad;
        if (!mkv_utf8_validate(buf, o, &bad)) {
            char *fixed = mkv_utf8_lossy(buf, o, &o);
            mkv_free(buf);
            if (!fixed) return mkv_last_status();
            buf = fixed;
        }
    }
    *out_text = buf;
    if (out_len) *out_len = o;
    return MKV_OK;
}

mkv_status mkv_detokenize(const mkv_tokenizer *tok, const int32_t *ids, int n, char **out_text, size_t *out_len) {
    return mkv_detokenize_ex(tok, ids, n, 0, out_text, out_len);
}
