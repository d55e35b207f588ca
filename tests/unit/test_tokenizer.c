/* Tokenizer unit tests: byte-level mapping, BPE merge order, added-token
 * matching (lstrip/rstrip/single_word/normalized/special), NFC, UTF-8
 * repair, decoding, malformed tokenizer.json and GGUF vocabularies,
 * out-of-memory paths, chat templates. Parity with HF on a large corpus is in
 * test_tokenizer_parity.c. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/gguf_writer.h"
#include "test.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/mapped_file.h"

/* ------------------------------------------------------------ helpers */

typedef struct {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
}

static uint32_t byte_char(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    uint32_t next = 256;
    for (int k = 0; k < b; k++)
        if (!((k >= '!' && k <= '~') || (k >= 0xA1 && k <= 0xAC) || (k >= 0xAE && k <= 0xFF))) next++;
    return next;
}

/* A tokenizer.json whose vocabulary is the 256 byte characters (id = byte)
 * plus `extra_vocab` ("\"ab\": 256, ..."), with the given merges, added
 * tokens, pre-tokenizer and normalizer (JSON fragments; NULL = defaults). */
static char *tiny_json(const char *extra_vocab, const char *merges, const char *added, const char *pre,
                       const char *normalizer, const char *model_extra) {
    sbuf b = {0};
    sb_add(&b, "{\"version\": \"1.0\", \"added_tokens\": [%s], \"normalizer\": %s,", added ? added : "",
           normalizer ? normalizer : "null");
    sb_add(&b, "\"pre_tokenizer\": %s, \"decoder\": {\"type\": \"ByteLevel\"},",
           pre ? pre : "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}");
    sb_add(&b, "\"model\": {\"type\": \"BPE\", %s \"vocab\": {", model_extra ? model_extra : "");
    for (int i = 0; i < 256; i++) sb_add(&b, "%s\"\\u%04X\": %d", i ? ", " : "", byte_char(i), i);
    if (extra_vocab && extra_vocab[0]) sb_add(&b, ", %s", extra_vocab);
    sb_add(&b, "}, \"merges\": [%s]}}", merges ? merges : "");
    return b.s;
}

static mkv_tokenizer *load_tiny(const char *json) {
    mkv_tokenizer *tok = NULL;
    mkv_status st = mkv_tokenizer_load_json_text(json, strlen(json), "tiny.json", &tok);
    CHECK_MSG(st == MKV_OK, "load: %s", mkv_last_error());
    return tok;
}

/* Encodes and compares with the expected ids (terminated by -1). */
static void expect_ids(const mkv_tokenizer *tok, const char *text, unsigned flags, const int32_t *want, int line) {
    int32_t *ids = NULL;
    int n = 0;
    mkv_status st = mkv_tokenize_ex(tok, text, strlen(text), flags, &ids, &n);
    int n_want = 0;
    while (want[n_want] >= 0) n_want++;
    bool same = st == MKV_OK && n == n_want && (n == 0 || memcmp(ids, want, (size_t)n * sizeof *ids) == 0);
    if (!same) {
        char got[512] = "", exp[512] = "";
        for (int i = 0; i < n && strlen(got) < 480; i++) snprintf(got + strlen(got), sizeof got - strlen(got), " %d", ids[i]);
        for (int i = 0; i < n_want && strlen(exp) < 480; i++)
            snprintf(exp + strlen(exp), sizeof exp - strlen(exp), " %d", want[i]);
        mkv_test_fail(__FILE__, line, "encode \"%s\": want [%s ] got [%s ] (status %d %s)", text, exp, got, st,
                      st ? mkv_last_error() : "");
    }
    mkv_free(ids);
}

#define EXPECT(tok, text, flags, ...)                                                                 \
    do {                                                                                              \
        static const int32_t want_[] = {__VA_ARGS__, -1};                                            \
        expect_ids(tok, text, flags, want_, __LINE__);                                                \
    } while (0)
#define EXPECT_NONE(tok, text, flags)                                                                 \
    do {                                                                                              \
        static const int32_t want_[] = {-1};                                                          \
        expect_ids(tok, text, flags, want_, __LINE__);                                                \
    } while (0)

#define SPECIAL MKV_TOKENIZE_PARSE_SPECIAL

static mkv_status try_load(const char *json, mkv_tokenizer **tok) {
    *tok = NULL;
    return mkv_tokenizer_load_json_text(json, strlen(json), "bad.json", tok);
}

/* ------------------------------------------------------------ byte level */

