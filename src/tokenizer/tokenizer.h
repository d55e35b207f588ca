/* Byte-level BPE tokenizer, identical in output to HF `tokenizers` for the
 * GPT-2 / LLaMA-3 / Qwen2 pre-tokenizers. Loaded from tokenizer.json or from
 * GGUF `tokenizer.ggml.*` metadata. */
#ifndef MKV_TOKENIZER_H
#define MKV_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"
#include "maskkv.h"

mkv_status mkv_tokenizer_load_json(const char *path, mkv_tokenizer **out);
mkv_status mkv_tokenizer_load_json_text(const char *json, size_t len, const char *name, mkv_tokenizer **out);
mkv_status mkv_tokenizer_load_gguf(const mkv_gguf *gguf, mkv_tokenizer **out);
void mkv_tokenizer_free(mkv_tokenizer *tok);

int mkv_tokenizer_n_vocab(const mkv_tokenizer *tok);
/* Id of a token string (vocab or added token), -1 if absent. */
int32_t mkv_tokenizer_find(const mkv_tokenizer *tok, const char *token);

/* Encodes UTF-8 text. Added/special tokens are matched before BPE when
 * `parse_special` (as HF does). Invalid UTF-8 is an MKV_ERR_INPUT error unless
 * `allow_invalid_utf8` (then bytes are encoded as HF does for lossy input).
 * *out_ids is malloc'd with mkv_malloc; free with mkv_free. */
mkv_status mkv_tokenize(const mkv_tokenizer *tok, const char *text, size_t len, bool parse_special,
                        int32_t **out_ids, int *out_n);
/* Decodes ids back to bytes (NUL-terminated, mkv_free). Ids out of range are
 * an MKV_ERR_INPUT error. */
mkv_status mkv_detokenize(const mkv_tokenizer *tok, const int32_t *ids, int n, char **out_text, size_t *out_len);

/* Vocabulary access (GGUF export, `info`). Token text is the byte-level
 * unicode form stored in tokenizer.json / tokenizer.ggml.tokens. Token types
 * use llama.cpp's numbering: 1 normal, 3 control (special added), 4 user-defined. */
const char *mkv_tokenizer_token_text(const mkv_tokenizer *tok, int32_t id);
int mkv_tokenizer_token_type(const mkv_tokenizer *tok, int32_t id);
int mkv_tokenizer_n_merges(const mkv_tokenizer *tok);
/* Merge i (by rank) as "left right", the GGUF tokenizer.ggml.merges form. */
const char *mkv_tokenizer_merge(const mkv_tokenizer *tok, int index);
/* tokenizer.ggml.pre name of the pre-tokenizer ("llama-bpe", "qwen2", "gpt-2", ...). */
const char *mkv_tokenizer_pre_name(const mkv_tokenizer *tok);

/* Chat templates of LLaDA-Instruct and Dream-Instruct (SPEC §1), recognised
 * from a file's Jinja template or chosen by architecture. */
typedef enum { MKV_CHAT_NONE = 0, MKV_CHAT_LLADA = 1, MKV_CHAT_DREAM = 2 } mkv_chat_kind;
mkv_chat_kind mkv_chat_detect(const char *jinja_template, mkv_arch arch);
/* Renders one user turn followed by the assistant header (generation prompt). */
mkv_status mkv_chat_render(mkv_chat_kind kind, const char *user_text, const char *system_text, char **out_text);

#endif
