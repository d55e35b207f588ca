/* Decoding what a model generated: the model's vocabulary may be larger than
 * the tokenizer's (LLaDA-8B: 126464 embedding rows, 126349 tokens), and the
 * ids that have no token decode to nothing, as HF's fast tokenizer decodes
 * them (its id_to_token is None), from an HF directory and from a GGUF (whose
 * converter wrote them as "[PAD<id>]" UNUSED entries) alike. The text is
 * HF's decode string: invalid or cut UTF-8 sequences become U+FFFD. */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

bool mkv_tokenizer_has_token(const mkv_tokenizer *tok, int32_t id) {
    if (id < 0 || id >= tok->n_tokens) return false;
    const mkv_token_entry *t = &tok->tokens[id];
    return !(t->type == MKV_TOKEN_TYPE_UNUSED && t->added_index < 0 && !t->in_model_vocab);
}

mkv_status mkv_detokenize_output(const mkv_tokenizer *tok, const int32_t *ids, int n, unsigned flags, char **out_text,
                                 size_t *out_len, int *n_unknown) {
    *out_text = NULL;
    if (out_len) *out_len = 0;
    if (n_unknown) *n_unknown = 0;
    if (n < 0 || (n > 0 && !ids)) return mkv_fail(MKV_ERR_INPUT, "%s: bad id list", tok->name);
    int32_t *known = mkv_malloc((size_t)(n > 0 ? n : 1) * sizeof *known, "decoded ids");
    if (!known) return mkv_last_status();
    int n_known = 0;
    for (int i = 0; i < n; i++) {
        if (mkv_tokenizer_has_token(tok, ids[i])) known[n_known++] = ids[i];
        else if (n_unknown) ++*n_unknown;
    }
    mkv_status st = mkv_detokenize_ex(tok, known, n_known, flags | MKV_DETOKENIZE_LOSSY_UTF8, out_text, out_len);
    mkv_free(known);
    return st;
}