TEST(tokenizer_byte_unicode_mapping) {
    char *json = tiny_json(NULL, NULL, NULL, NULL, NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    /* GPT-2 bytes_to_unicode: printable bytes stay, the rest go to U+0100.. in order. */
    CHECK_EQ_INT(tok->byte_char['A'], 'A');
    CHECK_EQ_INT(tok->byte_char[0x00], 0x100);
    CHECK_EQ_INT(tok->byte_char['\n'], 0x10A);
    CHECK_EQ_INT(tok->byte_char[' '], 0x120);
    CHECK_EQ_INT(tok->byte_char[0x7F], 0x121);
    CHECK_EQ_INT(tok->byte_char[0x80], 0x122);
    CHECK_EQ_INT(tok->byte_char[0xA0], 0x142);
    CHECK_EQ_INT(tok->byte_char[0xAD], 0x143);
    CHECK_EQ_INT(tok->byte_char[0xFF], 0xFF);
    bool seen[324] = {false};
    for (int b = 0; b < 256; b++) {
        uint32_t c = tok->byte_char[b];
        REQUIRE(c < 324);
        CHECK(!seen[c]);
        seen[c] = true;
        CHECK_EQ_INT(tok->char_byte[c], b);
        CHECK_EQ_INT(tok->byte_id[b], b); /* the one-character token of each byte */
    }
    /* Every byte value round-trips through encode/decode. */
    char all[256];
    for (int b = 0; b < 256; b++) all[b] = (char)b;
    int32_t ids[256];
    for (int b = 0; b < 256; b++) ids[b] = b;
    char *text = NULL;
    size_t len = 0;
    CHECK(mkv_detokenize(tok, ids, 256, &text, &len) == MKV_OK);
    CHECK_EQ_INT(len, 256);
    CHECK(text && memcmp(text, all, 256) == 0);
    mkv_free(text);
    CHECK(strcmp(mkv_tokenizer_token_text(tok, ' '), "\xc4\xa0") == 0); /* "Ġ" */
    CHECK_EQ_INT(mkv_tokenizer_find(tok, "\xc4\x8a"), '\n');             /* "Ċ" */
    mkv_tokenizer_free(tok);
}

TEST(tokenizer_bpe_merge_order) {
    /* "b c" outranks "a b": abc -> a + bc, never ab + c. */
    char *json = tiny_json("\"bc\": 256, \"ab\": 257, \"aa\": 258, \"aaa\": 259, \"\\u0120a\": 260",
                           "\"b c\", \"a b\", \"a a\", \"\\u0120 a\"", NULL, NULL, NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    EXPECT(tok, "abc", SPECIAL, 'a', 256);
    EXPECT(tok, "ab", SPECIAL, 257);
    EXPECT(tok, "aaa", SPECIAL, 258, 'a');          /* leftmost of equal ranks first */
    EXPECT(tok, "aaaa", SPECIAL, 258, 258);
    EXPECT(tok, "x a", SPECIAL, 'x', 260);          /* " a" is one pre-token: Ġ+a */
    EXPECT(tok, "x  a", SPECIAL, 'x', ' ', 260);    /* \s+(?!\S) leaves the last space to the word */
    EXPECT_NONE(tok, "", SPECIAL);
    CHECK_EQ_INT(mkv_tokenizer_n_merges(tok), 4);
    CHECK(strcmp(mkv_tokenizer_merge(tok, 0), "b c") == 0);
    CHECK(strcmp(mkv_tokenizer_merge(tok, 3), "\xc4\xa0 a") == 0);
    CHECK(mkv_tokenizer_merge(tok, 4) == NULL);
    CHECK(strcmp(mkv_tokenizer_pre_name(tok), "gpt-2") == 0);
    mkv_tokenizer_free(tok);

    /* ignore_merges: a pre-token that is a whole vocabulary entry is taken as it is. */
    json = tiny_json("\"ab\": 256, \"abc\": 257, \"bc\": 258", "\"b c\", \"a b\"", NULL, NULL, NULL,
                     "\"ignore_merges\": true,");
    tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    EXPECT(tok, "abc", SPECIAL, 257);
    EXPECT(tok, "abcab", SPECIAL, 'a', 258, 256);
    mkv_tokenizer_free(tok);
}

/* ------------------------------------------------------------ added tokens */

TEST(tokenizer_added_token_flags) {
    const char *added =
        "{\"id\": 256, \"content\": \"<m>\", \"special\": true, \"lstrip\": true, \"rstrip\": false, \"single_word\": false, \"normalized\": false},"
        "{\"id\": 257, \"content\": \"<r>\", \"special\": true, \"lstrip\": false, \"rstrip\": true, \"single_word\": false, \"normalized\": false},"
        "{\"id\": 258, \"content\": \"wd\", \"special\": false, \"lstrip\": false, \"rstrip\": false, \"single_word\": true, \"normalized\": false},"
        "{\"id\": 259, \"content\": \"<a>\", \"special\": true, \"normalized\": false},"
        "{\"id\": 260, \"content\": \"<a><b>\", \"special\": true, \"normalized\": false},"
        "{\"id\": 261, \"content\": \"<t>\", \"special\": false, \"normalized\": false}";
    char *json = tiny_json(NULL, NULL, added, NULL, NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    EXPECT(tok, "x  <m> y", SPECIAL, 'x', 256, ' ', 'y');   /* lstrip takes the spaces before */
    EXPECT(tok, "a<r>  b", SPECIAL, 'a', 257, 'b');         /* rstrip takes the spaces after */
    EXPECT(tok, "wd", SPECIAL, 258);
    EXPECT(tok, "a wd b", SPECIAL, 'a', ' ', 258, ' ', 'b');
    EXPECT(tok, "awd", SPECIAL, 'a', 'w', 'd');             /* single_word: not inside a word */
    EXPECT(tok, "wd_", SPECIAL, 'w', 'd', '_');
    EXPECT(tok, "wd!", SPECIAL, 258, '!');
    EXPECT(tok, "\xc3\xa9wd", SPECIAL, 0xC3, 0xA9, 'w', 'd'); /* é is a word character */
    EXPECT(tok, "<a><b>", SPECIAL, 260);                     /* leftmost-longest */
    EXPECT(tok, "<a><c>", SPECIAL, 259, '<', 'c', '>');
    EXPECT(tok, "<a", SPECIAL, '<', 'a');
    /* parse_special off: special tokens are plain text, others still match. */
    EXPECT(tok, "<a><t>", 0, '<', 'a', '>', 261);
    EXPECT(tok, "<m>", 0, '<', 'm', '>');
    CHECK(mkv_tokenizer_is_special(tok, 256));
    CHECK(!mkv_tokenizer_is_special(tok, 261));
    CHECK_EQ_INT(mkv_tokenizer_token_type(tok, 256), MKV_TOKEN_TYPE_CONTROL);
    CHECK_EQ_INT(mkv_tokenizer_token_type(tok, 261), MKV_TOKEN_TYPE_USER_DEFINED);
    CHECK_EQ_INT(mkv_tokenizer_token_type(tok, 'a'), MKV_TOKEN_TYPE_NORMAL);
    CHECK_EQ_INT(mkv_tokenizer_find(tok, "<a><b>"), 260);
    CHECK_EQ_INT(mkv_tokenizer_find(tok, "nope"), -1);
    CHECK_EQ_INT(mkv_tokenizer_n_vocab(tok), 262);
    /* Decoding: added tokens by content; skip_special drops the special ones. */
    int32_t ids[] = {'h', 256, 'i', 261};
    char *text;
    size_t len;
    CHECK(mkv_detokenize(tok, ids, 4, &text, &len) == MKV_OK);
    CHECK(strcmp(text, "h<m>i<t>") == 0);
    mkv_free(text);
    CHECK(mkv_detokenize_ex(tok, ids, 4, MKV_DETOKENIZE_SKIP_SPECIAL, &text, &len) == MKV_OK);
    CHECK(strcmp(text, "hi<t>") == 0);
    mkv_free(text);
    mkv_tokenizer_free(tok);
}

TEST(tokenizer_added_token_ids_follow_hf) {
    /* HF ignores the "id" field: ids come after the model vocabulary in file
     * order, and an added token already in the vocabulary keeps its id. */
    const char *added = "{\"id\": 900, \"content\": \"<x>\", \"special\": true},"
                        "{\"id\": 5, \"content\": \"ab\", \"special\": true},"
                        "{\"id\": 901, \"content\": \"<y>\", \"special\": false}";
    char *json = tiny_json("\"ab\": 256", "\"a b\"", added, NULL, NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    CHECK_EQ_INT(mkv_tokenizer_find(tok, "<x>"), 257);
    CHECK_EQ_INT(mkv_tokenizer_find(tok, "ab"), 256);
    CHECK_EQ_INT(mkv_tokenizer_find(tok, "<y>"), 258);
    CHECK_EQ_INT(mkv_tokenizer_n_vocab(tok), 259);
    EXPECT(tok, "<y>ab<x>", SPECIAL, 258, 256, 257);
    mkv_tokenizer_free(tok);
}

TEST(tokenizer_normalized_added_tokens_and_nfc) {
    /* caf + é: the normalized token matches the NFC form of decomposed input. */
    const char *added = "{\"id\": 256, \"content\": \"caf\\u00e9\", \"special\": false, \"normalized\": true},"
                        "{\"id\": 257, \"content\": \"\\u00c5\\u00c5\", \"special\": false, \"normalized\": false}";
    char *json = tiny_json(NULL, NULL, added, NULL, "{\"type\": \"NFC\"}", NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    EXPECT(tok, "caf\xc3\xa9", SPECIAL, 256);
    EXPECT(tok, "cafe\xcc\x81", SPECIAL, 256);
    EXPECT(tok, "\xc3\x85\xc3\x85", SPECIAL, 257);
    /* A non-normalized token is matched on the raw text: A + ring is not Å yet. */
    EXPECT(tok, "A\xcc\x8a" "A\xcc\x8a", SPECIAL, 0xC3, 0x85, 0xC3, 0x85); /* NFC -> ÅÅ, as bytes */
    EXPECT(tok, "\xe2\x84\xab", SPECIAL, 0xC3, 0x85);                     /* ANGSTROM SIGN -> Å */
    /* "Å" alone is a byte-level vocabulary token: as an added token it keeps that id (HF). */
    mkv_tokenizer_free(tok);
}

TEST(tokenizer_nfc) {
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain ascii", "plain ascii"},
        {"e\xcc\x81", "\xc3\xa9"},                              /* e + acute -> é */
        {"\xe2\x84\xab", "\xc3\x85"},                           /* Å sign -> Å */
        {"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81"}, /* Hangul L V T -> 각 */
        {"\xea\xb0\x80\xe1\x86\xa8", "\xea\xb0\x81"},            /* LV + T */
        {"a\xcc\x81\xcc\xa8", "\xc4\x85\xcc\x81"},               /* reorder: ogonek (202) before acute (230) */
        {"\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc"},            /* composition exclusion stays decomposed */
        {"\xcc\x81x", "\xcc\x81x"},                              /* leading combining mark */
        {"\xc3\xa9\xcc\x81", "\xc3\xa9\xcc\x81"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *out;
        size_t len;
        char *owned;
        REQUIRE(mkv_nfc(cases[i].in, strlen(cases[i].in), &out, &len, &owned) == MKV_OK);
        CHECK_MSG(len == strlen(cases[i].out) && memcmp(out, cases[i].out, len) == 0, "NFC case %zu", i);
        if (i == 0) CHECK(owned == NULL && out == cases[i].in); /* nothing allocated for ASCII */
        mkv_free(owned);
    }
}

TEST(tokenizer_utf8_validation_and_repair) {
    static const struct {
        const char *in;
        size_t len;
        const char *out; /* Python bytes.decode("utf-8", "replace") */
    } cases[] = {
        {"\xe0\x80\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98", 3, "\xef\xbf\xbd"},
        {"a\xc2 b", 4, "a\xef\xbf\xbd b"},
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"ok\xe2\x82", 4, "ok\xef\xbf\xbd"},
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\x00\xff", 2, "\x00\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t bad = 99;
        CHECK(!mkv_utf8_validate(cases[i].in, cases[i].len, &bad));
        size_t len;
        char *fixed = mkv_utf8_lossy(cases[i].in, cases[i].len, &len);
        REQUIRE(fixed);
        size_t want_len = i == 7 ? 4 : strlen(cases[i].out);
        CHECK_MSG(len == want_len && memcmp(fixed, cases[i].out, len) == 0, "lossy case %zu", i);
        mkv_free(fixed);
    }
    CHECK(mkv_utf8_validate("h\xc3\xa9llo \xf0\x9f\x98\x80", 11, NULL));
    char *json = tiny_json(NULL, NULL, NULL, NULL, NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    int32_t *ids = NULL;
    int n = -1;
    CHECK_EQ_INT(mkv_tokenize(tok, "ab\xff", 3, true, &ids, &n), MKV_ERR_INPUT);
    CHECK(ids == NULL && n == 0);
    CHECK(strstr(mkv_last_error(), "not valid UTF-8") != NULL);
    CHECK(mkv_tokenize_ex(tok, "ab\xff", 3, MKV_TOKENIZE_LOSSY_UTF8, &ids, &n) == MKV_OK);
    CHECK_EQ_INT(n, 5); /* a b + the 3 bytes of U+FFFD */
    mkv_free(ids);
    /* NUL bytes are ordinary text. */
    CHECK(mkv_tokenize(tok, "a\0b", 3, true, &ids, &n) == MKV_OK);
    CHECK_EQ_INT(n, 3);
    mkv_free(ids);
    mkv_tokenizer_free(tok);
}

TEST(tokenizer_decode_errors_and_lossy) {
    char *json = tiny_json(NULL, NULL, NULL, NULL, NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    char *text = NULL;
    size_t len;
    int32_t bad[] = {'a', 256};
    CHECK_EQ_INT(mkv_detokenize(tok, bad, 2, &text, &len), MKV_ERR_INPUT);
    CHECK(text == NULL);
    int32_t negative[] = {-1};
    CHECK_EQ_INT(mkv_detokenize(tok, negative, 1, &text, &len), MKV_ERR_INPUT);
    /* Half of a UTF-8 sequence: raw bytes by default, U+FFFD when lossy. */
    int32_t half[] = {0xE4, 0xB8};
    CHECK(mkv_detokenize(tok, half, 2, &text, &len) == MKV_OK);
    CHECK(len == 2 && (unsigned char)text[0] == 0xE4);
    mkv_free(text);
    CHECK(mkv_detokenize_ex(tok, half, 2, MKV_DETOKENIZE_LOSSY_UTF8, &text, &len) == MKV_OK);
    CHECK(strcmp(text, "\xef\xbf\xbd") == 0);
    mkv_free(text);
    CHECK(mkv_detokenize(tok, NULL, 0, &text, &len) == MKV_OK);
    CHECK(text && len == 0 && text[0] == '\0');
    mkv_free(text);
    mkv_tokenizer_free(tok);
}

/* ------------------------------------------------------------ pre-tokenizers */

TEST(tokenizer_split_behaviors) {
    /* Split on "-" with each behavior, then ByteLevel without regex. The
     * merges "a -", "- b", "- -" show which pieces each behavior made. */
    static const struct {
        const char *behavior;
        bool invert;
        int32_t want[8];
    } cases[] = {
        {"Isolated", false, {'a', '-', 'b', '-', '-', 'c', -1}},   /* a|-|b|-|-|c  */
        {"Removed", false, {'a', 'b', 'c', -1}},                  /* a|b|c        */
        {"MergedWithPrevious", false, {256, 'b', '-', '-', 'c', -1}}, /* a-|b-|-|c */
        {"MergedWithNext", false, {'a', 257, '-', '-', 'c', -1}},     /* a|-b|-|-c */
        {"Contiguous", false, {'a', '-', 'b', 258, 'c', -1}},         /* a|-|b|--|c */
        {"Removed", true, {'-', '-', '-', -1}},                    /* -|-|-        */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char pre[512];
        snprintf(pre, sizeof pre,
                 "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
                 "\"behavior\": \"%s\", \"invert\": %s}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                 "\"use_regex\": false}]}",
                 cases[i].behavior, cases[i].invert ? "true" : "false");
        char *json = tiny_json("\"a-\": 256, \"-b\": 257, \"--\": 258", "\"a -\", \"- b\", \"- -\"", NULL, pre, NULL, NULL);
        mkv_tokenizer *tok = load_tiny(json);
        free(json);
        REQUIRE(tok);
        expect_ids(tok, "a-b--c", SPECIAL, cases[i].want, __LINE__);
        mkv_tokenizer_free(tok);
    }
    /* A regex Split and Digits. */
    const char *pre = "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, "
                      "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}]}";
    char *json = tiny_json("\"12\": 256, \"x1\": 257", "\"1 2\", \"x 1\"", NULL, pre, NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    EXPECT(tok, "x12", SPECIAL, 'x', '1', '2'); /* each digit alone: no merge reaches across */
    mkv_tokenizer_free(tok);
}

TEST(tokenizer_byte_level_prefix_space) {
    char *json = tiny_json("\"\\u0120a\": 256", "\"\\u0120 a\"", NULL,
                           "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"use_regex\": true}", NULL, NULL);
    mkv_tokenizer *tok = load_tiny(json);
    free(json);
    REQUIRE(tok);
    EXPECT(tok, "a", SPECIAL, 256);
    EXPECT(tok, " a", SPECIAL, 256);
    EXPECT(tok, "a a", SPECIAL, 256, 256);
    mkv_tokenizer_free(tok);
}

/* ------------------------------------------------------------ malformed files */

TEST(tokenizer_json_errors) {
    mkv_tokenizer *tok;
    CHECK_EQ_INT(try_load("{not json", &tok), MKV_ERR_FORMAT);
    CHECK(tok == NULL);
    CHECK_EQ_INT(try_load("[]", &tok), MKV_ERR_FORMAT);
    CHECK_EQ_INT(try_load("{\"version\": \"1.0\"}", &tok), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "model") != NULL);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", &tok), MKV_ERR_UNSUPPORTED);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"1\"}, \"merges\": []}}", &tok), MKV_ERR_FORMAT);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", &tok), MKV_ERR_FORMAT);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1.5}, \"merges\": []}}", &tok), MKV_ERR_FORMAT);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1e12}, \"merges\": []}}", &tok), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "too large") != NULL);
    /* found by fuzz_tokenizer_json: one id of 10^7 (< the id limit) made 10^7 hole entries */
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 10000000}, \"merges\": []}}",
                          &tok),
                 MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "has 2 tokens but ids up to 10000000 (too sparse)") != NULL);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}", &tok),
                 MKV_ERR_FORMAT);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}", &tok), MKV_ERR_FORMAT);
    CHECK_EQ_INT(try_load("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": {}}}", &tok), MKV_ERR_FORMAT);
    CHECK_EQ_INT(try_load("{\"version\": \"2.0\", \"model\": {\"vocab\": {}, \"merges\": []}}", &tok), MKV_ERR_UNSUPPORTED);

    struct {
        const char *vocab, *merges, *added, *pre, *norm, *model;
        mkv_status want;
        const char *message;
    } cases[] = {
        {NULL, "\"a q\"", NULL, NULL, NULL, NULL, MKV_ERR_FORMAT, "not in the vocabulary"},  /* merged "aq" unknown */
        {"\"ab\": 256", "\"a zz\"", NULL, NULL, NULL, NULL, MKV_ERR_FORMAT, "'zz' is not in the vocabulary"},
        {"\"ab\": 256", "\"a b c\"", NULL, NULL, NULL, NULL, MKV_ERR_FORMAT, "two tokens"},
        {"\"ab\": 256", "[\"a\", 7]", NULL, NULL, NULL, NULL, MKV_ERR_FORMAT, "merges[0]"},
        {NULL, NULL, "{\"content\": 5}", NULL, NULL, NULL, MKV_ERR_FORMAT, "content"},
        {NULL, NULL, "{\"content\": \"<x>\", \"special\": \"yes\"}", NULL, NULL, NULL, MKV_ERR_FORMAT, "special"},
        {NULL, NULL, "7", NULL, NULL, NULL, MKV_ERR_FORMAT, "added_tokens[0]"},
        {NULL, NULL, NULL, "{\"type\": \"Whitespace\"}", NULL, NULL, MKV_ERR_UNSUPPORTED, "Whitespace"},
        {NULL, NULL, NULL, "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\", \"invert\": false}",
         NULL, NULL, MKV_ERR_FORMAT, "regex"},
        {NULL, NULL, NULL, "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Sideways\", \"invert\": false}",
         NULL, NULL, MKV_ERR_FORMAT, "behavior"},
        {NULL, NULL, NULL, "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Isolated\", \"invert\": false}",
         NULL, NULL, MKV_ERR_UNSUPPORTED, "ByteLevel"},
        {NULL, NULL, NULL, NULL, "{\"type\": \"Lowercase\"}", NULL, MKV_ERR_UNSUPPORTED, "Lowercase"},
        {NULL, NULL, NULL, NULL, NULL, "\"dropout\": 0.1,", MKV_ERR_UNSUPPORTED, "dropout"},
        {NULL, NULL, NULL, NULL, NULL, "\"unk_token\": \"<unk>\",", MKV_ERR_FORMAT, "unk_token"},
        {NULL, NULL, NULL, NULL, NULL, "\"ignore_merges\": 1,", MKV_ERR_FORMAT, "ignore_merges"},
        {NULL, NULL, NULL, NULL, NULL, "\"continuing_subword_prefix\": \"##\",", MKV_ERR_UNSUPPORTED, "prefix"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = tiny_json(cases[i].vocab, cases[i].merges, cases[i].added, cases[i].pre, cases[i].norm, cases[i].model);
        mkv_status st = try_load(json, &tok);
        free(json);
        CHECK_MSG(st == cases[i].want, "case %zu: status %d (%s)", i, st, mkv_last_error());
        CHECK_MSG(strstr(mkv_last_error(), cases[i].message) != NULL, "case %zu: message '%s' lacks '%s'", i,
                  mkv_last_error(), cases[i].message);
        CHECK_MSG(strchr(mkv_last_error(), '\n') == NULL, "case %zu: message is not one line", i);
        if (tok) mkv_tokenizer_free(tok);
    }
    CHECK_EQ_INT(mkv_tokenizer_load_json("/nonexistent/tokenizer.json", &tok), MKV_ERR_IO);
    CHECK_EQ_INT(mkv_tokenizer_load("/nonexistent/dir", &tok), MKV_ERR_IO);
}

