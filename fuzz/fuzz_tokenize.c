/* Encoding and decoding arbitrary bytes with fixed tokenizers: LLaDA's (Ling
 * pre-tokenizer, tests/data/tokenizer/llada), the tiny LLaDA one
 * (tests/models/llada-odd) and Dream's (Qwen2, tests/models/dream-tiny).
 * Input: one byte choosing the tokenizer and flags, then the text. The same
 * bytes, read as little-endian int32, are decoded as token ids. */
#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

#define N_TOKENIZERS 3
static mkv_tokenizer *tokenizers[N_TOKENIZERS];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char *const files[N_TOKENIZERS] = {"tests/data/tokenizer/llada/tokenizer.json",
                                                    "tests/models/llada-odd/tokenizer.json",
                                                    "tests/models/dream-tiny/tokenizer.json"};
    for (int i = 0; i < N_TOKENIZERS; i++)
        if (mkv_tokenizer_load_json(fuzz_source_path(files[i]), &tokenizers[i]) != MKV_OK) {
            fprintf(stderr, "fuzz_tokenize: cannot load %s: %s (set MKV_SOURCE_ROOT)\n", files[i], mkv_last_error());
            exit(1);
        }
    return 0;
}

/* Python's bytes.decode("utf-8") validity, for the contract below. */
static bool valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t before = mkv_alloc_current_bytes();
    uint8_t control = data[0];
    const mkv_tokenizer *tok = tokenizers[control % N_TOKENIZERS];
    unsigned flags = 0;
    if (control & 0x04) flags |= MKV_TOKENIZE_PARSE_SPECIAL;
    if (control & 0x08) flags |= MKV_TOKENIZE_ADD_SPECIAL;
    if (control & 0x10) flags |= MKV_TOKENIZE_LOSSY_UTF8;
    if (control & 0x20) flags |= MKV_TOKENIZE_ADD_BOS;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int n_vocab = mkv_tokenizer_n_vocab(tok);

    int32_t *ids = NULL;
    int n = 0;
    mkv_status st = mkv_tokenize_ex(tok, text, len, flags, &ids, &n);
    fuzz_check_error(st);
    if (!(flags & MKV_TOKENIZE_ADD_BOS) && (flags & MKV_TOKENIZE_LOSSY_UTF8 || valid_utf8(data + 1, len)))
        FUZZ_ASSERT(st == MKV_OK, "valid text refused: %s", mkv_last_error());
    if (st == MKV_OK) {
        FUZZ_ASSERT(n >= 0 && (n > 0 || len == 0 || flags & (MKV_TOKENIZE_ADD_SPECIAL)) ,
                    "no ids for %zu bytes", len);
        for (int i = 0; i < n; i++) FUZZ_ASSERT(ids[i] >= 0 && ids[i] < n_vocab, "id %d of %d", ids[i], n_vocab);
        char *out = NULL;
        size_t out_len = 0;
        st = mkv_detokenize(tok, ids, n, &out, &out_len);
        FUZZ_ASSERT(st == MKV_OK, "ids of the encoder not decodable: %s", mkv_last_error());
        mkv_free(out);
    }
    mkv_free(ids);

    /* The bytes as token ids, some out of range. */
    int n_ids = (int)(len / 4);
    if (n_ids > 0) {
        int32_t *raw = malloc((size_t)n_ids * sizeof *raw);
        bool all_in_range = true;
        for (int i = 0; i < n_ids; i++) {
            uint32_t v;
            memcpy(&v, text + 4 * i, 4);
            raw[i] = (int32_t)(v % (uint32_t)(n_vocab + 3)) - 1; /* -1 .. n_vocab + 1 */
            all_in_range = all_in_range && raw[i] >= 0 && raw[i] < n_vocab;
        }
        char *out = NULL;
        size_t out_len = 0;
        unsigned dflags = (control & 0x40 ? MKV_DETOKENIZE_SKIP_SPECIAL : 0) | (control & 0x80 ? MKV_DETOKENIZE_LOSSY_UTF8 : 0);
        st = mkv_detokenize_ex(tok, raw, n_ids, dflags, &out, &out_len);
        fuzz_check_error(st);
        FUZZ_ASSERT((st == MKV_OK) == all_in_range, "decode status %d with ids %s", (int)st, all_in_range ? "in range" : "out of range");
        if (st == MKV_OK && (dflags & MKV_DETOKENIZE_LOSSY_UTF8))
            FUZZ_ASSERT(valid_utf8((const uint8_t *)out, out_len), "lossy decode produced invalid UTF-8");
        mkv_free(out);
        free(raw);
    }
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
