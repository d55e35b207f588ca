/* TEMPORARY: the tokenizer module lands in parallel with the model loader;
 * while it is half-built (stub and real files both present) linking any of
 * it fails. Every tokenizer function the loaders, `info` and `convert` use is
 * therefore referenced weakly, so that the library and every program still
 * link: a function that is not linked reads as NULL, the loaders then treat
 * the tokenizer as absent, and `convert` refuses to run. A weak reference
 * does not pull an archive member in by itself: this works once some other
 * object (the `tokenize` command, the tokenizer tests) references the
 * tokenizer strongly. Delete this header and its includes once src/tokenizer/
 * implements the whole of tokenizer.h, so that the references become strong. */
#ifndef MKV_TOKENIZER_LINK_H
#define MKV_TOKENIZER_LINK_H

#include <stdbool.h>

#include "tokenizer/tokenizer.h"

#pragma weak mkv_tokenizer_load_json
#pragma weak mkv_tokenizer_load_gguf
#pragma weak mkv_tokenizer_free
#pragma weak mkv_tokenizer_set_special
#pragma weak mkv_tokenizer_n_vocab
#pragma weak mkv_tokenizer_find
#pragma weak mkv_tokenizer_token_text
#pragma weak mkv_tokenizer_token_type
#pragma weak mkv_tokenizer_n_merges
#pragma weak mkv_tokenizer_merge
#pragma weak mkv_tokenizer_pre_name
#pragma weak mkv_chat_detect

static inline bool mkv_tokenizer_loaders_linked(void) {
    return mkv_tokenizer_load_json && mkv_tokenizer_load_gguf && mkv_tokenizer_free;
}

static inline bool mkv_tokenizer_vocab_linked(void) {
    return mkv_tokenizer_n_vocab && mkv_tokenizer_find && mkv_tokenizer_token_text && mkv_tokenizer_token_type &&
           mkv_tokenizer_n_merges && mkv_tokenizer_merge && mkv_tokenizer_pre_name;
}

#endif
