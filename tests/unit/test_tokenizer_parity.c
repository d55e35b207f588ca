/* Parity with HF `tokenizers`: every string of tests/data/tokenizer/corpus.bin
 * must encode to exactly the ids HF produced (tools/make_tokenizer_goldens.py)
 * with each of the four tokenizers (GPT-2, Qwen2, LLaMA-3, LLaDA styles), and
 * decode back to what HF decodes. Invalid UTF-8 must be MKV_ERR_INPUT (and,
 * with MKV_TOKENIZE_LOSSY_UTF8, encode as HF encodes the "replace"-decoded
 * text). */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

typedef struct {
    const unsigned char *p, *end;
    bool ok;
} reader;

static uint64_t rd_varint(reader *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->ok = false;
            return 0;
        }
        unsigned char b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    r->ok = false;
    return 0;
}

static const char *rd_bytes(reader *r, size_t *len) {
    *len = (size_t)rd_varint(r);
    if (!r->ok || (size_t)(r->end - r->p) < *len) {
        r->ok = false;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p += *len;
    return s;
}

/* Reads a count and that many ids into a malloc'd array. */
static int32_t *rd_ids(reader *r, int *n) {
    *n = (int)rd_varint(r);
    int32_t *ids = malloc((size_t)*n * sizeof *ids + 1);
    for (int i = 0; i < *n; i++) ids[i] = (int32_t)rd_varint(r);
    return ids;
}

typedef struct {
    int n;
    const char **text;
    size_t *len;
    bool *invalid;
    char *file;
} corpus;

static bool load_corpus(corpus *c) {
    size_t size;
    memset(c, 0, sizeof *c);
    if (mkv_read_text_file(mkv_test_path("data/tokenizer/corpus.bin"), 64u << 20, &c->file, &size)) return false;
    reader r = {(const unsigned char *)c->file + 8, (const unsigned char *)c->file + size, true};
    if (size < 8 || memcmp(c->file, "MKVTC001", 8) != 0) return false;
    c->n = (int)rd_varint(&r);
    c->text = calloc((size_t)c->n, sizeof *c->text);
    c->len = calloc((size_t)c->n, sizeof *c->len);
    c->invalid = calloc((size_t)c->n, sizeof *c->invalid);
    for (int i = 0; i < c->n && r.ok; i++) {
        c->invalid[i] = rd_varint(&r) & 1;
        c->text[i] = rd_bytes(&r, &c->len[i]);
    }
    return r.ok;
}

static void free_corpus(corpus *c) {
    free(c->text);
    free(c->len);
    free(c->invalid);
    mkv_free(c->file);
}

static void print_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n && i < 120; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') fputc(ch, stderr);
        else fprintf(stderr, "\\x%02x", ch);
    }
}