TEST(tokenizer_out_of_memory_paths) {
    const char *added = "{\"id\": 256, \"content\": \"<m>\", \"special\": true, \"lstrip\": true},"
                        "{\"id\": 257, \"content\": \"wd\", \"special\": false, \"single_word\": true}";
    char *json = tiny_json("\"ab\": 256, \"bc\": 257", "\"a b\", \"b c\"", added, NULL, "{\"type\": \"NFC\"}", NULL);
    size_t baseline = mkv_alloc_current_bytes();
    int failures = 0, n;
    for (n = 1; n < 5000; n++) {
        mkv_alloc_fail_after(n);
        mkv_tokenizer *tok = NULL;
        mkv_status st = mkv_tokenizer_load_json_text(json, strlen(json), "oom.json", &tok);
        int32_t *ids = NULL;
        int n_ids = 0;
        char *text = NULL;
        if (st == MKV_OK) st = mkv_tokenize(tok, "abc <m> wd e\xcc\x81 abcabc", 19, true, &ids, &n_ids);
        if (st == MKV_OK) st = mkv_detokenize(tok, ids, n_ids, &text, NULL);
        mkv_alloc_fail_after(0);
        mkv_free(text);
        mkv_free(ids);
        mkv_tokenizer_free(tok);
        CHECK_EQ_INT(mkv_alloc_current_bytes(), baseline);
        if (st == MKV_OK) break; /* the injected failure came after everything */
        CHECK_MSG(st == MKV_ERR_NOMEM, "n=%d: status %d (%s)", n, st, mkv_last_error());
        failures++;
    }
    CHECK(n < 5000);
    CHECK(failures > 20);
    free(json);
}

