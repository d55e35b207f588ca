/* mkv_detokenize_output: model ids beyond the tokenizer decode to nothing and
 * are counted, cut UTF-8 becomes U+FFFD, the same from an HF folder and from
 * its GGUF (whose converter wrote [PAD<id>] UNUSED entries). */
#include <string.h>

#include "formats/gguf.h"
#include "test.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"

static void decode_both(const int32_t *ids, int n, char **hf_text, size_t *hf_len, int *hf_unknown, char **gg_text,
                        size_t *gg_len, int *gg_unknown) {
    mkv_tokenizer *hf = NULL, *gg = NULL;
    REQUIRE(mkv_tokenizer_load(mkv_test_path("models/llada-tiny"), &hf) == MKV_OK);
    REQUIRE(mkv_tokenizer_load(mkv_test_path("models/llada-tiny-llamacpp-f32.gguf"), &gg) == MKV_OK);
    CHECK(mkv_tokenizer_n_vocab(hf) < mkv_tokenizer_n_vocab(gg)); /* 355 tokens vs 384 rows */
    CHECK(mkv_detokenize_output(hf, ids, n, 0, hf_text, hf_len, hf_unknown) == MKV_OK);
    CHECK(mkv_detokenize_output(gg, ids, n, 0, gg_text, gg_len, gg_unknown) == MKV_OK);
    mkv_tokenizer_free(hf);
    mkv_tokenizer_free(gg);
}

TEST(decode_output_skips_ids_beyond_the_tokenizer) {
    mkv_tokenizer *hf = NULL;
    REQUIRE(mkv_tokenizer_load(mkv_test_path("models/llada-tiny"), &hf) == MKV_OK);
    int n_tok = mkv_tokenizer_n_vocab(hf);
    int32_t *euro = NULL, *word = NULL;
    int n_euro = 0, n_word = 0;
    REQUIRE(mkv_tokenize(hf, "\xE2\x82\xAC", 3, false, &euro, &n_euro) == MKV_OK);
    REQUIRE(mkv_tokenize(hf, "Hello", 5, false, &word, &n_word) == MKV_OK);
    REQUIRE(n_euro >= 2 && n_word >= 1);
    char *plain = NULL;
    int32_t beyond = n_tok + 3;
    CHECK(mkv_detokenize(hf, &beyond, 1, &plain, NULL) != MKV_OK); /* the plain decoder still refuses */
    mkv_free(plain);
    mkv_tokenizer_free(hf);

    /* Hello, unknown, euro cut before its last byte, unknown, Hello */
    int32_t ids[64];
    int n = 0;
    for (int i = 0; i < n_word; i++) ids[n++] = word[i];
    ids[n++] = n_tok + 1;
    for (int i = 0; i < n_euro - 1; i++) ids[n++] = euro[i];
    ids[n++] = 383;
    for (int i = 0; i < n_word; i++) ids[n++] = word[i];
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int ua = -1, ub = -1;
    decode_both(ids, n, &a, &la, &ua, &b, &lb, &ub);
    REQUIRE(a && b);
    CHECK_EQ_INT(ua, 2);
    CHECK_EQ_INT(ub, 2);
    const char *want = "Hello\xEF\xBF\xBDHello"; /* E2 82 cut: one U+FFFD, as HF decode */
    CHECK_MSG(la == strlen(want) && !memcmp(a, want, la), "HF folder: '%s'", a);
    CHECK_MSG(lb == la && !memcmp(a, b, la), "GGUF '%s' vs HF folder '%s'", b, a);
    mkv_free(a);
    mkv_free(b);
    mkv_free(euro);
    mkv_free(word);
}

TEST(decode_output_only_unknown_ids_is_empty) {
    int32_t ids[3] = {360, 370, 383};
    char *a = NULL, *b = NULL;
    size_t la = 1, lb = 1;
    int ua = 0, ub = 0;
    decode_both(ids, 3, &a, &la, &ua, &b, &lb, &ub);
    CHECK(a && b && la == 0 && lb == 0 && a[0] == '\0');
    CHECK_EQ_INT(ua, 3);
    CHECK_EQ_INT(ub, 3);
    mkv_free(a);
    mkv_free(b);
}
