/* Chat templates: mkv_chat_render (LLaDA trim of Python whitespace on
 * arbitrary bytes, Dream ChatML) with a user and an optional system text,
 * mkv_chat_detect on the input read as a Jinja template, and the rendered
 * prompt tokenized with the matching model tokenizer (special tokens parsed).
 * Input: control byte, then user text, NUL, system text. */
#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

static mkv_tokenizer *llada_tok, *dream_tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (mkv_tokenizer_load_json(fuzz_source_path("tests/models/llada-odd/tokenizer.json"), &llada_tok) != MKV_OK ||
        mkv_tokenizer_load_json(fuzz_source_path("tests/models/dream-tiny/tokenizer.json"), &dream_tok) != MKV_OK) {
        fprintf(stderr, "fuzz_chat: cannot load the tokenizers: %s (set MKV_SOURCE_ROOT)\n", mkv_last_error());
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t before = mkv_alloc_current_bytes();
    uint8_t control = data[0];
    char *all = fuzz_strndup(data + 1, size - 1);
    const char *user = all;
    size_t user_len = strlen(user);
    const char *system = user_len + 1 < size - 1 ? all + user_len + 1 : NULL;
    if (!(control & 0x04)) system = NULL;

    mkv_chat_kind detected = mkv_chat_detect(all, (mkv_arch)(control >> 4 & 3));
    FUZZ_ASSERT(detected >= MKV_CHAT_NONE && detected <= MKV_CHAT_DREAM, "kind %d", (int)detected);
    mkv_chat_kind kind = (mkv_chat_kind)(control & 3);
    char *out = NULL;
    mkv_status st = mkv_chat_render(kind, user, system, &out);
    fuzz_check_error(st);
    if (kind == MKV_CHAT_LLADA || kind == MKV_CHAT_DREAM) {
        FUZZ_ASSERT(st == MKV_OK && out != NULL, "render failed: %s", mkv_last_error());
        if (kind == MKV_CHAT_DREAM) FUZZ_ASSERT(strstr(out, user) != NULL, "user text missing from the Dream prompt");
        const mkv_tokenizer *tok = kind == MKV_CHAT_LLADA ? llada_tok : dream_tok;
        int32_t *ids = NULL;
        int n = 0;
        st = mkv_tokenize_ex(tok, out, strlen(out), MKV_TOKENIZE_PARSE_SPECIAL | (control & 0x08 ? MKV_TOKENIZE_LOSSY_UTF8 : 0),
                             &ids, &n);
        fuzz_check_error(st);
        mkv_free(ids);
    } else {
        FUZZ_ASSERT(st == MKV_ERR_UNSUPPORTED && out == NULL, "kind %d rendered", (int)kind);
    }
    mkv_free(out);
    free(all);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