/* ------------------------------------------------------------ GGUF vocabulary */

typedef struct {
    const mkv_tokenizer *tok;
} vocab_ctx;

static const char *token_at(void *ctx, uint64_t i, size_t *len) {
    const char *t = mkv_tokenizer_token_text(((vocab_ctx *)ctx)->tok, (int32_t)i);
    *len = strlen(t);
    return t;
}

static const char *merge_at(void *ctx, uint64_t i, size_t *len) {
    const char *m = mkv_tokenizer_merge(((vocab_ctx *)ctx)->tok, (int)i);
    *len = strlen(m);
    return m;
}

enum { DROP_NONE = 0, DROP_TOKENS = 1, DROP_PRE = 2, BAD_MODEL = 4, BAD_PRE = 8, BAD_MERGE = 16, BAD_BOS = 32,
       BAD_TYPES = 64 };

/* Writes the vocabulary of `tok` as GGUF tokenizer.ggml.* keys (no tensors). */
static bool write_vocab_gguf(const mkv_tokenizer *tok, const char *path, const char *pre, int damage) {
    mkv_gguf_writer *w;
    if (mkv_gguf_writer_open(path, &w) != MKV_OK) return false;
    int n = mkv_tokenizer_n_vocab(tok);
    int32_t *types = malloc((size_t)n * sizeof *types);
    for (int i = 0; i < n; i++) types[i] = mkv_tokenizer_token_type(tok, i);
    if (damage & BAD_TYPES) types[3] = 42;
    vocab_ctx ctx = {tok};
    mkv_status st = mkv_gguf_writer_add_str(w, "general.architecture", "llada");
    if (!st) st = mkv_gguf_writer_add_str(w, "tokenizer.ggml.model", damage & BAD_MODEL ? "llama" : "gpt2");
    if (!st && !(damage & DROP_PRE)) st = mkv_gguf_writer_add_str(w, "tokenizer.ggml.pre", damage & BAD_PRE ? "tekken" : pre);
    if (!st && !(damage & DROP_TOKENS))
        st = mkv_gguf_writer_add_arr_str_fn(w, "tokenizer.ggml.tokens", (uint64_t)n, token_at, &ctx);
    if (!st) st = mkv_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", MKV_GGUF_INT32, types, (uint64_t)n);
    if (!st && (damage & BAD_MERGE)) {
        const char *m[] = {mkv_tokenizer_merge(tok, 0), "zz qq"};
        st = mkv_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", m, 2);
    } else if (!st) {
        st = mkv_gguf_writer_add_arr_str_fn(w, "tokenizer.ggml.merges", (uint64_t)mkv_tokenizer_n_merges(tok), merge_at, &ctx);
    }
    if (!st) st = mkv_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", damage & BAD_BOS ? 1u << 30 : 7u);
    if (!st) st = mkv_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true);
    if (!st) st = mkv_gguf_writer_write_header(w);
    free(types);
    if (st) {
        mkv_gguf_writer_abort(w);
        return false;
    }
    return mkv_gguf_writer_finish(w) == MKV_OK;
}