static void print_ids(const char *label, const int32_t *ids, int n) {
    fprintf(stderr, "    %s (%d):", label, n);
    for (int i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

static bool same_ids(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

/* Runs every golden of one style; returns the number of mismatches. */
static int check_style(const char *style, const corpus *c) {
    char path[256];
    snprintf(path, sizeof path, "data/tokenizer/%s/tokenizer.json", style);
    mkv_tokenizer *tok = NULL;
    mkv_status st = mkv_tokenizer_load_json(mkv_test_path(path), &tok);
    CHECK_MSG(st == MKV_OK, "%s: %s", style, mkv_last_error());
    if (st) return 1;
    snprintf(path, sizeof path, "data/tokenizer/%s/golden.bin", style);
    char *file;
    size_t size;
    st = mkv_read_text_file(mkv_test_path(path), 64u << 20, &file, &size);
    CHECK(st == MKV_OK);
    if (st) {
        mkv_tokenizer_free(tok);
        return 1;
    }
    reader r = {(const unsigned char *)file + 8, (const unsigned char *)file + size, size >= 8 && !memcmp(file, "MKVTG001", 8)};
    int mismatches = 0, reported = 0, n_checked = 0;
    int n = (int)rd_varint(&r);
    CHECK_EQ_INT(n, c->n);
    int32_t **golden = calloc((size_t)n, sizeof *golden);
    int *golden_n = calloc((size_t)n, sizeof *golden_n);
#define MISMATCH(i, what, exp, nexp, got, ngot)                                        \
    do {                                                                               \
        mismatches++;                                                                  \
        if (reported++ < 8) {                                                          \
            fprintf(stderr, "  %s: %s mismatch on string %d: \"", style, what, i);    \
            print_escaped(c->text[i], c->len[i]);                                      \
            fprintf(stderr, "\"\n");                                                   \
            print_ids("want", exp, nexp);                                              \
            print_ids("got ", got, ngot);                                              \
        }                                                                              \
    } while (0)
    /* 1. encode(text, add_special_tokens=False) */
    for (int i = 0; i < n && r.ok; i++) {
        golden[i] = rd_ids(&r, &golden_n[i]);
        int32_t *ids = NULL;
        int n_ids = 0;
        if (c->invalid[i]) {
            st = mkv_tokenize(tok, c->text[i], c->len[i], true, &ids, &n_ids);
            if (st != MKV_ERR_INPUT) {
                mismatches++;
                fprintf(stderr, "  %s: invalid UTF-8 string %d gave status %d, not MKV_ERR_INPUT\n", style, i, st);
            }
            mkv_free(ids);
            ids = NULL;
            st = mkv_tokenize_ex(tok, c->text[i], c->len[i], MKV_TOKENIZE_PARSE_SPECIAL | MKV_TOKENIZE_LOSSY_UTF8, &ids,
                                 &n_ids);
        } else {
            st = mkv_tokenize(tok, c->text[i], c->len[i], true, &ids, &n_ids);
        }
        if (st != MKV_OK) {
            mismatches++;
            fprintf(stderr, "  %s: string %d failed: %s\n", style, i, mkv_last_error());
        } else if (!same_ids(golden[i], golden_n[i], ids, n_ids)) {
            MISMATCH(i, "encode", golden[i], golden_n[i], ids, n_ids);
        }
        n_checked++;
        mkv_free(ids);
    }
    /* 2. decode of those ids (HF decode is lossy UTF-8). */
    int n2 = (int)rd_varint(&r);
    CHECK_EQ_INT(n2, n);
    for (int i = 0; i < n2 && r.ok; i++) {
        const char *want = c->text[i];
        size_t want_len = c->len[i];
        if (rd_varint(&r) == 1) want = rd_bytes(&r, &want_len);
        char *text = NULL;
        size_t len = 0;
        st = mkv_detokenize_ex(tok, golden[i], golden_n[i], MKV_DETOKENIZE_LOSSY_UTF8, &text, &len);
        if (st != MKV_OK || len != want_len || memcmp(text, want, len) != 0) {
            mismatches++;
            if (reported++ < 8) {
                fprintf(stderr, "  %s: decode mismatch on string %d: want \"", style, i);
                print_escaped(want, want_len);
                fprintf(stderr, "\" got \"");
                if (text) print_escaped(text, len);
                fprintf(stderr, "\"\n");
            }
        }
        mkv_free(text);
    }
    /* 3. encode_special_tokens=True (parse_special false) */
    int n3 = (int)rd_varint(&r);
    for (int k = 0; k < n3 && r.ok; k++) {
        int i = (int)rd_varint(&r), ne;
        int32_t *exp = rd_ids(&r, &ne);
        int32_t *ids = NULL;
        int n_ids = 0;
        st = mkv_tokenize_ex(tok, c->text[i], c->len[i], MKV_TOKENIZE_LOSSY_UTF8, &ids, &n_ids);
        if (st != MKV_OK || !same_ids(exp, ne, ids, n_ids)) MISMATCH(i, "no-special encode", exp, ne, ids, n_ids);
        n_checked++;
        mkv_free(ids);
        free(exp);
    }
    /* 4. add_special_tokens=True */
    int n4 = (int)rd_varint(&r);
    for (int k = 0; k < n4 && r.ok; k++) {
        int i = (int)rd_varint(&r), ne;
        int32_t *exp = rd_ids(&r, &ne);
        int32_t *ids = NULL;
        int n_ids = 0;
        st = mkv_tokenize_ex(tok, c->text[i], c->len[i],
                             MKV_TOKENIZE_PARSE_SPECIAL | MKV_TOKENIZE_ADD_SPECIAL | MKV_TOKENIZE_LOSSY_UTF8, &ids, &n_ids);
        if (st != MKV_OK || !same_ids(exp, ne, ids, n_ids)) MISMATCH(i, "add-special encode", exp, ne, ids, n_ids);
        n_checked++;
        mkv_free(ids);
        free(exp);
    }
    /* 5. decode of random id sequences */
    int n5 = (int)rd_varint(&r);
    for (int k = 0; k < n5 && r.ok; k++) {
        int ne;
        int32_t *ids = rd_ids(&r, &ne);
        size_t want_len;
        const char *want = rd_bytes(&r, &want_len);
        char *text = NULL;
        size_t len = 0;
        st = mkv_detokenize_ex(tok, ids, ne, MKV_DETOKENIZE_LOSSY_UTF8, &text, &len);
        if (st != MKV_OK || !want || len != want_len || memcmp(text, want, len) != 0) {
            mismatches++;
            if (reported++ < 8) {
                print_ids("random decode mismatch", ids, ne);
                fprintf(stderr, "    want \"");
                if (want) print_escaped(want, want_len);
                fprintf(stderr, "\" got \"");
                if (text) print_escaped(text, len);
                fprintf(stderr, "\"\n");
            }
        }
        mkv_free(text);
        free(ids);
    }
    CHECK_MSG(r.ok && r.p == r.end, "%s: golden.bin is truncated or has trailing bytes", style);
    for (int i = 0; i < n; i++) free(golden[i]);
    free(golden);
    free(golden_n);
    mkv_free(file);
    mkv_tokenizer_free(tok);
    printf("     %s: %d strings, %d encodings checked, %d decodes, %d mismatches\n", style, n, n_checked, n2 + n5,
           mismatches);
    return mismatches;
#undef MISMATCH
}

static void run_style(const char *style) {
    corpus c;
    bool loaded = load_corpus(&c);
    CHECK_MSG(loaded, "cannot read tests/data/tokenizer/corpus.bin");
    if (loaded) {
        CHECK(c.n >= 2000);
        int mismatches = check_style(style, &c);
        CHECK_EQ_INT(mismatches, 0);
    }
    free_corpus(&c);
}

TEST(tokenizer_parity_gpt2) { run_style("gpt2"); }
TEST(tokenizer_parity_qwen2) { run_style("qwen2"); }
TEST(tokenizer_parity_llama3) { run_style("llama3"); }
TEST(tokenizer_parity_llada) { run_style("llada"); }
