/* Byte-level BPE tokenizer, identical in output to HF `tokenizers` for the
 * GPT-2 / LLaMA-3 / Qwen2 / Ling (LLaDA) pre-tokenizers: added tokens matched
 * first (lstrip/rstrip/single_word/normalized as HF), NFC normalizer, regex
 * pre-tokenizer (PCRE2), merges by rank. Loaded from tokenizer.json or from
 * GGUF `tokenizer.ggml.*` metadata (pre-tokenizer chosen by
 * tokenizer.ggml.pre). A loaded tokenizer is read-only: encoding and decoding
 * from several threads at once is safe. */
#ifndef MKV_TOKENIZER_H
#define MKV_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"
#include "maskkv.h"

/* The tokenizer of an HF directory: DIR/tokenizer.json, else the slow
 * tokenizer's vocab.json + merges.txt (+ added_tokens.json,
 * tokenizer_config.json). *source is "tokenizer.json", "vocab.json" or NULL
 * (and *out NULL, MKV_OK) when the directory has neither; files that are
 * there and fail to load are errors. */
mkv_status mkv_tokenizer_load_dir(const char *dir, mkv_tokenizer **out, const char **source);
/* vocab.json + merges.txt + added_tokens.json + tokenizer_config.json
 * (load_vocab_merges.c): tokenizer_class Qwen2Tokenizer/DreamTokenizer
 * (Qwen2 pre-tokenizer) or GPT2Tokenizer. */
mkv_status mkv_tokenizer_load_vocab_merges(const char *dir, mkv_tokenizer **out);
mkv_status mkv_tokenizer_load_json(const char *path, mkv_tokenizer **out);
mkv_status mkv_tokenizer_load_json_text(const char *json, size_t len, const char *name, mkv_tokenizer **out);
mkv_status mkv_tokenizer_load_gguf(const mkv_gguf *gguf, mkv_tokenizer **out);

/* mkv_tokenizer_load (a .gguf file, an HF directory via
 * mkv_tokenizer_load_dir, or a tokenizer.json), mkv_tokenizer_free,
 * mkv_tokenizer_n_vocab, mkv_tokenizer_find, mkv_tokenize[_ex],
 * mkv_detokenize[_ex], mkv_detokenize_output, mkv_tokenizer_has_token,
 * mkv_tokenizer_bos_id/eos_id/is_special/token_text and their flags are
 * public (maskkv.h). */

/* Special tokens. BOS comes from GGUF tokenizer.ggml.bos_token_id or the
 * tokenizer.json post-processor (else a well-known BOS name among the special
 * added tokens); add_bos is GGUF add_bos_token or whether the post-processor
 * prepends it. -1 / false when unknown. */
bool mkv_tokenizer_add_bos(const mkv_tokenizer *tok);
/* Overrides from model metadata (config.json / tokenizer_config.json); an id
 * < 0 leaves the current value. */
mkv_status mkv_tokenizer_set_special(mkv_tokenizer *tok, int32_t bos_id, int32_t eos_id, int add_bos);

/* Vocabulary access (GGUF export, `info`). Token text is the byte-level
 * unicode form stored in tokenizer.json / tokenizer.ggml.tokens (added tokens:
 * their content). Token types use llama.cpp's numbering: 1 normal, 3 control
 * (special added), 4 user-defined (non-special added), 5 unused. An id below
 * n_vocab that has no token (a hole in tokenizer.json) reads as "[PAD<id>]"
 * of type 5, as llama.cpp's converter writes it; ids >= n_vocab give NULL / 0. */
int mkv_tokenizer_token_type(const mkv_tokenizer *tok, int32_t id);
int mkv_tokenizer_n_merges(const mkv_tokenizer *tok);
/* Merge i (by rank) as "left right", the GGUF tokenizer.ggml.merges form. */
const char *mkv_tokenizer_merge(const mkv_tokenizer *tok, int index);
/* tokenizer.ggml.pre name of the pre-tokenizer ("gpt-2", "llama-bpe", "qwen2",
 * "bailingmoe" = Ling/LLaDA), recognised from the regex of a tokenizer.json;
 * NULL when the pre-tokenizer is none of those. */
const char *mkv_tokenizer_pre_name(const mkv_tokenizer *tok);

/* Chat templates of LLaDA-Instruct and Dream-Instruct (SPEC §1), recognised
 * from a file's Jinja template or chosen by architecture. */
typedef enum { MKV_CHAT_NONE = 0, MKV_CHAT_LLADA = 1, MKV_CHAT_DREAM = 2 } mkv_chat_kind;
mkv_chat_kind mkv_chat_detect(const char *jinja_template, mkv_arch arch);
/* Renders one user turn followed by the assistant header (generation
 * prompt), as the models' Jinja templates do (text in *out_text, mkv_free):
 * LLaDA  "<|startoftext|>[<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>]"
 *        "<|start_header_id|>user<|end_header_id|>\n\n{user}<|eot_id|>"
 *        "<|start_header_id|>assistant<|end_header_id|>\n\n"
 *        with {user}/{system} trimmed of surrounding whitespace (Jinja `trim`);
 *        system_text NULL = no system turn.
 * Dream  "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
 *        "<|im_start|>assistant\n", system_text NULL = "You are a helpful assistant."
 * The special tokens are text: tokenize with parse_special. */
mkv_status mkv_chat_render(mkv_chat_kind kind, const char *user_text, const char *system_text, char **out_text);

#endif