static void gguf_matches_json(const char *style, const char *pre) {
    char path[256];
    snprintf(path, sizeof path, "data/tokenizer/%s/tokenizer.json", style);
    mkv_tokenizer *json_tok = NULL;
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path(path), &json_tok) == MKV_OK);
    CHECK(strcmp(mkv_tokenizer_pre_name(json_tok), pre) == 0);
    char gguf_path[] = "/tmp/mkv_tok_XXXXXX";
    int fd = mkstemp(gguf_path);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(write_vocab_gguf(json_tok, gguf_path, pre, DROP_NONE));
    mkv_tokenizer *gguf_tok = NULL;
    mkv_status st = mkv_tokenizer_load(gguf_path, &gguf_tok);
    CHECK_MSG(st == MKV_OK, "%s", mkv_last_error());
    if (gguf_tok) {
        CHECK_EQ_INT(mkv_tokenizer_n_vocab(gguf_tok), mkv_tokenizer_n_vocab(json_tok));
        CHECK_EQ_INT(mkv_tokenizer_n_merges(gguf_tok), mkv_tokenizer_n_merges(json_tok));
        CHECK_EQ_INT(mkv_tokenizer_bos_id(gguf_tok), 7);
        CHECK(mkv_tokenizer_add_bos(gguf_tok));
        CHECK(strcmp(mkv_tokenizer_pre_name(gguf_tok), pre) == 0);
        /* Same ids for the whole corpus (the GGUF has no lstrip/normalized
         * flags; these styles do not use them). */
        char *corpus;
        size_t size;
        REQUIRE(mkv_read_text_file(mkv_test_path("data/tokenizer/corpus.bin"), 64u << 20, &corpus, &size) == MKV_OK);
        const unsigned char *p = (const unsigned char *)corpus + 8, *end = (const unsigned char *)corpus + size;
#define VARINT(v)                                                                   \
    do {                                                                            \
        v = 0;                                                                      \
        for (int s_ = 0; p < end; s_ += 7) {                                        \
            unsigned char b_ = *p++;                                                \
            v |= (uint64_t)(b_ & 0x7f) << s_;                                       \
            if (!(b_ & 0x80)) break;                                                \
        }                                                                           \
    } while (0)
        uint64_t count, flags, len;
        VARINT(count);
        int mismatches = 0;
        for (uint64_t i = 0; i < count && p < end; i++) {
            VARINT(flags);
            VARINT(len);
            const char *text = (const char *)p;
            p += len;
            if (flags & 1) continue;
            int32_t *a = NULL, *b = NULL;
            int na = 0, nb = 0;
            mkv_tokenize(json_tok, text, len, true, &a, &na);
            mkv_tokenize(gguf_tok, text, len, true, &b, &nb);
            if (na != nb || memcmp(a, b, (size_t)na * sizeof *a) != 0) mismatches++;
            mkv_free(a);
            mkv_free(b);
        }
#undef VARINT
        CHECK_EQ_INT(mismatches, 0);
        /* add_bos from the GGUF: ADD_SPECIAL prepends BOS. */
        int32_t *ids;
        int n;
        CHECK(mkv_tokenize_ex(gguf_tok, "hi", 2, MKV_TOKENIZE_ADD_SPECIAL, &ids, &n) == MKV_OK);
        CHECK(n >= 2 && ids[0] == 7);
        mkv_free(ids);
        mkv_free(corpus);
        mkv_tokenizer_free(gguf_tok);
    }
    unlink(gguf_path);
    mkv_tokenizer_free(json_tok);
}

