/* tokenizer.json: mkv_tokenizer_load_json_text (model, vocab, merges, added
 * tokens, normalizer, pre-tokenizer regexes, decoder, post-processor), then
 * encode/decode of a few fixed strings and vocabulary access. */
#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

static volatile unsigned char sink;

static const char *const texts[] = {
    "Hello world! 123 4567",
    "  leading and trailing spaces  \n\n\ttabs",
    "<|startoftext|><|mdm_mask|><|im_start|>user\nHi<|im_end|>",
    "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 e\xcc\x81",
    "I'm you're they'll DON'T",
    "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t before = mkv_alloc_current_bytes();
    mkv_tokenizer *tok = NULL;
    mkv_status st = mkv_tokenizer_load_json_text((const char *)data, size, "tokenizer.json", &tok);
    fuzz_check_error(st);
    if (st != MKV_OK) {
        FUZZ_ASSERT(tok == NULL, "tokenizer returned with an error");
        FUZZ_CHECK_NO_COUNTED_LEAK(before);
        return 0;
    }
    int n_vocab = mkv_tokenizer_n_vocab(tok);
    FUZZ_ASSERT(n_vocab >= 0, "n_vocab %d", n_vocab);
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        static const unsigned flag_sets[] = {MKV_TOKENIZE_PARSE_SPECIAL, 0, MKV_TOKENIZE_ADD_SPECIAL | MKV_TOKENIZE_PARSE_SPECIAL,
                                             MKV_TOKENIZE_ADD_BOS | MKV_TOKENIZE_LOSSY_UTF8};
        int32_t *ids = NULL;
        int n = 0;
        st = mkv_tokenize_ex(tok, texts[k], strlen(texts[k]), flag_sets[k % 4], &ids, &n);
        fuzz_check_error(st);
        if (st == MKV_OK) {
            for (int i = 0; i < n; i++) FUZZ_ASSERT(ids[i] >= 0 && ids[i] < n_vocab, "id %d of %d", ids[i], n_vocab);
            char *text = NULL;
            size_t len = 0;
            st = mkv_detokenize_ex(tok, ids, n, k & 1 ? MKV_DETOKENIZE_SKIP_SPECIAL : MKV_DETOKENIZE_LOSSY_UTF8, &text, &len);
            fuzz_check_error(st);
            if (st == MKV_OK) FUZZ_ASSERT(text && strlen(text) <= len, "decoded text");
            mkv_free(text);
        }
        mkv_free(ids);
    }
    int32_t probe[] = {0, n_vocab / 2, n_vocab - 1, n_vocab, -1};
    for (size_t k = 0; k < 5; k++) {
        const char *s = mkv_tokenizer_token_text(tok, probe[k]);
        FUZZ_ASSERT(!s || (probe[k] >= 0 && probe[k] < n_vocab), "text of id %d of %d", probe[k], n_vocab);
        if (s) {
            sink ^= (unsigned char)strlen(s);
            /* holes in the vocabulary read as "[PAD<id>]" (type 5) and are not tokens */
            if (mkv_tokenizer_token_type(tok, probe[k]) != 5)
                FUZZ_ASSERT(mkv_tokenizer_find(tok, s) >= 0, "token '%.40s' not found", s);
        }
        sink ^= (unsigned char)mkv_tokenizer_token_type(tok, probe[k]);
        sink ^= mkv_tokenizer_is_special(tok, probe[k]);
    }
    char *text = NULL;
    st = mkv_detokenize(tok, probe, 5, &text, NULL); /* -1 is out of range */
    FUZZ_ASSERT(st == MKV_ERR_INPUT, "out-of-range id decoded (status %d)", (int)st);
    mkv_free(text);
    int n_merges = mkv_tokenizer_n_merges(tok);
    if (n_merges > 0) sink ^= (unsigned char)strlen(mkv_tokenizer_merge(tok, n_merges - 1));
    const char *pre = mkv_tokenizer_pre_name(tok);
    if (pre) sink ^= (unsigned char)pre[0];
    sink ^= (unsigned char)(mkv_tokenizer_bos_id(tok) + mkv_tokenizer_eos_id(tok) + mkv_tokenizer_add_bos(tok));
    mkv_tokenizer_free(tok);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
