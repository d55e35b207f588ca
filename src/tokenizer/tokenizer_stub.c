/* TEMPORARY: replaced by the real tokenizer in src/tokenizer/. */
#include "tokenizer/tokenizer.h"

mkv_status mkv_tokenizer_load_json(const char *path, mkv_tokenizer **out) {
    *out = NULL;
    return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tokenizer not built yet", path);
}
mkv_status mkv_tokenizer_load_gguf(const mkv_gguf *gguf, mkv_tokenizer **out) {
    (void)gguf;
    *out = NULL;
    return mkv_fail(MKV_ERR_UNSUPPORTED, "tokenizer not built yet");
}
void mkv_tokenizer_free(mkv_tokenizer *tok) { (void)tok; }