TEST(tokenizer_gguf_vocab_llama3) { gguf_matches_json("llama3", "llama-bpe"); }
TEST(tokenizer_gguf_vocab_llada) { gguf_matches_json("llada", "bailingmoe"); }
TEST(tokenizer_gguf_vocab_gpt2) {
    /* GPT-2 style without its lstrip/rstrip/single_word tokens in play. */
    char path[] = "/tmp/mkv_tok_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    mkv_tokenizer *json_tok = NULL, *gguf_tok = NULL;
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path("data/tokenizer/gpt2/tokenizer.json"), &json_tok) == MKV_OK);
    REQUIRE(write_vocab_gguf(json_tok, path, "gpt-2", DROP_NONE));
    REQUIRE(mkv_tokenizer_load(path, &gguf_tok) == MKV_OK);
    const char *texts[] = {"Hello world, it's 2024!", "  indented\n\tcode();", "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd",
                           "<|endoftext|><|im_start|>x"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *a, *b;
        int na, nb;
        REQUIRE(mkv_tokenize(json_tok, texts[i], strlen(texts[i]), true, &a, &na) == MKV_OK);
        REQUIRE(mkv_tokenize(gguf_tok, texts[i], strlen(texts[i]), true, &b, &nb) == MKV_OK);
        CHECK_MSG(na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0, "text %zu", i);
        mkv_free(a);
        mkv_free(b);
    }
    mkv_tokenizer_free(gguf_tok);
    mkv_tokenizer_free(json_tok);
    unlink(path);
}

TEST(tokenizer_gguf_errors) {
    mkv_tokenizer *json_tok = NULL;
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path("data/tokenizer/qwen2/tokenizer.json"), &json_tok) == MKV_OK);
    static const struct {
        int damage;
        mkv_status want;
        const char *message;
    } cases[] = {
        {DROP_TOKENS, MKV_ERR_FORMAT, "tokenizer.ggml.tokens"},
        {DROP_PRE, MKV_ERR_UNSUPPORTED, "tokenizer.ggml.pre"},
        {BAD_PRE, MKV_ERR_UNSUPPORTED, "tekken"},
        {BAD_MODEL, MKV_ERR_UNSUPPORTED, "llama"},
        {BAD_MERGE, MKV_ERR_FORMAT, "merges[1]"},
        {BAD_BOS, MKV_ERR_FORMAT, "bos_token_id"},
        {BAD_TYPES, MKV_ERR_FORMAT, "type 42"},
    };
    char path[] = "/tmp/mkv_tok_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        REQUIRE(write_vocab_gguf(json_tok, path, "qwen2", cases[i].damage));
        mkv_tokenizer *tok = NULL;
        mkv_status st = mkv_tokenizer_load(path, &tok);
        CHECK_MSG(st == cases[i].want, "case %zu: status %d (%s)", i, st, mkv_last_error());
        CHECK_MSG(strstr(mkv_last_error(), cases[i].message) != NULL, "case %zu: '%s'", i, mkv_last_error());
        CHECK(tok == NULL);
    }
    /* A GGUF without any tokenizer keys. */
    mkv_gguf_writer *w;
    REQUIRE(mkv_gguf_writer_open(path, &w) == MKV_OK);
    REQUIRE(mkv_gguf_writer_add_str(w, "general.architecture", "dream") == MKV_OK);
    REQUIRE(mkv_gguf_writer_write_header(w) == MKV_OK);
    REQUIRE(mkv_gguf_writer_finish(w) == MKV_OK);
    mkv_tokenizer *tok = NULL;
    CHECK_EQ_INT(mkv_tokenizer_load(path, &tok), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "no tokenizer") != NULL);
    unlink(path);
    mkv_tokenizer_free(json_tok);
}

/* ------------------------------------------------------------ special tokens */

TEST(tokenizer_bos_and_post_processor) {
    mkv_tokenizer *tok = NULL;
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path("data/tokenizer/llama3/tokenizer.json"), &tok) == MKV_OK);
    int32_t bos = mkv_tokenizer_find(tok, "<|begin_of_text|>");
    CHECK(bos > 0);
    CHECK_EQ_INT(mkv_tokenizer_bos_id(tok), bos);
    CHECK(mkv_tokenizer_add_bos(tok));
    int32_t *ids;
    int n;
    REQUIRE(mkv_tokenize_ex(tok, "hi", 2, SPECIAL | MKV_TOKENIZE_ADD_BOS, &ids, &n) == MKV_OK);
    CHECK(n >= 2 && ids[0] == bos);
    mkv_free(ids);
    /* Not twice when the text already starts with it. */
    REQUIRE(mkv_tokenize_ex(tok, "<|begin_of_text|>hi", 19, SPECIAL | MKV_TOKENIZE_ADD_BOS, &ids, &n) == MKV_OK);
    CHECK(n >= 2 && ids[0] == bos && ids[1] != bos);
    mkv_free(ids);
    REQUIRE(mkv_tokenize_ex(tok, "", 0, MKV_TOKENIZE_ADD_BOS, &ids, &n) == MKV_OK);
    CHECK(n == 1 && ids[0] == bos);
    mkv_free(ids);
    CHECK(mkv_tokenizer_set_special(tok, 3, 4, 0) == MKV_OK);
    CHECK_EQ_INT(mkv_tokenizer_bos_id(tok), 3);
    CHECK_EQ_INT(mkv_tokenizer_eos_id(tok), 4);
    CHECK(!mkv_tokenizer_add_bos(tok));
    CHECK_EQ_INT(mkv_tokenizer_set_special(tok, 1 << 29, -1, -1), MKV_ERR_INPUT);
    mkv_tokenizer_free(tok);

    /* Qwen2 style: no BOS at all (ByteLevel post-processor). */
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path("data/tokenizer/qwen2/tokenizer.json"), &tok) == MKV_OK);
    CHECK_EQ_INT(mkv_tokenizer_bos_id(tok), -1);
    CHECK(!mkv_tokenizer_add_bos(tok));
    CHECK_EQ_INT(mkv_tokenize_ex(tok, "x", 1, MKV_TOKENIZE_ADD_BOS, &ids, &n), MKV_ERR_UNSUPPORTED);
    mkv_tokenizer_free(tok);

    /* LLaDA style: <|startoftext|> is the BOS by name. */
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path("data/tokenizer/llada/tokenizer.json"), &tok) == MKV_OK);
    CHECK_EQ_INT(mkv_tokenizer_bos_id(tok), mkv_tokenizer_find(tok, "<|startoftext|>"));
    CHECK(!mkv_tokenizer_add_bos(tok));
    mkv_tokenizer_free(tok);
}

TEST(tokenizer_load_by_path) {
    mkv_tokenizer *tok = NULL;
    CHECK(mkv_tokenizer_load(mkv_test_path("data/tokenizer/qwen2"), &tok) == MKV_OK); /* directory */
    CHECK(tok && mkv_tokenizer_n_vocab(tok) > 1000);
    mkv_tokenizer_free(tok);
    CHECK_EQ_INT(mkv_tokenizer_load(mkv_test_path("data/tokenizer"), &tok), MKV_ERR_IO); /* no tokenizer.json */
    CHECK_EQ_INT(mkv_tokenizer_load(mkv_test_path("data/tokenizer/corpus.bin"), &tok), MKV_ERR_FORMAT);
}

/* ------------------------------------------------------------ performance */

TEST(tokenizer_encode_speed) {
    mkv_tokenizer *tok = NULL;
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path("data/tokenizer/qwen2/tokenizer.json"), &tok) == MKV_OK);
    /* 1 MiB of mixed text, then pathological single-run inputs. */
    size_t size = 1u << 20;
    char *text = malloc(size + 1);
    static const char *parts[] = {"The quick brown fox jumps over the lazy dog. ", "It's 2024-06-11, 12:34. ",
                                  "\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8" "apple\xe5\xb7\xa5\xe4\xbd\x9c ",
                                  "def f(x):\n    return x * 2\n", "<|im_start|>user\nhi<|im_end|>\n",
                                  "caf\xc3\xa9 na\xc3\xafve \xf0\x9f\x98\x80 ", "1234567890 "};
    size_t o = 0;
    for (unsigned k = 0; o < size;) {
        const char *p = parts[(k++ * 7) % 7];
        size_t l = strlen(p);
        if (o + l > size) break;
        memcpy(text + o, p, l);
        o += l;
    }
    double t0 = mkv_now_seconds();
    int32_t *ids;
    int n;
    REQUIRE(mkv_tokenize(tok, text, o, true, &ids, &n) == MKV_OK);
    double mixed = mkv_now_seconds() - t0;
    mkv_free(ids);
    printf("     encode: %.2f MB mixed text in %.3f s (%d tokens)", (double)o / 1e6, mixed, n);
    static const char fill[] = {'a', ' ', '7', '<', '\n'};
    for (size_t f = 0; f < sizeof fill; f++) {
        memset(text, fill[f], size);
        t0 = mkv_now_seconds();
        REQUIRE(mkv_tokenize(tok, text, size, true, &ids, &n) == MKV_OK);
        double dt = mkv_now_seconds() - t0;
        mkv_free(ids);
        printf(", 1 MiB of 0x%02x %.3f s", fill[f], dt);
        CHECK_MSG(dt < 20.0, "1 MiB of byte 0x%02x took %.1f s", fill[f], dt);
    }
    printf("\n");
    CHECK_MSG(mixed < 10.0, "1 MiB took %.1f s", mixed);
    free(text);
    mkv_tokenizer_free(tok);
}

/* A 150k-token vocabulary with 150k merges, like Qwen2's, built here. */
TEST(tokenizer_large_vocab_load_speed) {
    sbuf b = {0};
    int n_base = 256, n_merges = 150000;
    char **tokens = malloc((size_t)(n_base + n_merges) * sizeof *tokens);
    for (int i = 0; i < n_base; i++) {
        char s[8];
        int l = mkv_utf8_encode(byte_char(i), s);
        s[l] = '\0';
        tokens[i] = strdup(s);
    }
    sb_add(&b, "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": %d, \"content\": \"<|endoftext|>\", \"special\": true}],",
           n_base + n_merges);
    sb_add(&b, "\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [");
    sb_add(&b, "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\p{L}+|\\\\p{N}|\\\\s+|[^\\\\s\\\\p{L}\\\\p{N}]+\"}, "
               "\"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
               "\"use_regex\": false}]}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"merges\": [");
    /* Merge i joins two earlier tokens, chosen by an LCG, into a new one
     * (skipping pairs whose concatenation already exists or gets long). */
    uint64_t lcg = 12345;
    int n = n_base;
    size_t cap = 1u << 19;
    char **seen = calloc(cap, sizeof *seen);
    for (int i = 0; i < n_base; i++) {
        uint32_t h = mkv_hash_bytes(tokens[i], strlen(tokens[i])) & (uint32_t)(cap - 1);
        while (seen[h]) h = (h + 1) & (uint32_t)(cap - 1);
        seen[h] = tokens[i];
    }
    while (n < n_base + n_merges) {
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
        int a = (int)((lcg >> 33) % (uint64_t)n), c = (int)((lcg >> 13) % (uint64_t)(n < 4000 ? n : 4000));
        size_t la = strlen(tokens[a]), lc = strlen(tokens[c]);
        if (la + lc > 24) continue;
        char *joined = malloc(la + lc + 1);
        memcpy(joined, tokens[a], la);
        memcpy(joined + la, tokens[c], lc + 1);
        uint32_t h = mkv_hash_bytes(joined, la + lc) & (uint32_t)(cap - 1);
        bool dup = false;
        while (seen[h]) {
            if (!strcmp(seen[h], joined)) dup = true;
            h = (h + 1) & (uint32_t)(cap - 1);
        }
        if (dup || strchr(joined, '"') || strchr(joined, '\\')) {
            free(joined);
            continue;
        }
        seen[h] = joined;
        sb_add(&b, "%s[\"%s\", \"%s\"]", n > n_base ? ", " : "", tokens[a][0] == '"' || tokens[a][0] == '\\' ? "x" : tokens[a],
               tokens[c]);
        tokens[n++] = joined;
    }
    sb_add(&b, "], \"vocab\": {");
    for (int i = 0; i < n; i++) {
        const char *t = tokens[i];
        if (!strcmp(t, "\"")) sb_add(&b, "%s\"\\\"\": %d", i ? ", " : "", i);
        else if (!strcmp(t, "\\")) sb_add(&b, "%s\"\\\\\": %d", i ? ", " : "", i);
        else sb_add(&b, "%s\"%s\": %d", i ? ", " : "", t, i);
    }
    sb_add(&b, "}}}");
    double t0 = mkv_now_seconds();
    mkv_tokenizer *tok = NULL;
    mkv_status st = mkv_tokenizer_load_json_text(b.s, b.len, "large.json", &tok);
    double dt = mkv_now_seconds() - t0;
    CHECK_MSG(st == MKV_OK, "%s", mkv_last_error());
    printf("     load: %d tokens, %d merges, %.1f MB of JSON in %.3f s\n", n + 1, n - n_base, (double)b.len / 1e6, dt);
    CHECK_MSG(dt < 5.0, "loading took %.1f s", dt);
    if (tok) {
        CHECK_EQ_INT(mkv_tokenizer_n_vocab(tok), n + 1);
        CHECK_EQ_INT(mkv_tokenizer_n_merges(tok), n_merges);
        int32_t *ids;
        int n_ids;
        CHECK(mkv_tokenize(tok, "hello world <|endoftext|>", 25, true, &ids, &n_ids) == MKV_OK);
        mkv_free(ids);
    }
    mkv_tokenizer_free(tok);
    for (int i = 0; i < n; i++) free(tokens[i]);
    free(tokens);
    free(seen);
    free(b.s);
}

/* ------------------------------------------------------------ chat templates */

static const char llada_jinja[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}";
static const char dream_jinja[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou "
    "are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' "
    "}}{% endif %}";

TEST(tokenizer_chat_templates) {
    CHECK_EQ_INT(mkv_chat_detect(llada_jinja, MKV_ARCH_DREAM), MKV_CHAT_LLADA);
    CHECK_EQ_INT(mkv_chat_detect(dream_jinja, MKV_ARCH_LLADA), MKV_CHAT_DREAM);
    CHECK_EQ_INT(mkv_chat_detect(NULL, MKV_ARCH_LLADA), MKV_CHAT_LLADA);
    CHECK_EQ_INT(mkv_chat_detect("", MKV_ARCH_DREAM), MKV_CHAT_DREAM);
    CHECK_EQ_INT(mkv_chat_detect("{{ messages }}", MKV_ARCH_DREAM), MKV_CHAT_DREAM);
    CHECK_EQ_INT(mkv_chat_detect(NULL, MKV_ARCH_COUNT), MKV_CHAT_NONE);

    char *out = NULL;
    REQUIRE(mkv_chat_render(MKV_CHAT_LLADA, "What is 2+2?", NULL, &out) == MKV_OK);
    CHECK(strcmp(out, "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                      "<|start_header_id|>assistant<|end_header_id|>\n\n") == 0);
    mkv_free(out);
    /* Jinja's trim strips Python whitespace around the content (not inside). */
    REQUIRE(mkv_chat_render(MKV_CHAT_LLADA, " \n\t Hi  there \xe3\x80\x80" "\n", " Be brief. ", &out) == MKV_OK);
    CHECK(strcmp(out, "<|startoftext|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                      "<|start_header_id|>user<|end_header_id|>\n\nHi  there<|eot_id|>"
                      "<|start_header_id|>assistant<|end_header_id|>\n\n") == 0);
    mkv_free(out);
    REQUIRE(mkv_chat_render(MKV_CHAT_DREAM, "What is 2+2?", NULL, &out) == MKV_OK);
    CHECK(strcmp(out, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is "
                      "2+2?<|im_end|>\n<|im_start|>assistant\n") == 0);
    mkv_free(out);
    REQUIRE(mkv_chat_render(MKV_CHAT_DREAM, " x ", "S", &out) == MKV_OK);
    CHECK(strcmp(out, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n x <|im_end|>\n<|im_start|>assistant\n") == 0);
    mkv_free(out);
    CHECK_EQ_INT(mkv_chat_render(MKV_CHAT_NONE, "x", NULL, &out), MKV_ERR_UNSUPPORTED);
    CHECK(out == NULL);
    CHECK_EQ_INT(mkv_chat_render(MKV_CHAT_DREAM, NULL, NULL, &out), MKV_ERR_INPUT);

    /* Rendered prompts tokenize with the special tokens as single ids. */
    mkv_tokenizer *tok = NULL;
    REQUIRE(mkv_tokenizer_load_json(mkv_test_path("data/tokenizer/llada/tokenizer.json"), &tok) == MKV_OK);
    REQUIRE(mkv_chat_render(MKV_CHAT_LLADA, "hi", NULL, &out) == MKV_OK);
    int32_t *ids;
    int n;
    REQUIRE(mkv_tokenize(tok, out, strlen(out), true, &ids, &n) == MKV_OK);
    CHECK(n > 5 && ids[0] == mkv_tokenizer_find(tok, "<|startoftext|>") &&
          ids[1] == mkv_tokenizer_find(tok, "<|start_header_id|>"));
    char *back;
    REQUIRE(mkv_detokenize(tok, ids, n, &back, NULL) == MKV_OK);
    CHECK(strcmp(back, out) == 0);
    mkv_free(back);
    mkv_free(ids);
    mkv_free(out);
    mkv_tokenizer_free(tok);
}
